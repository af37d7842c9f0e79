"""The ``sclc`` command line. User errors print one line and exit with code 2."""

from __future__ import annotations

import argparse
import json
import sys

from sclc.errors import SclcError


def _cmd_list(args) -> int:
    from sclc.hookspecs import KINDS
    from sclc.registry import default_registry

    registry = default_registry()
    if args.kind and args.kind not in KINDS:
        raise SclcError(f"unknown kind '{args.kind}' — kinds: {', '.join(KINDS)}")
    rows = [{"kind": c.kind, "name": c.name, "provider": c.provider, "plugin": c.plugin,
             "summary": c.summary, "reference": c.reference} for c in registry.components(args.kind)]
    broken = [{"plugin": b.plugin, "provider": b.provider, "error": b.error} for b in registry.broken]
    unavailable = [{"kind": u.kind, "name": u.name, "provider": u.provider, "reason": u.reason}
                   for u in registry.unavailable if not args.kind or u.kind == args.kind]
    if args.json:
        print(json.dumps({"components": rows, "unavailable": unavailable, "broken": broken}, indent=2))
        return 0
    for row in rows:
        print(f"{row['kind']:<11} {row['name']:<17} {row['provider']:<10} {row['summary']}")
    for u in unavailable:
        print(f"UNAVAILABLE {u['name']:<17} {u['provider']:<10} {u['reason']}")
    for b in broken:
        print(f"BROKEN      {b['plugin']:<17} {b['provider']:<10} {b['error']}")
    return 0


def _cmd_models(args) -> int:
    from sclc import zoo

    rows = list(zoo.catalogue().values())
    if args.json:
        print(json.dumps([{**m.__dict__, "path": str(m.path)} for m in rows], indent=2))
        return 0
    if not rows:
        print("no pretrained models installed")
        return 0
    print(f"{'name':<8} {'qualities':>9} {'quality':>7} {'bpp':>7} {'PSNR':>7} {'text PSNR':>10}  summary")
    for m in rows:
        low, high = m.qualities
        for i, r in enumerate(m.measured or ({},)):
            bpp, psnr, text = (_cell(r.get(key), spec) for key, spec in
                               (("bpp", "7.3f"), ("psnr", "7.2f"), ("text_psnr", "10.2f")))
            head = f"{m.name:<8} {f'{low:g}..{high:g}':>9}" if i == 0 else " " * 18
            print(f"{head} {_cell(r.get('quality'), '7g'):>7} {bpp:>7} {psnr:>7} {text:>10}  {m.summary if i == 0 else ''}")
    print(f"measured on: {zoo.DIRECTORY / 'MODEL_CARD.md'}")
    return 0


def _cmd_demo(args) -> int:
    from pathlib import Path

    from sclc.demo import format_rows, run_demo

    rows = run_demo(args.model, args.quality, Path(args.out_dir), args.width, args.height, args.seed)
    print(f"generated {args.width}x{args.height} screenshot (seed {args.seed}); classic codecs at the largest "
          f"quality that fits the learned file")
    print(format_rows(rows))
    from sclc.ocr import available

    reason = available("tesseract")
    if reason:
        print(f"no CER: {reason}")
    print(f"images and files: {args.out_dir}/ (report.html: the comparison as a page)")
    return 0


def _cmd_build(args) -> int:
    from sclc.report import build_report, format_report

    report = build_report(args.spec, args.set, size=args.size)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _cmd_compress(args) -> int:
    import time
    import warnings

    from sclc.checkpoint import load_model
    from sclc.codec import encode
    from sclc.imageio import atomic_write, open_image, read_quality_map

    image, read_notes = open_image(args.input)
    loaded = load_model(args.model, args.set, quality=args.quality, text_quality=args.text_quality)
    quality_map = read_quality_map(args.quality_map, image.size) if args.quality_map else None
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # conversions are reported below as notes
        encoded = encode(image, loaded, quality_map=quality_map)
    seconds = time.perf_counter() - start
    atomic_write(args.output, encoded.data)
    width, height = image.size
    for note in read_notes + encoded.notes:
        print(f"note: {note}")
    print(f"{args.output}: {width}x{height}, {len(encoded.data)} bytes, "
          f"{8 * len(encoded.data) / (width * height):.4f} bpp, encoded in {seconds:.2f} s "
          f"({loaded.description}{'' if loaded.quality is None else f', {loaded.setting}'})")
    return 0


def _cmd_decompress(args) -> int:
    import time
    from pathlib import Path

    from sclc.checkpoint import load_model
    from sclc.codec import decompress
    from sclc.imageio import save_image

    try:
        data = Path(args.input).read_bytes()
    except OSError as exc:
        raise SclcError(f"cannot read {args.input}: {exc.strerror or exc}") from None
    model = load_model(args.model, args.set, decoding=True) if args.model else None
    start = time.perf_counter()
    image = decompress(data, model)
    seconds = time.perf_counter() - start
    save_image(image, args.output)
    print(f"{args.output}: {image.size[0]}x{image.size[1]} {image.mode}, decoded in {seconds:.2f} s")
    return 0


def _cmd_export(args) -> int:
    from sclc.checkpoint import export_checkpoint, model_id

    model = export_checkpoint(args.checkpoint, args.output, half=args.half)
    print(f"{args.output}: codec checkpoint of '{model.spec.name}' (model id {model_id(model).hex()})")
    return 0


def _cmd_train(args) -> int:
    if args.device == "cpu":
        import os

        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before anything initialises CUDA
    from sclc.spec import load_spec
    from sclc.train.runner import build_runner

    spec = load_spec(args.spec, args.set)
    runner = build_runner(spec, args.work_dir, resume=args.resume, launcher=args.launcher, device=args.device)
    runner.train()
    return 0


EVAL_QUALITIES = (1, 2, 3, 4, 5, 6, 7, 8)


def _model_args(values: list[str], qualities=EVAL_QUALITIES, text_quality: float = 0.0) -> list[tuple[str, object]]:
    """``--model PATH`` or ``--model LABEL=PATH``; points with one label form one RD curve: a
    variable-rate model gives one point per quality."""
    from pathlib import Path

    from sclc.checkpoint import load_model

    out = []
    for value in values:
        label, _, path = value.partition("=")
        if not path or Path(value).exists():
            label, path = "", value
        loaded = load_model(path)
        label = label or loaded.model.spec.name
        if loaded.model.rate is None:
            out.append((label, loaded))
        else:
            out += [(label, loaded.at_quality(q, text_quality)) for q in qualities]
    return out


def _cmd_eval(args) -> int:
    import json

    from sclc.eval.codecs import resolve
    from sclc.eval.run import evaluate
    from sclc.imageio import atomic_write

    codecs, skipped = resolve(args.codec)  # unknown names raise; known but missing ones are skipped
    for message in skipped:
        print(message, file=sys.stderr)
    models = _model_args(args.model, args.qualities, args.text_quality)
    if not models and not codecs:
        raise SclcError("nothing to evaluate: give --model and/or --codec")
    detector = None
    if args.detector:
        from sclc.registry import default_registry

        component = default_registry().get("text_prior", args.detector)
        params = component.default_params()
        detector = (args.detector, params, component.factory(params))
    if args.crops < 0:
        raise SclcError(f"--crops must be 0 or more, got {args.crops}")
    engine = None
    if args.ocr:
        from sclc.ocr import engine as ocr_engine

        engine = ocr_engine(args.ocr)  # one not installed is an error, never skipped
    results = evaluate(args.data_dir, models, codecs, box_dirs=tuple(args.box_dir), detector=detector,
                       limit=args.limit, progress=not args.quiet, mask_cache=args.mask_cache,
                       ocr_engine=engine, crops=args.crops)
    atomic_write(args.out, (json.dumps(results, indent=1) + "\n").encode())
    if args.plot:
        from sclc.eval.plot import plot

        plot(results, args.plot)
    ocr_head = f" {'CER':>6} {'CER gt':>6}" if engine else ""
    print(f"{'curve':<20} {'setting':>10} {'bpp':>8} {'PSNR':>7} {'MS-SSIM':>8} {'text PSNR':>10}{ocr_head} "
          f"{'enc s':>7} {'dec s':>7}")
    fmt = _cell
    for p in results["points"]:
        m = p["mean"]
        ocr_cells = f" {fmt(m['cer'], '6.3f'):>6} {fmt(m['cer_gt'], '6.3f'):>6}" if engine else ""
        print(f"{p['curve']:<20} {p['setting']!s:>10} {fmt(m['bpp'], '8.4f')} {fmt(m['psnr'], '7.2f')} "
              f"{fmt(m['ms_ssim'], '8.4f')} {fmt(m['text_psnr'], '10.2f')}{ocr_cells} {fmt(m['encode_s'], '7.3f')} "
              f"{fmt(m['decode_s'], '7.3f')}")
    if engine:
        floors = [f["cer_gt"] for f in results["ocr"]["originals"].values() if f["cer_gt"] is not None]
        floor = f"{sum(floors) / len(floors):.3f} over {len(floors)} images" if floors else "- (no ground-truth words)"
        print(f"OCR {engine.name} {engine.version}: CER gt of the originals (the metric's floor) {floor}")
    print(f"results: {args.out}" + (f", plot: {args.plot}" if args.plot else ""))
    return 0


def _cell(value, spec: str) -> str:
    """A table cell: the formatted value, or "-" where nothing was measured."""
    return "-" if value is None else format(value, spec)


def _read_results(path: str) -> dict:
    import json

    try:
        with open(path, encoding="utf-8") as file:
            results = json.load(file)
    except (OSError, ValueError) as exc:
        raise SclcError(f"cannot read results {path}: {exc}") from None
    from sclc.eval.run import READABLE_SCHEMAS

    if not isinstance(results, dict) or results.get("schema") not in READABLE_SCHEMAS:
        raise SclcError(f"{path} is not an sclc eval results file (schema {' or '.join(READABLE_SCHEMAS)})")
    return results


def _cmd_bdrate(args) -> int:
    import json

    from sclc.eval.bdrate import format_table, readable_table, table

    results = _read_results(args.results)
    rows = table(results, args.anchor)
    readable = readable_table(results, args.max_cer)
    if args.json:
        print(json.dumps({**rows, f"bpp_cer<={args.max_cer:g}": readable} if readable else rows, indent=2))
        return 0
    print(format_table(rows, args.anchor))
    if readable:
        print(f"\nbits to keep text readable (mean CER <= {args.max_cer:g} from this rate up)")
        for name, bpp in readable.items():
            print(f"{name:<28}{_cell(bpp, '12.4f'):>12}")
    return 0


def _cmd_plot(args) -> int:
    from sclc.eval.plot import plot

    plot(_read_results(args.results), args.out)
    print(args.out)
    return 0


def _cmd_report(args) -> int:
    from sclc import html_report

    html_report.write(_read_results(args.results), args.out, args.anchor, args.max_cer)
    print(args.out)
    return 0


def _cmd_detect(args) -> int:
    from pathlib import Path

    from PIL import Image

    from sclc.detect import detect_mask, load_detector, overlay
    from sclc.imageio import load_rgb, save_image

    detector = load_detector(args.detector, args.set)
    rgb = load_rgb(Path(args.image))
    mask = detect_mask(detector, rgb)
    save_image(Image.fromarray(mask * 255), args.out)
    if args.overlay:
        save_image(overlay(rgb, mask), args.overlay)
    print(f"{args.out}: {mask.mean() * 100:.1f} % of pixels are text" + (f"; overlay {args.overlay}" if args.overlay else ""))
    return 0


def _sweep_settings(sweep: str | None) -> list[list[str]]:
    """``KEY=V1,V2,...`` -> one ``--set`` list per value (``[[]]`` without a sweep)."""
    if sweep is None:
        return [[]]
    key, _, values = sweep.partition("=")
    if not key or not values:
        raise SclcError(f"--sweep {sweep!r}: expected KEY=V1,V2,... (e.g. threshold=0.5,0.6,0.7)")
    return [[f"{key}={value}"] for value in _split_top_level(values) if value]


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: ``[1.0],[0.75,1.25]`` -> ``["[1.0]", "[0.75,1.25]"]``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _cmd_detect_eval(args) -> int:
    from pathlib import Path

    from sclc.detect import evaluate_detector, load_detector

    results = []
    for setting in _sweep_settings(args.sweep):
        result = evaluate_detector(load_detector(args.detector, args.set + setting), args.data_dir, args.split,
                                   args.limit, tuple(Path(d) for d in args.box_dir))
        result["detector"] = args.detector
        result["set"] = args.set + setting
        results.append(result)
        if not args.json:
            label = f" [{setting[0]}]" if setting else ""
            print(f"{args.detector}{label}: {result['images']} images ({args.split}), pixel precision "
                  f"{result['precision']:.3f}, recall {result['recall']:.3f}, F1 {result['f1']:.3f}, "
                  f"{result['seconds_per_megapixel']:.3f} s/MP")
    if args.json:
        print(json.dumps(results if args.sweep else results[0], indent=2))
    return 0


def _cmd_train_detector(args) -> int:
    from pathlib import Path

    from sclc.detect import load_detector, split_images
    from sclc.detector_training import collect, save_weights, train_detector

    detector = load_detector(args.detector, (["weights=none"] if args.from_scratch else []) + args.set)
    held_out = set()
    for entry in args.data:  # never train on the ICDAR images detect-eval holds back
        root = Path(entry.partition(":")[0])
        if (root / "images").is_dir() and (root / "gt").is_dir():
            from sclc.data.folder import list_images

            held_out |= {p.name for p in split_images(list_images(root / "images"), "heldout")}
    items = collect(args.data, exclude=held_out)
    teacher = None
    if args.unlabelled:
        if not args.teacher:
            raise SclcError("--unlabelled images need a --teacher detector to label them")
        from sclc.data.mask_cache import MaskCache
        from sclc.detector_training import collect_unlabelled

        teacher_net = load_detector(args.teacher)
        teacher = MaskCache(Path(args.out).parent / "teacher_masks", args.teacher, {}, teacher_net)
        items += collect_unlabelled(args.unlabelled)
    print(f"{len(items)} images ({len(held_out)} held-out ICDAR images excluded), "
          f"synthetic fraction {args.synthetic_fraction}")
    low, high = args.scale_range
    if not 0.05 <= low <= high <= 8:
        raise SclcError(f"--scale-range {low} {high}: need 0.05 <= LOW <= HIGH <= 8")

    def save_snapshot(step: int) -> None:
        out = Path(args.out)
        save_weights(detector.net, out.with_name(f"{out.stem}.step{step}{out.suffix}"))

    train_detector(detector, items, iters=args.iters, crop=args.crop, batch_size=args.batch_size, lr=args.lr,
                   synthetic_fraction=args.synthetic_fraction, seed=args.seed, teacher=teacher,
                   scale_range=(low, high), save_every=args.save_every, save=save_snapshot)
    save_weights(detector.net, args.out)
    print(f"weights: {args.out}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sclc", description="Learned screen content image compression toolkit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="list registered components")
    p.add_argument("--kind", help="prior, text_prior, block, backbone or loss")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("build", help="validate a spec, build the model and run one forward pass")
    p.add_argument("spec")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec field, e.g. --set backbone.N=64 (repeatable)")
    p.add_argument("--size", type=int, default=128, help="side of the random test image (default 128)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("demo", help="a pretrained codec vs JPEG and WebP at the same size on a generated screenshot")
    p.add_argument("--model", default="sci", help="pretrained name, checkpoint or spec (default sci)")
    p.add_argument("--quality", type=float, help="quality of a variable-rate model, 1 (smallest) .. 8 (default 4)")
    p.add_argument("--out-dir", default="sclc-demo")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("models", help="list the pretrained models shipped with sclc")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("compress", help="compress an image into a .sclc file")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model", required=True,
                   help="codec checkpoint, spec TOML (seeded random weights) or pretrained name (sclc models)")
    p.add_argument("--quality", type=float,
                   help="quality of a variable-rate model: 1 (smallest) .. 8, fractions too (default 4)")
    p.add_argument("--text-quality", type=float, default=0.0, metavar="D",
                   help="code the text mask D qualities higher than the rest (variable-rate models)")
    p.add_argument("--quality-map", metavar="PNG",
                   help="8-bit grey map of the image's size: 0 = the model's lowest rate, 255 = its highest")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec field")
    p.set_defaults(func=_cmd_compress)

    p = sub.add_parser("decompress", help="decode a .sclc file into an image (PNG unless the suffix says otherwise)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model", help="needed unless the file embeds its spec model")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec field")
    p.set_defaults(func=_cmd_decompress)

    p = sub.add_parser("train", help="train a spec on mmengine's Runner (CPU, GPU, or DDP via torchrun)")
    p.add_argument("spec")
    p.add_argument("--work-dir", required=True)
    p.add_argument("--resume", action="store_true", help="continue from WORK_DIR's last checkpoint")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="overrides train.device")
    p.add_argument("--launcher", choices=["none", "pytorch"], default="none",
                   help="pytorch: under torchrun, one process per rank (gloo on CPU, nccl on GPU)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec field")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="real-bitstream RD evaluation of models and classic codecs on a folder")
    p.add_argument("data_dir")
    p.add_argument("--model", action="append", default=[],
                   help="[LABEL=]CHECKPOINT, SPEC or pretrained name (all its qualities); repeatable")
    p.add_argument("--codec", action="append", default=[],
                   help="jpeg, webp, avif, jpeg2000, jpegxl (or jxl), hevc, avif-screen (repeatable)")
    p.add_argument("--out", required=True, help="results JSON")
    p.add_argument("--plot", help="also write an RD plot (PNG)")
    p.add_argument("--box-dir", action="append", default=[], help="extra folder of <stem>.tsv / gt_<stem>.txt boxes")
    p.add_argument("--detector", help="text prior for the text-region PSNR of images without boxes")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--qualities", type=float, nargs="+", default=list(EVAL_QUALITIES),
                   help="qualities at which variable-rate models are evaluated (default 1 .. 8)")
    p.add_argument("--text-quality", type=float, default=0.0, metavar="D",
                   help="variable-rate models code the text mask D qualities higher")
    p.add_argument("--mask-cache", help="folder caching detector masks across runs (encode times then "
                   "exclude the codecs' text detectors)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ocr", metavar="ENGINE", help="also read every image with an offline OCR engine (tesseract "
                   "or easyocr): CER against the original's text and the box files' words")
    p.add_argument("--crops", type=int, default=3, metavar="N",
                   help="keep text-region crops of the first N images for `sclc report` (default 3; 0: none)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("bdrate", help="BD-rate table of every curve against an anchor curve")
    p.add_argument("results")
    p.add_argument("--anchor", required=True)
    p.add_argument("--max-cer", type=float, default=0.05, metavar="C",
                   help="CER at which text still counts as readable, for the bits-to-readable column (default 0.05)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bdrate)

    p = sub.add_parser("plot", help="RD plot of a results file")
    p.add_argument("results")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("report", help="one self-contained HTML page of a results file: RD plots, BD-rates, crops")
    p.add_argument("results")
    p.add_argument("--out", required=True, help="HTML file")
    p.add_argument("--anchor", help="BD-rate anchor curve (default jpeg, else the first curve)")
    p.add_argument("--max-cer", type=float, default=0.05, metavar="C", help="CER that still counts as readable")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("detect", help="write a text mask (and an overlay picture) for one image")
    p.add_argument("image")
    p.add_argument("--detector", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--overlay")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="detector parameter")
    p.set_defaults(func=_cmd_detect)

    p = sub.add_parser("detect-eval", help="pixel precision/recall/F1 of a detector against ground-truth boxes")
    p.add_argument("data_dir", help="images/ + gt/gt_<stem>.txt (ICDAR), or images with <stem>.tsv")
    p.add_argument("--detector", required=True)
    p.add_argument("--split", choices=["all", "heldout", "train"], default="all",
                   help="heldout: the 80 highest-numbered images, never trained on")
    p.add_argument("--limit", type=int)
    p.add_argument("--box-dir", action="append", default=[], help="folder holding the <stem>.tsv box files")
    p.add_argument("--json", action="store_true")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="detector parameter")
    p.add_argument("--sweep", metavar="KEY=V1,V2,...",
                   help="evaluate once per value of one parameter (choose thresholds on --split train)")
    p.set_defaults(func=_cmd_detect_eval)

    p = sub.add_parser("train-detector", help="train a text detector (east, rrd) on word boxes")
    p.add_argument("--detector", required=True)
    p.add_argument("--data", action="append", default=[], help="DIR or DIR:BOXDIR with box files (repeatable)")
    p.add_argument("--out", required=True, help="state dict (float16)")
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--synthetic-fraction", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--from-scratch", action="store_true", help="ignore shipped weights")
    p.add_argument("--unlabelled", action="append", default=[], help="folder of images without boxes")
    p.add_argument("--teacher", help="detector whose masks label the --unlabelled images (e.g. craft)")
    p.add_argument("--scale-range", nargs=2, type=float, default=(0.5, 1.0), metavar=("LOW", "HIGH"),
                   help="images are resized by a random factor in this range before cropping")
    p.add_argument("--save-every", type=int, default=0, metavar="N",
                   help="also write OUT's stem + .stepN every N steps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="detector parameter (e.g. backbone=mobilenetv3_large_100, weights=PATH to continue)")
    p.set_defaults(func=_cmd_train_detector)

    p = sub.add_parser("export", help="turn a training checkpoint into a codec checkpoint (weights_only-safe)")
    p.add_argument("checkpoint")
    p.add_argument("output")
    p.add_argument("--half", action="store_true", help="store weights as float16 (the model is rounded first)")
    p.set_defaults(func=_cmd_export)
    return parser


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (argparse prints the usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _quiet_stdout() -> None:
    """The reader of our stdout has gone (``sclc models | head``): point stdout at /dev/null so
    that the interpreter's final flush does not print a BrokenPipeError of its own."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    where = f"sclc {args.command}"
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handlers below
        return code
    except SclcError as exc:
        message = str(exc)
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # as if killed by SIGPIPE, the shell's convention
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        message = "out of memory (try a smaller image, or a smaller SCLC_MAX_MEMORY_GB)"
    except OSError as exc:  # disk full, permission denied, a file vanished: the system's words suffice
        name = f" {exc.filename}" if exc.filename else ""
        message = f"{exc.strerror or exc}{':' + name if name else ''}"
    print(f"{where}: error: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the message
    return 2


# Commands whose process may end without tearing the interpreter down (see run).
_FAST_EXIT = ("compress", "decompress")


def run() -> None:
    """The console entry point. After compress and decompress the process ends at once instead of
    unloading torch and CompressAI, which takes about a second, as long as decoding a small file.
    Their outputs are complete by then: written, fsynced and renamed (sclc.imageio.atomic_write)."""
    import os

    code = main()
    if len(sys.argv) > 1 and sys.argv[1] in _FAST_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)

