"""Ship the newest checkpoints of examples/zoo/train.sh as the pretrained `sci` and `wacnn`.

    python examples/zoo/ship.py [--work work_dirs/zoo] [--every 4] [--crop 512] [--checkpoint NAME=PATH]

For each model: export the newest training checkpoint (float16) into sclc/pretrained/, then
measure it with real bitstreams at qualities 1..8 on the centre ``--crop`` of every ``--every``-th
sci/dev image (JPEG and WebP on the same crops), and write models.toml (sha256, measured RD) and
work_dirs/zoo/ship.json (the whole evaluation, for RESULTS.md and `sclc bdrate`).
``--checkpoint sci=PATH`` ships that training checkpoint or codec file instead of the newest in
the work dir (e.g. what a device call of tools/gpu/run.sh returned).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = {
    "sci": "the paper's full method as one variable-rate model: Laplacian x EAST prior, SEM at g_a/h_a/g_s, WMSE",
    "wacnn": "its WACNN baseline: same size, data and budget; the blocks see only the quality map",
}
QUALITIES = (1, 2, 3, 4, 5, 6, 7, 8)
# Ground-truth word boxes of the sci/dev slides and arXiv pages (the screenshots have none).
BOX_DIRS = (ROOT / "../shared/data/textdet/slides/words", ROOT / "../shared/data/textdet/docbank/tokens")


def newest_checkpoint(work_dir: Path) -> Path:
    found = sorted(work_dir.glob("iter_*.pth"), key=lambda p: int(re.findall(r"\d+", p.stem)[0]))
    if not found:
        raise SystemExit(f"no checkpoints in {work_dir}")
    return found[-1]


def dev_crops(out: Path, every: int, crop: int, offset: int = 0) -> Path:
    """The centre crops, each with ``<stem>.mask.png``, the same window of its text boxes (found
    beside the crop before the box folders, so text-region PSNR measures the crop's own text)."""
    from sclc.data.boxes import centre_crop_and_mask
    from sclc.data.folder import list_images
    from sclc.imageio import save_image

    out.mkdir(parents=True, exist_ok=True)
    for path in list_images(ROOT / "../shared/data/sci/dev")[offset::every]:
        rgb, mask = centre_crop_and_mask(path, crop, BOX_DIRS)
        save_image(Image.fromarray(rgb), out / f"{path.stem}.png")
        if mask is not None:
            save_image(Image.fromarray(mask * 255), out / f"{path.stem}.mask.png")
    return out


def main() -> int:
    from sclc.checkpoint import export_checkpoint
    from sclc.resolve import load_model
    from sclc.eval.codecs import resolve
    from sclc.eval.run import evaluate
    from sclc.imageio import atomic_write

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "work_dirs" / "zoo")
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--crop", type=int, default=512)
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                        help="ship this checkpoint for NAME instead of the newest in the work dir")
    args = parser.parse_args()
    chosen = dict(item.split("=", 1) for item in args.checkpoint)
    if set(chosen) - set(SUMMARY):
        raise SystemExit(f"--checkpoint names {sorted(set(chosen) - set(SUMMARY))}; the shipped models are {list(SUMMARY)}")
    target = ROOT / "sclc" / "pretrained"
    data = dev_crops(args.work / f"dev{args.crop}_every{args.every}", args.every, args.crop)
    models, trained = [], {}
    for name in SUMMARY:
        checkpoint = Path(chosen[name]) if name in chosen else newest_checkpoint(args.work / name)
        where = checkpoint.resolve()
        trained[name] = str(where.relative_to(ROOT)) if where.is_relative_to(ROOT) else str(where)
        export_checkpoint(checkpoint, target / f"{name}.pt", half=True)
        loaded = load_model(target / f"{name}.pt")
        models += [(name, loaded.at_quality(q)) for q in QUALITIES]
    codecs, _ = resolve(["jpeg", "webp"])
    results = evaluate(data, models, codecs, progress=False)
    results["trained"] = trained
    atomic_write(args.work / "ship.json", json.dumps(results, indent=1).encode())
    rows = []
    for name in SUMMARY:
        points = sorted((p for p in results["points"] if p["curve"] == name), key=lambda p: p["setting"])
        measured = [{"quality": q, **{k: round(p["mean"][k], 4) for k in ("bpp", "psnr", "text_psnr", "ms_ssim")
                                      if p["mean"][k] is not None}}
                    for q, p in zip(QUALITIES, sorted(points, key=lambda p: float(p["setting"].split(" q")[1])))]
        out = target / f"{name}.pt"
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        table = ", ".join("{ " + ", ".join(f"{k} = {v}" for k, v in m.items()) + " }" for m in measured)
        rows.append(f'[[model]]\nname = "{name}"\nfile = "{out.name}"\nsha256 = "{digest}"\nqualities = [1, 8]\n'
                    f'summary = "{SUMMARY[name]}"\nmeasured = [{table}]\n')
        print(f"{name} ({trained[name]}, {out.stat().st_size / 1e6:.1f} MB):")
        for m in measured:
            print("   ", m)
    for p in results["points"]:
        if p["kind"] == "classic":
            print(f"{p['curve']} {p['setting']}: bpp {p['mean']['bpp']:.3f} PSNR {p['mean']['psnr']:.2f}")
    header = ("# Pretrained codecs shipped with sclc (see MODEL_CARD.md). Written by examples/zoo/ship.py;\n"
              f"# `measured` = mean over the centre {args.crop}x{args.crop} crops of every {args.every}th sci/dev image.\n\n")
    atomic_write(target / "models.toml", (header + "\n".join(rows)).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
