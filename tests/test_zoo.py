import hashlib

import numpy as np
import pytest

from sclc import zoo
from sclc.checkpoint import load_model, save_checkpoint
from sclc.cli import _model_args, main
from sclc.codec import compress, decompress
from sclc.errors import SclcError

from conftest import TINY_SPEC, write
from test_codec import screenshot


@pytest.fixture
def fake_zoo(tmp_path, monkeypatch):
    """A zoo of two qualities of one random-weight model, in a temporary folder."""
    rows = []
    for quality in (1, 2):
        spec = write(tmp_path, TINY_SPEC.format(name=f"toy-q{quality}", seed=quality), f"q{quality}.toml")
        save_checkpoint(load_model(spec).model, tmp_path / f"toy-q{quality}.pt", half=True)
        digest = hashlib.sha256((tmp_path / f"toy-q{quality}.pt").read_bytes()).hexdigest()
        rows.append(f'[[model]]\nname = "toy"\nquality = {quality}\nlmbda = 0.01\nfile = "toy-q{quality}.pt"\n'
                    f'sha256 = "{digest}"\n')
    (tmp_path / "models.toml").write_text("\n".join(rows))
    monkeypatch.setattr(zoo, "DIRECTORY", tmp_path)
    return tmp_path


def test_a_pretrained_name_loads_and_its_files_decode_without_model(fake_zoo):
    loaded = load_model("toy", quality=2)
    assert loaded.description == "pretrained toy quality 2"
    image = screenshot(64, 48)
    data = compress(image, loaded)
    alone = decompress(data)  # the file names the pretrained model
    assert np.array_equal(np.asarray(alone), np.asarray(decompress(data, loaded)))
    other = load_model("toy", quality=1)
    with pytest.raises(SclcError, match="written by model"):
        decompress(data, other)


def test_damaged_or_missing_files_and_bad_names_are_clear_errors(fake_zoo):
    with pytest.raises(SclcError, match="unknown pretrained model 'nope' — pretrained models: toy"):
        zoo.resolve("nope")
    with pytest.raises(SclcError, match="toy has no quality 7 — qualities: 1, 2"):
        load_model("toy", quality=7)
    with pytest.raises(SclcError, match="--quality applies to pretrained model names"):
        load_model(str(fake_zoo / "toy-q1.pt"), quality=1)
    blob = bytearray((fake_zoo / "toy-q1.pt").read_bytes())
    blob[len(blob) // 2] ^= 1
    (fake_zoo / "toy-q1.pt").write_bytes(bytes(blob))
    with pytest.raises(SclcError, match="toy-q1.pt is damaged .*reinstall sclc"):
        load_model("toy", quality=1)
    (fake_zoo / "toy-q2.pt").unlink()
    with pytest.raises(SclcError, match="toy-q2.pt is missing"):
        load_model("toy", quality=2)


def test_eval_takes_a_pretrained_name_as_one_curve_of_all_qualities(fake_zoo):
    models = _model_args(["toy"])
    assert [label for label, _ in models] == ["toy", "toy"]
    assert [m.description for _, m in models] == ["pretrained toy quality 1", "pretrained toy quality 2"]


def test_models_command_lists_the_catalogue(fake_zoo, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.count("toy") == 2


def test_shipped_models_are_listed_verified_and_ordered_by_quality():
    shipped = zoo.catalogue()
    assert set(shipped) == {"sci-tiny", "wacnn-tiny"}
    image = screenshot(160, 96)
    for name, qualities in shipped.items():
        assert sorted(qualities) == [1, 2, 3, 4]
        sizes = []
        for quality in sorted(qualities):
            loaded = load_model(name, quality=quality)  # checks the sha256
            assert loaded.model.spec.backbone.params.N == 32
            sizes.append(len(compress(image, loaded)))
        assert sizes == sorted(sizes), f"{name}: file size must grow with quality: {sizes}"


def test_demo_compares_at_equal_or_smaller_size_and_writes_its_files(fake_zoo, tmp_path):
    from sclc.demo import format_rows, largest_setting_within, run_demo
    from sclc.eval.codecs import CODECS

    rows = run_demo("toy", 2, tmp_path / "demo", 128, 96, seed=1)
    assert [r.codec for r in rows] == ["pretrained toy quality 2", "jpeg", "webp"]
    learned = rows[0]
    assert learned.size == (tmp_path / "demo" / "screenshot.sclc").stat().st_size
    for row in rows[1:]:
        assert row.size <= learned.size or row.setting == "quality 1"
    assert {p.name for p in (tmp_path / "demo").iterdir()} == {
        "original.png", "screenshot.sclc", "sclc.png", "jpeg.jpg", "webp.webp"}
    assert "text PSNR" in format_rows(rows)
    rgb = np.asarray(screenshot(96, 64))
    quality, data = largest_setting_within(CODECS["jpeg"], rgb, 2000)
    assert len(data) <= 2000 < len(CODECS["jpeg"].encode(rgb, quality + 1))
