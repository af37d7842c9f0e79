"""Files written before issue #16 (one name per kind, the core asks the backbone) still work.

The fixtures in tests/fixtures/compat were written by the code before it: .sclc files of the
shipped ``sci`` and of two embedded specs (a conditioned WACNN, a CompressAI hyperprior), the
decoded pixels' sha256, and the specs' canonical data and model ids."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import sclc
from sclc.checkpoint import load_checkpoint, model_id, save_checkpoint
from sclc.resolve import load_model
from sclc.cli import main
from sclc.codec import decompress
from sclc.errors import SclcError
from sclc.registry import Registry, discover
from sclc.spec import load_spec

FIXTURES = Path(__file__).parent / "fixtures" / "compat"


def coding(spec_data: dict) -> dict:
    """Training settings may gain keys (they stay out of model ids); what codes must not change."""
    return {k: v for k, v in spec_data.items() if k != "train"}
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.mark.parametrize("name", ["tiny_embedded", "hyper_embedded"])
def test_old_files_decode_to_the_same_pixels(name):
    pixels = np.asarray(decompress((FIXTURES / f"{name}.sclc").read_bytes()))
    assert pixels.shape == (24, 40, 3)
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == EXPECTED[name]


def test_a_file_of_retired_pretrained_weights_names_the_model_it_needs():
    """sci.sclc was written by the `sci` weights shipped before quality gains: the file still
    parses and names its model, and the new `sci` refuses it instead of decoding garbage."""
    from sclc.container import FormatError

    with pytest.raises(FormatError, match="written by model"):
        decompress((FIXTURES / "sci.sclc").read_bytes())


def test_old_spec_keeps_its_canonical_data_and_model_id():
    path = FIXTURES / "tiny_spec.toml"
    # Training settings may gain keys (they stay out of model ids); what codes must not change.
    assert coding(load_spec(path).to_dict()) == coding(EXPECTED["tiny_spec_data"])
    assert load_model(path).identity().hex() == EXPECTED["tiny_spec_id"]


def test_a_backbone_without_sites_now_lists_none():
    """Block sites default to the backbone's own: none for CompressAI's models, where the old
    default listed WACNN's. Nothing else in such a spec's data changed."""
    old, new = EXPECTED["hyper_spec_data"], load_spec(FIXTURES / "hyper_spec.toml").to_dict()
    assert old["block"]["sites"] == ["g_a", "h_a", "g_s"] and new["block"]["sites"] == []
    old["block"]["sites"] = []
    assert coding(new) == coding(old)


def test_old_checkpoint_with_old_kind_names_loads(trained, tmp_path):
    """Checkpoints before #16 name their components' providers under the kind 'prior'."""
    data = torch.load(trained, weights_only=True)
    providers = dict(data["providers"])
    providers["prior"] = providers.pop("structural_prior")
    torch.save({**data, "providers": providers}, tmp_path / "old.pt")
    assert model_id(load_checkpoint(tmp_path / "old.pt")) == model_id(load_checkpoint(trained))
    alien = {**data, "spec": {**data["spec"], "structural_prior": {"name": "fancy"}},
             "providers": {**providers, "prior": ["fancy", "sclc-fancy"]}}
    torch.save(alien, tmp_path / "alien.pt")
    with pytest.raises(SclcError, match="unknown structural prior 'fancy'.*'sclc-fancy'"):
        load_checkpoint(tmp_path / "alien.pt")


def test_new_checkpoints_name_kinds_by_their_new_names(trained, tmp_path):
    save_checkpoint(load_checkpoint(trained), tmp_path / "new.pt")
    assert set(torch.load(tmp_path / "new.pt", weights_only=True)["providers"]) == {
        "structural_prior", "text_prior", "block", "backbone", "loss"}


class OldHook:
    @sclc.hookimpl
    def sclc_register_priors(self, register):
        register("old", lambda p: None, summary="registered under the hook's old name")


def test_plugin_with_the_old_hook_name_is_broken_with_the_new_name():
    registry = Registry()
    registry.register_plugin(OldHook(), name="old-plugin", provider="old-dist")
    [broken] = registry.broken
    assert "sclc_register_priors (now sclc_register_structural_priors)" in broken.error


def test_old_kind_name_on_the_command_line_names_the_new_one(capsys):
    assert main(["list", "--kind", "prior"]) == 2
    assert "'prior' is now called 'structural_prior'" in capsys.readouterr().err


def test_old_entry_point_names_in_allow_and_block_lists(monkeypatch):
    monkeypatch.setenv("SCLC_LOAD_PLUGINS", "text_none,wacnn")
    assert discover().names("text_prior") == ["none", "ones"]
    monkeypatch.delenv("SCLC_LOAD_PLUGINS")
    monkeypatch.setenv("SCLC_DISABLE_PLUGINS", "text_none")
    assert "none" not in discover().names("text_prior")
