"""Time each text detector on a generated 1280x720 screenshot (CPU, 2 threads, median of 5).

    python benchmarks/detectors.py [--size 1280x720] [--set KEY=VALUE ...] [DETECTOR ...]

Accuracy is measured by `sclc detect-eval`; this script isolates speed on the size that matters for
encoding screen content.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from codec_large_image import synthetic_screenshot  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("detectors", nargs="*", default=["east", "rrd", "craft"])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="detector parameter for every detector named (e.g. weights=east_large.pt)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    from sclc.detect import load_detector
    from sclc.imageio import detect_mask

    width, height = map(int, args.size.split("x"))
    import numpy as np

    image = np.asarray(synthetic_screenshot(width, height))
    print(f"CPU, 2 threads, {args.size}, median of {args.repeat}")
    for name in args.detectors:
        detector = load_detector(name, args.set)
        detect_mask(detector, image)  # warm-up
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            detect_mask(detector, image)
            times.append(time.perf_counter() - start)
        weights = "trained" if getattr(detector, "pretrained", False) else "random"
        params = sum(p.numel() for p in detector.parameters())
        print(f"{name:<8} {statistics.median(times):7.3f} s per image   {params / 1e6:6.2f} M parameters ({weights} weights)")


if __name__ == "__main__":
    main()
