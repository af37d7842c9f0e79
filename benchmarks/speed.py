"""Encode/decode speed, prior cost, peak memory and training throughput on CPU (2 threads).

    python benchmarks/speed.py [--reference-dir DIR] [--size 1280x720] [--repeat 3] [--train-steps 2]

Configurations: `tiny` (examples/specs/tiny_wacnn.toml), full-size WACNN (wacnn.toml) and the full
SCI variant (paper.toml: Laplacian x CRAFT prior, SEM at g_a/h_a/g_s), all with seeded random
weights (speed does not depend on training). With ``--reference-dir`` pointing at a checkout of
the reference WACNN (Googolxx/STF), its ``WACNN`` is loaded from those files at run time, given
*our* weights (same function: the maximum output difference is printed) and timed the same way;
ratios ours/reference are printed. Each configuration runs in a fresh process, so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECS = {"tiny": "tiny_wacnn.toml", "wacnn": "wacnn.toml", "sci-full": "paper.toml"}

WORKER = r"""
import importlib.util, json, resource, statistics, sys, time, types
import torch
torch.set_num_threads(2)
config, spec_path, width, height, repeat, train_steps, ref_dir = sys.argv[1:8]
width, height, repeat, train_steps = int(width), int(height), int(repeat), int(train_steps)
from sclc.builder import build_loss, build_model
from sclc.determinism import fixed_threads
from sclc.spec import load_spec
sys.path.insert(0, %(root)r + "/benchmarks")
from codec_large_image import synthetic_screenshot
import numpy as np

spec = load_spec(spec_path)
ours = build_model(spec).eval()
ours.update(force=True)
image = np.asarray(synthetic_screenshot(width, height))
x = torch.from_numpy(image.copy()).permute(2, 0, 1).float().div(255)[None]

def load_reference(root):
    import compressai.layers, compressai.ops
    compressai.ops.ste_round = compressai.ops.quantize_ste
    def load(name, path, package):
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        module.__package__ = package
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    load("compressai.layers.win_attention", f"{root}/compressai/layers/win_attention.py", "compressai.layers")
    layers = load("stf_layers", f"{root}/compressai/layers/layers.py", "compressai.layers")
    for name in ("conv3x3", "subpel_conv3x3", "Win_noShift_Attention"):
        setattr(compressai.layers, name, getattr(layers, name))
    return load("stf_cnn", f"{root}/compressai/models/cnn.py", "compressai.models").WACNN

def timed(fn):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter(); out = fn(); times.append(time.perf_counter() - start)
    return statistics.median(times), out

result = {"config": config}
padded = ours.pad(x)
with torch.no_grad(), fixed_threads():
    if ref_dir != "-":
        reference = load_reference(ref_dir)(192, 320).eval()
        state = {k.replace("conv_b.0.", "conv_b.0.attn.", 1) if ".conv_b.0." in k else k: v
                 for k, v in ours.backbone.state_dict().items()
                 if not k.endswith(("_quantized_cdf", "_offset", "_cdf_length", "scale_table"))}
        missing = torch.nn.Module.load_state_dict(reference, state, strict=False)
        result["unmatched_keys"] = len(missing.missing_keys) + len(missing.unexpected_keys)
        reference.update(force=True)
        result["max_output_difference"] = float((reference(padded)["x_hat"] - ours.backbone(padded)["x_hat"]).abs().max())
        net, prior = reference, None
    else:
        net = ours.backbone
        start = time.perf_counter()
        prior = ours._padded_prior(padded, None)
        result["prior_s"] = time.perf_counter() - start if ours.conditioned else 0.0
    args = (padded, prior) if prior is not None else (padded,)
    result["encode_s"], coded = timed(lambda: net.compress(*args))
    result["decode_s"], _ = timed(lambda: net.decompress(coded["strings"], coded["shape"]))
    result["bpp"] = 8 * sum(len(s[0]) for s in coded["strings"]) / (width * height)
if train_steps:
    model = ours if ref_dir == "-" else reference
    model.train()
    loss_fn = build_loss(spec)
    t = spec.train
    batch = torch.rand(t.batch_size, 3, t.crop, t.crop)
    mask = torch.zeros(t.batch_size, 1, t.crop, t.crop)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    def step():
        out = model(batch, text_mask=mask) if ref_dir == "-" else model(batch)
        loss = loss_fn(out, batch, mask)["loss"] + model.aux_loss()
        optimizer.zero_grad(); loss.backward(); optimizer.step()
    step()
    start = time.perf_counter()
    for _ in range(train_steps):
        step()
    result["train_images_per_s"] = train_steps * t.batch_size / (time.perf_counter() - start)
    result["train_batch"] = [t.batch_size, t.crop]
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
""" % {"root": str(ROOT)}


def run(config: str, spec: str, args, ref_dir: str = "-") -> dict | None:
    width, height = map(int, args.size.split("x"))
    command = [sys.executable, "-c", WORKER, config, str(ROOT / "examples/specs" / spec), str(width), str(height),
               str(args.repeat), str(args.train_steps), ref_dir]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        print(f"{config}: failed: {result.stderr.strip().splitlines()[-1]}")
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", help="checkout of Googolxx/STF (its WACNN is the reference)")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=list(SPECS), help="subset of: " + ", ".join(SPECS))
    args = parser.parse_args()
    rows = [r for r in (run(c, SPECS[c], args) for c in args.only) if r]
    if args.reference_dir:
        reference = run("reference-wacnn", SPECS["wacnn"], args, args.reference_dir)
        if reference:
            rows.append(reference)
    print(f"CPU, 2 threads, {args.size} generated screenshot, median of {args.repeat}; training at the spec's batch x crop")
    print(f"{'config':<16} {'prior s':>8} {'encode s':>9} {'decode s':>9} {'train img/s':>12} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['config']:<16} {r.get('prior_s', 0):>8.2f} {r['encode_s']:>9.2f} {r['decode_s']:>9.2f} "
              f"{r.get('train_images_per_s', float('nan')):>12.2f} {r['peak_rss_mb']:>12.0f}")
    by_name = {r["config"]: r for r in rows}
    if "reference-wacnn" in by_name and "wacnn" in by_name:
        ours, ref = by_name["wacnn"], by_name["reference-wacnn"]
        print(f"reference WACNN given our weights: max |x_hat difference| = {ref['max_output_difference']:.2e}")
        total = (ours["encode_s"] + ours["decode_s"]) / (ref["encode_s"] + ref["decode_s"])
        line = (f"ours / reference time: encode {ours['encode_s'] / ref['encode_s']:.2f}x, decode "
                f"{ours['decode_s'] / ref['decode_s']:.2f}x, encode+decode {total:.2f}x")
        if "train_images_per_s" in ours and "train_images_per_s" in ref:
            line += f", training step {ref['train_images_per_s'] / ours['train_images_per_s']:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
