"""Untrusted .sclc files, images and checkpoints: refused in one line, never crash, hang or
open what they name (issue #14)."""

import dataclasses
import os
import random
import sys
import time
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from sclc import container, embedded, fuzz
from sclc.checkpoint import load_checkpoint
from sclc.resolve import load_model
from sclc.cli import main
from sclc.codec import compress, decompress
from sclc.errors import SclcError

from conftest import TINY_SPEC, write

SPEC = TINY_SPEC.replace("{name}", "untrusted").format(seed=0)
_OPENED: list[str] = []
_RECORD = [False]


def _audit(event, args):
    if event == "open" and _RECORD[0] and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one only records while _RECORD[0]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_model(write(tmp_path_factory.mktemp("spec"), SPEC))


@pytest.fixture(scope="module")
def seeds(loaded):
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for h, w in ((64, 64), (37, 100))]
    return [compress(image, loaded) for image in images]


@pytest.fixture(scope="module")
def small_limits():
    """Fuzzed sizes stay small, so a mutant that passes every check still decodes in milliseconds."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCLC_MAX_PIXELS", str(128 * 128))
        yield


def _decodes_or_refuses(data, model):
    try:
        decompress(data, model)
    except SclcError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=260, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32), st.integers(0, 1))
def test_fuzz_mutated_headers_shapes_and_strings(loaded, seeds, small_limits, seed, which):
    # hypothesis picks seeds; a plain PRNG drives the mutations (hypothesis' own randoms are 5x slower)
    _decodes_or_refuses(fuzz.mutate(seeds[which], random.Random(seed), reference=False), loaded)


@settings(max_examples=240, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32))
def test_fuzz_mutated_references_and_embedded_specs(seeds, small_limits, seed):
    rng = random.Random(seed)
    header, strings = container.unpack(seeds[0])
    header, strings = fuzz._reference(header, strings, rng)
    if rng.random() < 0.5:
        header, strings = rng.choice(fuzz._MUTATORS)(header, strings, rng)
    _RECORD[0] = True
    try:
        _decodes_or_refuses(container.pack(header, strings), None)
    finally:
        _RECORD[0] = False
    assert not [p for p in _OPENED if p.startswith(("/etc", "/dev", "..", "~", "C:"))]


def _with_spec(data: bytes, change) -> bytes:
    header, strings = container.unpack(data)
    spec = embedded.unpack(header.reference)
    change(spec)
    return container.pack(dataclasses.replace(header, reference=embedded.pack(spec)), strings)


def _cli_refuses(tmp_path, capsys, data: bytes, *extra) -> str:
    (tmp_path / "in.sclc").write_bytes(data)
    start = time.perf_counter()
    assert main(["decompress", str(tmp_path / "in.sclc"), str(tmp_path / "out.png"), *extra]) == 2
    assert time.perf_counter() - start < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and not (tmp_path / "out.png").exists()
    return err


def test_a_huge_embedded_model_is_refused_before_it_is_built(seeds, tmp_path, capsys):
    def huge(spec):
        spec["backbone"].update(N=4096, M=8000)

    err = _cli_refuses(tmp_path, capsys, _with_spec(seeds[0], huge))
    assert "over the limit" in err and "SCLC_MAX_MEMORY_GB" in err


def test_a_small_checkpoint_describing_a_huge_model_is_refused_before_it_is_built(seeds, tmp_path, capsys):
    spec = {"name": "huge", "backbone": {"name": "wacnn", "N": 4096, "M": 8000}}
    torch.save({"format": "sclc-codec", "version": 1, "spec": spec, "state_dict": {}}, tmp_path / "huge.pt")
    err = _cli_refuses(tmp_path, capsys, seeds[0], "--model", str(tmp_path / "huge.pt"))
    assert "huge.pt is refused" in err and "SCLC_MAX_MEMORY_GB" in err


def test_a_60000_pixel_square_is_refused_from_the_header(seeds, tmp_path, capsys):
    header, strings = container.unpack(seeds[0])
    data = container.pack(fuzz.consistent(header, 60000, 60000), strings)
    err = _cli_refuses(tmp_path, capsys, data)
    assert "60000x60000" in err and "SCLC_MAX_PIXELS" in err


def test_decoding_opens_no_path_and_builds_no_detector(seeds, tmp_path, capsys):
    def detector(spec):
        spec["text_prior"] = {"name": "craft", "weights": "/etc/passwd"}
        spec["train"] = {"data": "/dev/zero"}

    _RECORD[0] = True
    try:
        err = _cli_refuses(tmp_path, capsys, _with_spec(seeds[0], detector))
    finally:
        _RECORD[0] = False
    assert "written by model" in err  # the detector is dropped unread; only the fingerprint differs
    assert not [p for p in _OPENED if p.startswith(("/etc", "/dev/zero"))]

    def path_in_backbone(spec):
        spec["backbone"]["weights"] = "/etc/passwd"

    assert "no paths" in _cli_refuses(tmp_path, capsys, _with_spec(seeds[0], path_in_backbone))


def test_the_encoder_embeds_the_decoder_only_spec(loaded, seeds):
    header, _ = container.unpack(seeds[0])
    spec = embedded.unpack(header.reference)
    assert set(spec) <= {*embedded.DECODER_KEYS, "text_prior"} and spec["text_prior"] == {"name": "none"}
    assert decompress(seeds[0]).size == (64, 64)


def test_an_old_file_embedding_the_full_spec_still_decodes(loaded, seeds):
    """Files written before #14 embed the whole spec (loss and train included) and were fingerprinted
    with it: the decoder ignores those tables but fingerprints the spec as embedded."""
    from sclc.checkpoint import model_id

    full = loaded.model.spec.to_dict()
    header, strings = container.unpack(seeds[0])
    old = dataclasses.replace(header, reference=embedded.pack(full), model_id=model_id(loaded.model, full))
    assert decompress(container.pack(old, strings)) == decompress(seeds[0])


def test_pretrained_decoding_builds_no_text_detector():
    from sclc import zoo
    from sclc.resolve import model_from_reference

    name = sorted(zoo.catalogue())[0]
    encoder = load_model(name)
    loaded = model_from_reference(encoder.reference, 64, 64)
    assert encoder.model.spec.text_prior.name != "none" and loaded.model.spec.text_prior.name == "none"
    assert encoder.identity() == loaded.identity()  # the file's fingerprint still matches


class _RunsCode:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').close()",))


def test_a_checkpoint_with_pickled_code_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"format": "sclc-codec", "version": 1, "spec": {}, "state_dict": {}, "x": _RunsCode()},
               tmp_path / "evil.pt")
    with pytest.raises(SclcError, match="refusing checkpoint .*could run code .*exec"):
        load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "x.sclc").write_bytes(b"SCLC")
    assert main(["decompress", "x.sclc", "out.png", "--model", "evil.pt"]) in (2,)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing checkpoint" in err
    assert not (tmp_path / "PWNED").exists()


def test_spec_unpacking_stops_zlib_bombs_and_deep_nesting():
    with pytest.raises(embedded.EmbeddedSpecError, match="over"):
        embedded.unpack(fuzz._bomb())
    with pytest.raises(embedded.EmbeddedSpecError, match="unreadable"):
        embedded.unpack(embedded.PREFIX + zlib.compress(b"[" * 100000 + b"]" * 100000))
    with pytest.raises(embedded.EmbeddedSpecError, match="not a finite number"):
        embedded.decoder_spec({"backbone": {"name": "wacnn", "N": float("nan")}})


def test_streams_are_padded_so_the_rans_decoder_stays_inside(loaded, seeds):
    from sclc.codec import pad_streams

    header, strings = container.unpack(seeds[1])
    padded = pad_streams(strings, 1000)
    assert all(p.startswith(s) and len(p) >= 8 * 1000 for p, s in zip(padded, strings))
    assert pad_streams([b"x" * 100_000], 10) == [b"x" * 100_000]  # long enough already: no copy
    # an honest stream decodes the same with the zeros behind it
    assert np.array_equal(np.asarray(decompress(seeds[1], loaded)),
                          np.asarray(decompress(container.pack(header, [s + bytes(999) for s in strings]),
                                                loaded)))


def _saved(tmp_path, image, name, **options):
    image.save(tmp_path / name, **options)
    return tmp_path / name


def test_untrusted_images_are_checked_before_decoding(tmp_path, monkeypatch):
    from sclc.imageio import open_image, prepare_image

    rgb = Image.new("RGB", (40, 30), (200, 30, 30))
    # a 20000 x 20000 PNG of a few kB: refused from its header, under a lowered limit too
    bomb = _saved(tmp_path, Image.new("1", (20000, 20000)), "bomb.png")
    assert bomb.stat().st_size < 100_000
    with pytest.raises(SclcError, match="20000x20000 .*SCLC_MAX_PIXELS"):
        open_image(bomb)
    monkeypatch.setenv("SCLC_MAX_PIXELS", "1000")
    with pytest.raises(SclcError, match="over the limit of 0.0 Mpx"):
        open_image(_saved(tmp_path, rgb, "small.png"))
    monkeypatch.delenv("SCLC_MAX_PIXELS")
    whole = _saved(tmp_path, rgb, "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SclcError, match="cannot read image"):
        open_image(tmp_path / "cut.png")

    cmyk, notes = open_image(_saved(tmp_path, rgb.convert("CMYK"), "cmyk.jpg", quality=95))
    assert "CMYK input converted to RGB" in prepare_image(cmyk).notes
    deep, _ = open_image(_saved(tmp_path, Image.fromarray(np.full((30, 40), 40000, np.uint16)), "deep.png"))
    assert any("16-bit" in note for note in prepare_image(deep).notes)
    palette = Image.new("P", (40, 30), 0)
    palette.putpalette([200, 30, 30, 0, 0, 0])
    clear, _ = open_image(_saved(tmp_path, palette, "clear.png", transparency=0))
    with pytest.warns(UserWarning, match="composited on white"):
        assert torch.all(prepare_image(clear).tensor == 1.0)  # the one colour is transparent

    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue", "green")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    first, notes = open_image(tmp_path / "anim.gif")
    assert notes == ("animated image (3 frames): only the first frame is coded",)
    assert first.convert("RGB").getpixel((0, 0)) == (255, 0, 0)

    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise for display
    upright, notes = open_image(_saved(tmp_path, rgb, "rotated.jpg", exif=exif))
    assert upright.size == (30, 40) and notes == ("EXIF orientation applied",)


@pytest.mark.parametrize("table", ["epg", "train", "block"])
def test_a_spec_table_that_is_not_a_table_is_refused_in_one_line(table):
    """Found by tools/fuzz_decoder.py: an embedded spec with "epg": 5 raised a TypeError."""
    from sclc.spec import parse_spec

    with pytest.raises(SclcError, match=f"{table}.* must be a table"):
        parse_spec({"backbone": {"name": "wacnn"}, table: 5})
    if table != "train":
        with pytest.raises(embedded.EmbeddedSpecError, match=f"{table} is not a table"):
            embedded.decoder_spec({"backbone": {"name": "wacnn"}, table: 5})


@pytest.mark.parametrize("lie, message", [
    ({"pad_h": 64}, "padding does not match"),  # a 64-pixel image claiming a 128-pixel decode
    ({"y_shape": (8, 8)}, "latent shapes do not match"),
])
def test_padding_and_latent_shapes_are_checked_against_the_backbone(seeds, lie, message):
    from sclc.container import FormatError

    header, strings = container.unpack(seeds[0])
    assert (header.height, header.width, header.pad_h) == (64, 64, 0)
    with pytest.raises(FormatError, match=message):
        decompress(container.pack(dataclasses.replace(header, **lie), strings))
