"""sclc.checkpoint: codec checkpoints, export, and what old ones still load as."""

import numpy as np
import pytest
import torch

from sclc.checkpoint import export_checkpoint, load_checkpoint, model_id, save_checkpoint
from sclc.codec import compress, decompress
from sclc.errors import SclcError

from conftest import screenshot


def test_checkpoint_is_weights_only_and_keeps_identity(trained, tmp_path):
    raw = torch.load(trained, weights_only=True)
    assert raw["format"] == "sclc-codec" and any("_quantized_cdf" in k for k in raw["state_dict"])
    first, second = load_checkpoint(trained), load_checkpoint(trained)
    assert model_id(first) == model_id(second)
    image = screenshot()
    assert compress(image, first) == compress(image, second)


def test_export_from_training_checkpoint_and_missing_plugin(trained, tmp_path):
    codec = torch.load(trained, weights_only=True)
    training = {"meta": {"sclc_spec": codec["spec"], "iter": 10},
                "state_dict": {"codec." + k: v for k, v in codec["state_dict"].items()},
                "optimizer": {"state": {}}}
    torch.save(training, tmp_path / "iter_10.pth")
    model = export_checkpoint(tmp_path / "iter_10.pth", tmp_path / "exported.pt")
    assert model_id(model) == model_id(load_checkpoint(trained))
    alien = dict(codec)
    alien["spec"] = {**codec["spec"], "backbone": {"name": "fancy"}}
    alien["providers"] = {**codec["providers"], "backbone": ["fancy", "sclc-fancy"]}
    torch.save(alien, tmp_path / "alien.pt")
    with pytest.raises(SclcError, match="unknown backbone 'fancy'.*'sclc-fancy'"):
        load_checkpoint(tmp_path / "alien.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SclcError, match="cannot load checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_half_export_halves_the_file_and_describes_the_rounded_model(trained, tmp_path):
    model = load_checkpoint(trained)
    save_checkpoint(model, tmp_path / "half.pt", half=True)  # rounds `model` in place
    stored = torch.load(tmp_path / "half.pt", weights_only=True)["state_dict"]
    assert stored["backbone.g_a.0.weight"].dtype == torch.float16
    original = torch.load(trained, weights_only=True)["state_dict"]
    nbytes = lambda state: sum(v.numel() * v.element_size() for k, v in state.items() if "cdf" not in k)  # noqa: E731
    assert nbytes(stored) < 0.55 * nbytes(original)  # the CDF tables stay int32
    loaded = load_checkpoint(tmp_path / "half.pt")
    assert model_id(loaded) == model_id(model)  # same weights, same CDF tables
    image = screenshot()
    data = compress(image, loaded)
    assert data == compress(image, model)
    assert np.asarray(decompress(data, loaded)).shape == np.asarray(image).shape
