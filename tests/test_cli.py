import json


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
