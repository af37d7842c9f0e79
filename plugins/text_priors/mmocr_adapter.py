"""Optional adapter: mmocr's text detectors (DBNet, PSENet, FCENet, ...) as sclc text priors.

Registered as ``mmocr:<name>`` when mmocr and its full OpenMMLab stack import; otherwise the
names are declared unavailable with the reason, and nothing else is affected. What a user needs:
``pip install mmocr==1.0.1 mmdet==3.1.0`` plus a *full* ``mmcv==2.0.1`` (with compiled ops;
``mmcv-lite`` is not enough because ``mmdet.models`` imports ``mmcv.ops``), then a config and a
checkpoint for the detector: ``--set config=... --set weights=...`` or the spec's
``[text_prior]`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import sclc
from sclc_plugins.text_priors.base import MaskParams, postprocess

MODELS = ("dbnet", "dbnetpp", "psenet", "panet", "fcenet", "textsnake", "maskrcnn")


@dataclass(frozen=True)
class MMOCRParams(MaskParams):
    config: str = ""  # mmocr model config (a file, or a model name mmocr knows)
    weights: str = ""  # checkpoint file
    score_threshold: float = 0.3  # keep predicted polygons above this score
    threshold: float = 0.5


def polygons_to_mask(polygons, scores, height: int, width: int, min_score: float) -> np.ndarray:
    """Fill mmocr's predicted polygons (flat x0, y0, x1, y1, ... lists) into a binary mask."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon, score in zip(polygons, scores):
        points = [(float(polygon[i]), float(polygon[i + 1])) for i in range(0, len(polygon) - 1, 2)]
        if score >= min_score and len(points) >= 3:
            draw.polygon(points, fill=1)
    return np.asarray(canvas, dtype=np.uint8)


class MMOCRDetector(torch.nn.Module):
    def __init__(self, model: str, params: MMOCRParams):
        super().__init__()
        from mmocr.apis import TextDetInferencer

        self.params = params
        self.inferencer = TextDetInferencer(model=params.config or model, weights=params.weights or None,
                                            device="cpu")

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        masks = []
        for image in x:
            rgb = (image.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
            bgr = np.ascontiguousarray(rgb[..., ::-1])  # OpenMMLab pipelines expect BGR arrays
            prediction = self.inferencer(bgr, return_vis=False)["predictions"][0]
            masks.append(polygons_to_mask(prediction["polygons"], prediction["scores"], *rgb.shape[:2],
                                          self.params.score_threshold))
        mask = torch.from_numpy(np.stack(masks)).unsqueeze(1).to(x.dtype)
        return postprocess(mask, self.params)


def _mmocr_problem() -> str | None:
    try:
        import mmocr  # noqa: F401
        import mmocr.apis  # noqa: F401  (imports mmdet.models, which needs mmcv.ops)
    except Exception as exc:  # ImportError, or mmcv-lite's missing compiled ops
        return (f"mmocr is not usable ({type(exc).__name__}: {exc}); install mmocr==1.0.1, mmdet==3.1.0 "
                f"and a full mmcv==2.0.1 (not mmcv-lite)")
    return None


@sclc.hookimpl
def sclc_register_text_priors(register):
    problem = _mmocr_problem()
    for model in MODELS:
        name = f"mmocr:{model}"
        if problem:
            register.unavailable(name, problem)
        else:
            register(name, lambda params, model=model: MMOCRDetector(model, params), params=MMOCRParams,
                     summary=f"mmocr {model} text detector (user config and weights)",
                     reference="mmocr 1.x, optional adapter")
