"""Variable rate: quality <-> lambda, training maps, the model's quality input, the losses' lambda map."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from torch.utils.data import default_collate

from sclc.builder import build_loss, build_model
from sclc.data.quality_maps import random_quality_map
from sclc.data.stream import CropStream, SyntheticSource
from sclc.errors import SpecError
from sclc.quality import DEFAULT_QUALITY, VariableRateSpec, lmbda_of_quality, quality_map, quality_of_lmbda
from sclc.spec import load_spec, parse_spec
from sclc.train.model import TrainableCodec, is_aux_parameter
from sclc_plugins.losses.mse import RateDistortionMSE
from sclc_plugins.losses.wmse import RateDistortionWMSE

from conftest import TINY_SPEC, write

STEERING_STEPS = 40
VR_SPEC = TINY_SPEC.format(name="vr", seed=0) + "[variable_rate]\nlmbda_min = 0.0001\nlmbda_max = 0.08\n"


def test_quality_scale_spans_the_promised_lambdas():
    assert lmbda_of_quality(1) == pytest.approx(0.0001)
    assert lmbda_of_quality(8) == pytest.approx(0.05)
    assert quality_of_lmbda(lmbda_of_quality(3.7)) == pytest.approx(3.7)


@given(st.floats(0, 1), st.floats(0, 1))
def test_lambda_of_q_is_monotone_and_hits_the_range_ends(a, b):
    rate = VariableRateSpec(0.0001, 0.08)
    la, lb = rate.lmbda(torch.tensor(a)), rate.lmbda(torch.tensor(b))
    assert (la <= lb) == (a <= b) or a == b
    assert float(rate.lmbda(torch.tensor(0.0))) == pytest.approx(0.0001)
    assert float(rate.lmbda(torch.tensor(1.0))) == pytest.approx(0.08)


def test_quality_to_q_rejects_qualities_outside_the_training_range():
    narrow = VariableRateSpec(0.004, 0.02)
    low, high = narrow.quality_range()
    assert 1 < low < high < 8
    assert 0 <= narrow.q_of_quality(low) <= narrow.q_of_quality(high) <= 1
    with pytest.raises(ValueError, match="outside this model's range"):
        narrow.q_of_quality(1)


def test_text_quality_raises_q_on_the_text_mask_only():
    rate = VariableRateSpec(0.0001, 0.08)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:4, 2:6] = 1
    q = quality_map(rate, (8, 8), 3, mask, text_quality=2)
    assert q[mask > 0].unique().tolist() == [pytest.approx(rate.q_of_quality(5))]
    assert q[mask == 0].unique().tolist() == [pytest.approx(rate.q_of_quality(3))]


@given(st.integers(0, 10_000))
def test_training_maps_are_reproducible_and_in_range(seed):
    mask = np.zeros((32, 32), np.uint8)
    mask[8:16] = 1
    a = random_quality_map(np.random.default_rng(seed), 32, mask, 0.3)
    b = random_quality_map(np.random.default_rng(seed), 32, mask, 0.3)
    assert a.shape == (32, 32) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1


def test_training_maps_cover_the_range_with_several_kinds():
    rng = np.random.default_rng(0)
    maps = [random_quality_map(rng, 16, None, 0.0) for _ in range(200)]
    means = np.array([m.mean() for m in maps])
    assert means.min() < 0.1 and means.max() > 0.9
    assert sum(m.std() > 0.01 for m in maps) > 40  # gradients and blobs, not only uniform maps


def test_a_constant_lambda_map_is_the_fixed_lambda():
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 8, 8, generator=gen)
    out = {"x_hat": target + 0.1 * torch.randn(2, 3, 8, 8, generator=gen),
           "likelihoods": {"y": torch.rand(2, 4, 2, 2, generator=gen).clamp_min(0.01)}}
    mask = (torch.rand(2, 1, 8, 8, generator=gen) > 0.5).float()
    for loss in (RateDistortionMSE(0.02), RateDistortionWMSE(0.02)):
        fixed = loss(out, target, mask)
        mapped = loss(out, target, mask, lmbda=torch.full((2, 1, 8, 8), 0.02))
        torch.testing.assert_close(fixed["loss"], mapped["loss"])
    doubled = RateDistortionMSE(0.02)(out, target, lmbda=torch.full((2, 1, 8, 8), 0.04))
    torch.testing.assert_close(doubled["distortion_term"], 2 * RateDistortionMSE(0.02)(out, target)["distortion_term"])


def test_variable_rate_needs_an_encoder_site(tmp_path):
    plain = VR_SPEC.replace('name = "nesft"\nhidden = 8', 'name = "none"')
    with pytest.raises(SpecError, match="variable-rate model needs a conditioning block"):
        load_spec(write(tmp_path, plain))
    decoder_only = VR_SPEC.replace('hidden = 8', 'hidden = 8\nsites = ["g_s"]')
    with pytest.raises(SpecError, match="at g_a or h_a"):
        load_spec(write(tmp_path, decoder_only, "d.toml"))


def test_spec_round_trip_keeps_variable_rate_and_fixed_specs_unchanged(tmp_path):
    spec = load_spec(write(tmp_path, VR_SPEC))
    assert spec.variable_rate == VariableRateSpec(0.0001, 0.08)
    assert parse_spec(spec.to_dict()) == spec
    fixed = load_spec(write(tmp_path, TINY_SPEC.format(name="f", seed=0), "f.toml"))
    assert "variable_rate" not in fixed.to_dict()


def test_the_quality_map_steers_the_rate_after_a_little_training(tmp_path):
    """q enters through the prior path; after a few steps with random maps, a higher q spends more bits."""
    torch.manual_seed(0)
    # a narrower range than the quality scale's: 40 steps cannot learn a 800x span of lambda
    spec = load_spec(write(tmp_path, VR_SPEC.replace("lmbda_min = 0.0001", "lmbda_min = 0.001")))
    model = TrainableCodec(build_model(spec), build_loss(spec))
    with pytest.raises(ValueError, match="needs a quality map"):
        model.codec(torch.rand(1, 3, 64, 64), text_mask=torch.zeros(1, 1, 64, 64))
    params = [p for n, p in model.named_parameters() if not is_aux_parameter(n)]
    optimizer = torch.optim.Adam(params, lr=3e-3)
    screens = CropStream(SyntheticSource(32, 64, seed=0), 32, seed=0, rate=spec.variable_rate)
    for step in range(STEERING_STEPS):
        batch = default_collate([screens[4 * step + i] for i in range(4)])
        terms = model(batch["inputs"], torch.zeros_like(batch["mask"]), batch["qmap"])
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
    model.eval()
    x = default_collate([screens[10_000 + i] for i in range(2)])["inputs"]
    with torch.no_grad():
        low = model(x, torch.zeros(2, 1, 32, 32), torch.zeros(2, 1, 32, 32), mode="predict")
        high = model(x, torch.zeros(2, 1, 32, 32), torch.ones(2, 1, 32, 32), mode="predict")
    assert sum(r["bpp"] for r in high) > sum(r["bpp"] for r in low)
    assert low[0]["q"] == 0 and high[0]["q"] == 1


def test_compress_cli_takes_a_quality_map_a_text_quality_and_refuses_a_wrong_map(tmp_path, capsys):
    from PIL import Image

    from sclc.cli import main
    from test_codec import screenshot

    spec = write(tmp_path, VR_SPEC)
    screenshot(96, 64).save(tmp_path / "in.png")
    Image.new("L", (96, 64), 200).save(tmp_path / "map.png")
    Image.new("L", (32, 32), 200).save(tmp_path / "small.png")
    args = ["compress", str(tmp_path / "in.png"), str(tmp_path / "out.sclc"), "--model", str(spec)]
    assert main([*args, "--quality-map", str(tmp_path / "map.png")]) == 0
    assert main([*args, "--quality", "2.5", "--text-quality", "3"]) == 0
    assert "vr q2.5 text+3" in capsys.readouterr().out
    assert main([*args, "--quality-map", str(tmp_path / "small.png")]) == 2
    assert "quality map" in capsys.readouterr().err
    assert main(["decompress", str(tmp_path / "out.sclc"), str(tmp_path / "out.png")]) == 0


def test_a_16_bit_quality_map_keeps_its_values(tmp_path):
    import numpy as np
    from PIL import Image

    from sclc.imageio import read_quality_map

    values = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "map16.png")
    Image.fromarray(np.array([[0, 51, 128, 255]], dtype=np.uint8)).save(tmp_path / "map8.png")
    q16 = read_quality_map(tmp_path / "map16.png", (4, 1))
    q8 = read_quality_map(tmp_path / "map8.png", (4, 1))
    assert q16.flatten().tolist() == pytest.approx([0, 1000 / 65535, 32768 / 65535, 1])  # not clipped to 255
    assert q8.flatten().tolist() == pytest.approx([0, 0.2, 128 / 255, 1])


def test_set_cannot_silently_miss_a_checkpoint(tmp_path, capsys):
    from sclc.cli import main
    from test_codec import screenshot

    image = tmp_path / "in.png"
    screenshot(64, 64).save(image)
    pretrained = Path(__file__).resolve().parents[1] / "sclc" / "pretrained" / "sci.pt"
    code = main(["compress", str(image), str(tmp_path / "o.sclc"), "--model", str(pretrained), "--set", "backbone.N=8"])
    assert code == 2 and "--set cannot change the checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "o.sclc").exists()


def test_without_quality_a_model_codes_at_the_nearest_quality_it_accepts(tmp_path, capsys):
    """DEFAULT_QUALITY is the default only where a model accepts it; a model whose lambdas all lie beyond
    quality 8 has no quality at all: one clear error, and a quality map still drives it."""
    from PIL import Image

    from sclc.cli import main
    from test_codec import screenshot

    high_only = VariableRateSpec(0.02, 0.08)
    assert high_only.default_quality() == high_only.quality_range()[0] > DEFAULT_QUALITY
    screenshot(96, 64).save(tmp_path / "in.png")
    Image.new("L", (96, 64), 200).save(tmp_path / "map.png")
    for name, lmin, lmax in (("high", 0.02, 0.08), ("beyond", 0.2, 1.0)):
        spec = write(tmp_path, VR_SPEC.replace("lmbda_min = ", f"lmbda_min = {lmin} #").replace(
            "lmbda_max = ", f"lmbda_max = {lmax} #"), f"{name}.toml")
        args = ["compress", str(tmp_path / "in.png"), str(tmp_path / f"{name}.sclc"), "--model", str(spec)]
        if name == "high":
            assert main(args) == 0
            assert f"q{high_only.quality_range()[0]:g}" in capsys.readouterr().out
            continue
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "lies outside qualities 1 .. 8" in err
        assert main([*args, "--quality-map", str(tmp_path / "map.png")]) == 0
