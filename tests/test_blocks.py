import torch
from hypothesis import given, strategies as st

from sclc_plugins.blocks.nesft import NESFT, NESFTParams
from sclc_plugins.blocks.sft_cb import SFT, SFTConditionalBlock, SFTParams

shapes = st.tuples(st.integers(1, 3), st.integers(1, 12), st.integers(1, 19), st.integers(1, 19), st.integers(1, 5))


@given(shapes, st.sampled_from(["nesft", "sft_cb"]))
def test_blocks_keep_feature_shape(shape, name):
    batch, channels, h, w, prior_channels = shape
    block = NESFT(channels, prior_channels, NESFTParams(hidden=8)) if name == "nesft" else \
        SFTConditionalBlock(channels, prior_channels, SFTParams(hidden=8, res_blocks=2))
    out = block(torch.randn(batch, channels, h, w), torch.rand(batch, prior_channels, h, w))
    assert out.shape == (batch, channels, h, w)


def _randomise(module):
    torch.manual_seed(1)
    for p in module.parameters():
        p.data.normal_()


@given(shapes)
def test_nesft_with_gamma_one_beta_zero_is_identity(shape):
    batch, channels, h, w, prior_channels = shape
    block = NESFT(channels, prior_channels, NESFTParams(hidden=8))
    _randomise(block)  # a trained-looking FEM body ...
    for head, value in ((block.fem.gamma, 1.0), (block.fem.beta, 0.0)):  # ... with identity heads
        head.weight.data.zero_()
        head.bias.data.fill_(value)
    x = torch.randn(batch, channels, h, w)
    torch.testing.assert_close(block(x, torch.rand(batch, prior_channels, h, w)), x)


@given(shapes)
def test_sft_with_zero_gamma_and_beta_is_identity(shape):
    batch, channels, h, w, prior_channels = shape
    sft = SFT(channels, prior_channels, hidden=8)
    _randomise(sft)
    for head in (sft.gamma, sft.beta):
        head.weight.data.zero_()
        head.bias.data.zero_()
    x = torch.randn(batch, channels, h, w)
    torch.testing.assert_close(sft(x, torch.rand(batch, prior_channels, h, w)), x)


def test_blocks_modulate_once_heads_are_nonzero():
    block = NESFT(4, 1, NESFTParams(hidden=8))
    _randomise(block)
    x, prior = torch.randn(1, 4, 8, 8), torch.rand(1, 1, 8, 8)
    assert not torch.allclose(block(x, prior), x)
    assert not torch.allclose(block(x, prior), block(x, prior * 2))


def test_new_blocks_start_as_identity():
    x, prior = torch.randn(2, 6, 9, 7), torch.rand(2, 3, 9, 7)
    torch.testing.assert_close(NESFT(6, 3)(x, prior), x)
    torch.testing.assert_close(SFTConditionalBlock(6, 3, SFTParams(res_blocks=2))(x, prior), x)
