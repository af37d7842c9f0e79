"""Every command's error paths: one line on stderr, exit code 2, no traceback (issue #14)."""

import subprocess
import sys

import pytest
import torch
from PIL import Image

from sclc.cli import main

from conftest import ROOT, TINY_SPEC, write

CASES = {
    "list": [["list", "--kind", "nope"], ["list", "--kind", ""]],
    "build": [["build", "{tmp}/missing.toml"], ["build", "{tmp}/bad.toml"], ["build", "{tmp}/binary.toml"],
              ["build", "{tmp}/spec.toml", "--size", "0"], ["build", "{tmp}/spec.toml", "--size", "100000"],
              ["build", "{tmp}/spec.toml", "--set", "seed=true"],
              ["build", "{tmp}/spec.toml", "--set", "seed=99999999999999999999999"],
              ["build", "{tmp}/spec.toml", "--set", "backbone.z_channels=-8"],
              ["build", "{tmp}/spec.toml", "--set", "backbone.max_support_slices=-2"]],
    "demo": [["demo", "--model", "nope", "--out-dir", "{tmp}/demo"], ["demo", "--width", "0"],
             ["demo", "--seed", "-1"], ["demo", "--width", "30000", "--height", "30000", "--out-dir", "{tmp}/demo"]],
    "models": [["models", "--nope"]],
    "compress": [["compress", "{tmp}/missing.png", "{tmp}/o.sclc", "--model", "{tmp}/spec.toml"],
                 ["compress", "{tmp}/img.png", "{tmp}/o.sclc", "--model", "nope"],
                 ["compress", "{tmp}/text.png", "{tmp}/o.sclc", "--model", "{tmp}/spec.toml"],
                 ["compress", "{tmp}/img.png", "{tmp}/o.sclc", "--model", "sci", "--quality", "9"],
                 ["compress", "{tmp}/img.png", "{tmp}/no/o.sclc", "--model", "{tmp}/spec.toml"],
                 ["compress", "{tmp}/img.png"],
                 ["compress", "{tmp}/img.png", "{tmp}/o.sclc", "--model", "sci", "--text-quality", "nan"],
                 ["compress", "{tmp}/img.png", "{tmp}", "--model", "{tmp}/spec.toml"],
                 ["compress", "{tmp}/img.png", "", "--model", "{tmp}/spec.toml"],
                 ["compress", "{tmp}/img.png", "{tmp}/o.sclc", "--model", "{tmp}/binary.toml"],
                 ["compress", "{tmp}/img.png", "{tmp}/o.sclc", "--model", "sci", "--quality-map", "{tmp}/img.png",
                  "--text-quality", "2"]],
    "decompress": [["decompress", "{tmp}/missing.sclc", "{tmp}/o.png"],
                   ["decompress", "{tmp}/text.png", "{tmp}/o.png"],
                   ["decompress", "{tmp}/img.png", "{tmp}/o.png", "--model", "{tmp}/missing.pt"],
                   ["decompress", "{tmp}/img.png", "{tmp}/o.png", "--set", "backbone.N=8"]],
    "train": [["train", "{tmp}/missing.toml", "--work-dir", "{tmp}/w"],
              ["train", "{tmp}/spec.toml", "--work-dir", "{tmp}/w", "--set", "train.crop=0"],
              ["train", "{tmp}/spec.toml", "--work-dir", "{tmp}/w", "--launcher", "pytorch"],
              ["train", "{tmp}/spec.toml", "--work-dir", "{tmp}/empty", "--resume"]],
    "eval": [["eval", "{tmp}", "--codec", "jxll", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--codec", "jpeg", "--ocr", "nope", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--codec", "jpeg", "--crops", "-1", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--codec", "jpeg", "--limit", "-1", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--codec", "jpeg", "--qualities", "0", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--codec", "jpeg", "--qualities", "nan", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--codec", "jpeg", "--text-quality", "nan", "--out", "{tmp}/r.json"],
             ["eval", "{tmp}", "--codec", "jpeg", "--out", "{tmp}/r.json", "--plot", "{tmp}/no/p.png"]],
    "report": [["report", "{tmp}/missing.json", "--out", "{tmp}/r.html"],
               ["report", "{tmp}/text.png", "--out", "{tmp}/r.html"],
               ["report", "{tmp}/malformed.json", "--out", "{tmp}/r.html"]],
    "bdrate": [["bdrate", "{tmp}/missing.json", "--anchor", "a"], ["bdrate", "{tmp}/text.png", "--anchor", "a"],
               ["bdrate", "{tmp}/malformed.json", "--anchor", "a"], ["bdrate", "{tmp}/nopoints.json", "--anchor", "a"],
               ["bdrate", "{tmp}/wordy.json", "--anchor", "a"], ["bdrate", "{tmp}/empty.json", "--max-cer", "-1"]],
    "plot": [["plot", "{tmp}/missing.json", "--out", "{tmp}/p.png"], ["plot", "{tmp}/empty.json", "--out", "{tmp}/p.png"],
             ["plot", "{tmp}/wordy.json", "--out", "{tmp}/p.png"], ["plot", "{tmp}/empty.json", "--out", "{tmp}/p.jpg"]],
    "detect": [["detect", "{tmp}/missing.png", "--detector", "none", "--out", "{tmp}/m.png"],
               ["detect", "{tmp}/img.png", "--detector", "nope", "--out", "{tmp}/m.png"],
               ["detect", "{tmp}/img.png", "--detector", "none", "--out", "{tmp}/m.png", "--overlay", "{tmp}/no/o.png"]],
    "detect-eval": [["detect-eval", "{tmp}/missing", "--detector", "none"],
                    ["detect-eval", "{tmp}", "--detector", "none", "--sweep", "x"],
],
    "train-detector": [["train-detector", "--detector", "nope", "--out", "{tmp}/d.pt"],
                       *(["train-detector", "--detector", "east", "--out", "{tmp}/d.pt", option, value]
                         for option, value in (("--iters", "0"), ("--lr", "nan"), ("--batch-size", "0"),
                                               ("--crop", "7"), ("--seed", "-1"), ("--synthetic-fraction", "2"),
                                               ("--save-every", "-1"), ("--teacher", "east"))),
                       ["train-detector", "--detector", "east", "--out", "{tmp}/no/d.pt"]],
    "export": [["export", "{tmp}/missing.pt", "{tmp}/o.pt"], ["export", "{tmp}/text.png", "{tmp}/o.pt"],
               ["export", "{tmp}/meta_list.pt", "{tmp}/o.pt"], ["export", "{tmp}/int_keys.pt", "{tmp}/o.pt"]],
    "widen": [["widen", "{tmp}/missing.pt", "{tmp}/o.pt"], ["widen", "{tmp}/spec.toml", "{tmp}/o.pt", "--factor", "1"],
              ["widen", "{tmp}/spec.toml", "{tmp}/o.pt", "--factor", "1.3"],
              ["widen", "{tmp}/spec.toml", "{tmp}/o.pt", "--factor", "0"]],
    "(none)": [[], ["nope"]],
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    write(tmp, TINY_SPEC.format(name="cli", seed=0), "spec.toml")
    write(tmp, "[backbone]\nname = 3\n", "bad.toml")
    (tmp / "text.png").write_text("not an image")
    (tmp / "malformed.json").write_text('{"schema": "sclc-eval/2", "points": [{"curve": "a"}]}')
    (tmp / "nopoints.json").write_text('{"schema": "sclc-eval/2"}')
    (tmp / "empty.json").write_text('{"schema": "sclc-eval/2", "points": []}')
    (tmp / "wordy.json").write_text('{"schema": "sclc-eval/2", "points": [{"curve": "a", "setting": 1, '
                                    '"mean": {"bpp": "0.5", "psnr": 30}}]}')
    (tmp / "binary.toml").write_bytes(bytes(range(128, 256)))
    torch.save({"meta": ["x"], "state_dict": {}}, tmp / "meta_list.pt")
    torch.save({"meta": {"sclc_spec": {"backbone": {"name": "wacnn"}}}, "state_dict": {1: torch.zeros(1)}},
               tmp / "int_keys.pt")
    Image.new("RGB", (32, 24), "white").save(tmp / "img.png")
    return tmp


@pytest.mark.parametrize("command", sorted(CASES))
def test_every_error_is_one_line_and_exit_2(command, files, capsys):
    for argv in CASES[command]:
        argv = [a.replace("{tmp}", str(files)) for a in argv]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    # a failed command leaves no output behind (the second output of two is checked first)
    assert not {"r.json", "m.png", "o.sclc", "o.pt", "d.pt", "teacher_masks"} & {p.name for p in files.iterdir()}


def test_a_sweep_checks_every_value_before_the_first_run(tmp_path, capsys):
    Image.new("RGB", (64, 64), "white").save(tmp_path / "img.png")
    (tmp_path / "img.tsv").write_text("x0\ty0\tx1\ty1\n1\t1\t20\t10\n")
    code = main(["detect-eval", str(tmp_path), "--detector", "east", "--sweep", "threshold=0.5,abc"])
    captured = capsys.readouterr()
    assert code == 2 and "threshold = 'abc'" in captured.err and captured.out == ""


def test_a_closed_pipe_ends_quietly(tmp_path):
    code = ("import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); "
            "from sclc.cli import main; sys.exit(main(['models', '--json']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 141 and result.stderr == ""


def test_the_fast_exit_after_decompress_keeps_the_output_and_the_exit_code(files, tmp_path):
    """python -m sclc ends compress/decompress with os._exit (no interpreter teardown)."""
    from sclc.resolve import load_model
    from sclc.codec import compress, decompress

    loaded = load_model(files / "spec.toml")
    (tmp_path / "in.sclc").write_bytes(compress(Image.open(files / "img.png"), loaded))
    command = [sys.executable, "-m", "sclc", "decompress", str(tmp_path / "in.sclc")]
    good = subprocess.run([*command, str(tmp_path / "out.png")], capture_output=True, text=True, timeout=300)
    assert good.returncode == 0 and "decoded in" in good.stdout
    assert Image.open(tmp_path / "out.png").tobytes() == decompress((tmp_path / "in.sclc").read_bytes()).tobytes()
    (tmp_path / "bad.sclc").write_bytes(b"SCLC\x01 not really")
    bad = subprocess.run([*command[:-1], str(tmp_path / "bad.sclc"), str(tmp_path / "x.png")], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stdout == ""
