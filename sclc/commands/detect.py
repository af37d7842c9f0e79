"""Text detectors as tools: ``sclc detect``, ``sclc detect-eval`` and ``sclc train-detector``."""

from __future__ import annotations

import json

from sclc.commands import (add_box_dirs, add_json, add_set, box_dirs, fraction, non_negative_int, number_type,
                           positive_float, positive_int)
from sclc.errors import SclcError

_crop_size = number_type(int, lambda v: v >= 32, "a whole number >= 32")  # EAST sees 1/32 of a side


def _detect(args) -> int:
    from pathlib import Path

    from PIL import Image

    from sclc.detect import load_detector, overlay
    from sclc.imageio import check_writable, detect_mask, load_rgb, save_image

    check_writable(args.out, args.overlay)
    detector = load_detector(args.detector, args.set)
    rgb = load_rgb(Path(args.image))
    mask = detect_mask(detector, rgb)
    save_image(Image.fromarray(mask * 255), args.out)
    if args.overlay:
        save_image(overlay(rgb, mask), args.overlay)
    print(f"{args.out}: {mask.mean() * 100:.1f} % of pixels are text" + (f"; overlay {args.overlay}" if args.overlay else ""))
    return 0


def _detect_eval(args) -> int:
    from sclc.detect import detector_params, evaluate_detector, load_detector
    from sclc.spec import sweep_overrides

    folders = box_dirs(args)
    settings = sweep_overrides(args.sweep)
    for setting in settings:  # every value checked before the first run
        detector_params(args.detector, args.set + setting)
    results = []
    for setting in settings:
        result = evaluate_detector(load_detector(args.detector, args.set + setting), args.data_dir, args.split,
                                   args.limit, folders)
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


def _train_detector(args) -> int:
    from pathlib import Path

    from sclc.data.icdar import held_out_names
    from sclc.detect import load_detector
    from sclc.detector_training import (
        collect,
        collect_unlabelled,
        save_weights,
        teacher_cache,
        train_detector,
    )
    from sclc.imageio import check_writable

    low, high = args.scale_range
    if not 0.05 <= low <= high <= 8:
        raise SclcError(f"--scale-range {low} {high}: need 0.05 <= LOW <= HIGH <= 8")
    if args.unlabelled and not args.teacher:
        raise SclcError("--unlabelled images need a --teacher detector to label them")
    if args.teacher and not args.unlabelled:
        raise SclcError("--teacher labels --unlabelled images: give both or neither")
    check_writable(args.out)  # found out now, not after the whole run
    detector = load_detector(args.detector, (["weights=none"] if args.from_scratch else []) + args.set)
    held_out = held_out_names(args.data)  # never train on the images detect-eval holds back
    items = collect(args.data, exclude=held_out)
    teacher = None
    if args.unlabelled:
        items += collect_unlabelled(args.unlabelled)  # a missing folder fails before the cache is made
        teacher = teacher_cache(args.teacher, Path(args.out).parent / "teacher_masks")
    print(f"{len(items)} images ({len(held_out)} held-out ICDAR images excluded), "
          f"synthetic fraction {args.synthetic_fraction}")

    def save_snapshot(step: int) -> None:
        out = Path(args.out)
        save_weights(detector.net, out.with_name(f"{out.stem}.step{step}{out.suffix}"))

    train_detector(detector, items, iters=args.iters, crop=args.crop, batch_size=args.batch_size, lr=args.lr,
                   synthetic_fraction=args.synthetic_fraction, seed=args.seed, teacher=teacher,
                   scale_range=(low, high), save_every=args.save_every, save=save_snapshot)
    save_weights(detector.net, args.out)
    print(f"weights: {args.out}")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("detect", help="write a text mask (and an overlay picture) for one image")
    p.add_argument("image")
    p.add_argument("--detector", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--overlay")
    add_set(p, help="detector parameter")
    p.set_defaults(func=_detect)

    p = sub.add_parser("detect-eval", help="pixel precision/recall/F1 of a detector against ground-truth boxes")
    p.add_argument("data_dir", help="images/ + gt/gt_<stem>.txt (ICDAR), or images with <stem>.tsv")
    p.add_argument("--detector", required=True)
    p.add_argument("--split", choices=["all", "heldout", "train"], default="all",
                   help="heldout: the 80 highest-numbered images, never trained on")
    p.add_argument("--limit", type=positive_int)
    add_box_dirs(p, "folder holding the <stem>.tsv box files")
    add_json(p)
    add_set(p, help="detector parameter")
    p.add_argument("--sweep", metavar="KEY=V1,V2,...",
                   help="evaluate once per value of one parameter (choose thresholds on --split train)")
    p.set_defaults(func=_detect_eval)

    p = sub.add_parser("train-detector", help="train a text detector (east, rrd) on word boxes")
    p.add_argument("--detector", required=True)
    p.add_argument("--data", action="append", default=[], help="DIR or DIR:BOXDIR with box files (repeatable)")
    p.add_argument("--out", required=True, help="state dict (float16)")
    p.add_argument("--iters", type=positive_int, default=2000)
    p.add_argument("--crop", type=_crop_size, default=256)
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--synthetic-fraction", type=fraction, default=0.25)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--from-scratch", action="store_true", help="ignore shipped weights")
    p.add_argument("--unlabelled", action="append", default=[], help="folder of images without boxes")
    p.add_argument("--teacher", help="detector whose masks label the --unlabelled images (e.g. craft)")
    p.add_argument("--scale-range", nargs=2, type=positive_float, default=(0.5, 1.0), metavar=("LOW", "HIGH"),
                   help="images are resized by a random factor in this range before cropping")
    p.add_argument("--save-every", type=non_negative_int, default=0, metavar="N",
                   help="also write OUT's stem + .stepN every N steps")
    add_set(p, help="detector parameter (e.g. backbone=mobilenetv3_large_100, weights=PATH to continue)")
    p.set_defaults(func=_train_detector)
