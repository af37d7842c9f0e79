import json

import numpy as np

import pytest

from sclc.cli import main

from conftest import SPECS, write


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_spec_builds(spec, capsys):
    assert main(["build", str(spec), "--size", "64", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parameters"]["total"] > 0
    assert report["forward"]["estimated_bpp"] > 0
    assert report["components"]["backbone"] in {"wacnn", "cheng2020-anchor", "hyperprior"}


def test_build_text_report_lists_parts(capsys):
    assert main(["build", str(SPECS / "tiny.toml"), "--size", "64"]) == 0
    out = capsys.readouterr().out
    for part in ("g_a", "g_s", "h_a", "h_s", "entropy", "prior branch", "estimated"):
        assert part in out
    assert "nesft at g_a, h_a, g_s" in out


def test_build_spec_error_exits_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path, '[backbone]\nname = "wacn"\n')
    assert main(["build", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "unknown backbone 'wacn'" in err and "did you mean 'wacnn'" in err


def test_build_with_overrides(capsys):
    assert main(["build", str(SPECS / "tiny.toml"), "--size", "64", "--json",
                 "--set", "block.name=sft_cb", "--set", "backbone.N=24"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["components"]["block"] == "sft_cb"
    assert report["spec_data"]["backbone"]["N"] == 24


def test_list_json_and_kind_filter(capsys):
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    names = {(c["kind"], c["name"]) for c in listing["components"]}
    assert {("structural_prior", "laplacian"), ("text_prior", "craft"), ("block", "nesft"), ("backbone", "wacnn"),
            ("loss", "wmse")} <= names
    assert main(["list", "--kind", "block"]) == 0
    assert {line.split()[1] for line in capsys.readouterr().out.splitlines()} == {"nesft", "sft_cb", "none"}
    assert main(["list", "--kind", "blocks"]) == 2


def test_list_reports_broken_plugin(monkeypatch, capsys):
    from importlib.metadata import EntryPoint

    import sclc.registry as registry_module

    real = registry_module.entry_points
    ghost = EntryPoint(name="ghost", value="sclc_missing_module", group="sclc")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [*real(group=group), ghost])
    registry_module.default_registry.cache_clear()
    try:
        assert main(["list"]) == 0
        out = capsys.readouterr().out
        assert "BROKEN" in out and "ghost" in out and "laplacian" in out
    finally:
        registry_module.default_registry.cache_clear()


def test_detect_writes_mask_and_overlay(tmp_path, capsys):
    from PIL import Image

    from sclc.data.synthetic import render

    render(2, 160, 120).image.save(tmp_path / "shot.png")
    code = main(["detect", str(tmp_path / "shot.png"), "--detector", "east", "--out", str(tmp_path / "m.png"),
                 "--overlay", str(tmp_path / "o.png"), "--set", "threshold=0.0"])
    assert code == 0
    mask = Image.open(tmp_path / "m.png")
    assert mask.size == (160, 120) and set(np.unique(np.asarray(mask))) <= {0, 255}
    assert Image.open(tmp_path / "o.png").size == (160, 120)
    assert main(["detect", str(tmp_path / "shot.png"), "--detector", "east", "--out", str(tmp_path / "x.png"),
                 "--set", "treshold=0.1"]) == 2
    assert "did you mean 'threshold'" in capsys.readouterr().err


def test_detect_eval_counts_pixels_against_boxes(tmp_path, capsys):
    from sclc.data.synthetic import render

    (tmp_path / "images").mkdir()
    (tmp_path / "gt").mkdir()
    for seed in range(2):
        sample = render(seed, 256, 192)
        assert sample.boxes
        sample.image.save(tmp_path / "images" / f"img_{seed}.png")
        lines = "".join(f'{x0}, {y0}, {x1 - 1}, {y1 - 1}, "w"\n' for x0, y0, x1, y1 in sample.boxes)
        (tmp_path / "gt" / f"gt_img_{seed}.txt").write_text(lines)
    assert main(["detect-eval", str(tmp_path), "--detector", "ones", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 2 and result["recall"] == 1.0  # everything is text
    assert 0 < result["precision"] < 1 and result["seconds_per_megapixel"] >= 0
    assert main(["detect-eval", str(tmp_path), "--detector", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recall"] == 0.0
    # one evaluation per swept value: threshold 0 marks every pixel (a sigmoid is > 0), 1 marks none
    assert main(["detect-eval", str(tmp_path), "--detector", "east", "--set", "weights=none",
                 "--sweep", "threshold=0,1", "--json"]) == 0
    low, high = json.loads(capsys.readouterr().out)
    assert low["set"] == ["weights=none", "threshold=0"] and low["recall"] == 1.0
    assert high["set"] == ["weights=none", "threshold=1"] and high["recall"] == 0.0
    assert main(["detect-eval", str(tmp_path), "--detector", "east", "--set", "weights=none",
                 "--sweep", "scales=[1.0],[0.5,1.0]", "--json"]) == 0
    assert [r["set"][-1] for r in json.loads(capsys.readouterr().out)] == ["scales=[1.0]", "scales=[0.5,1.0]"]
    assert main(["detect-eval", str(tmp_path), "--detector", "east", "--sweep", "threshold"]) == 2
    assert "expected KEY=V1,V2" in capsys.readouterr().err


def test_train_detector_leaves_snapshots_and_continues_from_weights(tmp_path, capsys):
    out = tmp_path / "east.pt"
    args = ["train-detector", "--detector", "east", "--iters", "2", "--crop", "64", "--batch-size", "2",
            "--synthetic-fraction", "1", "--out", str(out)]
    assert main([*args, "--from-scratch", "--save-every", "1"]) == 0
    assert out.is_file() and (tmp_path / "east.step1.pt").is_file() and not (tmp_path / "east.step2.pt").exists()
    # another run starts from the first one's weights and another backbone must not load them
    assert main([*args, "--set", f"weights={out}"]) == 0
    assert main([*args, "--set", f"weights={out}", "--set", "backbone=mobilenetv3_large_100"]) != 0
    assert main([*args, "--scale-range", "2", "1"]) == 2
    assert "--scale-range 2.0 1.0" in capsys.readouterr().err
