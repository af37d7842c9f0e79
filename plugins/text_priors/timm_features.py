"""A compact timm backbone returning multi-scale features (no pretrained download)."""

import torch.nn as nn


def feature_backbone(name: str, out_indices: tuple[int, ...]) -> nn.Module:
    import timm  # here, not at the top: importing all of timm costs 0.4 s every sclc command pays

    try:
        return timm.create_model(name, pretrained=False, features_only=True, out_indices=out_indices)
    except RuntimeError as exc:  # unknown model name
        raise ValueError(f"timm backbone '{name}': {exc}") from None
