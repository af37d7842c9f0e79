"""Quality gains (Cui et al. 2021) in WACNN, their coded level, and the hyperprior rate warm-up."""

import numpy as np
import pytest
import torch
from PIL import Image

from sclc import codec
from sclc.builder import build_loss, build_model
from sclc.resolve import LoadedModel
from sclc.errors import SclcError
from sclc.spec import load_spec
from sclc.train.model import TrainableCodec
from sclc.train.rate_warmup import hyper_rate_weight
from sclc_plugins.layers.quality_gain import QualityGain, level_from_bytes, level_to_bytes

from conftest import write
from test_variable_rate import VR_SPEC

GAINED_SPEC = VR_SPEC.replace("prior_channels = 4\n", "prior_channels = 4\nquality_gains = 4\n")


def test_gains_start_symmetric_one_at_the_middle_level_and_rising():
    gain = QualityGain(6, levels=8)
    levels = torch.linspace(0, 1, 11)
    y = torch.ones(11, 6, 2, 2)
    scaled = gain.encode(y, levels)[:, 0, 0, 0]
    assert torch.all(scaled[1:] > scaled[:-1])  # a higher quality means finer quantisation steps
    torch.testing.assert_close(gain.encode(y[:1], torch.tensor([0.5])), y[:1])
    # The inverse gains start as the exact inverse: encode then decode is the identity.
    torch.testing.assert_close(gain.decode(gain.encode(y, levels), levels), y)


def test_gain_interpolation_hits_its_anchors_and_clamps():
    gain = QualityGain(3, levels=5)
    with torch.no_grad():
        gain.log_gain.copy_(torch.arange(15.0).reshape(5, 3) / 10)
    y = torch.ones(1, 3, 1, 1)
    at = lambda q: gain.encode(y, torch.tensor([q])).flatten()
    torch.testing.assert_close(at(0.25), torch.exp(gain.log_gain[1]).detach())
    torch.testing.assert_close(at(1.0), torch.exp(gain.log_gain[4]).detach())
    torch.testing.assert_close(at(2.0), at(1.0))
    torch.testing.assert_close(at(0.125), torch.exp((gain.log_gain[0] + gain.log_gain[1]) / 2).detach())


def test_levels_travel_in_two_bytes_and_decode_the_same_again():
    for q in (0.0, 0.3, 0.123456, 1.0):
        data = level_to_bytes(torch.tensor(q))
        coded = level_from_bytes(data)
        assert len(data) == 2 and abs(float(coded) - q) <= 0.5 / 65535 + 1e-7
        assert level_to_bytes(coded) == data  # the encoder's level (read back) codes to the same bytes
    with pytest.raises(ValueError, match="shorter than 2 bytes"):
        level_from_bytes(b"\x01")


def test_quality_gains_need_a_variable_rate_model(tmp_path):
    fixed = GAINED_SPEC.split("[variable_rate]")[0]
    with pytest.raises(SclcError, match="quality_gains needs a variable-rate model"):
        build_model(load_spec(write(tmp_path, fixed)))


@pytest.mark.parametrize("lmbda_max, span", [(0.0016, 4.0), (0.0256, 16.0)])
def test_a_fresh_models_gains_start_at_the_square_root_of_its_lambda_range(tmp_path, lmbda_max, span):
    """For MSE the best step scales like 1/sqrt(lambda): a 256x range starts at a 16x step span."""
    text = GAINED_SPEC.replace("lmbda_max = 0.08", f"lmbda_max = {lmbda_max}")
    assert text != GAINED_SPEC
    gain = build_model(load_spec(write(tmp_path, text))).backbone.quality_gain.requires_grad_(False)
    assert float(torch.exp(gain.log_gain[-1, 0] - gain.log_gain[0, 0])) == pytest.approx(span, rel=1e-5)
    assert float(torch.exp(gain.log_inverse_gain[0, 0] - gain.log_inverse_gain[-1, 0])) == pytest.approx(span, rel=1e-5)


def _screen(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = np.full((64, 96, 3), 245, np.uint8)
    for row in range(4, 60, 8):
        pixels[row: row + 4, 8: 88] = rng.integers(0, 80, (4, 80, 3))
    return Image.fromarray(pixels)


def test_gained_model_codes_real_bitstreams_whose_size_follows_quality(tmp_path):
    """Untrained, the gains alone move the quantisation step: real files grow with quality, and
    the decoder takes the level from the file, not from the model it is given."""
    from sclc import container

    torch.manual_seed(0)
    loaded = LoadedModel(build_model(load_spec(write(tmp_path, GAINED_SPEC))), b"", "gained")
    loaded.model.eval().update(force=True)
    files = {q: codec.compress(_screen(), loaded.at_quality(q)) for q in (1, 8)}
    assert len(files[8]) > 1.3 * len(files[1])
    decoded = np.asarray(codec.decompress(files[8], loaded.at_quality(1)), float)
    header, strings = container.unpack(files[8])
    other_level = container.pack(header, [*strings[:2], bytes([0, 0])])
    assert np.abs(np.asarray(codec.decompress(other_level, loaded), float) - decoded).mean() > 1


def test_a_gained_file_with_its_level_string_missing_is_refused(tmp_path):
    from sclc import container

    torch.manual_seed(0)
    loaded = LoadedModel(build_model(load_spec(write(tmp_path, GAINED_SPEC))), b"", "gained")
    loaded.model.eval().update(force=True)
    header, strings = container.unpack(codec.compress(_screen(), loaded.at_quality(4)))
    assert len(strings) == 3 and len(strings[2]) == 2
    with pytest.raises(container.FormatError, match="3"):
        codec.decompress(container.pack(header, strings[:2]), loaded)


def test_hyper_rate_warmup_ramps_and_only_discounts_z_in_the_loss(tmp_path):
    assert [hyper_rate_weight(i, 100) for i in (0, 50, 100, 500)] == [0.0, 0.5, 1.0, 1.0]
    assert hyper_rate_weight(0, 0) == 1.0
    torch.manual_seed(0)
    spec = load_spec(write(tmp_path, GAINED_SPEC))
    model = TrainableCodec(build_model(spec), build_loss(spec))
    x, mask, qmap = torch.rand(2, 3, 64, 64), torch.zeros(2, 1, 64, 64), torch.full((2, 1, 64, 64), 0.5)
    torch.manual_seed(1)
    full = model(x, mask, qmap)
    model.rate_weights["z"] = 0.25
    torch.manual_seed(1)
    warm = model(x, mask, qmap)
    torch.testing.assert_close(warm["bpp"], full["bpp"])  # the logged rate counts every bit
    torch.testing.assert_close(full["loss"] - warm["loss"], 0.75 * full["bpp_z"])


def test_gains_learn_at_their_own_rate_through_the_schedule(tmp_path):
    """At lr 1e-4 Adam moves a log gain ~1e-4 a step; gain_lr_scale lets them travel, and the
    cosine schedule keeps the ratio."""
    from sclc.train.runner import build_runner

    train = ("[train]\ncrop = 32\nbatch_size = 2\nlr = 1e-3\nmin_lr = 1e-4\nlr_schedule = \"cosine\"\n"
             "val_crop = 32\nval_images = 1\nval_interval = 100\ncheckpoint_interval = 100\n"
             "synthetic_images = 10\ndevice = \"cpu\"\nmax_iters = 4\n")
    moved = {}
    for scale in (1.0, 100.0):
        torch.manual_seed(0)
        spec = load_spec(write(tmp_path, GAINED_SPEC + train), [f"train.gain_lr_scale={scale}"])
        runner = build_runner(spec, tmp_path / f"run{scale}")
        start = runner.model.codec.backbone.quality_gain.log_gain.detach().clone()
        runner.train()
        # (mmengine adds a group of its own, for logging, to an optimizer with several)
        groups = [g for g in runner.optim_wrapper["main"].param_groups if "lr_scale" in g]
        assert len(groups) == (1 if scale == 1.0 else 2)
        assert groups[-1]["lr"] == pytest.approx(1e-4 * scale)  # the end of the cosine, scaled
        assert runner.message_hub.get_scalar("train/main.lr").current() == pytest.approx(1e-4)  # logged: the base
        moved[scale] = float((runner.model.codec.backbone.quality_gain.log_gain.detach() - start).abs().max())
    assert moved[1.0] < 0.01 < 0.1 < moved[100.0]


def test_stretching_the_gains_widens_the_rate_span_of_real_files(tmp_path):
    import subprocess
    import sys

    from sclc.checkpoint import load_checkpoint, save_checkpoint

    from conftest import ROOT

    torch.manual_seed(0)
    model = build_model(load_spec(write(tmp_path, GAINED_SPEC)))
    model.eval().update(force=True)
    save_checkpoint(model, tmp_path / "narrow.pt")
    tool = [sys.executable, str(ROOT / "tools" / "stretch_gains.py")]
    done = subprocess.run([*tool, str(tmp_path / "narrow.pt"), str(tmp_path / "wide.pt"), "2"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    narrow, wide = load_checkpoint(tmp_path / "narrow.pt"), load_checkpoint(tmp_path / "wide.pt")
    table = narrow.backbone.quality_gain.log_gain.detach()
    middle = table.mean(0, keepdim=True)
    torch.testing.assert_close(wide.backbone.quality_gain.log_gain.detach(), middle + 2 * (table - middle))
    sizes = {name: [len(codec.compress(_screen(), LoadedModel(m, b"", name).at_quality(q))) for q in (1, 3, 6, 8)]
             for name, m in (("narrow", narrow), ("wide", wide))}
    span = {name: size[-1] / size[0] for name, size in sizes.items()}
    # (untrained, the low qualities already sit at the file's floor; the top end moves)
    assert sizes["wide"][0] <= sizes["narrow"][0] and span["wide"] > 1.5 * span["narrow"]
    # Untrusted input: one line, exit code 2.
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    for args in (["junk.pt", "out.pt", "2"], ["narrow.pt", "out.pt", "-1"]):
        bad = subprocess.run([*tool, *(str(tmp_path / a) if a.endswith(".pt") else a for a in args)],
                             capture_output=True, text=True)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert not (tmp_path / "out.pt").exists()
