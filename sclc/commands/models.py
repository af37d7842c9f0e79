"""``sclc models`` (the pretrained zoo), ``sclc demo`` and ``sclc export`` (training -> codec checkpoint)."""

from __future__ import annotations

import json

from sclc.commands import add_json, cell, non_negative_int, positive_float, positive_int


def _models(args) -> int:
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
            bpp, psnr, text = (cell(r.get(key), spec) for key, spec in
                               (("bpp", "7.3f"), ("psnr", "7.2f"), ("text_psnr", "10.2f")))
            head = f"{m.name:<8} {f'{low:g}..{high:g}':>9}" if i == 0 else " " * 18
            print(f"{head} {cell(r.get('quality'), '7g'):>7} {bpp:>7} {psnr:>7} {text:>10}  {m.summary if i == 0 else ''}")
    print(f"measured on: {zoo.DIRECTORY / 'MODEL_CARD.md'}")
    return 0


def _demo(args) -> int:
    from pathlib import Path

    from sclc.demo import format_rows, run_demo
    from sclc.limits import check_pixels

    check_pixels(args.width, args.height, "the demo screenshot")  # before it is drawn
    rows = run_demo(args.model, args.quality, Path(args.out_dir), args.width, args.height, args.seed,
                    refine_steps=args.refine)
    print(f"generated {args.width}x{args.height} screenshot (seed {args.seed}); classic codecs at the largest "
          f"quality that fits the learned file")
    print(format_rows(rows))
    from sclc.ocr import available

    reason = available("tesseract")
    if reason:
        print(f"no CER: {reason}")
    print(f"images and files: {args.out_dir}/ (report.html: the comparison as a page)")
    return 0


def _export(args) -> int:
    from sclc.checkpoint import export_checkpoint, model_id

    model = export_checkpoint(args.checkpoint, args.output, half=args.half)
    print(f"{args.output}: codec checkpoint of '{model.spec.name}' (model id {model_id(model).hex()})")
    return 0


def _widen(args) -> int:
    from sclc.checkpoint import save_checkpoint
    from sclc.resolve import load_model
    from sclc.widen import overrides, widen_codec

    narrow = load_model(args.checkpoint).model.float().eval()
    wide = widen_codec(narrow, args.factor)
    difference = _output_difference(narrow, wide)
    save_checkpoint(wide, args.output)
    sizes = [sum(p.numel() for p in m.backbone.parameters()) for m in (narrow, wide)]
    print(f"{args.output}: '{wide.spec.name}', backbone {sizes[0]:,} -> {sizes[1]:,} parameters; "
          f"largest output change on a test screen {difference:.1e}")
    print("train it further with: " + " ".join(f"--set {item}" for item in overrides(wide))
          + f" --set 'train.init_from=\"{args.output}\"'")
    return 0


def _output_difference(narrow, wide) -> float:
    """Largest |x_hat difference| of the two models on a generated screen (it should be ~1e-6)."""
    import torch

    from sclc.data.synthetic import render
    from sclc.imageio import rgb_to_tensor

    sample = render(seed=0, width=128, height=128)
    x = rgb_to_tensor(sample.image)
    mask = torch.from_numpy(sample.mask).float()[None, None]
    q = torch.full_like(mask, 0.5) if narrow.rate else None
    with torch.no_grad():
        outputs = [m(x, text_mask=mask, quality_map=q)["x_hat"] for m in (narrow, wide)]
    return float((outputs[0] - outputs[1]).abs().max())


def add_commands(sub) -> None:
    p = sub.add_parser("demo", help="a pretrained codec vs JPEG and WebP at the same size on a generated screenshot")
    p.add_argument("--model", default="sci", help="pretrained name, checkpoint or spec (default sci)")
    p.add_argument("--quality", type=float, help="quality of a variable-rate model, 1 (smallest) .. 8 (default 6)")
    p.add_argument("--refine", type=non_negative_int, default=0, metavar="STEPS",
                   help="encoder-side refinement of the learned file (slower encode; see sclc compress --refine)")
    p.add_argument("--out-dir", default="sclc-demo")
    p.add_argument("--width", type=positive_int, default=1280)
    p.add_argument("--height", type=positive_int, default=720)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.set_defaults(func=_demo)

    p = sub.add_parser("models", help="list the pretrained models shipped with sclc")
    add_json(p)
    p.set_defaults(func=_models)

    p = sub.add_parser("export", help="turn a training checkpoint into a codec checkpoint (weights_only-safe)")
    p.add_argument("checkpoint")
    p.add_argument("output")
    p.add_argument("--half", action="store_true", help="store weights as float16 (the model is rounded first)")
    p.set_defaults(func=_export)

    p = sub.add_parser("widen", help="grow a trained codec wider without changing its output (to train it further)")
    p.add_argument("checkpoint", help="codec checkpoint or pretrained name")
    p.add_argument("output")
    p.add_argument("--factor", type=positive_float, default=2.0,
                   help="width factor for N, M, heads and slices (default 2; they must stay whole)")
    p.set_defaults(func=_widen)
