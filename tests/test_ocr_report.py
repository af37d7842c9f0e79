"""OCR text fidelity (sclc.ocr, eval --ocr), CER in bdrate, and the HTML report (sclc report),
which a real headless Chromium loads.

Tesseract and Chromium are Debian packages (tesseract-ocr, chromium). Where CI is set, .ci/run has
installed them and the tests that need them fail without them; elsewhere they skip, saying why.
"""

import html
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sclc.cli import main
from sclc.errors import SclcError
from sclc.ocr import Word, word_cer

LINES = ("The quick brown fox jumps over", "the lazy dog near 42 screens")


def require(what: str, reason: str | None):
    """Skip with ``reason`` where ``what`` is missing, unless under CI, which must have it."""
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI (.ci/run installs it): {reason}")
    pytest.skip(f"{what} not installed here: {reason}")


@pytest.fixture(scope="module")
def tesseract():
    from sclc.ocr import available, engine

    require("tesseract", available("tesseract"))
    return engine("tesseract")


def chromium() -> str:
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    require("chromium", None if binary else "no chromium, chromium-browser or google-chrome on PATH")
    return binary


def words_image(folder, name="words"):
    """Black DejaVu text on white with its words in ``<name>.tsv``: what OCR must read perfectly."""
    from sclc.data.synthetic import font

    image = Image.new("RGB", (400, 110), "white")
    draw, fnt, rows = ImageDraw.Draw(image), font(0, 20), ["x0\ty0\tx1\ty1\tword"]
    for number, line in enumerate(LINES):
        x, y = 10, 15 + 45 * number
        for word in line.split():
            box = draw.textbbox((x, y), word, font=fnt)
            draw.text((x, y), word, font=fnt, fill="black")
            rows.append("\t".join(map(str, box)) + "\t" + word)
            x = box[2] + 8
    image.save(folder / f"{name}.png")
    (folder / f"{name}.tsv").write_text("\n".join(rows) + "\n")
    return np.asarray(image)


# --- the metric, without an engine ---------------------------------------------------------------

def test_word_cer_ignores_reading_order_and_counts_missed_words():
    truth = [((0, 0, 50, 20), "hello"), ((60, 0, 110, 20), "world")]
    read = [Word((62, 2, 100, 18), "world", 0), Word((2, 2, 40, 18), "hel", 1), Word((41, 2, 48, 18), "lo", 1)]
    assert word_cer(truth, read) == 0
    assert word_cer(truth, read[:1]) == 0.5  # "hello" missed: 5 of 10 characters
    assert word_cer(truth, [*read, Word((200, 0, 240, 20), "noise", 2)]) == 0  # outside every box
    assert word_cer([((0, 0, 50, 20), "hello")], [Word((2, 2, 40, 18), "hallo!", 0)]) == 0.4  # 2 edits / 5
    assert word_cer([((0, 0, 9, 9), "")], read) is None


def test_box_files_keep_their_words(tmp_path):
    from sclc.data.boxes import read_words

    (tmp_path / "gt_a.txt").write_text('1, 2, 30, 40, "GET"\n5, 6, 70, 80, "1,000"\n')
    (tmp_path / "b.tsv").write_text("x0\ty0\tx1\ty1\tlabel\ttoken\n1\t2\t3\t4\tparagraph\tNLDSA\n")
    (tmp_path / "c.tsv").write_text("x0 y0 x1 y1\n1 2 3 4\n")
    assert read_words(tmp_path / "gt_a.txt") == [((1, 2, 30, 40), "GET"), ((5, 6, 70, 80), "1,000")]
    assert read_words(tmp_path / "b.tsv") == [((1, 2, 3, 4), "NLDSA")]
    assert read_words(tmp_path / "c.tsv") is None


def test_readable_bpp_is_where_cer_stays_under_the_threshold():
    from sclc.eval.bdrate import readable_bpp

    assert readable_bpp(([0.1, 0.2, 0.4], [0.5, 0.1, 0.0]), 0.3) == pytest.approx(0.15)
    assert readable_bpp(([0.1, 0.2, 0.4], [0.5, 0.0, 0.2]), 0.1) is None  # the top point is unreadable
    assert readable_bpp(([0.1, 0.2, 0.4], [0.0, 0.2, 0.0]), 0.1) == pytest.approx(0.3)  # from the last crossing
    assert readable_bpp(([0.1, 0.2], [0.0, 0.0]), 0.1) == 0.1


def fake_results(curves: dict[str, tuple[list[float], list[float]]]) -> dict:
    from sclc.eval.run import SCHEMA

    points = [{"curve": name, "kind": "classic", "setting": i, "images": [],
               "mean": {"bpp": bpp, "psnr": 30 + 10 * bpp, "cer": error}}
              for name, (rates, errors) in curves.items() for i, (bpp, error) in enumerate(zip(rates, errors))]
    return {"schema": SCHEMA, "data_dir": "d", "images": [], "points": points}


def test_bdrate_on_cer_is_negative_for_the_codec_that_reads_better_per_bit():
    from sclc.eval.bdrate import table

    rates = [0.2, 0.4, 0.6, 0.8, 1.0]
    results = fake_results({"a": (rates, [0.5, 0.3, 0.2, 0.1, 0.05]),
                            "b": ([r * 0.8 for r in rates], [0.5, 0.3, 0.2, 0.1, 0.05])})
    assert table(results, "a")["cer"]["b"] == pytest.approx(-20, abs=0.5)


# --- with Tesseract ------------------------------------------------------------------------------

def test_tesseract_reads_clean_text_and_loses_it_on_a_blank_image(tesseract, tmp_path):
    from sclc.data.boxes import read_words
    from sclc.eval.run import TextReading

    rgb = words_image(tmp_path)
    reading = TextReading(tesseract, rgb, read_words(tmp_path / "words.tsv"))
    assert reading.floor == 0 and " ".join(reading.text.split()) == " ".join(LINES)
    assert reading.score(rgb) == {"cer": 0, "cer_gt": 0}
    assert reading.score(np.full_like(rgb, 255)) == {"cer": 1, "cer_gt": 1}


def test_eval_ocr_writes_cer_per_image_and_setting(tesseract, tmp_path, capsys):
    words_image(tmp_path)
    out = tmp_path / "r.json"
    assert main(["eval", str(tmp_path), "--codec", "jpeg", "--ocr", "tesseract", "--out", str(out), "--quiet"]) == 0
    results = json.loads(out.read_text())
    assert results["schema"] == "sclc-eval/2"
    assert results["ocr"]["engine"] == "tesseract" and results["ocr"]["originals"]["words.png"]["cer_gt"] == 0
    top = results["points"][-1]  # JPEG quality 90
    assert top["images"][0]["cer"] == 0 and top["mean"]["cer_gt"] == 0
    assert all(0 <= p["mean"]["cer"] <= 1 for p in results["points"])
    assert "CER gt of the originals (the metric's floor) 0.000 over 1 images" in capsys.readouterr().out
    assert main(["bdrate", str(out), "--anchor", "jpeg"]) == 0
    assert re.search(r"^jpeg +0\.\d{4}$", capsys.readouterr().out, re.M)  # bits to keep text readable


def test_an_engine_that_is_not_installed_is_an_error_not_a_skip(tmp_path, capsys, monkeypatch):
    import sys

    words_image(tmp_path)
    monkeypatch.setitem(sys.modules, "pytesseract", None)  # import fails as if not installed
    out = tmp_path / "r.json"
    assert main(["eval", str(tmp_path), "--codec", "jpeg", "--ocr", "tesseract", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "OCR engine 'tesseract' is unavailable" in err and err.count("\n") == 1 and not out.exists()


# --- the HTML report -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    """Eval results of JPEG and WebP on two generated screenshots, crops kept for the first one."""
    from sclc.data.synthetic import render

    folder = tmp_path_factory.mktemp("report")
    for seed in range(2):
        render(seed, 256, 160).image.save(folder / f"img{seed}.png")
    out = folder / "r.json"
    assert main(["eval", str(folder), "--codec", "jpeg", "--codec", "webp", "--crops", "1", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_report_is_one_self_contained_page(results_file, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(results_file), "--out", str(out)]) == 0
    page = out.read_text()
    sources = re.findall(r'<img[^>]* src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)
    crops = re.findall(r'<img class="crop"', page)
    assert len(crops) == 1 + 3 * 2  # the original, then jpeg and webp at three matched rates
    assert "BD-rate against jpeg" in page and "img0.png" in page and "img1.png (x0" not in page


def test_report_escapes_names_and_refuses_bad_input(results_file, tmp_path):
    from sclc import html_report

    results = json.loads(results_file.read_text())
    for point in results["points"]:
        point["curve"] = point["curve"].replace("webp", "<script>alert(1)</script>")
    page = html_report.render(results)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    results["crops"]["img0.png"]["original"] = '" onerror="alert(1)'
    with pytest.raises(SclcError, match="not base64 PNG"):
        html_report.render(results)
    with pytest.raises(SclcError, match="malformed results"):
        html_report.render({"schema": "sclc-eval/2", "points": [{"curve": "a"}]})


def test_report_renders_in_headless_chromium(results_file, tmp_path):
    """Chromium loads the page: every image decodes, no error reaches the console, the screenshot
    is not blank. A probe (errors recorded from the first script on, images checked after load)
    goes into a copy of the page; the page itself is untouched."""
    binary = chromium()
    out = tmp_path / "report.html"
    assert main(["report", str(results_file), "--out", str(out)]) == 0
    probe = ("<script>window.__errors = []; window.addEventListener('error', e => __errors.push(String(e.message)));"
             "const __e = console.error; console.error = (...a) => { __errors.push(a.join(' ')); __e(...a); };"
             "window.addEventListener('load', () => { const imgs = [...document.images];"
             "const out = document.createElement('pre'); out.id = 'probe-result';"
             "out.textContent = JSON.stringify({images: imgs.length, errors: __errors,"
             "broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).length}); document.body.append(out); });"
             "</script>")
    probed = tmp_path / "probed.html"
    probed.write_text(out.read_text().replace("<head>", "<head>" + probe, 1))
    base = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run([*base, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', dom.stdout)
    assert found, dom.stderr[-2000:]
    report = json.loads(html.unescape(found.group(1)))
    assert report["images"] == out.read_text().count("<img ") >= 8, report  # a plot, an original, 6 crops
    assert report["broken"] == 0 and report["errors"] == [], report
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,1600", out.as_uri()], capture_output=True,
                   timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (1600, 1200) and pixels.std() > 20 and (pixels < 128).mean() > 0.005
    assert "CONSOLE" not in subprocess.run([*base, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                                           timeout=120).stderr


def test_tesseract_reads_without_capping_later_child_processes(tesseract, tmp_path, monkeypatch):
    """OMP_THREAD_LIMIT=1 is for the tesseract process only: left in os.environ it capped libgomp
    in every later subprocess and hung a training run's oneDNN backward pass."""
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    words = tesseract.read(words_image(tmp_path))
    assert words, "Tesseract read nothing from black text on white"
    assert "OMP_THREAD_LIMIT" not in os.environ
