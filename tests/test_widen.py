"""`sclc widen`: a trained WACNN grown wider computes what it computed, and its new channels learn."""

import pytest
import torch

from sclc.builder import build_loss, build_model
from sclc.checkpoint import load_checkpoint, save_checkpoint
from sclc.cli import main
from sclc.errors import SclcError
from sclc.spec import load_spec
from sclc.train.init import init_weights, load_state_for_init
from sclc.train.model import TrainableCodec
from sclc.widen import overrides, widen_codec

from conftest import write
from test_quality_gain import GAINED_SPEC


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    """A variable-rate full-method WACNN whose every weight is perturbed: no zero or identity
    initialisation (NESFT heads, GDN) can hide a new channel leaking into an old one."""
    model = build_model(load_spec(write(tmp_path_factory.mktemp("narrow"), GAINED_SPEC)))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if not name.endswith((".beta", ".gamma", "quantiles")):  # GDN stays positive
                param.add_(0.05 * torch.randn_like(param))
    model.update(force=True)
    return model.eval()


def inputs(seed=0, size=64):
    torch.manual_seed(seed)
    x = torch.rand(1, 3, size, size)
    mask = (torch.rand(1, 1, size, size) > 0.7).float()
    return x, mask, torch.full_like(mask, 0.6)


def test_the_wide_model_reconstructs_and_prices_like_the_narrow_one(narrow):
    wide = widen_codec(narrow, 2)
    p, q = narrow.spec.backbone.params, wide.spec.backbone.params
    assert (q.N, q.M, q.num_heads, q.num_slices, q.z_channels) == (2 * p.N, 2 * p.M, 8, 10, p.N)
    x, mask, quality = inputs()
    with torch.no_grad():
        a, b = (m(x, text_mask=mask, quality_map=quality) for m in (narrow, wide))
    torch.testing.assert_close(b["x_hat"], a["x_hat"], atol=1e-5, rtol=0)
    bits = lambda likelihoods: -likelihoods.log2()  # noqa: E731
    torch.testing.assert_close(bits(b["likelihoods"]["z"]), bits(a["likelihoods"]["z"]), atol=1e-4, rtol=0)
    old_y = bits(b["likelihoods"]["y"])[:, : p.M]
    torch.testing.assert_close(old_y, bits(a["likelihoods"]["y"]), atol=1e-3, rtol=0)
    new_y = bits(b["likelihoods"]["y"])[:, p.M:].sum()
    assert new_y < 1e-3 * bits(a["likelihoods"]["y"]).sum()  # the new channels are zeros, nearly free


def test_the_wide_model_codes_the_same_image_in_about_the_same_bytes(narrow):
    wide = widen_codec(narrow, 2)
    x, mask, quality = inputs(seed=2)
    coded = [m.compress(x, text_mask=mask, quality_map=quality) for m in (narrow, wide)]
    images = [m.decompress(c["strings"], c["shape"])["x_hat"] for m, c in zip((narrow, wide), coded)]
    torch.testing.assert_close(images[1], images[0], atol=1e-4, rtol=0)
    sizes = [sum(len(s[0]) for s in c["strings"]) for c in coded]
    assert sizes[0] <= sizes[1] <= sizes[0] + 4


def test_the_new_channels_learn_from_the_first_steps(narrow):
    """Zeroed weights with live inputs get gradients; after one step the rest follow."""
    wide = widen_codec(narrow, 2).train()
    trainable = TrainableCodec(wide, build_loss(wide.spec))
    optimiser = torch.optim.Adam(wide.parameters(), lr=1e-3)
    x, mask, quality = inputs(seed=3)
    M, N = narrow.spec.backbone.params.M, narrow.spec.backbone.params.N
    g_a, g_s = wide.backbone.g_a, wide.backbone.g_s
    trainable(x, mask, quality)["loss"].backward()
    assert g_a[7].weight[M:].abs().sum() == 0 and g_a[7].weight.grad[M:].abs().sum() > 0  # writes new y
    assert g_s[8].weight[N:].abs().sum() == 0 and g_s[8].weight.grad[N:].abs().sum() > 0  # reads new features
    assert g_a[0].weight.grad[N:].abs().sum() == 0  # new encoder features reach nothing yet...
    optimiser.step()
    optimiser.zero_grad()
    trainable(x, mask, quality)["loss"].backward()
    assert g_a[0].weight.grad[N:].abs().sum() > 0  # ...until the layers after them have moved


def test_refuses_factors_that_leave_fractions(narrow):
    for factor in (1.0, 0.5, 1.3):
        with pytest.raises(SclcError, match="factor"):
            widen_codec(narrow, factor)


def test_widen_command_writes_a_checkpoint_a_spec_can_train_from(narrow, tmp_path, capsys):
    save_checkpoint(narrow, tmp_path / "narrow.pt")
    assert main(["widen", str(tmp_path / "narrow.pt"), str(tmp_path / "wide.pt"), "--factor", "2"]) == 0
    printed = capsys.readouterr().out
    assert "largest output change on a test screen" in printed
    change = float(printed.split("test screen ")[1].split()[0])
    assert change < 1e-4
    wide = load_checkpoint(tmp_path / "wide.pt")
    assert wide.spec.backbone.params.N == 2 * narrow.spec.backbone.params.N
    # The printed overrides turn the narrow spec file into the wide model's, and it starts from the file.
    spec = load_spec(write(tmp_path, GAINED_SPEC), overrides(wide))
    fresh = init_weights(build_model(spec), load_state_for_init(tmp_path / "wide.pt", spec), "wide.pt")
    assert fresh == []


def test_a_backbone_without_widening_is_named(tmp_path):
    spec = load_spec(write(tmp_path, '[backbone]\nname = "hyperprior"\nN = 8\nM = 8\n[text_prior]\nname = "none"\n'
                                     '[block]\nname = "none"\n'))
    with pytest.raises(SclcError, match="cannot be widened"):
        widen_codec(build_model(spec), 2)
