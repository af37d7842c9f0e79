"""``sclc eval`` (real-bitstream RD points), ``sclc bdrate`` and ``sclc plot`` (of a results file)."""

from __future__ import annotations

import json
import sys

from sclc.commands import add_box_dirs, add_json, box_dirs, cell, non_negative_float, non_negative_int, positive_int
from sclc.errors import SclcError

# Metric -> (column header, format): a metric gets a column when the results hold it.
COLUMNS = {"bpp": ("bpp", "8.4f"), "psnr": ("PSNR", "7.2f"), "ms_ssim": ("MS-SSIM", "8.4f"),
           "text_psnr": ("text PSNR", "10.2f"), "cer": ("CER", "6.3f"), "cer_gt": ("CER gt", "6.3f"), "encode_s": ("enc s", "7.3f"), "decode_s": ("dec s", "7.3f")}


def format_points(results: dict) -> str:
    """One row per RD point, one column per metric the points hold."""
    points = results["points"]
    present = {key for p in points for key in p["mean"]}
    columns = [(key, *COLUMNS[key]) for key in COLUMNS if key in present]
    columns += [(key, key, "8.4g") for key in sorted(present - set(COLUMNS))]
    lines = [f"{'curve':<20} {'setting':>10} " + " ".join(f"{head:>{len(format(0.0, fmt))}}" for _, head, fmt in columns)]
    for p in points:
        lines.append(f"{p['curve']:<20} {p['setting']!s:>10} " +
                     " ".join(cell(p["mean"].get(key), fmt).rjust(len(format(0.0, fmt))) for key, _, fmt in columns))
    return "\n".join(lines)


def _eval(args) -> int:
    from sclc.eval.codecs import resolve
    from sclc.eval.run import QUALITIES, evaluate, models_to_evaluate
    from sclc.imageio import atomic_write, check_writable

    from sclc.quality import QUALITY_MAX, QUALITY_MIN

    check_writable(args.out, args.plot)
    for quality in args.qualities or ():  # the user's scale; each model checks its own range within it
        if not QUALITY_MIN <= quality <= QUALITY_MAX:  # NaN fails too
            raise SclcError(f"--qualities {quality:g}: qualities lie in {QUALITY_MIN:g} .. {QUALITY_MAX:g}")
    codecs, skipped = resolve(args.codec)  # unknown names raise; known but missing ones are skipped
    for message in skipped:
        print(message, file=sys.stderr)
    models = models_to_evaluate(args.model, args.qualities or QUALITIES, args.text_quality, args.refine)
    if not models and not codecs:
        raise SclcError("nothing to evaluate: give --model and/or --codec")
    detector = None
    if args.detector:
        from sclc.registry import default_registry

        component = default_registry().get("text_prior", args.detector)
        params = component.default_params()
        detector = (args.detector, params, component.factory(params))
    engine = None
    if args.ocr:
        from sclc.ocr import engine as ocr_engine

        engine = ocr_engine(args.ocr)  # one not installed is an error, never skipped
    results = evaluate(args.data_dir, models, codecs, box_dirs=box_dirs(args), detector=detector,
                       limit=args.limit, progress=not args.quiet, mask_cache=args.mask_cache,
                       ocr_engine=engine, crops=args.crops)
    atomic_write(args.out, (json.dumps(results, indent=1) + "\n").encode())
    if args.plot:
        from sclc.eval.plot import plot

        plot(results, args.plot)
    print(format_points(results))
    if engine:
        floors = [f["cer_gt"] for f in results["ocr"]["originals"].values() if f["cer_gt"] is not None]
        floor = f"{sum(floors) / len(floors):.3f} over {len(floors)} images" if floors else "- (no ground-truth words)"
        print(f"OCR {engine.name} {engine.version}: CER gt of the originals (the metric's floor) {floor}")
    print(f"results: {args.out}" + (f", plot: {args.plot}" if args.plot else ""))
    return 0


def _bdrate(args) -> int:
    from sclc.eval.bdrate import format_table, readable_table, table
    from sclc.eval.run import read_results

    results = read_results(args.results)
    rows = table(results, args.anchor)
    readable = readable_table(results, args.max_cer)
    if args.json:
        print(json.dumps({**rows, f"bpp_cer<={args.max_cer:g}": readable} if readable else rows, indent=2))
        return 0
    print(format_table(rows, args.anchor))
    if readable:
        print(f"\nbits to keep text readable (mean CER <= {args.max_cer:g} from this rate up)")
        for name, bpp in readable.items():
            print(f"{name:<28}{cell(bpp, '12.4f'):>12}")
    return 0


def _plot(args) -> int:
    from sclc.eval.plot import plot
    from sclc.eval.run import read_results

    plot(read_results(args.results), args.out)
    print(args.out)
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("eval", help="real-bitstream RD evaluation of models and classic codecs on a folder")
    p.add_argument("data_dir")
    p.add_argument("--model", action="append", default=[],
                   help="[LABEL=]CHECKPOINT, SPEC or pretrained name (all its qualities); repeatable")
    p.add_argument("--codec", action="append", default=[],
                   help="jpeg, webp, avif, jpeg2000, jpegxl (or jxl), hevc, avif-screen (repeatable)")
    p.add_argument("--out", required=True, help="results JSON")
    p.add_argument("--plot", help="also write an RD plot (PNG)")
    add_box_dirs(p, "extra folder of <stem>.tsv / gt_<stem>.txt boxes")
    p.add_argument("--detector", help="text prior for the text-region PSNR of images without boxes")
    p.add_argument("--limit", type=positive_int, help="only the first N images")
    p.add_argument("--qualities", type=float, nargs="+", metavar="Q",
                   help="qualities at which variable-rate models are evaluated (default 1 .. 8)")
    p.add_argument("--text-quality", type=non_negative_float, default=0.0, metavar="D",
                   help="variable-rate models code the text mask D qualities higher")
    p.add_argument("--refine", type=non_negative_int, default=0, metavar="STEPS",
                   help="encoder-side refinement of variable-rate models (as sclc compress --refine)")
    p.add_argument("--mask-cache", help="folder caching detector masks across runs (encode times then "
                   "exclude the codecs' text detectors)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ocr", metavar="ENGINE", help="also read every image with an offline OCR engine (tesseract "
                   "or easyocr): CER against the original's text and the box files' words")
    p.add_argument("--crops", type=non_negative_int, default=3, metavar="N",
                   help="keep text-region crops of the first N images for `sclc report` (default 3; 0: none)")
    p.set_defaults(func=_eval)

    p = sub.add_parser("bdrate", help="BD-rate table of every curve against an anchor curve")
    p.add_argument("results")
    p.add_argument("--anchor", required=True)
    p.add_argument("--max-cer", type=non_negative_float, default=0.05, metavar="C",
                   help="CER at which text still counts as readable, for the bits-to-readable column (default 0.05)")
    add_json(p)
    p.set_defaults(func=_bdrate)

    p = sub.add_parser("plot", help="RD plot of a results file")
    p.add_argument("results")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_plot)
