"""The ``sclc build`` summary: components, parameter counts per part, one forward pass."""

from __future__ import annotations

import time

import torch

from sclc.builder import build_loss, build_model
from sclc.model import parameter_counts
from sclc.spec import load_spec


def build_summary(spec_path: str, overrides: list[str] = (), size: int = 128) -> dict:
    spec = load_spec(spec_path, overrides)
    model = build_model(spec).eval()
    loss = build_loss(spec)
    generator = torch.Generator().manual_seed(spec.seed)
    x = torch.rand(1, 3, size, size, generator=generator)
    start = time.perf_counter()
    with torch.no_grad():
        mask = model.text_mask(x)
        # A variable-rate model runs at the middle of its quality range.
        qmap = None if spec.variable_rate is None else torch.full_like(mask, 0.5)
        out = model(x, text_mask=mask, quality_map=qmap)
        terms = loss(out, x, mask, lmbda=None if qmap is None else spec.variable_rate.lmbda(qmap))
    seconds = time.perf_counter() - start
    return {
        "spec": spec_path,
        "name": spec.name,
        "components": {
            "backbone": spec.backbone.name,
            "structural_prior": spec.structural_prior.name if spec.conditioned else None,
            "text_prior": spec.text_prior.name,
            "guidance": spec.guidance.to_table() if spec.conditioned else None,  # its name and keys
            "block": spec.block.name,
            "sites": list(spec.sites) if spec.conditioned else [],
            "loss": spec.loss.name,
            "lambda": spec.lmbda if spec.variable_rate is None else
            [spec.variable_rate.lmbda_min, spec.variable_rate.lmbda_max],
        },
        "parameters": parameter_counts(model),
        "forward": {"image": [size, size], "estimated_bpp": float(terms["bpp"]),
                    "psnr": float(terms["psnr"]), "loss": float(terms["loss"]), "seconds": round(seconds, 3)},
        "spec_data": spec.to_dict(),
    }


def _choice_line(table: dict | None) -> str:
    """``{"name": "epg", "epsilon": 1.0}`` -> ``epg   (epsilon 1.0)``; None -> ``-``."""
    if table is None:
        return "-"
    keys = ", ".join(f"{key} {value}" for key, value in table.items() if key != "name")
    return table["name"] + (f"   ({keys})" if keys else "")


def format_summary(report: dict) -> str:
    c = report["components"]
    lines = [f"{report['name']}  ({report['spec']})",
             f"  backbone          {c['backbone']}",
             f"  block             {c['block']}" + (f" at {', '.join(c['sites'])}" if c["sites"] else ""),
             f"  structural prior  {c['structural_prior'] or '-'}",
             f"  text prior        {c['text_prior']}",
             f"  guidance          {_choice_line(c['guidance'])}",
             f"  loss              {c['loss']}   (lambda {c['lambda']})",
             "  parameters:"]
    for part, count in report["parameters"].items():
        lines.append(f"    {part:<30} {count:>12,}")
    f = report["forward"]
    lines.append(f"  forward on a random {f['image'][0]}x{f['image'][1]} image: estimated {f['estimated_bpp']:.4f} bpp,"
                 f" PSNR {f['psnr']:.2f} dB, {f['seconds']} s")
    return "\n".join(lines)
