"""Validation metrics: estimated bpp (and its split), PSNR, text-region PSNR and loss, averaged
over images; for a variable-rate model also per quality level (``psnr@q0.5``, ...)."""

from __future__ import annotations

from mmengine.evaluator import BaseMetric


def _means(rows: list[dict], suffix: str = "") -> dict:
    keys = [k for k in rows[0] if k != "q"]
    out = {}
    for key in keys:
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[key + suffix] = sum(values) / len(values)
    return out


class CodecMetric(BaseMetric):
    default_prefix = "val"

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results: list) -> dict:
        metrics = _means(results)
        levels = sorted({r["q"] for r in results if "q" in r})
        if len(levels) > 1:
            for level in levels:
                rows = [r for r in results if r.get("q") == level]
                metrics.update({k: v for k, v in _means(rows, f"@q{level:g}").items()
                                if k.startswith(("bpp", "psnr"))})
        return metrics
