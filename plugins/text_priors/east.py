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
from sclc_plugins.text_priors.base import MaskParams, TextDetector, load_weights, normalize
from sclc_plugins.text_priors.timm_features import feature_backbone


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


@dataclass(frozen=True)
class EASTParams(MaskParams):
    threshold: float = 0.4  # chosen on the ICDAR training split; see README "Text detectors"
    boxes: bool = False  # EAST's score map already has word shape; box filling merges lines
    scales: tuple[float, ...] = (0.75, 1.25)  # two resizings averaged: +0.02 F1 on the training split
    backbone: str = "mobilenetv3_small_100"
    geometry_scale: float = 512.0  # largest predicted edge distance, in pixels
    weights: str = "shipped"  # "shipped" (trained by sclc, installed with it), "none", or a path


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
        self.pretrained = load_weights(self.net, params.weights, "east.pt")
        self.eval()

    def text_probability(self, x):
        return self.net(x)[0]

    def training_loss(self, images, masks, boxes) -> torch.Tensor:
        """EAST's loss: dice on the score map + (-log IoU of the four edge distances + 10 (1 - cos angle))
        on text pixels. Axis-aligned word boxes give angle 0. ``images`` in [0, 1]."""
        images = normalize(images)
        score, geometry = self.net(images)
        stride = images.shape[-1] // score.shape[-1]
        target = (F.avg_pool2d(masks, stride) > 0.5).float()
        dice = 1 - 2 * (score * target).sum() / (score.sum() + target.sum() + 1e-6)
        distances, inside = rbox_targets(boxes, score.shape[-2:], stride, images.device)
        positive = inside & (target[:, 0] > 0)
        if not positive.any():
            return dice
        pred = geometry[:, :4].permute(0, 2, 3, 1)[positive]
        true = distances.permute(0, 2, 3, 1)[positive]
        area_p = (pred[:, 0] + pred[:, 2]) * (pred[:, 1] + pred[:, 3])
        area_t = (true[:, 0] + true[:, 2]) * (true[:, 1] + true[:, 3])
        inter = ((torch.minimum(pred[:, 0], true[:, 0]) + torch.minimum(pred[:, 2], true[:, 2]))
                 * (torch.minimum(pred[:, 1], true[:, 1]) + torch.minimum(pred[:, 3], true[:, 3])))
        iou_loss = -torch.log((inter + 1) / (area_p + area_t - inter + 1)).mean()
        angle_loss = (1 - torch.cos(geometry[:, 4][positive])).mean()
        return dice + iou_loss + 10 * angle_loss


def rbox_targets(boxes, size, stride: int, device):
    """Per stride-cell distances (top, right, bottom, left) to the edges of the box holding its centre."""
    h, w = size
    distances = torch.zeros(len(boxes), 4, h, w, device=device)
    inside = torch.zeros(len(boxes), h, w, dtype=torch.bool, device=device)
    ys = (torch.arange(h, device=device) + 0.5) * stride
    xs = (torch.arange(w, device=device) + 0.5) * stride
    for b, image_boxes in enumerate(boxes):
        for x0, y0, x1, y1 in image_boxes.tolist():
            rows = ((ys >= y0) & (ys < y1)).nonzero().flatten()
            cols = ((xs >= x0) & (xs < x1)).nonzero().flatten()
            if len(rows) == 0 or len(cols) == 0:
                continue
            r, c = slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
            distances[b, 0, r, c] = (ys[r] - y0)[:, None]
            distances[b, 1, r, c] = (x1 - xs[c])[None, :]
            distances[b, 2, r, c] = (y1 - ys[r])[:, None]
            distances[b, 3, r, c] = (xs[c] - x0)[None, :]
            inside[b, r, c] = True
    return distances, inside


@sclc.hookimpl
def sclc_register_text_priors(register):
    register("east", lambda params: EAST(params), params=EASTParams,
             summary="EAST: feature-merging FCN, score map + RBOX geometry (timm backbone)",
             reference="Zhou et al., CVPR 2017; paper Table 5")
