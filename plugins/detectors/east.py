"""EAST (Zhou et al., CVPR 2017): feature-merging FCN with a score map and RBOX geometry.

Feature extractor: a compact timm backbone (strides 4..32). Merging branch: unpool, concat with
the next shallower stage, 1x1 then 3x3 conv (128, 64, 32 channels). Heads at stride 4: text
score (sigmoid), four edge distances and a rotation angle in [-pi/4, pi/4].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

import sclc
from sclc_plugins.detectors.base import MaskParams, TextDetector
from sclc_plugins.detectors.timm_features import feature_backbone


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


@dataclass(frozen=True)
class EASTParams(MaskParams):
    backbone: str = "mobilenetv3_small_100"
    geometry_scale: float = 512.0  # largest predicted edge distance, in pixels
    weights: str = ""


class EASTNet(nn.Module):
    def __init__(self, backbone: str, geometry_scale: float):
        super().__init__()
        self.features = feature_backbone(backbone, out_indices=(1, 2, 3, 4))
        c4, c8, c16, c32 = self.features.feature_info.channels()
        self.merge = nn.ModuleList()
        previous = c32
        for skip, width in ((c16, 128), (c8, 64), (c4, 32)):
            self.merge.append(nn.Sequential(conv_bn_relu(previous + skip, width, 1), conv_bn_relu(width, width, 3)))
            previous = width
        self.final = conv_bn_relu(32, 32, 3)
        self.score = nn.Conv2d(32, 1, 1)
        self.distances = nn.Conv2d(32, 4, 1)
        self.angle = nn.Conv2d(32, 1, 1)
        self.geometry_scale = geometry_scale

    def forward(self, x):
        """-> score (B,1,H/4,W/4) in [0,1], geometry (B,5,H/4,W/4): top, right, bottom, left, angle."""
        f4, f8, f16, f32 = self.features(x)
        h = f32
        for merge, skip in zip(self.merge, (f16, f8, f4)):
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = merge(torch.cat([h, skip], dim=1))
        h = self.final(h)
        score = torch.sigmoid(self.score(h))
        distances = torch.sigmoid(self.distances(h)) * self.geometry_scale
        angle = (torch.sigmoid(self.angle(h)) - 0.5) * math.pi / 2
        return score, torch.cat([distances, angle], dim=1)


class EAST(TextDetector):
    def __init__(self, params: EASTParams = EASTParams()):
        super().__init__(params)
        self.net = EASTNet(params.backbone, params.geometry_scale)
        if params.weights:
            self.net.load_state_dict(torch.load(params.weights, map_location="cpu", weights_only=True))
        self.eval()

    def text_probability(self, x):
        return self.net(x)[0]


@sclc.hookimpl
def sclc_register_text_priors(register):
    register("east", lambda params: EAST(params), params=EASTParams,
             summary="EAST: feature-merging FCN, score map + RBOX geometry (timm backbone)",
             reference="Zhou et al., CVPR 2017; paper Table 5")
