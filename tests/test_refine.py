"""Encoder-side latent refinement: its objective is the file's, it never writes a worse file, and
the decoder needs nothing new."""

import numpy as np
import pytest
import torch

from sclc import codec, container
from sclc.builder import build_loss, build_model
from sclc.cli import main
from sclc.imageio import prepare_image
from sclc.refine import Refinement, sga_round
from sclc.resolve import LoadedModel
from sclc.spec import load_spec

from conftest import screenshot, write
from test_quality_gain import GAINED_SPEC, _screen

STEPS = 40


@pytest.fixture(scope="module")
def gained(tmp_path_factory):
    """A tiny variable-rate model after a few training steps: a decoder that answers its latents."""
    torch.manual_seed(0)
    spec = write(tmp_path_factory.mktemp("refine"), GAINED_SPEC)
    model = build_model(load_spec(spec)).train()
    loss = build_loss(model.spec)
    x = torch.stack([prepare_image(screenshot(64, 64, s)).tensor[0] for s in range(4)])
    mask = torch.zeros_like(x[:, :1])
    params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    optimiser = torch.optim.Adam(params, lr=3e-3)
    for step in range(STEPS):
        q = torch.rand(4, 1, 1, 1).expand_as(mask)
        optimiser.zero_grad()
        loss(model(x, mask, q), x, mask, lmbda=model.rate.lmbda(q))["loss"].backward()
        optimiser.step()
    model.eval().update(force=True)
    return LoadedModel(model, b"", "gained"), spec


def _latents(net, image, quality):
    x = prepare_image(image).tensor
    q = torch.full((1, 1, *x.shape[-2:]), net.rate.q_of_quality(quality))
    padded = net.pad(x)
    prior = net._padded_prior(padded, None, q)
    level = q.flatten(1).mean(1)
    with torch.no_grad():
        y, z = net.backbone.latents(padded, prior, level)
    return padded, y, z, level, q


def test_the_refinement_objective_is_what_the_eval_forward_computes(gained):
    """``as_coded`` rounds y and z exactly as coding does: same image, same likelihoods as the
    model's own eval forward, but with gradients reaching the latents."""
    net = gained[0].model
    padded, y, z, level, q = _latents(net, _screen(), 4)
    with torch.no_grad():
        reference = net(padded, quality_map=q)
    y.requires_grad_(True)
    out = net.backbone.as_coded(y, z, level)
    torch.testing.assert_close(out["x_hat"], reference["x_hat"])
    for name in ("y", "z"):
        torch.testing.assert_close(out["likelihoods"][name], reference["likelihoods"][name])
    out["x_hat"].sum().backward()
    assert y.grad is not None and float(y.grad.abs().sum()) > 0


def test_refinement_lowers_the_cost_and_keeps_the_best_step(gained):
    net = gained[0].model
    padded, y, z, level, q = _latents(net, screenshot(96, 64), 4)
    weight = net._lmbda_weight(q)
    refinement = Refinement(steps=8, lr=0.03)  # a bolder step than the default: few steps, tiny model
    best_y, best_z = refinement.run(net.backbone, y, z, level, padded, weight)
    losses = refinement.losses
    assert len(losses) == 9 and min(losses) < 0.99 * losses[0]
    # The latents returned are those of the lowest loss seen, which is recomputed exactly.
    again = Refinement(steps=0)
    again.run(net.backbone, best_y, best_z, level, padded, weight)
    assert again.losses[0] == pytest.approx(min(losses), rel=1e-5)
    assert all(p.requires_grad for p in net.backbone.parameters())  # weights trainable again afterwards


def test_sga_rounding_is_soft_when_hot_and_round_when_cold():
    torch.manual_seed(0)
    x = (torch.rand(20000) * 6 - 3).requires_grad_(True)
    cold = sga_round(x, 0.01)
    assert (cold - torch.round(x)).abs().mean() < 0.02  # nearly hard rounding
    hot = sga_round(x, 0.5)
    between = ((hot - torch.floor(x)) > 0.05) & ((hot - torch.floor(x)) < 0.95)
    assert between.float().mean() > 0.3  # soft: many values strictly between floor and ceiling
    hot.sum().backward()
    assert float(x.grad.abs().sum()) > 0  # the soft rounding passes gradients to x
    # The nearer integer is the likelier one: values just above an integer mostly go down.
    near_floor = sga_round(torch.full((20000,), 2.2), 0.5)
    assert float(near_floor.mean()) < 2.5


def test_sga_refinement_keeps_the_best_hard_rounded_step(gained):
    net = gained[0].model
    padded, y, z, level, q = _latents(net, screenshot(96, 64), 4)
    weight = net._lmbda_weight(q)
    torch.manual_seed(1)
    refinement = Refinement(steps=8, lr=0.03, rounding="sga")
    best_y, best_z = refinement.run(net.backbone, y, z, level, padded, weight)
    losses = refinement.losses  # hard-rounded costs, as the file would cost
    assert len(losses) == 9 and min(losses) < 0.995 * losses[0]
    again = Refinement(steps=0)
    again.run(net.backbone, best_y, best_z, level, padded, weight)
    assert again.losses[0] == pytest.approx(min(losses), rel=1e-5)
    assert refinement.temperature(0) == pytest.approx(0.5) and refinement.temperature(7) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="rounding must be one of"):
        Refinement(steps=3, rounding="nearest")


def test_a_refined_file_decodes_with_the_plain_decoder_and_costs_what_was_optimised(gained):
    loaded = gained[0].at_quality(4)
    image = screenshot(96, 64)
    plain = codec.compress(image, loaded)
    refined = codec.compress(image, loaded.refined(6))
    assert refined != plain
    x = prepare_image(image).tensor[0].numpy().transpose(1, 2, 0) * 255

    def cost(data):  # bits per pixel + lambda-weighted squared error: what refinement minimises
        decoded = np.asarray(codec.decompress(data, gained[0]), float)
        lmbda = float(loaded.model.rate.lmbda(torch.tensor(loaded.model.rate.q_of_quality(4))))
        return 8 * len(data) / (96 * 64) + lmbda * ((decoded - x) ** 2).mean()

    assert cost(refined) < cost(plain)
    assert container.unpack(refined)[0].model_id == container.unpack(plain)[0].model_id


def test_encode_reports_each_refinement_step(gained):
    calls = []
    codec.encode(screenshot(64, 64), gained[0].at_quality(4).refined(3), progress=lambda *a: calls.append(a))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    codec.encode(screenshot(64, 64), gained[0].at_quality(4), progress=lambda *a: calls.append(a))
    assert calls == []  # plain coding has no steps to report


def test_refinement_is_refused_where_there_is_no_lambda_to_optimise(loaded, gained):
    from sclc.errors import SclcError

    with pytest.raises(SclcError, match="needs a variable-rate model"):
        loaded.refined(5)  # the conftest model is fixed-rate
    assert loaded.refined(0).setting == loaded.setting  # zero steps is plain coding, for any model
    assert gained[0].at_quality(3).refined(5).setting.endswith("refine5 q3")
    assert gained[0].at_quality(3).refined(5, "sga").setting.endswith("refine5 sga q3")
    with pytest.raises(SclcError, match="--refine-rounding round"):
        gained[0].refined(5, "round")
    with pytest.raises(ValueError, match=">= 0"):
        Refinement(steps=-1)


def test_cli_compress_refine(tmp_path, gained, spec_path, capsys):
    image = tmp_path / "in.png"
    screenshot(64, 64).save(image)
    assert main(["compress", str(image), str(tmp_path / "a.sclc"), "--model", str(spec_path), "--refine", "2"]) == 2
    assert "needs a variable-rate model" in capsys.readouterr().err
    spec = gained[1]
    assert main(["compress", str(image), str(tmp_path / "b.sclc"), "--model", str(spec), "--quality", "3",
                 "--refine", "2"]) == 0
    assert "refine2 q3" in capsys.readouterr().out
    assert main(["decompress", str(tmp_path / "b.sclc"), str(tmp_path / "b.png"), "--model", str(spec)]) == 0


def test_refinement_checks_its_memory_before_it_starts(gained, monkeypatch):
    from sclc import footprint
    from sclc.limits import LimitError

    loaded = gained[0].at_quality(4)
    need = footprint.refine_bytes(loaded.model, 64, 96)
    assert need > footprint.decode_bytes(loaded.model, 64, 96)
    monkeypatch.setenv("SCLC_MAX_MEMORY_GB", str(0.9 * need / 1e9))
    with pytest.raises(LimitError, match="refining the latents of this 96x64 image"):
        codec.compress(screenshot(96, 64), loaded.refined(2))
    assert codec.compress(screenshot(96, 64), loaded)  # plain coding needs no more than a decode


def test_eval_refines_every_quality_of_a_variable_rate_model(gained, spec_path):
    from sclc.errors import SclcError
    from sclc.eval.run import models_to_evaluate

    points = models_to_evaluate([f"vr={gained[1]}"], (2, 5), refine_steps=4)
    assert [(label, loaded.setting.split(" ", 1)[1]) for label, loaded in points] == [
        ("vr", "refine4 q2"), ("vr", "refine4 q5")]
    with pytest.raises(SclcError, match="needs a variable-rate model"):
        models_to_evaluate([str(spec_path)], (2,), refine_steps=4)
