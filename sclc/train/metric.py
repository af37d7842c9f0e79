"""Validation metrics: estimated bpp, PSNR, text-region PSNR and loss, averaged over images."""

from __future__ import annotations

from mmengine.evaluator import BaseMetric


class CodecMetric(BaseMetric):
    default_prefix = "val"

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results: list) -> dict:
        mean = lambda key: sum(r[key] for r in results) / len(results)  # noqa: E731
        metrics = {"bpp": mean("bpp"), "psnr": mean("psnr"), "loss": mean("loss")}
        text = [r["text_psnr"] for r in results if r["text_psnr"] is not None]
        if text:
            metrics["text_psnr"] = sum(text) / len(text)
        return metrics
