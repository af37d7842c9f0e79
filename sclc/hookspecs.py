"""Component kinds and their hook specifications: one record and one registration callback per kind.

A kind has one name everywhere: its spec table, its folder under ``plugins/`` (plural) and the stem
of its hook, ``sclc_register_<plural>``. A plugin module implements any of the hooks and calls
``register(...)`` once per component it provides (see :class:`sclc.registry.Register`). Built-in
components use exactly the same hooks.
"""

from __future__ import annotations

from dataclasses import dataclass

import pluggy

PROJECT = "sclc"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class Kind:
    name: str  # the spec table, the plugins folder (plural) and the hook stem
    label: str  # in messages: "unknown structural prior 'x'"
    default: str | None  # the component a spec gets when it omits the table (None: required)
    own_keys: tuple[str, ...] = ("name",)  # keys of the table that the framework, not the component, reads

    @property
    def plural(self) -> str:
        """The plugins folder and the hook stem: ``blocks``, ``losses``."""
        return self.name + ("es" if self.name.endswith("s") else "s")

    @property
    def hook(self) -> str:
        return f"sclc_register_{self.plural}"


# In the order the CLI lists them.
KINDS = (
    Kind("structural_prior", "structural prior", "laplacian"),
    Kind("text_prior", "text prior", "none"),
    Kind("guidance", "prior guidance", "epg"),
    Kind("block", "conditioning block", "none", ("name", "sites")),
    Kind("backbone", "backbone", None),
    Kind("loss", "loss", "mse", ("name", "lmbda")),
)
KIND = {kind.name: kind for kind in KINDS}

# Names before issue #16, so that old plugins and commands fail with a message naming the new one.
RENAMED_KINDS = {"prior": "structural_prior"}
RENAMED_HOOKS = {"sclc_register_priors": "sclc_register_structural_priors"}


@hookspec
def sclc_register_structural_priors(register):
    """Register structural priors: ``x (B,3,H,W) in [0,1] -> g (B,1,H,W) >= 0``."""


@hookspec
def sclc_register_text_priors(register):
    """Register text-position priors: ``x (B,3,H,W) -> binary mask (B,1,H,W)``."""


@hookspec
def sclc_register_guidances(register):
    """Register prior guidance, which joins the two priors into the map the blocks see:
    ``module(g (B,1,H,W), text_mask (B,1,H,W)) -> g' (B,1,H,W)``."""


@hookspec
def sclc_register_blocks(register):
    """Register conditioning blocks: ``block(features, prior_features) -> features``."""


@hookspec
def sclc_register_backbones(register):
    """Register backbones: CompressAI ``CompressionModel`` subclasses taking an optional prior.

    ``register(name, factory, sites=(...))`` names the injection sites the backbone offers; the
    model itself says how it pads and where its latents sit (see :mod:`sclc.backbone`). A
    variable-rate spec also passes ``prior_maps=2, variable_rate=True, lmbda_ratio=max/min``."""


@hookspec
def sclc_register_losses(register):
    """Register rate-distortion losses: ``loss(output, target, text_mask) -> dict``."""
