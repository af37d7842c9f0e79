import inspect

import pytest
import torch
from hypothesis import given, strategies as st

from sclc.builder import build_loss, build_model
from sclc.spec import parse_spec
from sclc_plugins.backbones.wacnn import WACNN, WACNNParams

TINY = {"name": "wacnn", "N": 16, "M": 20, "num_slices": 5, "max_support_slices": 2, "prior_channels": 4,
        "num_heads": 4}


def tiny_model(registry, **tables):
    data = {"backbone": dict(TINY), "block": {"name": "nesft", "hidden": 8}, **tables}
    return build_model(parse_spec(data, registry=registry), registry)


def test_reference_layout_and_parameter_count_at_default_size():
    model = WACNN()
    # The reference hard-codes these; ours derives them from N=192, M=320.
    assert [m.out_channels for m in model.h_a if hasattr(m, "out_channels")] == [320, 288, 256, 224, 192]
    assert model.cc_mean_transforms[0][0].in_channels == 320
    assert model.cc_mean_transforms[9][0].in_channels == 320 + 32 * 5
    assert model.lrp_transforms[9][0].in_channels == 320 + 32 * 6
    assert [m.out_channels for m in model.cc_mean_transforms[3] if hasattr(m, "out_channels")] == [224, 176, 128, 64, 32]
    assert model.g_a[4].conv_b[0].window_size == 8 and model.g_a[4].conv_b[0].shift_size == 4
    assert model.g_a[8].conv_b[0].window_size == 4 and model.g_a[8].conv_b[0].shift_size == 2
    assert sum(p.numel() for p in model.parameters()) == 75_235_779
    assert "g_a.0.weight" in model.state_dict() and "g_s.8.weight" in model.state_dict()


@given(st.integers(1, 2), st.integers(1, 70), st.integers(1, 70), st.sampled_from(["nesft", "sft_cb", "none"]))
def test_any_image_size_round_trips_shapes(registry, batch, h, w, block):
    model = tiny_model(registry, block={"name": block})
    x = torch.rand(batch, 3, h, w)
    out = model(x)
    assert out["x_hat"].shape == x.shape
    assert set(out["likelihoods"]) == {"y", "z"}


def test_prior_changes_the_code_but_decoder_takes_only_the_bitstream(registry):
    model = tiny_model(registry, text_prior={"name": "ones"}).eval()
    for block in model.backbone.cond_g_a:  # make the encoder-side blocks non-trivial
        for head in (block.fem.gamma, block.fem.beta):
            torch.nn.init.normal_(head.weight, std=0.5)
    model.update(force=True)
    assert list(inspect.signature(model.decompress).parameters)[:2] == ["strings", "shape"]
    assert "prior" not in inspect.signature(model.backbone.synthesis).parameters
    assert "prior" not in inspect.signature(model.backbone.decompress).parameters

    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    mask_a, mask_b = torch.zeros(1, 1, 64, 64), torch.ones(1, 1, 64, 64)
    coded_a, coded_b = model.compress(x, mask_a), model.compress(x, mask_b)
    assert coded_a["strings"] != coded_b["strings"]  # the encoder uses the prior ...
    for mask, coded in ((mask_a, coded_a), (mask_b, coded_b)):
        # ... and decoding from strings alone reproduces the encoder-side quantised reconstruction.
        decoded = model.decompress(coded["strings"], coded["shape"], size=coded["size"])["x_hat"]
        with torch.no_grad():
            expected = model(x, text_mask=mask)["x_hat"].clamp(0, 1)
        torch.testing.assert_close(decoded, expected, atol=1e-4, rtol=0)


def test_decoder_prior_depends_on_z_hat_only(registry):
    model = tiny_model(registry).eval()
    seen = []
    for block in model.backbone.cond_g_s:
        block.register_forward_hook(lambda module, inputs, output: seen.append(inputs[1].detach()))
    z_hat = torch.randn(1, 16, 1, 1).round()
    y_hat = torch.randn(1, 20, 4, 4)
    with torch.no_grad():
        model.backbone.synthesis(y_hat, z_hat)
        model.backbone.synthesis(y_hat * 3, z_hat)  # different latents, same z_hat ...
    for first, second in zip(seen[:3], seen[3:]):
        torch.testing.assert_close(first, second)  # ... give the same recovered prior


def test_conditioned_backbone_without_prior_fails_clearly():
    model = WACNN(WACNNParams(N=16, M=20, num_slices=5, num_heads=4, prior_channels=4),
                  block=lambda c, p: torch.nn.Identity(), sites=("g_a",))
    with pytest.raises(ValueError, match="needs a prior map"):
        model(torch.rand(1, 3, 64, 64))


def test_training_step_reduces_loss_and_trains_the_prior_branch(registry):
    torch.manual_seed(0)
    data = {"backbone": dict(TINY), "block": {"name": "nesft", "hidden": 8},
            "text_prior": {"name": "ones"}, "loss": {"name": "wmse", "lmbda": 0.01}}
    spec = parse_spec(data, registry=registry)
    model, loss = build_model(spec, registry), build_loss(spec, registry)
    params = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    x = torch.rand(2, 3, 64, 64)
    mask = torch.ones(2, 1, 64, 64)
    losses = []
    for _ in range(12):
        optimizer.zero_grad()
        terms = loss(model(x, text_mask=mask), x, mask)
        terms["loss"].backward()
        optimizer.step()
        losses.append(terms["loss"].item())
    assert losses[-1] < 0.7 * losses[0]
    assert model.backbone.cond_g_s[0].fem.gamma.weight.abs().sum() > 0  # got gradients through z_hat


def test_fast_index_building_equals_compressai():
    from compressai.models.base import get_scale_table

    from sclc_plugins.backbones.wacnn import build_indexes

    gc = WACNN(WACNNParams(N=16, M=20, num_slices=5, num_heads=4)).gaussian_conditional
    gc.update_scale_table(get_scale_table(), force=True)
    torch.manual_seed(0)
    scales = torch.cat([torch.rand(5000) * 300, gc.scale_table, gc.scale_table * (1 + 1e-7), torch.zeros(3)])
    scales = scales.reshape(1, 1, -1, 1)
    assert torch.equal(build_indexes(gc, scales), gc.build_indexes(scales))


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_gdn_matches_compressai_without_autograd(inverse, channels_last):
    from compressai.layers import GDN as ReferenceGDN

    from sclc_plugins.layers.gdn import GDN

    torch.manual_seed(0)
    fast, reference = GDN(12, inverse=inverse), ReferenceGDN(12, inverse=inverse)
    with torch.no_grad():
        fast.gamma.add_(0.05 * torch.rand_like(fast.gamma))
    reference.load_state_dict(fast.state_dict())
    x = torch.randn(1, 12, 9, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), reference(x), rtol=1e-5, atol=1e-6)
    x.requires_grad_(True)  # with autograd: CompressAI's own forward, gradients intact
    fast(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_a_model_still_trains_after_coding_in_channels_last():
    from sclc.builder import build_model
    from sclc.registry import default_registry
    from sclc.spec import parse_spec

    spec = parse_spec({"backbone": {"name": "wacnn", "N": 16, "M": 20, "num_slices": 5, "num_heads": 4}})
    model = build_model(spec, default_registry()).eval()
    model.update(force=True)
    out = model.compress(torch.rand(1, 3, 64, 64))
    assert model.backbone.g_a[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert model.decompress(out["strings"], out["shape"])["x_hat"].shape == (1, 3, 64, 64)
    model.train()
    result = model(torch.rand(2, 3, 64, 64))
    result["x_hat"].mean().backward()
    assert model.backbone.g_a[0].weight.grad is not None
