"""The paper's ablations (Tables 1-6) at CPU scale, one variable-rate model per variant.

    python examples/ablation/grid.py all --work work_dirs/grid_vr        # everything, resumable
    python examples/ablation/grid.py train|eval|report --work ...        # one phase

Protocol (the same for every variant: data, budget, start):
  start    every variant starts from the shipped `wacnn` weights (sclc/pretrained/wacnn.pt): its
           backbone, quality gains and q-conditioned blocks. Table 2 compares block designs from
           the same start: `sft_cb` and `nesft_fresh` (the paper's NESFT) both start their
           blocks fresh, as the identity. Training from scratch to a useful
           codec is out of reach of 2 cores per variant; fine-tuning from one shared start is not.
  train    examples/zoo/sci.toml with each variant's --set overrides, ``--iters`` iterations
           (batch 8 x 128^2, Adam 3e-4 constant or, with --schedule cosine, decaying to 1e-6;
           random quality maps over the zoo spec's lambda range), training
           masks from the cached EAST detections (sci/train_shots has no ground-truth boxes);
           `full` and `wacnn` three times, seeds 0, 1 and 2, so every table has its noise beside it.
  eval     real bitstreams at qualities 1..8 on ship.py's 17 crops (centre 512x512 of every 4th
           sci/dev image; ``--every 1``: all 66), text-region PSNR from the ground-truth boxes cut to each crop's
           window; JPEG, WebP, AVIF and JPEG XL on the same crops; `full` and `wacnn` (seed 0)
           also on Kodak.
Jobs run ``--jobs`` at a time, one thread each (on 2 cores that beats one 2-thread job). Every
job skips itself when its output exists, so an interrupted grid continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "examples" / "zoo"))
from bd_fine import CLASSIC as FINE  # noqa: E402  (JPEG and WebP settings where the curves meet)
from ship import QUALITIES, dev_crops  # noqa: E402  (the shipped models' crops and qualities)

SPEC = ROOT / "examples" / "zoo" / "sci.toml"
START = ROOT / "sclc" / "pretrained" / "wacnn.pt"
KODAK = ROOT / "../shared/data/natural/kodak"
# Classic codecs, sampled finely where the learned curves lie (about 26-30 dB on these crops).
CLASSIC = {**FINE, "avif": (0, 5, 10, 15, 20, 25, 30, 40, 50), "jpegxl": (25.0, 16.0, 12.0, 9.0, 7.0, 5.0, 3.5, 2.5, 1.5),
           "hevc": (51, 48, 45, 42, 39, 36, 33, 30), "avif-screen": (0, 5, 10, 15, 20, 25, 30, 40, 50)}

# --set overrides of sci.toml (the full method) for each trained variant, and the paper table.
VARIANTS = {
    "wacnn": ['structural_prior.name="uniform"', 'text_prior.name="none"', 'loss.name="mse"', 'train.masks="none"'],
    "full": [],
    "sft_cb": ['block.name="sft_cb"', "train.init_fresh_blocks=true"],  # Table 2, against nesft_fresh:
    "nesft_fresh": ["train.init_fresh_blocks=true"],  # both designs' blocks start fresh, as the identity
    "no_structural": ['structural_prior.name="uniform"'],  # Table 3
    "no_text": ['text_prior.name="none"', 'train.masks="none"'],  # Table 4 (WMSE, empty mask: 0.9 lambda)
    "mse": ['loss.name="mse"'],  # Table 6
}
SEEDS = {"wacnn": (0, 1, 2), "full": (0, 1, 2)}  # the others once, seed 0
# The full model's weights with another text detector at compress time (Table 5).
DETECTORS = ("craft", "rrd")


def runs(seeds: int = 3) -> list[str]:
    """Every training run, the ones most tables need first; `full` and `wacnn` with ``seeds`` seeds."""
    firsts = [f"{variant}_s0" for variant in VARIANTS]
    return firsts + [f"{variant}_s{seed}" for variant in VARIANTS for seed in SEEDS.get(variant, (0,))[:seeds] if seed]


def run(cmd: list[str], log: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SCLC_CODEC_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    print(f"[{time.strftime('%H:%M:%S')}] start {log.stem}", flush=True)
    with open(log, "a") as out:
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode
    if code:
        raise RuntimeError(f"{log.stem} failed (exit {code}); see {log}")
    print(f"[{time.strftime('%H:%M:%S')}] done  {log.stem} in {time.time() - start:.0f} s", flush=True)


def dev_tag(every: int) -> str:
    """The evaluation folder of the sci/dev crops of every ``every``-th image (4: ship.py's 17)."""
    return "sci_dev" if every == 4 else f"sci_dev_every{every}"


def sclc(*args: str) -> list[str]:
    return [sys.executable, "-m", "sclc", *args]


def model_path(work: Path, name: str) -> Path:
    return work / "models" / f"{name}.pt"


def train(work: Path, name: str, iters: int, schedule: str = "constant") -> None:
    out = model_path(work, name)
    if out.exists():
        return
    variant, seed = name.rsplit("_s", 1)
    run_dir = work / "train" / name
    sets = [f'name="{name}"', f"seed={seed}", f'train.init_from="{START}"', f"train.max_iters={iters}",
            "train.hyper_rate_warmup=0", "train.val_interval=1000000", "train.checkpoint_interval=300",
            f'train.lr_schedule="{schedule}"', "train.min_lr=1e-6", *VARIANTS[variant]]
    args = ["train", str(SPEC), "--work-dir", str(run_dir)]
    if list(run_dir.glob("iter_*.pth")):
        args.append("--resume")
    for item in sets:
        args += ["--set", item]
    run(sclc(*args), work / "logs" / f"train-{name}.log")
    out.parent.mkdir(parents=True, exist_ok=True)
    run(sclc("export", "--half", str(run_dir / f"iter_{iters}.pth"), str(out)), work / "logs" / f"export-{name}.log")


def detector_model(work: Path, detector: str) -> None:
    """`full`'s weights (seed 0) with another text detector at compress time."""
    out = model_path(work, f"full_{detector}")
    if out.exists():
        return
    from sclc.checkpoint import load_checkpoint, model_from_spec_data, save_checkpoint

    full = load_checkpoint(model_path(work, "full_s0"))
    spec = full.spec.to_dict()
    spec["name"] = f"full_{detector}"
    spec["text_prior"] = {"name": detector}
    save_checkpoint(model_from_spec_data(spec, full.state_dict(), str(out)), out, half=True)


def evaluate(work: Path, name: str, data: Path, tag: str) -> Path:
    """Real bitstreams of one model (qualities 1..8) or of the classic codecs, in a 1-thread process."""
    out = work / "eval" / tag / f"{name}.json"
    if not out.exists():
        run([sys.executable, __file__, "_eval", name, "--work", str(work), "--data", str(data), "--out", str(out)],
            work / "logs" / f"eval-{tag}-{name}.log")
    return out


def eval_one(work: Path, name: str, data: Path, out: Path, box_dirs: tuple[Path, ...] = ()) -> None:
    import dataclasses

    import torch

    from sclc.eval.codecs import resolve
    from sclc.eval.run import evaluate as run_eval
    from sclc.imageio import atomic_write
    from sclc.resolve import load_model

    torch.set_num_threads(1)
    if name == "classic":
        usable, skipped = resolve(list(CLASSIC))
        print(*skipped, sep="\n")
        models, codecs = [], [dataclasses.replace(c, settings=CLASSIC[c.name]) for c in usable]
    else:
        loaded = load_model(model_path(work, name))
        models, codecs = [(name, loaded.at_quality(q)) for q in QUALITIES], {}
    # The crops' text masks lie beside them; whole images name their box folders.
    results = run_eval(data, models, codecs, box_dirs=box_dirs, progress=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(results, indent=1).encode())


def pool(jobs: int, tasks) -> None:
    with ThreadPoolExecutor(jobs) as executor:
        for future in [executor.submit(task) for task in tasks]:
            future.result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["train", "eval", "report", "all", "_eval"])
    parser.add_argument("name", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, default=ROOT / "work_dirs" / "grid_vr")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--iters", type=int, default=1200)
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                        help="Adam's rate: constant 3e-4 (the measured grid), or a cosine down to 1e-6 "
                             "(round 5 of the shipped models gained 0.5-1 dB from that finish)")
    parser.add_argument("--seeds", type=int, choices=(1, 2, 3), default=3,
                        help="train `full` and `wacnn` with this many seeds (the others once)")
    parser.add_argument("--every", type=int, default=4,
                        help="evaluate on the centre crops of every N-th sci/dev image (4: 17 crops, 1: all 66)")
    parser.add_argument("--without", action="append", default=[], metavar="NAME",
                        help="leave out this detector variant's evaluation (full_craft: CRAFT costs 3x a model)")
    parser.add_argument("--tag", help="report another evaluation folder under WORK/eval, e.g. `whole` "
                                      "(examples/ablation/whole_images.sh)")
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--box-dir", type=Path, action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.phase == "_eval":
        eval_one(work, args.name, args.data, args.out, tuple(args.box_dir))
        return 0
    dev = dev_crops(ROOT / "work_dirs" / "zoo" / f"dev512_every{args.every}", args.every, 512)
    tag = dev_tag(args.every)
    if args.phase in ("train", "eval", "all"):
        # Each run is trained then evaluated by the same worker, so evaluations fill the gaps.
        def train_and_eval(name: str) -> None:
            train(work, name, args.iters, args.schedule)
            if args.phase != "train":
                evaluate(work, name, dev, tag)

        tasks = [lambda n=n: train_and_eval(n) for n in runs(args.seeds)]
        if args.phase != "train":  # the longest job first, so the other worker fills in beside it
            tasks.insert(0, lambda: evaluate(work, "classic", dev, tag))
        pool(args.jobs, tasks)
    if args.phase in ("eval", "all"):
        for detector in DETECTORS:
            detector_model(work, detector)
        pool(args.jobs, [*(lambda d=d: evaluate(work, f"full_{d}", dev, tag) for d in DETECTORS
                           if f"full_{d}" not in args.without),
                         *(lambda n=n: evaluate(work, n, KODAK, "kodak") for n in ("full_s0", "wacnn_s0", "classic"))])
    if args.phase in ("report", "all"):
        from report import write_report

        write_report(work, ROOT, args.tag or tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
