"""CompressAI's classic learned codecs as baselines (no prior injection sites)."""

from dataclasses import dataclass

from compressai.models import Cheng2020Anchor, JointAutoregressiveHierarchicalPriors, ScaleHyperprior

import sclc


@dataclass(frozen=True)
class NMParams:
    N: int = 128
    M: int = 192

    def __post_init__(self):
        if min(self.N, self.M) < 1:
            raise ValueError("N and M must be >= 1")


@dataclass(frozen=True)
class NParams:
    N: int = 192

    def __post_init__(self):
        if self.N < 1:
            raise ValueError("N must be >= 1")


@sclc.hookimpl
def sclc_register_backbones(register):
    register("hyperprior", lambda p, **_: ScaleHyperprior(p.N, p.M), params=NMParams,
             summary="Scale hyperprior (CompressAI bmshj2018-hyperprior)", reference="Balle et al., ICLR 2018")
    register("mbt2018", lambda p, **_: JointAutoregressiveHierarchicalPriors(p.N, p.M), params=NMParams,
             summary="Joint autoregressive + hyperprior (CompressAI mbt2018)", reference="Minnen et al., NeurIPS 2018")
    register("cheng2020-anchor", lambda p, **_: Cheng2020Anchor(p.N), params=NParams,
             summary="Residual blocks + autoregressive context (CompressAI cheng2020-anchor)",
             reference="Cheng et al., CVPR 2020")
