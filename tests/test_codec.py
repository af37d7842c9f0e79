import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image, ImageDraw

from sclc import container
from sclc.checkpoint import export_checkpoint, load_checkpoint, load_model, model_id, save_checkpoint
from sclc.cli import main
from sclc.codec import compress, decompress
from sclc.container import FormatError
from sclc.errors import SclcError
from sclc.imageio import prepare_image, to_pil

from conftest import ROOT, TINY_SPEC, write

SPEC = TINY_SPEC.replace("{name}", "codec-test")


def screenshot(width=160, height=96, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 10)), int(rng.integers(0, height - 10))
        draw.rectangle([x0, y0, x0 + int(rng.integers(5, 60)), y0 + int(rng.integers(5, 30))],
                       fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    draw.text((4, height // 2), "def f(x): return x", fill="black")
    return image


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "codec.toml"
    path.write_text(SPEC.format(seed=0))
    return path


@pytest.fixture(scope="module")
def loaded(spec_path):
    return load_model(spec_path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, spec_path):
    """A tiny model after a few real optimisation steps, saved as a codec checkpoint."""
    from sclc.builder import build_loss

    model = load_model(spec_path).model.train()
    loss = build_loss(model.spec)
    torch.manual_seed(0)
    x = torch.stack([prepare_image(screenshot(64, 64, s)).tensor[0] for s in range(4)])
    params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    optimizer = torch.optim.Adam(params, lr=2e-3)
    mask = torch.zeros_like(x[:, :1])
    for _ in range(15):
        optimizer.zero_grad()
        loss(model(x, mask), x, mask)["loss"].backward()
        optimizer.step()
    path = tmp_path_factory.mktemp("ckpt") / "trained.pt"
    save_checkpoint(model.eval(), path)
    return path


def _own_reconstruction(model, image):
    x = prepare_image(image).tensor
    with torch.no_grad():
        out = model(x, model.text_mask(x))
    return out


@pytest.mark.parametrize("which", ["random", "trained"])
def test_round_trip_matches_quantised_forward_and_estimated_rate(which, loaded, trained):
    model = loaded.model if which == "random" else load_checkpoint(trained)
    image = screenshot(320, 200)
    data = compress(image, model)
    decoded = np.asarray(decompress(data, model), dtype=int)
    out = _own_reconstruction(model, image)
    expected = np.asarray(to_pil(out["x_hat"]), dtype=int)
    assert decoded.shape == expected.shape == (200, 320, 3)
    assert np.abs(decoded - expected).max() <= 1 and (decoded == expected).mean() > 0.999
    estimated_bits = sum(-torch.log2(lik).sum().item() for lik in out["likelihoods"].values())
    header, strings = container.unpack(data)
    coded_bits = 8 * sum(len(s) for s in strings)
    # rANS flushes up to 8 bytes per string beyond the information content.
    assert abs(coded_bits - estimated_bits) <= 0.03 * estimated_bits + 64 * len(strings)
    assert len(data) - sum(len(s) for s in strings) < 64  # header, lengths and checksum


@pytest.mark.parametrize("size", [(1, 1), (1, 70), (65, 3), (129, 64)])
def test_any_size(loaded, size):
    image = screenshot(max(size[0], 20), max(size[1], 20)).resize(size)
    decoded = decompress(compress(image, loaded), loaded)
    assert decoded.size == size and decoded.mode == "RGB"


def test_image_modes(loaded):
    rgb = screenshot(48, 40)
    gray = rgb.convert("L")
    assert decompress(compress(gray, loaded), loaded).mode == "L"
    rgba = rgb.convert("RGBA")
    rgba.putalpha(0)  # fully transparent: must become white, not black
    with pytest.warns(UserWarning, match="composited on white"):
        prepared = prepare_image(rgba)
    assert torch.all(prepared.tensor == 1.0)
    with pytest.warns(UserWarning):
        assert decompress(compress(rgba, loaded), loaded).mode == "RGB"
    deep = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    assert deep.mode == "I;16"
    prepared = prepare_image(deep)
    torch.testing.assert_close(prepared.tensor, prepare_image(gray).tensor)
    assert any("8-bit" in note for note in prepared.notes)
    palette = rgb.convert("P")
    torch.testing.assert_close(prepare_image(palette).tensor, prepare_image(palette.convert("RGB")).tensor)
    assert decompress(compress(np.asarray(rgb), loaded), loaded).size == rgb.size


def test_file_embeds_its_spec_model_and_needs_nothing_else(loaded):
    data = compress(screenshot(), loaded)
    assert np.array_equal(np.asarray(decompress(data)), np.asarray(decompress(data, loaded)))


def test_wrong_model_and_unknown_version(loaded, tmp_path):
    data = compress(screenshot(), loaded)
    other = load_model(write(tmp_path, SPEC.format(seed=1)))
    with pytest.raises(FormatError, match="written by model"):
        decompress(data, other)
    newer = bytearray(data[:-4])
    newer[4] = container.VERSION + 1
    newer = bytes(newer) + struct.pack(">I", zlib.crc32(bytes(newer)))
    with pytest.raises(FormatError, match="newer sclc format version 2"):
        decompress(newer, loaded)


@pytest.fixture(scope="module")
def sample(loaded):
    return compress(screenshot(64, 64), loaded)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_truncated_and_bit_flipped_files_fail_cleanly(loaded, sample, data):
    cut = data.draw(st.integers(0, len(sample) - 1))
    with pytest.raises(FormatError):
        decompress(sample[:cut], loaded)
    flipped = bytearray(sample)
    position = data.draw(st.integers(0, len(sample) * 8 - 1))
    flipped[position // 8] ^= 1 << (position % 8)
    with pytest.raises(FormatError):
        decompress(bytes(flipped), loaded)


@settings(max_examples=150)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_random_bytes_fail_cleanly(loaded, blob, with_magic):
    if with_magic:
        blob = b"SCLC\x01" + blob
    with pytest.raises(SclcError):
        decompress(blob, loaded)


def test_checkpoint_is_weights_only_and_keeps_identity(trained, tmp_path):
    raw = torch.load(trained, weights_only=True)
    assert raw["format"] == "sclc-codec" and any("_quantized_cdf" in k for k in raw["state_dict"])
    first, second = load_checkpoint(trained), load_checkpoint(trained)
    assert model_id(first) == model_id(second)
    image = screenshot()
    assert compress(image, first) == compress(image, second)


def test_export_from_training_checkpoint_and_missing_plugin(trained, tmp_path):
    codec = torch.load(trained, weights_only=True)
    training = {"meta": {"sclc_spec": codec["spec"], "iter": 10},
                "state_dict": {"codec." + k: v for k, v in codec["state_dict"].items()},
                "optimizer": {"state": {}}}
    torch.save(training, tmp_path / "iter_10.pth")
    model = export_checkpoint(tmp_path / "iter_10.pth", tmp_path / "exported.pt")
    assert model_id(model) == model_id(load_checkpoint(trained))
    alien = dict(codec)
    alien["spec"] = {**codec["spec"], "backbone": {"name": "fancy"}}
    alien["providers"] = {**codec["providers"], "backbone": ["fancy", "sclc-fancy"]}
    torch.save(alien, tmp_path / "alien.pt")
    with pytest.raises(SclcError, match="unknown backbone 'fancy'.*'sclc-fancy'"):
        load_checkpoint(tmp_path / "alien.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SclcError, match="cannot load checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_half_export_halves_the_file_and_describes_the_rounded_model(trained, tmp_path):
    model = load_checkpoint(trained)
    save_checkpoint(model, tmp_path / "half.pt", half=True)  # rounds `model` in place
    stored = torch.load(tmp_path / "half.pt", weights_only=True)["state_dict"]
    assert stored["backbone.g_a.0.weight"].dtype == torch.float16
    original = torch.load(trained, weights_only=True)["state_dict"]
    nbytes = lambda state: sum(v.numel() * v.element_size() for k, v in state.items() if "cdf" not in k)  # noqa: E731
    assert nbytes(stored) < 0.55 * nbytes(original)  # the CDF tables stay int32
    loaded = load_checkpoint(tmp_path / "half.pt")
    assert model_id(loaded) == model_id(model)  # same weights, same CDF tables
    image = screenshot()
    data = compress(image, loaded)
    assert data == compress(image, model)
    assert np.asarray(decompress(data, loaded)).shape == np.asarray(image).shape


def _run(code: str, *args) -> None:
    subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True, cwd=ROOT)


ENCODE = """
import sys, torch
torch.set_num_threads(int(sys.argv[3]))
from PIL import Image
from sclc.checkpoint import load_model
from sclc.codec import compress
open(sys.argv[2], "wb").write(compress(Image.open(sys.argv[1]), load_model(sys.argv[4])))
"""
DECODE = """
import sys, torch
torch.set_num_threads(int(sys.argv[3]))
from sclc.checkpoint import load_model
from sclc.codec import decompress
decompress(open(sys.argv[1], "rb").read(), load_model(sys.argv[4])).save(sys.argv[2])
"""


def test_bit_exact_across_processes_and_thread_counts(trained, tmp_path):
    image = screenshot(192, 128, seed=3)
    image.save(tmp_path / "in.png")
    _run(ENCODE, tmp_path / "in.png", tmp_path / "a.sclc", 1, trained)
    _run(DECODE, tmp_path / "a.sclc", tmp_path / "a.png", 2, trained)
    model = load_checkpoint(trained)
    torch.set_num_threads(2)
    here = compress(image, model)
    assert here == (tmp_path / "a.sclc").read_bytes()  # same bytes from another process, 1 vs 2 threads
    torch.set_num_threads(1)
    try:
        same_process = np.asarray(decompress(here, model))
    finally:
        torch.set_num_threads(2)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), same_process)


def test_cli_round_trip_and_clean_errors(spec_path, tmp_path, capsys):
    screenshot().save(tmp_path / "in.png")
    assert main(["compress", str(tmp_path / "in.png"), str(tmp_path / "x.sclc"), "--model", str(spec_path)]) == 0
    assert "bpp" in capsys.readouterr().out
    assert main(["decompress", str(tmp_path / "x.sclc"), str(tmp_path / "out.png")]) == 0
    assert Image.open(tmp_path / "out.png").size == (160, 96)
    (tmp_path / "bad.sclc").write_bytes(b"SCLC\x01garbage")
    (tmp_path / "keep.png").write_bytes(b"precious")
    assert main(["decompress", str(tmp_path / "bad.sclc"), str(tmp_path / "keep.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / "keep.png").read_bytes() == b"precious"  # no partial output
    (tmp_path / "notimage.png").write_text("hello")
    assert main(["compress", str(tmp_path / "notimage.png"), str(tmp_path / "y.sclc"), "--model", str(spec_path)]) == 2
    assert "cannot read image" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.tmp"))
