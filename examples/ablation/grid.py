"""The CPU-scale ablation grid of RESULTS.md: train, evaluate and tabulate every variant.

    python examples/ablation/grid.py all --work work_dirs/grid      # everything, resumable
    python examples/ablation/grid.py train|eval|report --work ...   # one phase

Protocol (the same for every variant: data, budget, seeds):
  stage 1  one plain WACNN (N=32, M=40) on the synthetic screen generator (with photo patches;
           no natural photo set is available offline), lambda 0.013, lr 1e-3;
  stage 2  every variant x lambda starts from the stage-1 weights (the prior branch starts as
           the identity) and trains on ../shared/data/sci/train with ground-truth word-box masks;
  eval     real bitstreams on the centre 512x512 of each sci/dev image (boxes cropped along),
           text-region PSNR from ground-truth boxes, or CRAFT where an image has none.
Jobs run ``--jobs`` at a time, one thread each: on 2 cores that beats one 2-thread job by ~1.3x.
Each job skips itself when its output exists, so an interrupted grid continues where it stopped.
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
BASE = HERE / "base.toml"
LAMBDAS = (0.0035, 0.0067, 0.013, 0.025)  # quality 1..4; the paper's upper four
STAGE1_LAMBDA = 0.013
CROP = 512

# Trained variants: --set overrides of base.toml (the full method), paper table they answer.
VARIANTS = {
    "wacnn": ['block.name="none"', 'text_prior.name="none"', 'loss.name="mse"', 'train.masks="none"'],
    "full": [],
    "sft_cb": ['block.name="sft_cb"'],  # Table 2
    "no_structural": ['structural_prior.name="uniform"'],  # Table 3
    "no_text": ['text_prior.name="none"', 'train.masks="none"'],  # Table 4
    "mse": ['loss.name="mse"'],  # Table 6
}
# Same weights as "full", another detector at compress time (Table 5; see RESULTS.md for why).
DETECTOR_VARIANTS = {"east": "east", "rrd": "rrd"}
CLASSIC = ("jpeg", "webp", "avif", "jpegxl")


def run(cmd: list[str], log: Path, threads: int = 1) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "SCLC_CODEC_THREADS": str(threads),
           "PYTHONUNBUFFERED": "1"}
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    print(f"[{time.strftime('%H:%M:%S')}] start {log.stem}: {' '.join(cmd)}", flush=True)
    with open(log, "w") as out:
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode
    if code:
        raise RuntimeError(f"{log.stem} failed (exit {code}); see {log}")
    print(f"[{time.strftime('%H:%M:%S')}] done  {log.stem} in {time.time() - start:.0f} s", flush=True)


def sclc(*args: str) -> list[str]:
    return [sys.executable, "-m", "sclc", *args]


def stage1(work: Path, iters: int) -> Path:
    checkpoint = work / "stage1" / f"iter_{iters}.pth"
    if not checkpoint.exists():
        run(sclc("train", "examples/specs/tiny_wacnn.toml", "--work-dir", str(work / "stage1"),
                 "--set", 'name="stage1"', "--set", f"loss.lmbda={STAGE1_LAMBDA}",
                 "--set", f"train.max_iters={iters}", "--set", "train.lr=1e-3",
                 "--set", 'train.lr_schedule="constant"', "--set", 'train.masks="none"',
                 "--set", "train.val_interval=1000", "--set", "train.checkpoint_interval=1000",
                 "--set", "train.log_interval=100"), work / "logs" / "stage1.log", threads=2)
    return checkpoint


def model_path(work: Path, variant: str, quality: int) -> Path:
    return work / "models" / f"{variant}-q{quality}.pt"


def stage2(work: Path, data: Path, init: Path, variant: str, quality: int, iters: int) -> None:
    out = model_path(work, variant, quality)
    if out.exists():
        return
    lmbda = LAMBDAS[quality - 1]
    run_dir = work / "stage2" / f"{variant}-q{quality}"
    sets = [f'name="{variant}-q{quality}"', f"loss.lmbda={lmbda}", f"train.max_iters={iters}",
            f"train.checkpoint_interval={iters}", f'train.init_from="{init}"',
            f'train.data="{data / "sci" / "train"}"',
            f'train.box_dirs=["{data / "textdet" / "slides" / "words"}", "{data / "textdet" / "docbank" / "tokens"}"]',
            *VARIANTS[variant]]
    args = ["train", str(BASE), "--work-dir", str(run_dir)]
    for item in sets:
        args += ["--set", item]
    run(sclc(*args), work / "logs" / f"{variant}-q{quality}.log")
    out.parent.mkdir(parents=True, exist_ok=True)
    run(sclc("export", "--half", str(run_dir / f"iter_{iters}.pth"), str(out)), work / "logs" / f"export-{variant}-q{quality}.log")


def detector_variant(work: Path, variant: str, detector: str, quality: int) -> None:
    """The full model's weights with another text detector at compress time."""
    out = model_path(work, variant, quality)
    if out.exists():
        return
    from sclc.checkpoint import load_checkpoint, model_from_spec_data, save_checkpoint

    full = load_checkpoint(model_path(work, "full", quality))
    spec = full.spec.to_dict()
    spec["name"] = f"{variant}-q{quality}"
    spec["text_prior"] = {"name": detector}
    save_checkpoint(model_from_spec_data(spec, full.state_dict(), str(out)), out, half=True)


def prepare_dev(data: Path, out: Path) -> Path:
    """Centre CROP x CROP of each sci/dev image (whole image where smaller), boxes cropped along."""
    import numpy as np
    from PIL import Image

    from sclc.data.boxes import find_box_file, read_boxes
    from sclc.data.folder import list_images
    from sclc.imageio import atomic_write, load_rgb, save_image

    box_dirs = (data / "textdet" / "slides" / "words", data / "textdet" / "docbank" / "tokens")
    out.mkdir(parents=True, exist_ok=True)
    for path in list_images(data / "sci" / "dev"):
        target = out / f"{path.stem}.png"
        if target.exists():
            continue
        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        top, left = max((h - CROP) // 2, 0), max((w - CROP) // 2, 0)
        crop = np.ascontiguousarray(rgb[top:top + CROP, left:left + CROP])
        ch, cw = crop.shape[:2]
        box_file = find_box_file(path, box_dirs)
        if box_file is not None:  # inclusive corners, as in the shared .tsv files
            rows = ["x0\ty0\tx1\ty1"]
            for x0, y0, x1, y1 in read_boxes(box_file):
                x0, x1, y0, y1 = x0 - left, x1 - left, y0 - top, y1 - top
                if x1 >= 0 and y1 >= 0 and x0 < cw and y0 < ch:
                    rows.append(f"{max(x0, 0)}\t{max(y0, 0)}\t{min(x1, cw - 1)}\t{min(y1, ch - 1)}")
            atomic_write(out / f"{path.stem}.tsv", ("\n".join(rows) + "\n").encode())
        save_image(Image.fromarray(crop), target)
    return out


def evaluate(work: Path, dev: Path, name: str, extra: list[str]) -> Path:
    out = work / "eval" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists():
        run(sclc("eval", str(dev), *extra, "--detector", "craft", "--mask-cache", str(work / "masks"),
                 "--out", str(out), "--quiet"), work / "logs" / f"eval-{name}.log")
    return out


def model_args(work: Path, variant: str) -> list[str]:
    return [arg for q in range(1, len(LAMBDAS) + 1) for arg in ("--model", f"{variant}={model_path(work, variant, q)}")]


def merge(files: list[Path], out: Path) -> dict:
    from sclc.imageio import atomic_write

    parts = [json.loads(f.read_text()) for f in files]
    merged = {**parts[0], "points": [p for part in parts for p in part["points"]]}
    for part in parts[1:]:
        if part["images"] != merged["images"]:
            raise RuntimeError(f"{part['data_dir']}: the results cover different images")
    atomic_write(out, (json.dumps(merged, indent=1) + "\n").encode())
    return merged


def pool(jobs: int, tasks) -> None:
    with ThreadPoolExecutor(jobs) as executor:
        for future in [executor.submit(task) for task in tasks]:
            future.result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["train", "eval", "report", "all"])
    parser.add_argument("--work", type=Path, default=ROOT / "work_dirs" / "grid")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stage1-iters", type=int, default=4000)
    parser.add_argument("--stage2-iters", type=int, default=400)
    args = parser.parse_args()
    work, data = args.work.resolve(), args.data.resolve()
    qualities = range(1, len(LAMBDAS) + 1)
    if args.phase in ("train", "all"):
        init = stage1(work, args.stage1_iters)
        # Highest quality first: the longest-running evaluations can start earliest.
        pool(args.jobs, [lambda v=v, q=q: stage2(work, data, init, v, q, args.stage2_iters)
                         for q in reversed(qualities) for v in VARIANTS])
        for variant, detector in DETECTOR_VARIANTS.items():
            for q in qualities:
                detector_variant(work, variant, detector, q)
    if args.phase in ("eval", "all"):
        dev = prepare_dev(data, work / f"dev{CROP}")
        evaluate(work, dev, "classic", [f"--codec={c}" for c in CLASSIC])  # also fills the CRAFT cache
        pool(args.jobs, [lambda v=v: evaluate(work, dev, v, model_args(work, v))
                         for v in [*VARIANTS, *DETECTOR_VARIANTS]])
    if args.phase in ("report", "all"):
        from report import write_report

        files = [work / "eval" / f"{v}.json" for v in [*VARIANTS, *DETECTOR_VARIANTS, "classic"]]
        write_report(merge(files, work / "results.json"), work, ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
