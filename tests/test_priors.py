import torch
from hypothesis import given, strategies as st

from sclc_plugins.guidances.epg import epg
from sclc_plugins.structural_priors.laplacian import Laplacian
from sclc_plugins.structural_priors.sobel import Sobel
from sclc_plugins.structural_priors.uniform import Uniform

sizes = st.tuples(st.integers(1, 3), st.integers(1, 24), st.integers(1, 24))


@given(sizes, st.floats(0, 1))
def test_gradient_priors_of_constant_image_are_zero(size, value):
    b, h, w = size
    x = torch.full((b, 3, h, w), value)
    for prior in (Laplacian(), Sobel()):
        out = prior(x)
        assert out.shape == (b, 1, h, w)
        assert torch.allclose(out, torch.zeros_like(out), atol=1e-5)


@given(sizes, st.floats(-3, 3), st.floats(-3, 3))
def test_laplacian_response_is_linear(size, a, c):
    b, h, w = size
    gen = torch.Generator().manual_seed(h * 31 + w)
    x, y = torch.rand(b, 3, h, w, generator=gen), torch.rand(b, 3, h, w, generator=gen)
    lap = Laplacian()
    torch.testing.assert_close(lap.response(a * x + c * y), a * lap.response(x) + c * lap.response(y),
                               atol=1e-4, rtol=1e-4)


def test_laplacian_uses_the_paper_kernel():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0  # an impulse returns the kernel, centre -8
    response = Laplacian().response(x)[0, 0, 1:4, 1:4]
    torch.testing.assert_close(response, torch.tensor([[1.0, 1, 1], [1, -8, 1], [1, 1, 1]]))
    assert Laplacian()(x)[0, 0, 2, 2] == 8.0


def test_uniform_prior_is_ones():
    assert torch.equal(Uniform()(torch.rand(2, 3, 5, 4)), torch.ones(2, 1, 5, 4))


@given(sizes, st.floats(0.01, 10))
def test_epg_lies_between_zero_and_max_g_and_equals_g_on_text(size, epsilon):
    b, h, w = size
    gen = torch.Generator().manual_seed(h + 7 * w)
    g = torch.rand(b, 1, h, w, generator=gen) * 5
    mask = (torch.rand(b, 1, h, w, generator=gen) > 0.5).float()
    out = epg(g, mask, epsilon)
    assert out.min() >= 0 and out.max() <= g.max() + 1e-6
    torch.testing.assert_close(out[mask == 1], g[mask == 1])
    torch.testing.assert_close(out[mask == 0], g[mask == 0] * epsilon / (epsilon + 1))
