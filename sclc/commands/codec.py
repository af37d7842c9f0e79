"""``sclc compress`` and ``sclc decompress``: one image <-> one .sclc file."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from sclc.commands import add_set, non_negative_float, non_negative_int
from sclc.errors import SclcError


def _compress(args) -> int:
    import time
    import warnings

    from sclc.codec import encode
    from sclc.imageio import atomic_write, open_image, read_quality_map
    from sclc.resolve import load_model

    if args.quality_map and (args.quality is not None or args.text_quality):
        raise SclcError("--quality-map sets the quality of every pixel: leave out --quality and --text-quality")
    image, read_notes = open_image(args.input)
    loaded = load_model(args.model, args.set, quality=args.quality, text_quality=args.text_quality,
                        refine_steps=args.refine)
    quality_map = read_quality_map(args.quality_map, image.size) if args.quality_map else None
    start = time.perf_counter()
    with warnings.catch_warnings(), _refine_bar(loaded.refine_steps) as progress:
        warnings.simplefilter("ignore")  # conversions are reported below as notes
        encoded = encode(image, loaded, quality_map=quality_map, progress=progress)
    seconds = time.perf_counter() - start
    atomic_write(args.output, encoded.data)
    width, height = image.size
    for note in read_notes + encoded.notes:
        print(f"note: {note}")
    print(f"{args.output}: {width}x{height}, {len(encoded.data)} bytes, "
          f"{8 * len(encoded.data) / (width * height):.4f} bpp, encoded in {seconds:.2f} s "
          f"({loaded.description}{'' if loaded.quality is None else f', {loaded.setting}'})")
    return 0


@contextmanager
def _refine_bar(steps: int):
    """A progress bar on a terminal's stderr while refinement runs (it can take minutes)."""
    if not steps or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=steps, unit="step", desc="refine", leave=False) as bar:
        yield lambda step, total: bar.update(step - bar.n)


def _decompress(args) -> int:
    import time
    from pathlib import Path

    from sclc.codec import decompress
    from sclc.imageio import save_image
    from sclc.resolve import load_model

    try:
        data = Path(args.input).read_bytes()
    except OSError as exc:
        raise SclcError(f"cannot read {args.input}: {exc.strerror or exc}") from None
    if args.set and not args.model:
        raise SclcError("--set changes the spec of --model; without --model there is nothing to change")
    model = load_model(args.model, args.set, decoding=True) if args.model else None
    start = time.perf_counter()
    image = decompress(data, model)
    seconds = time.perf_counter() - start
    save_image(image, args.output)
    print(f"{args.output}: {image.size[0]}x{image.size[1]} {image.mode}, decoded in {seconds:.2f} s")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("compress", help="compress an image into a .sclc file")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model", required=True,
                   help="codec checkpoint, spec TOML (seeded random weights) or pretrained name (sclc models)")
    p.add_argument("--quality", type=float,
                   help="quality of a variable-rate model: 1 (smallest) .. 8, fractions too (default 6)")
    p.add_argument("--text-quality", type=non_negative_float, default=0.0, metavar="D",
                   help="code the text mask D qualities higher than the rest (variable-rate models)")
    p.add_argument("--quality-map", metavar="PNG",
                   help="grey map of the image's size, 8 or 16 bits: 0 = the model's lowest rate, white = its highest")
    p.add_argument("--refine", type=non_negative_int, default=0, metavar="STEPS",
                   help="optimise the image's latents for STEPS steps before coding (variable-rate models): "
                        "smaller files for the same decoder, about a forward and backward pass per step")
    add_set(p)
    p.set_defaults(func=_compress)

    p = sub.add_parser("decompress", help="decode a .sclc file into an image (PNG unless the suffix says otherwise)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model", help="needed unless the file embeds its spec model")
    add_set(p)
    p.set_defaults(func=_decompress)
