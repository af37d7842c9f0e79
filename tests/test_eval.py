import json
import math

import numpy as np
import pytest
from PIL import Image

from sclc.cli import main
from sclc.errors import SclcError
from sclc.eval import metrics
from sclc.eval.bdrate import bd_rate, table
from sclc.eval.codecs import CODECS, ClassicCodec, resolve
from sclc.eval.run import POINT_KEYS, SCHEMA, evaluate


def test_psnr_and_masked_psnr_by_hand():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 16  # one sample off by 16 of 48: MSE = 256 / 48
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 * 48 / 256))
    mask = np.zeros((4, 4), np.uint8)
    mask[0, :2] = 1  # two pixels = six samples, one of them off
    assert metrics.psnr(a, b, mask) == pytest.approx(10 * math.log10(255**2 * 6 / 256))
    assert metrics.psnr(a, b, np.zeros((4, 4), np.uint8)) is None
    assert metrics.psnr(a, a) == math.inf
    assert metrics.bits_per_pixel(100, 10, 20) == 4.0


def test_ms_ssim_identity_and_small_images():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (170, 180, 3), dtype=np.uint8)
    assert metrics.ms_ssim(a, a) == pytest.approx(1.0)
    noisy = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    assert metrics.ms_ssim(a, noisy) < 0.99
    assert metrics.ms_ssim(a[:100], a[:100]) is None  # too small for five scales


def test_bd_rate_against_itself_and_ten_percent_less_rate():
    rate = [0.1, 0.2, 0.4, 0.8, 1.6]
    psnr = [26.0, 29.0, 32.0, 35.0, 38.0]
    assert bd_rate((rate, psnr), (rate, psnr)) == pytest.approx(0.0, abs=1e-9)
    assert bd_rate((rate, psnr), ([0.9 * r for r in rate], psnr)) == pytest.approx(-10.0, abs=1e-6)
    assert bd_rate((rate, psnr), (rate[:3], psnr[:3])) is None  # too few points to interpolate
    assert bd_rate((rate, psnr), ([r * 100 for r in rate], [p + 40 for p in psnr])) is None  # no overlap


def _results(points):
    return {"schema": SCHEMA, "points": [
        {"curve": c, "kind": "classic", "setting": i, "mean": {"bpp": r, "psnr": d, "text_psnr": None}, "images": []}
        for c, pts in points.items() for i, (r, d) in enumerate(pts)]}


def test_bdrate_table_and_cli(tmp_path, capsys):
    anchor = [(0.1, 26.0), (0.2, 29.0), (0.4, 32.0), (0.8, 35.0)]
    results = _results({"anchor": anchor, "better": [(0.8 * r, d) for r, d in anchor]})
    rows = table(results, "anchor")
    assert rows["psnr"]["better"] == pytest.approx(-20.0, abs=1e-6)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(results))
    assert main(["bdrate", str(path), "--anchor", "anchor"]) == 0
    assert "-20.0%" in capsys.readouterr().out
    assert main(["bdrate", str(path), "--anchor", "nope"]) == 2
    assert "no curve named 'nope'" in capsys.readouterr().err
    path.write_text("{}")
    assert main(["bdrate", str(path), "--anchor", "anchor"]) == 2


def test_missing_codecs_are_skipped_and_unknown_ones_are_errors(monkeypatch):
    missing = ClassicCodec("ghost", (1,), "q", None, None, lambda: "ghost-tool not installed")
    monkeypatch.setitem(CODECS, "ghost", missing)
    usable, skipped = resolve(["jpeg", "ghost"])
    assert [c.name for c in usable] == ["jpeg"]
    assert skipped == ["skipping ghost: ghost-tool not installed"]
    with pytest.raises(SclcError, match="unknown codec 'bpg'"):
        resolve(["jpeg", "bpg"])
    with pytest.raises(SclcError, match="did you mean 'webp'"):
        resolve(["wepb"])
    usable, skipped = resolve(["jxl", "jpegxl", "JPEG"])  # jxl is jpegxl: one curve, installed or not
    assert [c.name for c in usable] + [m.split()[1].rstrip(":") for m in skipped] in (
        ["jpegxl", "jpeg"], ["jpeg", "jpegxl"])


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc", "avif-screen"])
def test_classic_codecs_round_trip_and_rate_grows_with_setting(name):
    codec = CODECS[name]
    if codec.available():
        pytest.skip(codec.available())
    from sclc.data.synthetic import render

    image = np.asarray(render(4, 128, 96).image)
    sizes = []
    for setting in (codec.settings[0], codec.settings[-1]):
        data = codec.encode(image, setting)
        decoded = codec.decode(data)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        sizes.append(len(data))
    assert sizes[0] < sizes[1]


def test_eval_results_schema_is_stable(tmp_path, capsys):

    from sclc.data.synthetic import render

    for seed in range(2):
        sample = render(seed, 96, 80)
        sample.image.save(tmp_path / f"img{seed}.png")
        rows = "".join(f"{x0}\t{y0}\t{x1 - 1}\t{y1 - 1}\n" for x0, y0, x1, y1 in sample.boxes)
        (tmp_path / f"img{seed}.tsv").write_text("x0\ty0\tx1\ty1\n" + rows)
    out = tmp_path / "results.json"
    assert main(["eval", str(tmp_path), "--codec", "jpeg", "--codec", "nonexistent", "--out", str(out)]) == 2
    assert "unknown codec 'nonexistent'" in capsys.readouterr().err and not out.exists()
    code = main(["eval", str(tmp_path), "--codec", "jpeg", "--out", str(out), "--plot", str(tmp_path / "rd.png"),
                 "--quiet"])
    assert code == 0
    results = json.loads(out.read_text())
    assert set(results) == {"schema", "data_dir", "images", "text_mask_source", "cached_text_priors", "ocr", "crops",
                            "points"}
    assert results["schema"] == "sclc-eval/2" and results["images"] == ["img0.png", "img1.png"]
    assert results["ocr"] is None and set(results["crops"]) == {"img0.png", "img1.png"}  # --crops 3 by default
    assert set(results["text_mask_source"].values()) == {"boxes"}
    point = results["points"][0]
    assert set(point) == {"curve", "kind", "setting", "mean", "images"}
    assert set(point["mean"]) == set(POINT_KEYS)
    assert set(point["images"][0]) == {"image", "bytes", "crop", *POINT_KEYS}
    assert len(results["points"]) == len(CODECS["jpeg"].settings)
    assert (tmp_path / "rd.png").read_bytes()[:4] == b"\x89PNG"
    rates = [p["mean"]["bpp"] for p in results["points"]]
    assert rates == sorted(rates)


def test_eval_of_a_crop_beside_its_uncropped_boxes_is_a_one_line_error(tmp_path, capsys):
    Image.new("RGB", (32, 32), "white").save(tmp_path / "crop.png")
    (tmp_path / "crop.tsv").write_text("x0\ty0\tx1\ty1\n400\t300\t480\t320\n")  # the original's coordinates
    out = tmp_path / "r.json"
    assert main(["eval", str(tmp_path), "--codec", "jpeg", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "lies outside the 32x32 image" in err and len(err.splitlines()) == 1 and not out.exists()


def test_eval_learned_model_uses_real_files(tmp_path):
    from sclc.resolve import load_model
    from sclc.data.synthetic import render

    render(0, 64, 64).image.save(tmp_path / "a.png")
    spec = tmp_path / "m.toml"
    spec.write_text('[backbone]\nname = "wacnn"\nN = 16\nM = 20\nnum_slices = 5\nnum_heads = 4\n')
    results = evaluate(tmp_path, [("tiny", load_model(spec))], [], progress=False)
    [point] = results["points"]
    assert point["kind"] == "learned" and point["curve"] == "tiny"
    row = point["images"][0]
    assert row["bpp"] == pytest.approx(8 * row["bytes"] / (64 * 64))


def test_eval_mask_cache_computes_each_detector_mask_once(tmp_path):
    from sclc.resolve import load_model
    from sclc.data.synthetic import render
    from sclc.registry import default_registry

    data = tmp_path / "data"
    data.mkdir()
    render(3, 64, 64).image.save(data / "a.png")  # no boxes: the metric needs a detector too
    spec = tmp_path / "m.toml"
    spec.write_text('[backbone]\nname = "wacnn"\nN = 16\nM = 20\nnum_slices = 5\nnum_heads = 4\n'
                    'prior_channels = 4\n[text_prior]\nname = "east"\n[block]\nname = "nesft"\nhidden = 8\n')
    model = load_model(spec)
    component = default_registry().get("text_prior", "east")
    params = component.default_params()
    detector = ("east", params, component.factory(params))
    cache = tmp_path / "masks"
    first = evaluate(data, [("m", model)], [], detector=detector, progress=False, mask_cache=cache)
    assert len(list(cache.glob("*.png"))) == 1  # codec prior and metric share the east mask
    assert first["cached_text_priors"] and first["text_mask_source"] == {"a.png": "detector:east"}

    def no_detector(x):
        raise AssertionError("the cached mask should have been used")

    model.model._text_prior = (no_detector,)
    second = evaluate(data, [("m", model)], [], detector=("east", params, no_detector), progress=False,
                      mask_cache=cache)
    assert second["points"][0]["images"][0]["bytes"] == first["points"][0]["images"][0]["bytes"]


def test_the_points_table_has_a_column_per_metric_the_results_hold():
    from sclc.commands.evaluate import format_points

    results = {"points": [{"curve": "jpeg", "setting": 50, "mean": {"bpp": 0.5, "psnr": 30.0, "text_psnr": None}},
                          {"curve": "sci", "setting": "sci q4", "mean": {"bpp": 0.4, "psnr": 31.0, "cer": 0.02,
                                                                          "vmaf": 91.5}}]}
    header, first, second = format_points(results).splitlines()
    # Known metrics get their header and format; an unknown one its own name.
    assert header.split() == ["curve", "setting", "bpp", "PSNR", "text", "PSNR", "CER", "vmaf"]
    assert first.split() == ["jpeg", "50", "0.5000", "30.00", "-", "-", "-"]
    assert second.split() == ["sci", "sci", "q4", "0.4000", "31.00", "-", "0.020", "91.5"]


def test_avif_screen_maps_quality_onto_the_quantizer_every_avifenc_takes():
    from sclc.eval.codecs import _avif_quantizer

    assert [_avif_quantizer(q) for q in (0, 50, 100)] == ["63", "32", "0"]


def test_eval_finds_boxes_in_a_box_dir_and_refuses_a_missing_one(tmp_path, capsys):
    from sclc.data.synthetic import render

    images, boxes = tmp_path / "images", tmp_path / "boxes"
    images.mkdir(), boxes.mkdir()
    sample = render(1, 96, 80)
    sample.image.save(images / "page.png")
    rows = "".join(f"{x0}\t{y0}\t{x1 - 1}\t{y1 - 1}\n" for x0, y0, x1, y1 in sample.boxes)
    (boxes / "page.tsv").write_text("x0\ty0\tx1\ty1\n" + rows)
    out = tmp_path / "r.json"
    assert main(["eval", str(images), "--codec", "jpeg", "--box-dir", str(boxes), "--out", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["text_mask_source"] == {"page.png": "boxes"}
    out.unlink()
    assert main(["eval", str(images), "--codec", "jpeg", "--box-dir", str(tmp_path / "nowhere"), "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nowhere: no such folder" in err and len(err.splitlines()) == 1 and not out.exists()
