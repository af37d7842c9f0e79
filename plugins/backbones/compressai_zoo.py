"""CompressAI's classic learned codecs as baselines (no prior injection sites)."""

from dataclasses import dataclass

from compressai import models

import sclc
from sclc.schema import at_least
from sclc_plugins.backbones.layout import HyperpriorLayout


class _Zoo(HyperpriorLayout):
    """CompressAI's classes, unchanged but for the layout facts sclc asks of a backbone and the
    decoder's ``index_crc``, which these models do not write (their files carry 0)."""

    def decompress(self, strings, shape, index_crc: int | None = None):
        return super().decompress(strings, shape)


class ScaleHyperprior(_Zoo, models.ScaleHyperprior):
    pass


class JointAutoregressiveHierarchicalPriors(_Zoo, models.JointAutoregressiveHierarchicalPriors):
    pass


class Cheng2020Anchor(_Zoo, models.Cheng2020Anchor):
    pass


@dataclass(frozen=True)
class NMParams:
    N: int = 128
    M: int = 192

    def __post_init__(self):
        at_least(self, 1, "N", "M")


@dataclass(frozen=True)
class NParams:
    N: int = 192

    def __post_init__(self):
        at_least(self, 1, "N")


@sclc.hookimpl
def sclc_register_backbones(register):
    register("hyperprior", lambda p, **_: ScaleHyperprior(p.N, p.M), params=NMParams,
             summary="Scale hyperprior (CompressAI bmshj2018-hyperprior)", reference="Balle et al., ICLR 2018")
    register("mbt2018", lambda p, **_: JointAutoregressiveHierarchicalPriors(p.N, p.M), params=NMParams,
             summary="Joint autoregressive + hyperprior (CompressAI mbt2018)", reference="Minnen et al., NeurIPS 2018")
    register("cheng2020-anchor", lambda p, **_: Cheng2020Anchor(p.N), params=NParams,
             summary="Residual blocks + autoregressive context (CompressAI cheng2020-anchor)",
             reference="Cheng et al., CVPR 2020")
