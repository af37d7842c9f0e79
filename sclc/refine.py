"""Encoder-side latent refinement: spend encode time to write a better file for the same decoder.

A learned encoder g_a is amortised: one forward pass guesses the latents (y, z) for every image.
Optimising them for the image at hand (Campos et al., "Content adaptive optimization", CVPRW 2019;
Yang et al., "Improving inference for neural image compression", NeurIPS 2020) lowers the
rate-distortion cost the model was trained on, here

    loss = bits / pixels + 255^2 * mean(lambda(q) * (x_hat - x)^2)

with lambda(q) the variable-rate model's lambda map: the quality map decides where bits go, as
in training (``--text-quality`` raises q on the text mask, so text keeps its emphasis). The
latents are rounded exactly as the file rounds them (gradients straight through), so the loss
of each step is the estimated cost of the file it would write (bits from the likelihoods); the
best step is kept, so refinement never ends above the cost of the encoder's own guess. Files
stay standard: decoders need nothing new.

``rounding="sga"`` follows the gradients of a soft, random rounding instead (Yang et al.'s
stochastic Gumbel annealing), its temperature annealed from 0.5 to 0.05 so that late steps see
nearly hard rounding; each step's hard-rounded cost is still what picks the step kept. Measured
on sci/dev crops at 30 and 100 steps, it is no better than straight-through rounding and each
step costs 1.4x (RESULTS.md, "More steps, and SGA rounding"): an option for studies, not the default.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch

DEFAULT_LR = 0.01  # Adam step on y / gain and z; pilots on sci/dev crops: 0.003 crept, 0.03 overshot
ROUNDINGS = ("ste", "sga")
SGA_TEMPERATURE = (0.5, 0.05)  # first and last step's temperature, exponential in between


@dataclass
class Refinement:
    """How hard ``compress`` works on one image: ``steps`` Adam steps at ``lr``, through
    straight-through (``"ste"``) or annealed soft (``"sga"``) rounding."""

    steps: int
    lr: float = DEFAULT_LR
    rounding: str = "ste"
    losses: list[float] | None = None  # filled by the last run: the loss before each step, and after the last
    progress: Callable[[int, int], None] | None = None  # called (step, steps) after each step: long encodes show it

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"refinement steps must be >= 0 (got {self.steps})")
        if not self.lr > 0:
            raise ValueError(f"refinement learning rate must be > 0 (got {self.lr})")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"refinement rounding must be one of {', '.join(ROUNDINGS)} (got {self.rounding!r})")

    def optimiser(self, target: torch.Tensor, weight: torch.Tensor):
        """A ``refine`` callable for the backbone's ``compress``: ``target`` is the (padded) image,
        ``weight`` the per-pixel lambda, zero on padding, so padding costs nothing."""

        def refine(backbone, y, z, level):
            return self.run(backbone, y, z, level, target, weight)

        return refine

    def run(self, backbone, y, z, level, target, weight):
        pixels = target.shape[0] * target.shape[-2] * target.shape[-1]

        def cost(y, z, rounding=None):
            out = backbone.as_coded(y, z, level) if rounding is None else backbone.as_coded(y, z, level, rounding)
            bits = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values())
            x_hat = out["x_hat"].clamp(0, 1)  # as the decoder clamps: error beyond [0, 1] costs nothing
            return bits / pixels + 255**2 * (weight * (x_hat - target) ** 2).mean()

        # Optimise y / gain: at low quality the gains are small and y's rounding bins are wide in
        # image terms, so one step size in y would be too bold there and too timid at high quality.
        gain = torch.as_tensor(backbone.latent_gain(level) if hasattr(backbone, "latent_gain") else 1.0).detach()
        u = (y / gain).detach().clone().requires_grad_(True)
        z = z.detach().clone().requires_grad_(True)
        best = (math.inf, None, None)
        self.losses = []
        weights = [p for p in backbone.parameters() if p.requires_grad]
        with torch.enable_grad(), _frozen(weights):
            optimiser = torch.optim.Adam([u, z], lr=self.lr)
            soft = self.rounding == "sga"
            noise = torch.Generator(u.device).manual_seed(0)  # SGA's draws: the same image gives the same file
            # Cosine decay: late steps settle instead of flipping roundings back and forth.
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, max(self.steps, 1))
            for step in range(self.steps + 1):
                y = u * gain
                with torch.set_grad_enabled(not soft):  # SGA takes its gradients from the soft cost below
                    hard = cost(y, z)  # what the file would cost: it picks the step kept
                self.losses.append(hard.item())
                if self.losses[-1] < best[0]:
                    best = (self.losses[-1], y.detach().clone(), z.detach().clone())
                if step == self.steps:
                    break
                tau = self.temperature(step)
                loss = cost(y, z, lambda v: sga_round(v, tau, noise)) if soft else hard
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                if self.progress is not None:
                    self.progress(step + 1, self.steps)
        return best[1], best[2]

    def temperature(self, step: int) -> float:
        first, last = SGA_TEMPERATURE
        return first * (last / first) ** (step / max(self.steps - 1, 1))


def sga_round(x: torch.Tensor, tau: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw of stochastic Gumbel-annealed rounding (Yang et al., NeurIPS 2020): x goes to its
    floor or ceiling softly, the nearer more likely; as ``tau`` falls it approaches round(x)."""
    floor = torch.floor(x).detach()
    fraction = (x - floor).clamp(1e-5, 1 - 1e-5)
    logits = torch.stack([-torch.atanh(fraction), -torch.atanh(1 - fraction)], dim=-1) / tau
    uniform = torch.rand(logits.shape, generator=generator, device=x.device).clamp(1e-10, 1 - 1e-7)
    gumbel = -torch.log(-torch.log(uniform))
    up = torch.softmax((logits + gumbel) / tau, dim=-1)[..., 1]
    return floor + up


@contextmanager
def _frozen(parameters):
    """The model's weights out of autograd while the latents train: no gradients computed for them."""
    for p in parameters:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in parameters:
            p.requires_grad_(True)
