"""The codec and its loss as an mmengine model, with the two-optimizer step CompressAI needs.

CompressAI trains the entropy bottleneck's quantiles with a separate auxiliary loss and optimizer.
We use an ``OptimWrapperDict`` with ``main`` (every parameter but the quantiles, gradient clipping)
and ``aux`` (the quantiles) and a custom ``train_step``: one backward pass of
``rd_loss + aux_loss`` (the aux loss only reaches the quantiles), then both steps. Under DDP,
:class:`SclcDistributedDataParallel` runs that same step with the forward pass going through DDP,
so gradients are all-reduced.
"""

from __future__ import annotations

import torch
from mmengine.model import BaseModel, MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

from sclc.eval.metrics import psnr_from_mse


def is_aux_parameter(name: str) -> bool:
    return name.endswith(".quantiles")


def is_quality_gain(name: str) -> bool:
    return ".quality_gain." in name


def masked_psnr(x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> list[float | None]:
    """Per image PSNR over pixels where mask == 1 (None where an image has no such pixel)."""
    out = []
    for xh, xi, m in zip(x_hat, x, mask):
        weight = m.expand_as(xi)
        count = weight.sum()
        if count == 0:
            out.append(None)
            continue
        mse = ((xh.clamp(0, 1) - xi) ** 2 * weight).sum() / count
        out.append(float(psnr_from_mse(mse)))
    return out


class TrainableCodec(BaseModel):
    def __init__(self, codec: torch.nn.Module, loss: torch.nn.Module, amp: str = "off"):
        super().__init__()
        self.codec, self.loss, self.amp = codec, loss, amp
        # Training-only weights of some likelihoods' bits in the loss, by likelihood name (a
        # warm-up sets {"z": w}); the logged bpp always counts every bit.
        self.rate_weights: dict[str, float] = {}

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None, qmap: torch.Tensor | None = None,
                mode: str = "loss"):
        """``qmap``: the quality map of a variable-rate model; the loss then gets its per-pixel lambda."""
        if mask is None:
            mask = self.codec.text_mask(inputs)
        # bf16 autocast covers the codec's transforms only (its entropy models run in float32); the
        # loss is computed in float32.
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=self.amp == "bf16"):
            out = self.codec(inputs, text_mask=mask, quality_map=qmap)
        out["x_hat"] = out["x_hat"].float()
        rate = self.codec.rate
        terms = self.loss(out, inputs, mask, lmbda=None if rate is None else rate.lmbda(qmap))
        for name, weight in self.rate_weights.items():
            terms["loss"] = terms["loss"] - (1 - weight) * terms[f"bpp_{name}"]
        if mode == "loss":
            return {**terms, "aux_loss": self.codec.aux_loss()}
        if mode == "predict":
            return self._per_image(out, inputs, mask, qmap, float(terms["loss"]))
        raise ValueError(f"unknown mode {mode!r}")

    @staticmethod
    def _per_image(out: dict, inputs: torch.Tensor, mask: torch.Tensor, qmap, loss: float) -> list[dict]:
        x_hat = out["x_hat"].clamp(0, 1)
        mse = ((x_hat - inputs) ** 2).flatten(1).mean(1)
        rows = [{"psnr": p, "loss": loss} for p in psnr_from_mse(mse).tolist()]
        pixels = inputs.shape[-2] * inputs.shape[-1]
        for name, lik in out["likelihoods"].items():
            for row, bits in zip(rows, (-torch.log2(lik).flatten(1).sum(1)).tolist()):
                row[f"bpp_{name}"] = bits / pixels
                row["bpp"] = row.get("bpp", 0.0) + bits / pixels
        for row, text in zip(rows, masked_psnr(x_hat, inputs, mask)):
            row["text_psnr"] = text
        if qmap is not None:
            for row, q in zip(rows, qmap.flatten(1).mean(1).tolist()):
                row["q"] = round(q, 3)
        return rows

    def train_step(self, data, optim_wrapper, forward=None):
        data = self.data_preprocessor(data, True)
        forward = forward or self
        main, aux = optim_wrapper["main"], optim_wrapper["aux"]
        with main.optim_context(self):
            terms = forward(**data, mode="loss")
        main.backward(terms["loss"] + terms["aux_loss"])
        main.step()
        aux.step()
        main.zero_grad()
        aux.zero_grad()
        return {k: v.detach() for k, v in terms.items() if isinstance(v, torch.Tensor) and v.numel() == 1}


@MODEL_WRAPPERS.register_module(force=True)
class SclcDistributedDataParallel(MMDistributedDataParallel):
    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper, forward=self)
