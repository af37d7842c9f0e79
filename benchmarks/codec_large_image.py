"""Encode + decode one large image per model in a fresh process; print time and peak RSS.

    python benchmarks/codec_large_image.py [--image PATH] [--size 1920x1080] [SPEC_OR_CKPT ...]

Defaults: a generated 1920x1080 screenshot-like image, and the `tiny` and full-size (`paper`) specs
(random weights: speed and memory do not depend on the weights). Each model runs in its own
process so peak RSS is that model's alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, resource, sys, time, torch
from PIL import Image
from sclc.resolve import load_model
from sclc.codec import encode, decompress
from sclc.determinism import fixed_threads
image = Image.open(sys.argv[1]).convert("RGB")
t0 = time.perf_counter(); loaded = load_model(sys.argv[2]); load_s = time.perf_counter() - t0
from sclc.imageio import prepare_image
x = loaded.model.pad(prepare_image(image).tensor)
with torch.no_grad(), fixed_threads():
    t0 = time.perf_counter(); loaded.model.text_mask(x); loaded.model.structural_prior(x); prior_s = time.perf_counter() - t0
t0 = time.perf_counter(); data = encode(image, loaded).data; enc_s = time.perf_counter() - t0
t0 = time.perf_counter(); out = decompress(data, loaded); dec_s = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"model": sys.argv[2], "load_s": load_s, "prior_s": prior_s if loaded.model.conditioned else 0.0,
                  "encode_s": enc_s, "decode_s": dec_s, "bytes": len(data),
                  "bpp": 8 * len(data) / (image.size[0] * image.size[1]), "peak_rss_mb": rss}))
"""


def synthetic_screenshot(width: int, height: int):
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    image = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x0, y0 = int(rng.integers(0, width - 200)), int(rng.integers(0, height - 100))
        draw.rectangle([x0, y0, x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(20, 200))],
                       fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    for line in range(0, height, 18):
        draw.text((10, line), f"{line:04d}  def compress(image, model): return encode(image, model).data", fill=(0, 0, 0))
    return image

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=[str(ROOT / "examples/specs/tiny.toml"),
                                                      str(ROOT / "examples/specs/paper.toml")])
    parser.add_argument("--image")
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        image_path = args.image
        if image_path is None:
            width, height = map(int, args.size.split("x"))
            image_path = str(Path(tmp) / "screenshot.png")
            synthetic_screenshot(width, height).save(image_path)
        print(f"image: {image_path if args.image else 'generated ' + args.size}; codec threads: 2 (SCLC_CODEC_THREADS)")
        print(f"{'model':<28} {'load s':>7} {'prior s':>8} {'encode s':>9} {'decode s':>9} {'bpp':>7} {'peak RSS MB':>12}")
        for model in args.models:
            result = subprocess.run([sys.executable, "-c", WORKER, image_path, model],
                                    capture_output=True, text=True, cwd=ROOT)
            if result.returncode:
                print(f"{Path(model).name:<28} failed: {result.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{Path(model).name:<28} {r['load_s']:>7.2f} {r['prior_s']:>8.2f} {r['encode_s']:>9.2f} "
                  f"{r['decode_s']:>9.2f} {r['bpp']:>7.3f} {r['peak_rss_mb']:>12.0f}")

if __name__ == "__main__":
    main()
