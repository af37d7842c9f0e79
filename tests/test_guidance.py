"""Prior guidance is a kind: EPG is its built-in, a third party adds its own, and the old [epg]
table still means guidance "epg" (with the canonical data it always had)."""

import sys
from importlib.metadata import EntryPoint

import pytest
import torch

from sclc import embedded
from sclc.builder import build_model
from sclc.checkpoint import load_checkpoint, save_checkpoint
from sclc.cli import main
from sclc.errors import SclcError, SpecError
from sclc.registry import discover
from sclc.spec import load_spec, parse_spec

from conftest import write

# A third-party plugin, installed here the way test_registry installs the example prior.
PLUGIN = '''
from dataclasses import dataclass

import torch.nn as nn

import sclc
from sclc.schema import at_least


@dataclass(frozen=True)
class GainParams:
    gain: float = 1.0

    def __post_init__(self):
        at_least(self, 0, "gain")


class MaskedGain(nn.Module):
    """g' = gain * M * g: structure on text only."""

    def __init__(self, params):
        super().__init__()
        self.gain, self.calls = params.gain, 0

    def forward(self, structure, text_mask):
        self.calls += 1
        return self.gain * text_mask * structure


@sclc.hookimpl
def sclc_register_guidances(register):
    register("masked_gain", lambda params: MaskedGain(params), params=GainParams,
             summary="gain * M * g", reference="tests/test_guidance.py")
'''

TINY = {"backbone": {"name": "wacnn", "N": 16, "M": 16, "num_slices": 2, "max_support_slices": 1,
                     "prior_channels": 4},
        "block": {"name": "nesft", "hidden": 8}}


@pytest.fixture
def with_plugin(monkeypatch, tmp_path):
    (tmp_path / "sclc_test_guidance.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = discover()
    registry.load_entry_point(EntryPoint(name="masked_gain", value="sclc_test_guidance", group="sclc"),
                              provider="sclc-test-guidance")
    yield registry
    sys.modules.pop("sclc_test_guidance", None)


def test_third_party_guidance_builds_and_makes_the_prior_map(with_plugin):
    registry = with_plugin
    assert registry.get("guidance", "masked_gain").provider == "sclc-test-guidance"
    spec = parse_spec({**TINY, "guidance": {"name": "masked_gain", "gain": 3.0}}, registry=registry)
    model = build_model(spec, registry)
    assert type(model.guidance).__name__ == "MaskedGain" and model.guidance.gain == 3.0
    x = torch.rand(1, 3, 40, 56)
    mask = (torch.rand(1, 1, 40, 56) > 0.5).float()
    torch.testing.assert_close(model.prior_map(x, mask), 3.0 * mask * model.structural_prior(x))
    calls = model.guidance.calls
    assert model(x, text_mask=mask)["x_hat"].shape == x.shape
    assert model.guidance.calls == calls + 1  # the codec's prior comes from it


def test_third_party_guidance_is_written_as_guidance_and_named_on_load(with_plugin, tmp_path):
    registry = with_plugin
    spec = parse_spec({**TINY, "guidance": {"name": "masked_gain", "gain": 2.0}}, registry=registry)
    data = spec.to_dict()
    assert data["guidance"] == {"name": "masked_gain", "gain": 2.0} and "epg" not in data
    assert parse_spec(data, registry=registry) == spec
    assert embedded.decoder_spec(data)["guidance"] == data["guidance"]
    save_checkpoint(build_model(spec, registry), tmp_path / "gain.pt", registry)
    assert load_checkpoint(tmp_path / "gain.pt", registry).guidance.gain == 2.0
    with pytest.raises(SclcError, match="unknown prior guidance 'masked_gain'.*'sclc-test-guidance'"):
        load_checkpoint(tmp_path / "gain.pt")  # the default registry lacks the plugin


def test_old_epg_table_means_guidance_epg_with_the_same_data(registry):
    old = parse_spec({**TINY, "epg": {"epsilon": 0.5}}, registry=registry)
    new = parse_spec({**TINY, "guidance": {"name": "epg", "epsilon": 0.5}}, registry=registry)
    assert old == new and old.guidance.params.epsilon == 0.5
    assert old.to_dict()["epg"] == {"epsilon": 0.5} and "guidance" not in old.to_dict()
    default = parse_spec(TINY, registry=registry)
    assert default.guidance.name == "epg" and default.to_dict()["epg"] == {"epsilon": 1.0}
    assert build_model(old, registry).guidance.epsilon == 0.5


@pytest.mark.parametrize("data, fragment", [
    ({"epg": {"epsilon": 1.0}, "guidance": {"name": "epg"}}, "[epg] is the old spelling of [guidance]"),
    ({"epg": {"name": "epg"}}, "[epg] takes no name"),
    ({"epg": 5}, "'epg' must be a table"),
    ({"epg": {"epsilon": 0}}, "[epg] epsilon = 0.0 must be > 0"),
    ({"guidance": {"name": "epg", "epsilon": -1}}, "[guidance] epsilon = -1.0 must be > 0"),
    ({"guidance": {"name": "epgg"}}, "unknown prior guidance 'epgg'"),
])
def test_malformed_guidance(data, fragment, registry):
    with pytest.raises(SpecError) as err:
        parse_spec({**TINY, **data}, registry=registry)
    assert fragment in str(err.value)


def test_guidance_errors_name_the_line_of_either_spelling(tmp_path):
    head = '[backbone]\nname = "wacnn"\n'
    with pytest.raises(SpecError, match=r"old\.toml:3: \[epg\] epsilon"):
        load_spec(write(tmp_path, head + "[epg]\nepsilon = -2\n", "old.toml"))
    with pytest.raises(SpecError, match=r"new\.toml:5"):
        load_spec(write(tmp_path, head + '[guidance]\nname = "epg"\nepsilnon = 2\n', "new.toml"))


def test_guidance_is_listed_like_every_kind(capsys):
    assert main(["list", "--kind", "guidance"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.split()[:3] == ["guidance", "epg", "sclc"]
