import sys
import tomllib
from importlib.metadata import EntryPoint, entry_points

import pytest

import sclc
from sclc.builder import build_model
from sclc.registry import Registry, discover
from sclc.spec import parse_spec

from conftest import ROOT


def test_registry_toml_equals_discovered_components(registry):
    toml = tomllib.loads((ROOT / "registry.toml").read_text())
    catalogue = toml["component"]
    # optional components (mmocr:*) are catalogued in [[optional]], whether installed or not
    optional = {(group["kind"], name) for group in toml["optional"] for name in group["names"]}
    values = {ep.name: ep.value for ep in entry_points(group="sclc")}
    discovered = [
        {"kind": c.kind, "name": c.name, "entry_point": f"{c.plugin} = {values[c.plugin]}",
         "summary": c.summary, "reference": c.reference}
        for c in registry.components() if c.provider == "sclc" and (c.kind, c.name) not in optional
    ]
    key = lambda row: (row["kind"], row["name"])  # noqa: E731
    assert sorted(catalogue, key=key) == sorted(discovered, key=key)
    assert not [b for b in registry.broken if b.provider == "sclc"], registry.broken


def test_optional_components_are_offered_or_declared_unavailable(registry):
    optional = tomllib.loads((ROOT / "registry.toml").read_text())["optional"]
    unavailable = {(u.kind, u.name): u.reason for u in registry.unavailable}
    for group in optional:
        for name in group["names"]:
            key = (group["kind"], name)
            assert key in unavailable or name in registry.names(group["kind"]), key


def test_mmocr_adapter_absence_is_reported_and_harmless(registry, capsys):
    from sclc.cli import main

    if "mmocr:dbnet" in registry.names("text_prior"):
        pytest.skip("mmocr is installed here")
    assert main(["list", "--kind", "text_prior"]) == 0
    out = capsys.readouterr().out
    assert "UNAVAILABLE mmocr:dbnet" in out and "mmcv" in out and "craft" in out
    from sclc.errors import SpecError

    with pytest.raises(SpecError, match="text prior 'mmocr:dbnet' is unavailable: mmocr is not usable"):
        parse_spec({"backbone": {"name": "wacnn"}, "text_prior": {"name": "mmocr:dbnet"}}, registry=registry)


def test_mmocr_polygons_become_a_mask():
    from sclc_plugins.text_priors.mmocr_adapter import polygons_to_mask

    mask = polygons_to_mask([[2, 2, 8, 2, 8, 5, 2, 5], [0, 0, 1, 0, 1, 1]], [0.9, 0.1], 10, 12, 0.3)
    assert mask.shape == (10, 12) and mask[2:6, 2:9].all() and mask.sum() == 4 * 7


def test_builtins_arrive_through_entry_points(registry):
    builtin_modules = {ep.value for ep in entry_points(group="sclc") if ep.dist.name == "sclc"}
    assert "sclc_plugins.backbones.wacnn" in builtin_modules
    for kind, name in [("structural_prior", "laplacian"), ("text_prior", "craft"), ("block", "nesft"),
                       ("backbone", "wacnn"), ("loss", "wmse")]:
        assert registry.get(kind, name).provider == "sclc"


def _fake_ep(name, value):
    return EntryPoint(name=name, value=value, group="sclc")


def test_broken_plugin_is_reported_and_the_rest_still_load():
    registry = Registry()
    registry.load_entry_point(_fake_ep("ghost", "sclc_no_such_module"), provider="ghost-dist")
    registry.load_entry_point(_fake_ep("laplacian", "sclc_plugins.structural_priors.laplacian"), provider="sclc")
    assert registry.names("structural_prior") == ["laplacian"]
    [broken] = registry.broken
    assert broken.plugin == "ghost" and broken.provider == "ghost-dist"
    assert "sclc_no_such_module" in broken.error


class MisspeltHook:
    @sclc.hookimpl
    def sclc_register_prior(self, register):  # missing the final "s"
        register("x", lambda p: None, summary="x")


class Raising:
    @sclc.hookimpl
    def sclc_register_structural_priors(self, register):
        register("half", lambda p: None, summary="registered before the error")
        raise RuntimeError("boom")


def test_misspelt_hook_and_raising_plugin_are_broken_not_fatal():
    registry = Registry()
    registry.register_plugin(MisspeltHook(), name="misspelt", provider="a")
    registry.register_plugin(Raising(), name="raising", provider="b")
    assert registry.names("structural_prior") == []  # nothing half-registered survives
    errors = {b.plugin: b.error for b in registry.broken}
    assert "sclc_register_prior" in errors["misspelt"]
    assert "boom" in errors["raising"]


class Duplicate:
    @sclc.hookimpl
    def sclc_register_structural_priors(self, register):
        register("laplacian", lambda p: None, summary="another laplacian")


def test_duplicate_name_names_both_providers():
    registry = Registry()
    registry.load_entry_point(_fake_ep("laplacian", "sclc_plugins.structural_priors.laplacian"), provider="sclc")
    registry.register_plugin(Duplicate(), name="dup", provider="other-dist")
    [broken] = registry.broken
    assert "sclc" in broken.error and "other-dist" in broken.error
    assert registry.get("structural_prior", "laplacian").provider == "sclc"


def test_plugin_allow_and_block_lists(monkeypatch):
    monkeypatch.setenv("SCLC_LOAD_PLUGINS", "laplacian,wacnn")
    assert discover().names("structural_prior") == ["laplacian"]
    monkeypatch.delenv("SCLC_LOAD_PLUGINS")
    monkeypatch.setenv("SCLC_DISABLE_PLUGINS", "sobel")
    assert "sobel" not in discover().names("structural_prior")


def test_third_party_plugin_registers_and_builds(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "third_party_prior"))
    registry = discover()
    registry.load_entry_point(_fake_ep("local_contrast", "sclc_example_prior.plugin"),
                              provider="sclc-example-prior")
    component = registry.get("structural_prior", "local_contrast")
    assert component.provider == "sclc-example-prior"
    spec = parse_spec({
        "backbone": {"name": "wacnn", "N": 16, "M": 16, "num_slices": 2, "max_support_slices": 1,
                     "prior_channels": 4},
        "structural_prior": {"name": "local_contrast", "radius": 3},
        "block": {"name": "nesft", "hidden": 8},
    }, registry=registry)
    model = build_model(spec, registry)
    assert type(model.structural_prior).__name__ == "LocalContrast"
    assert model.structural_prior.radius == 3
    import torch
    x = torch.rand(1, 3, 40, 56)
    assert model(x)["x_hat"].shape == x.shape
    sys.modules.pop("sclc_example_prior.plugin", None)
