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


def is_aux_parameter(name: str) -> bool:
    return name.endswith(".quantiles")


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
        out.append(float(-10 * torch.log10(mse.clamp_min(1e-10))))
    return out


class TrainableCodec(BaseModel):
    def __init__(self, codec: torch.nn.Module, loss: torch.nn.Module, amp: str = "off"):
        super().__init__()
        self.codec, self.loss, self.amp = codec, loss, amp

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None, mode: str = "loss"):
        if mask is None:
            mask = self.codec.text_mask(inputs)
        out = self.codec(inputs, text_mask=mask)
        terms = self.loss(out, inputs, mask)
        if mode == "loss":
            return {**terms, "aux_loss": self.codec.aux_loss()}
        if mode == "predict":
            x_hat = out["x_hat"].clamp(0, 1)
            mse = ((x_hat - inputs) ** 2).flatten(1).mean(1)
            psnr = (-10 * torch.log10(mse.clamp_min(1e-10))).tolist()
            bits = sum(-torch.log2(lik).flatten(1).sum(1) for lik in out["likelihoods"].values())
            bpp = (bits / (inputs.shape[-2] * inputs.shape[-1])).tolist()
            text = masked_psnr(x_hat, inputs, mask)
            loss = float(terms["loss"])
            return [{"bpp": b, "psnr": p, "text_psnr": t, "loss": loss} for b, p, t in zip(bpp, psnr, text)]
        raise ValueError(f"unknown mode {mode!r}")

    def train_step(self, data, optim_wrapper, forward=None):
        data = self.data_preprocessor(data, True)
        forward = forward or self
        main, aux = optim_wrapper["main"], optim_wrapper["aux"]
        device = data["inputs"].device.type
        with main.optim_context(self), torch.autocast(device, dtype=torch.bfloat16, enabled=self.amp == "bf16"):
            terms = forward(**data, mode="loss")
        main.backward(terms["loss"] + terms["aux_loss"])
        main.step()
        aux.step()
        main.zero_grad()
        aux.zero_grad()
        return {k: v.detach() for k, v in terms.items() if k in ("loss", "bpp", "psnr", "distortion", "aux_loss")}


@MODEL_WRAPPERS.register_module(force=True)
class SclcDistributedDataParallel(MMDistributedDataParallel):
    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper, forward=self)
