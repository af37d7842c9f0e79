"""The variable-rate ablation grid (examples/ablation): every variant starts from the shipped
`wacnn`, and the report's BD-rate cells say what they measured."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "ablation"))

import grid  # noqa: E402
import report  # noqa: E402


def test_every_run_has_a_seed_and_the_tables_have_their_noise_runs():
    runs = grid.runs()
    assert len(runs) == len(set(runs))
    assert {f"{v}_s0" for v in grid.VARIANTS} <= set(runs)
    assert {"full_s1", "wacnn_s1"} <= set(runs)
    for _, _, anchor, test, _ in report.PAPER:  # every table compares runs the grid makes
        for name in (anchor, test):
            assert name in runs or name.removeprefix("full_") in grid.DETECTORS
    two = grid.runs(2)  # --seeds 2: the two seeds each, a third less training
    assert {"full_s1", "wacnn_s1"} <= set(two) and not any(name.endswith("_s2") for name in two)
    assert set(two) < set(runs)


@pytest.mark.parametrize("variant", list(grid.VARIANTS))
def test_every_variant_starts_from_the_shipped_wacnn(variant):
    from sclc.builder import build_model
    from sclc.registry import default_registry
    from sclc.spec import load_spec
    from sclc.train.init import init_weights, load_state_for_init

    spec = load_spec(grid.SPEC, grid.VARIANTS[variant])
    model = build_model(spec, default_registry())
    fresh = init_weights(model, load_state_for_init(grid.START, spec), str(grid.START), spec.train.init_fresh_blocks)
    if spec.train.init_fresh_blocks:
        assert fresh and all(k.startswith("backbone.cond_") for k in fresh)
    else:
        assert fresh == []  # the same architecture as the shipped wacnn: nothing starts fresh
    if variant in ("wacnn", "no_text"):
        assert spec.train.masks == "none" and spec.text_prior.name == "none"


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_a_training_run_gets_the_schedule_it_was_asked_for(tmp_path, monkeypatch, schedule):
    from sclc.spec import load_spec

    commands = []
    monkeypatch.setattr(grid, "run", lambda cmd, log: commands.append(cmd))
    grid.train(tmp_path, "full_s1", 40, schedule)
    cmd = commands[0]
    sets = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--set"]
    spec = load_spec(grid.SPEC, sets)
    assert (spec.train.lr_schedule, spec.train.max_iters, spec.seed) == (schedule, 40, 1)
    assert spec.train.min_lr == 1e-6


def _results(curves: dict[str, list[tuple[float, float]]]) -> dict:
    return {"points": [{"curve": name, "setting": f"{name} q{i + 1}",
                        "mean": {"bpp": r, "psnr": d, "text_psnr": d - 1, "ms_ssim": 0.9 + d / 1000}}
                       for name, points in curves.items() for i, (r, d) in enumerate(points)]}


def test_report_cells_measure_the_rate_difference_and_say_when_they_cannot():
    anchor = [(0.2, 26.0), (0.3, 27.0), (0.45, 28.0), (0.7, 29.0), (1.0, 30.0)]
    results = _results({"wacnn_s0": anchor, "full_s0": [(0.8 * r, d) for r, d in anchor],
                        "far": [(r, d + 20) for r, d in anchor]})
    assert report.cell(results, "wacnn_s0", "full_s0", "psnr") == "-20.0 %"
    assert report.cell(results, "full_s0", "wacnn_s0", "psnr") == "+25.0 %"
    assert report.cell(results, "wacnn_s0", "mse_s0", "psnr") == "not run"
    assert report.cell(results, "wacnn_s0", "far", "psnr") == "far better at every rate"
    apart = _results({"a": anchor, "pricey": [(r + 5, d + 20) for r, d in anchor]})
    assert report.cell(apart, "a", "pricey", "psnr") == "no overlap"
    half = _results({"a": anchor, "b": [(r, d + 2) for r, d in anchor]})
    bumpy = _results({"a": anchor, "b": [*[(0.8 * r, d) for r, d in anchor], (1.2, 29.5)]})
    assert report.cell(bumpy, "a", "b", "psnr") == "-20.0 % †"  # the dominated point is left out
    # the overlap is printed: 2 dB shared of the 6 dB the two curves cover together
    assert report.cell(half, "a", "b", "psnr").endswith("(33 %)")


def test_the_span_table_flags_a_curve_that_stops_rising():
    results = _results({"full_s0": [(0.1, 26.0), (0.2, 27.0), (0.4, 26.9), (0.8, 28.0)],
                        "wacnn_s0": [(0.1, 26.0), (0.2, 27.0), (0.4, 28.0), (0.8, 29.0)]})
    rows = {line.split(" | ")[0].strip("| "): line for line in report.span_table(results)[2:]}
    assert "8.0x" in rows["full_s0"] and rows["full_s0"].endswith("no |")
    assert rows["wacnn_s0"].endswith("yes |")


def test_the_tables_compare_every_seed_pair_and_count_their_crops():
    anchor = [(0.2, 26.0), (0.3, 27.0), (0.45, 28.0), (0.7, 29.0)]
    results = _results({f"{model}_s{seed}": [((1 + seed / 10) * r, d) for r, d in anchor]
                        for model in ("wacnn", "full") for seed in (0, 1, 2)})
    results["images"] = [f"crop{i}.png" for i in range(66)]
    text = report.tables(results, {"points": []})
    assert "means over the 66 crops" in text
    row = next(line for line in text.splitlines() if line.startswith("| full, seed 2 vs seed 1 |"))
    assert row.split(" | ")[2].startswith("+9.1 %")  # 1.2 / 1.1 times the rate at every quality
    assert "full_s2 (anchor seed 2)" in text


def test_the_paper_tables_say_which_differences_exceed_the_seed_spread():
    anchor = [(0.2, 26.0), (0.3, 27.0), (0.45, 28.0), (0.7, 29.0)]
    scaled = {"wacnn_s0": 1.0, "wacnn_s1": 1.05, "full_s0": 0.8, "full_s1": 0.98, "no_text_s0": 0.82}
    results = _results({name: [(k * r, d) for r, d in anchor] for name, k in scaled.items()})
    spread = report.seed_spread(results, "psnr")
    assert spread == pytest.approx(22.5, abs=0.1)  # full: 0.98 / 0.8 of the rate
    def values(anchor, test):
        return {m: report.measure(results, anchor, test, m)[0] for m, _ in report.METRICS}

    assert report.beyond_noise(values("wacnn_s0", "full_s0"), {m: 10.0 for m, _ in report.METRICS}) \
        == "PSNR better, text PSNR better, MS-SSIM better"  # -20 % beyond a 10 % spread
    spreads = {m: report.seed_spread(results, m) for m, _ in report.METRICS}
    assert report.beyond_noise(values("no_text_s0", "full_s0"), spreads) == "within the noise"
    text = report.tables(results, {"points": []})
    assert "Seed spread (largest seed-to-seed BD-rate, PSNR / text PSNR / MS-SSIM): 22.5 / 22.5 / 22.5 %" in text
    row = next(line for line in text.splitlines() if line.startswith("| Table 4 |"))
    assert row.endswith("| within the noise |")
    assert report.seed_spread(_results({"wacnn_s0": anchor}), "psnr") is None


def test_bd_fine_by_kind_averages_only_that_kinds_images():
    sys.path.insert(0, str(ROOT / "examples" / "zoo"))
    import bd_fine

    def image(name, bpp, psnr):
        return {"image": name, "bpp": bpp, "psnr": psnr}

    results = {"points": [{"curve": "sci", "setting": "sci q1", "mean": {"bpp": 0.0, "psnr": 0.0},
                           "images": [image("shot_a.png", 0.2, 20.0), image("shot_b.png", 0.4, 22.0),
                                      image("slide_c.png", 0.1, 30.0)]}]}
    assert bd_fine.kinds(results) == ["shot", "slide"]
    shots = bd_fine.of_kind(results, "shot")["points"][0]["mean"]
    assert shots["bpp"] == pytest.approx(0.3) and shots["psnr"] == pytest.approx(21.0)
    assert bd_fine.of_kind(results, "slide")["points"][0]["mean"] == {"bpp": 0.1, "psnr": 30.0}
