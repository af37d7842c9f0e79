import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from sclc import container
from sclc.checkpoint import load_checkpoint
from sclc.cli import main
from sclc.codec import compress, decompress
from sclc.container import FormatError
from sclc.errors import SclcError
from sclc.imageio import prepare_image, to_pil
from sclc.resolve import load_model

from conftest import CODEC_SPEC, ROOT, screenshot, write


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
    other = load_model(write(tmp_path, CODEC_SPEC.format(seed=1)))
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


def _run(code: str, *args) -> None:
    subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True, cwd=ROOT)


ENCODE = """
import sys, torch
torch.set_num_threads(int(sys.argv[3]))
from PIL import Image
from sclc.codec import compress
from sclc.resolve import load_model
open(sys.argv[2], "wb").write(compress(Image.open(sys.argv[1]), load_model(sys.argv[4])))
"""
DECODE = """
import sys, torch
torch.set_num_threads(int(sys.argv[3]))
from sclc.codec import decompress
from sclc.resolve import load_model
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


def test_centre_crop_is_centred_and_keeps_a_short_side_whole():
    from sclc.imageio import centre_crop, centre_window

    image = np.arange(5 * 9 * 3).reshape(5, 9, 3)
    assert centre_window(5, 9, 3) == (1, 3)
    np.testing.assert_array_equal(centre_crop(image, 3), image[1:4, 3:6])
    assert centre_crop(image, 7).shape == (5, 7, 3)  # 5 rows only: all of them, from the top
    np.testing.assert_array_equal(centre_crop(image, 7), image[:, 1:8])
