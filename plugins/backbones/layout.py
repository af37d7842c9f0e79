"""What sclc's core asks a backbone, for CompressAI's hyperprior family (and WACNN, built alike).

The core pads images to ``stride``, checks a file's latent shapes against ``latent_shapes``,
leaves ``fresh_prefixes`` untrained when a conditioned model starts from a plain one (and
``block_prefixes`` when asked to start the blocks fresh), trains only ``encoder_prefixes`` in an
encoder-only fine-tune, and groups
parameters for ``sclc build`` by ``parameter_parts``. A backbone built differently says so with
its own values.
"""

from __future__ import annotations


class HyperpriorLayout:
    """y at 1/16 of each side (four stride-2 layers), z at 1/64 (two more)."""

    stride = 64
    fresh_prefixes: tuple[str, ...] = ()  # attributes of the prior branch: new in a conditioned model
    block_prefixes: tuple[str, ...] = ()  # attributes of the conditioning blocks (part of the prior branch)
    # Attributes only the encoder runs: what `train.trainable = "encoder"` trains, the rest frozen.
    encoder_prefixes: tuple[str, ...] = ("g_a", "h_a")
    side_strings = 0  # strings a file carries beside one per entropy model (WACNN's quality level)
    # Attribute-name prefix -> the part of the model it belongs to.
    parameter_parts = {"g_a": "g_a", "g_s": "g_s", "h_a": "h_a", "h_s": "h_s", "h_mean_s": "h_s",
                       "h_scale_s": "h_s", "entropy_bottleneck": "entropy", "gaussian_conditional": "entropy",
                       "context_prediction": "entropy", "entropy_parameters": "entropy"}

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int]]:
        """Shapes of the coded latents of a ``height`` x ``width`` image padded to ``stride``."""
        return {"y": (height // 16, width // 16), "z": (height // 64, width // 64)}
