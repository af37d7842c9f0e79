"""RD plots (bpp vs PSNR, and vs text-region PSNR and OCR CER when known), one line per curve."""

from __future__ import annotations

import io
from pathlib import Path

from sclc.eval.bdrate import curves
from sclc.errors import SclcError
from sclc.imageio import atomic_write


LABELS = {"psnr": "PSNR (dB)", "text_psnr": "text-region PSNR (dB)",
          "cer": "CER against the original's text", "cer_gt": "CER against ground-truth words"}


def plot(results: dict, out: str | Path, title: str | None = None,
         metrics: tuple[str, ...] = ("psnr", "text_psnr", "cer")) -> None:
    if Path(out).suffix.lower() != ".png":
        raise SclcError(f"cannot write {out}: RD plots are PNG files (name it .png)")
    atomic_write(out, render_png(results, title, metrics))


def render_png(results: dict, title: str | None = None, metrics: tuple[str, ...] = ("psnr", "text_psnr", "cer")) -> bytes:
    """The RD plot as PNG bytes: one panel per metric that the results have."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [m for m in metrics if curves(results, m)]
    if not panels:
        raise SclcError("nothing to plot: the results hold no rate-distortion points")
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, metric in zip(axes[0], panels):
        for name, (rate, dist) in sorted(curves(results, metric).items()):
            ax.plot(rate, dist, marker="o", label=name)
        ax.set_xlabel("bits per pixel (file size)")
        ax.set_ylabel(LABELS[metric])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or Path(results.get("data_dir", "")).name)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return buffer.getvalue()
