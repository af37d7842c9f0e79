import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st

from sclc_plugins.losses.mse import RateDistortionMSE
from sclc_plugins.losses.wmse import RateDistortionWMSE


def _output(seed, shape=(2, 3, 8, 8)):
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=gen)
    x_hat = target + 0.1 * torch.randn(shape, generator=gen)
    likelihoods = {"y": torch.rand(2, 4, 2, 2, generator=gen).clamp_min(0.01)}
    return {"x_hat": x_hat, "likelihoods": likelihoods}, target


@given(st.integers(0, 1000), st.floats(1e-4, 0.1))
def test_wmse_with_zero_mask_is_point_nine_of_the_mse_term(seed, lmbda):
    out, target = _output(seed)
    mask = torch.zeros_like(target[:, :1])
    w = RateDistortionWMSE(lmbda)(out, target, mask)
    m = RateDistortionMSE(lmbda)(out, target)
    torch.testing.assert_close(w["bpp"], m["bpp"])
    torch.testing.assert_close(w["loss"] - w["bpp"], 0.9 * (m["loss"] - m["bpp"]))


@given(st.integers(0, 1000))
def test_wmse_is_monotone_in_the_mask(seed):
    out, target = _output(seed)
    gen = torch.Generator().manual_seed(seed)
    low = torch.rand_like(target[:, :1]) * 0.5
    high = low + torch.rand(low.shape, generator=gen) * 0.5
    loss = RateDistortionWMSE(0.01)
    assert loss(out, target, high)["loss"] >= loss(out, target, low)["loss"]


def test_mse_loss_terms_by_hand():
    target = torch.zeros(1, 3, 4, 4)
    x_hat = torch.full_like(target, 0.1)
    likelihoods = {"y": torch.full((1, 1, 2, 2), 0.5), "z": torch.full((1, 1, 1, 1), 0.25)}
    terms = RateDistortionMSE(0.01)({"x_hat": x_hat, "likelihoods": likelihoods}, target)
    # 4 symbols of 1 bit + 1 symbol of 2 bits over 16 pixels
    torch.testing.assert_close(terms["bpp"], torch.tensor(6 / 16))
    torch.testing.assert_close(terms["psnr"], torch.tensor(20.0))
    torch.testing.assert_close(terms["loss"], torch.tensor(0.01 * 255**2 * 0.01 + 6 / 16))
    assert F.mse_loss(x_hat, target) == terms["distortion"]
