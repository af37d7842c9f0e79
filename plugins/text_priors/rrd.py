"""RRD (Liao et al., CVPR 2018): rotation-sensitive regression detector.

An SSD-style detector on a compact timm backbone (strides 8, 16, 32). At each level an active
rotating filter (ARF) convolves the features with one kernel turned to 0/90/180/270 degrees:
the concatenated responses are rotation-*sensitive* and feed the box regressor (dx, dy, dw, dh,
dangle per default box); oriented response pooling (max over the four orientations) makes them
rotation-*invariant* for the text/non-text classifier. Boxes above the threshold are kept after
NMS and rasterised into the mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import box_iou, nms

import sclc
from sclc_plugins.text_priors.base import (MaskParams, TextDetector, load_weights, normalize, pad_to, postprocess,
                                         rasterize_rboxes, rescale)
from sclc_plugins.text_priors.timm_features import feature_backbone

ASPECT_RATIOS = (1.0, 2.0, 3.0, 5.0, 7.0)  # text lines are long: SSD/TextBoxes-style default boxes


class ActiveRotatingConv(nn.Module):
    """One 3x3 kernel applied at four orientations; output (B, 4*C, H, W), orientation-major."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")

    def forward(self, x):
        kernels = torch.cat([torch.rot90(self.weight, k, dims=(2, 3)) for k in range(4)])
        return F.relu(F.conv2d(x, kernels, self.bias.repeat(4), padding=1))


@dataclass(frozen=True)
class RRDParams(MaskParams):
    threshold: float = 0.2  # chosen on the ICDAR training split (README "Text detectors")
    boxes: bool = False  # the mask is already a union of rasterised boxes
    backbone: str = "mobilenetv3_small_100"
    width: int = 64
    nms_iou: float = 0.3
    max_boxes: int = 500
    weights: str = "shipped"  # "shipped" (trained by sclc, installed with it), "none", or a path


class RRDNet(nn.Module):
    def __init__(self, backbone: str, width: int):
        super().__init__()
        self.features = feature_backbone(backbone, out_indices=(2, 3, 4))
        anchors = len(ASPECT_RATIOS)
        self.arf = nn.ModuleList(ActiveRotatingConv(c, width) for c in self.features.feature_info.channels())
        self.cls = nn.ModuleList(nn.Conv2d(width, anchors * 2, 3, padding=1) for _ in self.arf)
        self.reg = nn.ModuleList(nn.Conv2d(4 * width, anchors * 5, 3, padding=1) for _ in self.arf)
        self.strides = tuple(self.features.feature_info.reduction())

    def forward(self, x):
        """Per level: (class logits (B, A*2, h, w), regression (B, A*5, h, w), stride)."""
        out = []
        for level, feat in enumerate(self.features(x)):
            sensitive = self.arf[level](feat)
            invariant = sensitive.unflatten(1, (4, -1)).amax(dim=1)  # oriented response pooling
            out.append((self.cls[level](invariant), self.reg[level](sensitive), self.strides[level]))
        return out


def default_boxes(h: int, w: int, stride: int, device) -> torch.Tensor:
    """(h*w*A, 4): cx, cy, width, height of every default box on one level."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    centres = torch.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], dim=-1).reshape(-1, 1, 2)
    size = 1.5 * stride
    shapes = torch.tensor([[size * math.sqrt(r), size / math.sqrt(r)] for r in ASPECT_RATIOS], device=device)
    return torch.cat([centres.expand(-1, len(ASPECT_RATIOS), 2), shapes.expand(h * w, -1, -1)], dim=-1).reshape(-1, 4)


def encode(gt: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`decode` for axis-aligned ground truth (x0, y0, x1, y1): angle delta 0."""
    size = (gt[:, 2:] - gt[:, :2]).clamp_min(1.0)
    centre = (gt[:, :2] + gt[:, 2:]) / 2
    offset = (centre - anchors[:, :2]) / (0.1 * anchors[:, 2:])
    scale = torch.log(size / anchors[:, 2:]) / 0.2
    return torch.cat([offset, scale, torch.zeros_like(scale[:, :1])], dim=1)


def decode(reg: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """SSD box coding plus an angle offset: (N, 5) deltas -> (N, 5) cx, cy, w, h, angle."""
    cx = anchors[:, 0] + reg[:, 0] * 0.1 * anchors[:, 2]
    cy = anchors[:, 1] + reg[:, 1] * 0.1 * anchors[:, 3]
    bw = anchors[:, 2] * torch.exp((reg[:, 2] * 0.2).clamp(max=4))
    bh = anchors[:, 3] * torch.exp((reg[:, 3] * 0.2).clamp(max=4))
    angle = torch.tanh(reg[:, 4]) * math.pi / 2
    return torch.stack([cx, cy, bw, bh, angle], dim=1)


class RRD(TextDetector):
    def __init__(self, params: RRDParams = RRDParams()):
        super().__init__(params)
        self.net = RRDNet(params.backbone, params.width)
        self.pretrained = load_weights(self.net, params.weights, "rrd.pt")
        self.eval()

    def training_loss(self, images, masks, boxes) -> torch.Tensor:
        """SSD matching (IoU >= 0.5 positive, < 0.4 negative, each box's best anchor forced positive),
        cross-entropy with 3:1 hard-negative mining, smooth-L1 on the box deltas (angle 0 for
        axis-aligned word boxes). ``images`` in [0, 1]."""
        images = normalize(images)
        logits, deltas, anchors = [], [], []
        for cls, reg, stride in self.net(images):
            h, w = cls.shape[-2:]
            logits.append(cls.reshape(cls.shape[0], -1, 2, h, w).permute(0, 3, 4, 1, 2).reshape(cls.shape[0], -1, 2))
            deltas.append(reg.reshape(reg.shape[0], -1, 5, h, w).permute(0, 3, 4, 1, 2).reshape(reg.shape[0], -1, 5))
            anchors.append(default_boxes(h, w, stride, images.device))
        logits, deltas, anchors = torch.cat(logits, 1), torch.cat(deltas, 1), torch.cat(anchors)
        corners = torch.cat([anchors[:, :2] - anchors[:, 2:] / 2, anchors[:, :2] + anchors[:, 2:] / 2], dim=1)
        cls_losses, reg_losses = [], []
        for b, gt in enumerate(boxes):
            labels = torch.zeros(len(anchors), dtype=torch.long, device=images.device)
            ignore = torch.zeros(len(anchors), dtype=torch.bool, device=images.device)
            if len(gt):
                iou = box_iou(corners, gt)
                best_iou, best_gt = iou.max(dim=1)
                best_iou[iou.argmax(dim=0)] = 1.0  # every box keeps at least its best anchor
                best_gt[iou.argmax(dim=0)] = torch.arange(len(gt), device=images.device)
                labels[best_iou >= 0.5] = 1
                ignore = (best_iou >= 0.4) & (best_iou < 0.5)
                positive = labels == 1
                target = encode(gt[best_gt[positive]], anchors[positive])
                reg_losses.append(F.smooth_l1_loss(deltas[b][positive], target, reduction="sum"))
            per_anchor = F.cross_entropy(logits[b], labels, reduction="none")
            negatives = per_anchor.masked_fill((labels == 1) | ignore, 0)
            count = max(3 * int((labels == 1).sum()), 16)
            hard = negatives.topk(min(count, len(negatives))).values
            cls_losses.append(per_anchor[labels == 1].sum() + hard.sum())
        normaliser = max(sum(len(g) for g in boxes), 1)
        return (sum(cls_losses) + sum(reg_losses)) / normaliser

    def detect(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per image: rotated boxes (K, 5) in input pixels and their text scores (K,)."""
        padded = pad_to(normalize(x), self.stride)
        levels = self.net(padded)
        results = []
        for b in range(x.shape[0]):
            boxes, scores = [], []
            for logits, reg, stride in levels:
                h, w = logits.shape[-2:]
                prob = logits[b].reshape(-1, 2, h, w).permute(2, 3, 0, 1).reshape(-1, 2).softmax(-1)[:, 1]
                deltas = reg[b].reshape(-1, 5, h, w).permute(2, 3, 0, 1).reshape(-1, 5)
                keep = prob > self.mask_params.threshold
                boxes.append(decode(deltas[keep], default_boxes(h, w, stride, x.device)[keep]))
                scores.append(prob[keep])
            boxes, scores = torch.cat(boxes), torch.cat(scores)
            order = scores.argsort(descending=True)[: self.mask_params.max_boxes * 4]
            boxes, scores = boxes[order], scores[order]
            half = boxes[:, 2:4] / 2
            keep = nms(torch.cat([boxes[:, :2] - half, boxes[:, :2] + half], dim=1), scores,
                       self.mask_params.nms_iou)[: self.mask_params.max_boxes]
            results.append((boxes[keep], scores[keep]))
        return results

    @torch.no_grad()
    def forward(self, x):
        """Boxes found at every scale in ``scales``, rasterised and united at the input's size."""
        h, w = x.shape[-2:]
        union = torch.zeros(x.shape[0], 1, h, w, dtype=x.dtype, device=x.device)
        for scale in self.mask_params.scales:
            scaled = rescale(x, scale)
            masks = torch.stack([rasterize_rboxes(boxes, *scaled.shape[-2:])
                                 for boxes, _ in self.detect(scaled)]).to(x.dtype)
            if masks.shape[-2:] != (h, w):
                masks = F.interpolate(masks, size=(h, w), mode="nearest")
            union = torch.maximum(union, masks)
        return postprocess(union, self.mask_params)


@sclc.hookimpl
def sclc_register_text_priors(register):
    register("rrd", lambda params: RRD(params), params=RRDParams,
             summary="RRD: rotation-sensitive regression / rotation-invariant classification (ARF + ORPooling)",
             reference="Liao et al., CVPR 2018; paper Table 5")
