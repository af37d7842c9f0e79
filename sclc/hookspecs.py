"""Hook specifications: one registration callback per component kind.

A plugin module implements any of these hooks and calls ``register(...)`` once per component
it provides (see :class:`sclc.registry.Register`). Built-in components use exactly the same hooks.
"""

import pluggy

PROJECT = "sclc"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# The component kinds, in the order the CLI lists them; hook names derive from them.
KINDS = ("prior", "text_prior", "block", "backbone", "loss")


@hookspec
def sclc_register_priors(register):
    """Register structural priors: ``x (B,3,H,W) in [0,1] -> g (B,1,H,W) >= 0``."""


@hookspec
def sclc_register_text_priors(register):
    """Register text-position priors: ``x (B,3,H,W) -> binary mask (B,1,H,W)``."""


@hookspec
def sclc_register_blocks(register):
    """Register conditioning blocks: ``block(features, prior_features) -> features``."""


@hookspec
def sclc_register_backbones(register):
    """Register backbones: CompressAI ``CompressionModel`` subclasses taking an optional prior."""


@hookspec
def sclc_register_losses(register):
    """Register rate-distortion losses: ``loss(output, target, text_mask) -> dict``."""


HOOK_FOR_KIND = {
    "prior": "sclc_register_priors",
    "text_prior": "sclc_register_text_priors",
    "block": "sclc_register_blocks",
    "backbone": "sclc_register_backbones",
    "loss": "sclc_register_losses",
}
