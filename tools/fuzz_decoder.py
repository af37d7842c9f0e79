"""Fuzz the .sclc decoder with structure-aware, CRC-valid mutants (sclc.fuzz) and count outcomes.

    python tools/fuzz_decoder.py --cases 10000 --workers 2

Seeds: files written by a tiny spec model (embedded spec) and by the first pretrained model
(named reference). Each mutant is decoded in a worker process, with the seed's model or, for a quarter of
them, with whatever model the mutant's reference names. A worker that dies is a crash, one that
does not answer within --timeout seconds a hang, any exception but a one-line SclcError a
traceback. Expected: 0 crashes, 0 hangs, 0 tracebacks. Fuzzed sizes are capped by --max-pixels
(SCLC_MAX_PIXELS) so that a mutant passing every check decodes quickly; the default limits are
exercised by tests/test_untrusted.py.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import random
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = """name = "fuzz"
[backbone]
name = "wacnn"
N = 16
M = 20
num_slices = 5
max_support_slices = 2
num_heads = 4
prior_channels = 4
[block]
name = "nesft"
hidden = 8
"""


def _pretrained() -> str:
    from sclc import zoo

    return sorted(zoo.catalogue())[0]


def _models(spec_path: str):
    from sclc.resolve import load_model

    return [load_model(spec_path, decoding=True), load_model(_pretrained(), decoding=True)]


def _seeds(spec_path: str) -> list[tuple[int, bytes]]:
    """(model index, file) pairs."""
    import numpy as np
    from PIL import Image

    from sclc.resolve import load_model
    from sclc.codec import compress

    rng = np.random.default_rng(0)
    image = lambda h, w: Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))  # noqa: E731
    tiny, pretrained = load_model(spec_path), load_model(_pretrained())
    return [(0, compress(image(64, 64), tiny)), (0, compress(image(37, 100), tiny)),
            (1, compress(image(64, 64), pretrained))]


def _worker(connection, spec_path: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    from sclc.codec import decompress
    from sclc.errors import SclcError

    models = _models(spec_path)
    connection.send(("ready", ""))
    while True:
        model_index, data = connection.recv()
        try:
            decompress(data, None if model_index < 0 else models[model_index])
            connection.send(("decoded", ""))
        except SclcError as exc:
            line = str(exc)
            connection.send(("refused" if "\n" not in line else "traceback", line))
        except Exception:  # noqa: BLE001 - this is what the fuzzer counts
            connection.send(("traceback", traceback.format_exc().strip().splitlines()[-1]))


class Worker:
    def __init__(self, spec_path: str):
        self.spec_path = spec_path
        self.start()

    def start(self):
        context = multiprocessing.get_context("spawn")  # fork after torch's threads start can hang
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, self.spec_path), daemon=True)
        self.process.start()
        if not self.connection.poll(300):
            raise SystemExit("a fuzz worker did not start within 300 s")
        self.connection.recv()

    def run(self, model_index: int, data: bytes, timeout: float) -> tuple[str, str]:
        try:
            self.connection.send((model_index, data))
            if self.connection.poll(timeout):
                return self.connection.recv()
            outcome = ("hang", f"no answer within {timeout} s")
        except (EOFError, ConnectionError, BrokenPipeError):
            outcome = ("crash", "")
        self.process.join(0.1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        if outcome[0] == "crash" or self.process.exitcode not in (None, 0, -9):
            outcome = ("crash", f"worker exit code {self.process.exitcode}")
        self.start()
        return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a case counts as a hang")
    parser.add_argument("--max-pixels", type=int, default=256 * 256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ["SCLC_MAX_PIXELS"] = str(args.max_pixels)
    os.environ.setdefault("SCLC_CODEC_THREADS", "1")  # workers run side by side

    from sclc import fuzz

    spec_path = Path(tempfile.mkdtemp()) / "fuzz.toml"
    spec_path.write_text(TINY)
    seeds = _seeds(str(spec_path))
    rng = random.Random(args.seed)
    cases = []
    for _ in range(args.cases):
        model_index, seed = rng.choice(seeds)
        by_reference = rng.random() < 0.25
        cases.append((-1 if by_reference else model_index, fuzz.mutate(seed, rng, reference=by_reference)))

    counts, messages = collections.Counter(), collections.defaultdict(collections.Counter)
    lock, start = threading.Lock(), time.perf_counter()

    def drive(part: list) -> None:
        worker = Worker(str(spec_path))
        for model_index, data in part:
            outcome, message = worker.run(model_index, data, args.timeout)
            with lock:
                counts[outcome] += 1
                messages[outcome][message.split(":")[0][:80]] += 1
                done = sum(counts.values())
                if done % 500 == 0:
                    print(f"{done} cases, {time.perf_counter() - start:.0f} s: {dict(counts)}", flush=True)
        worker.process.kill()

    threads = [threading.Thread(target=drive, args=(cases[i::args.workers],)) for i in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    print(f"\n{len(cases)} cases in {time.perf_counter() - start:.0f} s (SCLC_MAX_PIXELS={args.max_pixels})")
    for outcome in ("decoded", "refused", "crash", "hang", "traceback"):
        print(f"{outcome:>10}: {counts[outcome]}")
    for outcome in ("refused", "traceback", "crash", "hang"):
        for message, n in messages[outcome].most_common(12 if outcome == "refused" else 50):
            print(f"  {outcome} x{n}: {message}")
    return 1 if counts["crash"] or counts["hang"] or counts["traceback"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
