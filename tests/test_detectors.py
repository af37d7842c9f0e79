import pytest
import torch
from hypothesis import given, strategies as st

from sclc_plugins.detectors.base import rasterize_rboxes
from sclc_plugins.detectors.craft import CRAFT
from sclc_plugins.detectors.east import EAST
from sclc_plugins.detectors.rrd import RRD


@pytest.fixture(scope="module")
def detectors():
    torch.manual_seed(0)
    return {"craft": CRAFT(), "east": EAST(), "rrd": RRD()}


@given(st.integers(1, 2), st.integers(1, 90), st.integers(1, 90), st.sampled_from(["craft", "east", "rrd"]))
def test_detectors_give_binary_masks_of_input_size(detectors, batch, h, w, name):
    mask = detectors[name](torch.rand(batch, 3, h, w))
    assert mask.shape == (batch, 1, h, w)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}


def test_craft_keeps_the_official_layout(detectors):
    keys = list(detectors["craft"].net.state_dict())
    # craft_mlt_25k.pth: 154 tensors from module.basenet.slice1.0.weight to module.conv_cls.8.bias
    assert len(keys) == 154
    assert keys[0] == "basenet.slice1.0.weight" and keys[-1] == "conv_cls.8.bias"
    official = {"module." + k: v for k, v in detectors["craft"].net.state_dict().items()}
    fresh = CRAFT()
    fresh.net.load_state_dict({k.removeprefix("module."): v for k, v in official.items()}, strict=True)
    scores, features = fresh.net(torch.rand(1, 3, 64, 96))
    assert scores.shape == (1, 32, 48, 2) and features.shape == (1, 32, 32, 48)


def test_east_heads_and_rrd_rotation_filters(detectors):
    score, geometry = detectors["east"].net(torch.rand(1, 3, 64, 64))
    assert score.shape == (1, 1, 16, 16) and geometry.shape == (1, 5, 16, 16)
    assert geometry[:, 4].abs().max() <= torch.pi / 4
    arf = detectors["rrd"].net.arf[0]
    x = torch.rand(1, arf.weight.shape[1], 9, 9)
    out = arf(x).unflatten(1, (4, -1))
    # Rotating the input by 90 degrees permutes the orientation channels (and rotates the map).
    rotated = arf(torch.rot90(x, 1, dims=(2, 3))).unflatten(1, (4, -1))
    torch.testing.assert_close(rotated[:, 1], torch.rot90(out[:, 0], 1, dims=(2, 3)), atol=1e-4, rtol=1e-4)


def test_rasterize_rotated_boxes():
    boxes = torch.tensor([[10.0, 5.0, 8.0, 4.0, 0.0], [30.0, 30.0, 10.0, 2.0, torch.pi / 2]])
    mask = rasterize_rboxes(boxes, 40, 40)[0]
    assert mask[3:7, 6:14].all() and mask[:3].sum() == 0
    assert mask[25:35, 29:31].all() and mask[30, 20:28].sum() == 0
