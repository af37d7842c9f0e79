"""Seconds per training step (forward + backward + both optimiser steps) of a spec, by option.

    OMP_NUM_THREADS=1 python benchmarks/train_step.py examples/specs/sci.toml --set backbone.N=48 \
        --modes fp32 bf16 channels_last compile --batch 8 --crop 128

Prints one line per mode: median seconds per step over ``--steps`` after ``--warmup`` steps, and
images per second. Uses synthetic screens, so it needs no data. Not a test: figures for RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from sclc.builder import build_loss, build_model
from sclc.data.stream import CropStream, SyntheticSource
from sclc.spec import load_spec
from sclc.train.amp import native_bf16
from sclc.train.model import TrainableCodec, is_aux_parameter


def batches(spec, batch: int, crop: int, device: str):
    stream = CropStream(SyntheticSource(crop, 1000, seed=1), crop, seed=1, rate=spec.variable_rate)
    position = 0
    while True:
        items = [stream[position + i] for i in range(batch)]
        position += batch
        yield {k: torch.stack([item[k] for item in items]).to(device) for k in items[0]}


def time_mode(spec, mode: str, args) -> list[float]:
    model = TrainableCodec(build_model(spec), build_loss(spec), amp="bf16" if mode == "bf16" else "off").to(args.device)
    model.train()
    main = torch.optim.Adam([p for n, p in model.named_parameters() if not is_aux_parameter(n)], lr=1e-4)
    aux = torch.optim.Adam([p for n, p in model.named_parameters() if is_aux_parameter(n)], lr=1e-3)
    forward = model
    if mode == "channels_last":
        model.to(memory_format=torch.channels_last)
    if mode == "compile":
        forward = torch.compile(model)
    times = []
    data = batches(spec, args.batch, args.crop, args.device)
    for step in range(args.warmup + args.steps):
        batch = next(data)
        if mode == "channels_last":
            batch["inputs"] = batch["inputs"].contiguous(memory_format=torch.channels_last)
        start = time.perf_counter()
        terms = forward(**batch, mode="loss")  # TrainableCodec applies its own bf16 autocast
        (terms["loss"] + terms["aux_loss"]).backward()
        main.step()
        aux.step()
        main.zero_grad()
        aux.zero_grad()
        if args.device == "cuda":
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--modes", nargs="+", default=["fp32", "bf16", "channels_last"],
                        choices=["fp32", "bf16", "channels_last", "compile"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    spec = load_spec(args.spec, args.set)
    print(f"{spec.name} {' '.join(args.set)}: batch {args.batch} x {args.crop}^2 on {args.device}, "
          f"{torch.get_num_threads()} thread(s), bf16 {'native' if native_bf16(args.device) else 'emulated'}")
    for mode in args.modes:
        times = time_mode(spec, mode, args)
        median = statistics.median(times)
        print(f"{mode:<14} {median:7.3f} s/step  {args.batch / median:7.1f} img/s  (min {min(times):.3f}, max {max(times):.3f})",
              flush=True)


if __name__ == "__main__":
    main()
