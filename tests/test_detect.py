"""sclc.detect and the detector commands: detect, detect-eval, train-detector."""

import json

import numpy as np

from sclc.cli import main


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
