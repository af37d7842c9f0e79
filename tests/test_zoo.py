import hashlib
import json

import numpy as np
from PIL import Image
import pytest
import torch

from sclc import zoo
from sclc.checkpoint import save_checkpoint
from sclc.resolve import load_model
from sclc.cli import main
from sclc.eval.run import models_to_evaluate
from sclc.codec import compress, decompress
from sclc.errors import SclcError

from conftest import TINY_SPEC, write
from test_codec import screenshot

VR = "[variable_rate]\nlmbda_min = 0.0001\nlmbda_max = 0.08\n"


@pytest.fixture
def fake_zoo(tmp_path, monkeypatch):
    """A zoo of one random-weight variable-rate model and one fixed-rate model, in a temporary folder."""
    rows = []
    for name, extra in (("toy", VR), ("fixed", "")):
        spec = write(tmp_path, TINY_SPEC.format(name=name, seed=1) + extra, f"{name}.toml")
        model = load_model(spec).model
        torch.manual_seed(0)
        for key, param in model.named_parameters():  # SEM blocks start as the identity: let them see q
            if ".fem.gamma." in key or ".fem.beta." in key:
                torch.nn.init.normal_(param, std=3.0)
        save_checkpoint(model, tmp_path / f"{name}.pt", half=True)
        digest = hashlib.sha256((tmp_path / f"{name}.pt").read_bytes()).hexdigest()
        rows.append(f'[[model]]\nname = "{name}"\nfile = "{name}.pt"\nsha256 = "{digest}"\nqualities = [1, 8]\n'
                    f'measured = [{{ quality = 1, bpp = 0.1, psnr = 20.0 }}, {{ quality = 8, bpp = 1.0, psnr = 30.0 }}]\n')
    (tmp_path / "models.toml").write_text("\n".join(rows))
    monkeypatch.setattr(zoo, "DIRECTORY", tmp_path)
    return tmp_path


def test_a_pretrained_name_loads_and_its_files_decode_without_model(fake_zoo):
    loaded = load_model("toy", quality=2.5)
    assert loaded.description == "pretrained toy" and loaded.setting == "toy q2.5"
    image = screenshot(64, 48)
    data = compress(image, loaded)
    alone = decompress(data)  # the file names the pretrained model
    assert np.array_equal(np.asarray(alone), np.asarray(decompress(data, loaded)))
    other = load_model("fixed")
    with pytest.raises(SclcError, match="written by model"):
        decompress(data, other)


def test_every_quality_is_one_model_and_the_file_does_not_say_which(fake_zoo):
    image = screenshot(64, 48)
    low, high = (compress(image, load_model("toy", quality=q)) for q in (1, 8))
    assert low != high
    assert np.asarray(decompress(low)).shape == np.asarray(decompress(high)).shape


def test_damaged_or_missing_files_and_bad_names_are_clear_errors(fake_zoo):
    with pytest.raises(SclcError, match="unknown pretrained model 'nope' — pretrained models: fixed, toy"):
        zoo.resolve("nope")
    with pytest.raises(SclcError, match="retired: use 'sci'"):
        load_model("sci-tiny")
    with pytest.raises(SclcError, match="retired fixed-rate model 'sci-tiny' quality 3"):
        zoo.from_reference(b"zoo:sci-tiny/3")
    with pytest.raises(SclcError, match="quality 9 is outside this model's range 1 .. 8"):
        load_model("toy", quality=9)
    with pytest.raises(SclcError, match="fixed-rate model: --quality"):
        load_model("fixed", quality=2)
    blob = bytearray((fake_zoo / "toy.pt").read_bytes())
    blob[len(blob) // 2] ^= 1
    (fake_zoo / "toy.pt").write_bytes(bytes(blob))
    with pytest.raises(SclcError, match="toy.pt is damaged .*reinstall sclc"):
        load_model("toy")
    (fake_zoo / "fixed.pt").unlink()
    with pytest.raises(SclcError, match="fixed.pt is missing"):
        load_model("fixed")


def test_eval_takes_a_variable_rate_model_as_one_curve_of_qualities(fake_zoo):
    models = models_to_evaluate(["toy", "f=fixed"], qualities=(1, 4.5, 8))
    assert [label for label, _ in models] == ["toy", "toy", "toy", "f"]
    assert [m.setting for _, m in models] == ["toy q1", "toy q4.5", "toy q8", "fixed"]
    assert len({id(m.model) for _, m in models[:3]}) == 1  # one model in memory for all its qualities


def test_models_command_lists_the_catalogue(fake_zoo, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.count("toy") == 1 and "1..8" in out and "30.00" in out


def test_shipped_models_are_listed_verified_and_spend_more_at_higher_quality():
    shipped = zoo.catalogue()
    assert set(shipped) == {"sci", "wacnn"}
    image = screenshot(160, 96)
    for name, entry in shipped.items():
        assert entry.qualities == (1, 8)
        loaded = load_model(name)  # checks the sha256
        assert loaded.model.rate is not None
        sizes = [len(compress(image, loaded.at_quality(q))) for q in (1, 4, 8)]
        assert sizes == sorted(sizes) and sizes[0] < sizes[-1], f"{name}: file size must grow with quality: {sizes}"


def test_demo_compares_at_equal_or_smaller_size_and_writes_its_files(fake_zoo, tmp_path):
    from sclc.demo import format_rows, largest_setting_within, run_demo
    from sclc.eval.codecs import CODECS

    rows = run_demo("toy", 2, tmp_path / "demo", 128, 96, seed=1)
    assert [r.codec for r in rows] == ["pretrained toy", "jpeg", "webp"]
    assert rows[0].setting == "quality 2"
    learned = rows[0]
    assert learned.size == (tmp_path / "demo" / "screenshot.sclc").stat().st_size
    for row in rows[1:]:
        assert row.size <= learned.size or row.setting == "quality 1"
    assert {p.name for p in (tmp_path / "demo").iterdir()} == {
        "original.png", "screenshot.sclc", "sclc.png", "jpeg.jpg", "webp.webp", "results.json", "report.html"}
    results = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert [p["curve"] for p in results["points"]] == [r.codec for r in rows]
    assert [p["images"][0]["bytes"] for p in results["points"]] == [r.size for r in rows]
    assert (tmp_path / "demo" / "report.html").read_text().count('<img class="crop"') == 1 + len(rows)
    assert "text PSNR" in format_rows(rows)
    rgb = np.asarray(screenshot(96, 64))
    quality, data = largest_setting_within(CODECS["jpeg"], rgb, 2000)
    assert len(data) <= 2000 < len(CODECS["jpeg"].encode(rgb, quality + 1))


def test_demo_refines_when_asked_and_its_file_still_decodes_alone(fake_zoo, tmp_path):
    from sclc.demo import run_demo

    plain = run_demo("toy", 2, tmp_path / "plain", 128, 96, seed=1, ocr=None)[0]
    refined = run_demo("toy", 2, tmp_path / "refined", 128, 96, seed=1, ocr=None, refine_steps=3)[0]
    assert refined.setting == "quality 2, refine 3"
    assert (tmp_path / "refined" / "screenshot.sclc").read_bytes() != (tmp_path / "plain" / "screenshot.sclc").read_bytes()
    from sclc.codec import decompress

    decoded = np.asarray(decompress((tmp_path / "refined" / "screenshot.sclc").read_bytes()).convert("RGB"))
    assert np.array_equal(decoded, np.asarray(Image.open(tmp_path / "refined" / "sclc.png").convert("RGB")))


# Known state, not the goal: noisy z kept z alive for ~1500 iterations, then the rate term closed it
# (val z share 9 % -> 0.2 %; the training log warned). strict: this fails loudly once it is fixed.
COLLAPSED = pytest.mark.xfail(strict=True, reason="the shipped models' hyperprior collapsed in training "
                              "(z under 1 % of the rate); issue 'Codecs that really compress'")


@pytest.mark.parametrize("name", [pytest.param("sci", marks=COLLAPSED), pytest.param("wacnn", marks=COLLAPSED)])
def test_shipped_models_hyperprior_is_alive(name):
    """z carries >= 1 % of the rate and the decoder prior recovered from z_hat differs between
    images: the paper's decoder-side mechanism is not a constant."""
    from sclc.data.synthetic import render
    from sclc.imageio import prepare_image

    model = load_model(name).model
    backbone, priors, shares = model.backbone, [], []
    for seed in (1, 2):
        x = prepare_image(render(seed, 256, 256).image).tensor
        q, mask = torch.full_like(x[:, :1], 0.5), torch.zeros_like(x[:, :1])
        with torch.no_grad():
            likelihoods = model(x, mask, q)["likelihoods"]
            bits = {k: float(-torch.log2(v).sum()) for k, v in likelihoods.items()}
            prior = model.prior_map(x, mask, q)
            _, z = backbone.latents(x, prior, q.flatten(1).mean(1))
            medians = backbone.entropy_bottleneck._get_medians().reshape(1, -1, 1, 1)
            priors.append(backbone.prior_recover(torch.round(z - medians) + medians))
        shares.append(bits["z"] / sum(bits.values()))
    assert min(shares) >= 0.01, shares
    assert (priors[0] - priors[1]).abs().max() > 0.01
