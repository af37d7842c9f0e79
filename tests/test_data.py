import numpy as np
import pytest
import torch
from PIL import Image

from sclc.data.boxes import BoxFormatError, centre_crop_and_mask, find_box_file, mask_from_file, rasterize, read_boxes
from sclc.data.folder import ImageFolder
from sclc.data.mask_cache import MaskCache
from sclc.data.stream import CropStream, FixedCrops, SyntheticSource, crop_sample
from sclc.data.synthetic import render
from sclc.errors import SclcError


def test_synthetic_is_deterministic_and_its_mask_is_the_visible_word_boxes():
    a, b, c = render(5, 200, 150), render(5, 200, 150), render(6, 200, 150)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image)) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(np.asarray(a.image), np.asarray(c.image))
    assert a.image.size == (200, 150) and a.mask.shape == (150, 200)
    for x0, y0, x1, y1 in a.boxes:
        assert a.mask[y0:y1, x0:x1].all()
    coverage = [render(s, 256, 256).mask.mean() for s in range(12)]
    assert 0.01 < np.mean(coverage) < 0.6  # text present, not everywhere


def test_synthetic_text_pixels_differ_from_their_surroundings():
    sample = render(3, 256, 256)
    gray = np.asarray(sample.image.convert("L"), dtype=float)
    inside = np.abs(np.diff(gray, axis=1))[sample.mask[:, 1:] == 1].mean()
    outside = np.abs(np.diff(gray, axis=1))[sample.mask[:, 1:] == 0].mean()
    assert inside > 2 * outside  # glyph edges live inside the boxes


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(root / "a.png")
    (root / "a.tsv").write_text("x0\ty0\tx1\ty1\tword\n5\t6\t20\t10\thello\n")
    Image.fromarray(np.full((30, 30), 90, np.uint8)).save(root / "sub" / "gray.jpg")
    (root / "sub" / "gt_gray.txt").write_text('1, 2, 10, 12, "word"\n')
    Image.fromarray(np.full((8, 8, 3), 10, np.uint8)).save(root / "tiny.bmp")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "notes.txt").write_text("not an image")
    return root


def test_folder_lists_recursively_skips_corrupt_and_reads_masks(folder):
    with pytest.warns(UserWarning, match="skipping unreadable image"):
        data = ImageFolder(folder)
    assert [p.name for p in data.paths] == ["a.png", "gray.jpg", "tiny.bmp"]
    assert len(data.skipped) == 1 and data.skipped[0].endswith("broken.png")
    rgb, mask = data.load(0)
    assert rgb.shape == (40, 60, 3) and mask[6:11, 5:21].all() and mask.sum() == 5 * 16
    rgb, mask = data.load(1)  # grayscale JPEG -> RGB, ICDAR boxes
    assert rgb.shape == (30, 30, 3) and mask[2:13, 1:11].all() and mask.sum() == 11 * 10
    rgb, mask = data.load(2)  # no boxes: no known text
    assert mask.sum() == 0


def test_a_mask_png_beside_its_image_is_its_mask_not_another_training_image(tmp_path):
    # the layout tools/gpu/pack_crops.py writes: <stem>.webp with <stem>.mask.png beside it
    Image.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(tmp_path / "crop.webp", lossless=True)
    mask = np.zeros((16, 16), np.uint8)
    mask[2:6, 3:9] = 255
    Image.fromarray(mask).save(tmp_path / "crop.mask.png")
    data = ImageFolder(tmp_path)
    assert [p.name for p in data.paths] == ["crop.webp"]
    assert data.load(0)[1].sum() == 4 * 6


def test_decoded_images_are_cached_within_the_memory_budget(folder, monkeypatch):
    import sclc.data.folder as folder_module

    decoded = []
    real_load = folder_module.load_rgb
    monkeypatch.setattr(folder_module, "load_rgb", lambda path: decoded.append(path.name) or real_load(path))
    with pytest.warns(UserWarning):
        data = ImageFolder(folder, cache_mb=1)
    first = data.load(0)
    second = data.load(0)
    assert decoded == ["a.png"] and second[0] is first[0]
    data._cache_left = 0  # budget spent: later images are decoded every time, never cached
    data.load(1), data.load(1)
    assert decoded == ["a.png", "gray.jpg", "gray.jpg"]


def test_small_images_are_padded_to_the_crop(folder):
    with pytest.warns(UserWarning):
        data = ImageFolder(folder)
    sample = crop_sample(*data.load(2), crop=16, rng=np.random.default_rng(0), flip=True)
    assert sample["inputs"].shape == (3, 16, 16) and sample["mask"].shape == (1, 16, 16)
    assert torch.allclose(sample["inputs"], torch.full_like(sample["inputs"], 10 / 255))  # edge padding


def test_box_formats_and_errors(tmp_path):
    tsv = tmp_path / "x.tsv"
    tsv.write_text("x0 y0 x1 y1\n1 1 3 3\n")
    assert read_boxes(tsv) == [(1, 1, 3, 3)]
    tsv.write_text("left top right bottom\n1 1 3 3\n")
    with pytest.raises(BoxFormatError, match="header"):
        read_boxes(tsv)
    icdar = tmp_path / "gt_x.txt"
    icdar.write_text("\ufeff3, 4, 9, 8, \"a, b\"\nbad line\n")
    with pytest.raises(BoxFormatError, match=":2:"):
        read_boxes(icdar)
    assert rasterize([(8, 8, 2, 2)], 5, 5)[2:5, 2:5].all()  # reversed corners, clipped
    image = tmp_path / "images" / "x.png"
    (tmp_path / "gt").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "gt" / "gt_x.txt").write_text("1, 1, 2, 2, \"w\"\n")
    assert find_box_file(image) == tmp_path / "gt" / "gt_x.txt"  # the ICDAR images/ + gt/ layout


def test_a_box_file_of_another_image_size_is_an_error_not_a_misplaced_mask(tmp_path):
    tsv = tmp_path / "x.tsv"
    tsv.write_text("x0 y0 x1 y1\n2 2 5 5\n30 40 50 45\n")  # the second box lies right of a 24-wide crop
    assert mask_from_file(tsv, 64, 64).sum() == 16 + 21 * 6
    with pytest.raises(BoxFormatError, match=r"\(30, 40, 50, 45\) lies outside the 24x48 image"):
        mask_from_file(tsv, 48, 24)
    assert isinstance(BoxFormatError("x"), SclcError)  # the CLI prints it as one line, exit 2


def test_a_centre_crop_gets_the_same_window_of_its_boxes(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    (tmp_path / "p.tsv").write_text("x0 y0 x1 y1\n1 1 4 4\n25 15 29 18\n")  # top-left corner; inside the crop
    rgb, mask = centre_crop_and_mask(tmp_path / "p.png", 20)
    top, left = 10, 20  # centre 20 x 20 window of 40 x 60
    np.testing.assert_array_equal(rgb, np.asarray(Image.open(tmp_path / "p.png"))[top:top + 20, left:left + 20])
    expected = np.zeros((20, 20), np.uint8)
    expected[15 - top:19 - top, 25 - left:30 - left] = 1
    np.testing.assert_array_equal(mask, expected)  # not the corner box, which lies outside the window
    (tmp_path / "p.tsv").unlink()
    assert centre_crop_and_mask(tmp_path / "p.png", 20)[1] is None


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SclcError, match="does not exist"):
        ImageFolder(tmp_path / "nope")
    with pytest.raises(SclcError, match="no readable images"):
        ImageFolder(tmp_path)


class CountingDetector(torch.nn.Module):
    calls = 0

    def forward(self, x):
        CountingDetector.calls += 1
        return (x.mean(1, keepdim=True) > 0.5).float()


def test_detector_masks_are_cached_by_image_and_parameters(folder, tmp_path):
    cache = MaskCache(tmp_path / "cache", "fake", {"threshold": 0.5}, CountingDetector())
    with pytest.warns(UserWarning):
        data = ImageFolder(folder, masks="detector", detector=cache)
    first = data.load(0)[1]
    again = data.load(0)[1]
    assert np.array_equal(first, again) and first.all()  # a bright image is all "text"
    assert (cache.misses, cache.hits, CountingDetector.calls) == (1, 1, 1)
    other = MaskCache(tmp_path / "cache", "fake", {"threshold": 0.7}, CountingDetector())
    other(data.load(0)[0], data.paths[0])
    assert other.misses == 1 and len(list((tmp_path / "cache").glob("*.png"))) == 2


def test_crop_stream_is_a_pure_function_of_position():
    source = SyntheticSource(size=48, count=5, seed=1)
    a, b = CropStream(source, 32, seed=3), CropStream(source, 32, seed=3)
    for position in (0, 4, 5, 17):
        torch.testing.assert_close(a[position]["inputs"], b[position]["inputs"])
    seen = {a._index(p) for p in range(5)}
    assert seen == set(range(5))  # each epoch is a permutation of the source
    assert not torch.equal(a[0]["inputs"], CropStream(source, 32, seed=4)[0]["inputs"])
    val = FixedCrops(source, 32, 3)
    assert len(val) == 3 and torch.equal(val[1]["inputs"], val[1]["inputs"])


def test_icdar_held_out_images_are_the_80_highest_numbered(tmp_path):
    from sclc.data.icdar import HELD_OUT, held_out_names, split_images

    (tmp_path / "images").mkdir()
    (tmp_path / "gt").mkdir()
    paths = [tmp_path / "images" / f"img_{i}.png" for i in range(1, 101)]
    for path in paths:
        Image.new("RGB", (4, 4)).save(path)
    held = split_images(paths, "heldout")
    assert len(held) == HELD_OUT and held[0].name == "img_21.png" and held[-1].name == "img_100.png"
    assert split_images(paths, "train") == paths[:20]
    assert held_out_names([f"{tmp_path}:boxes"]) == {p.name for p in held}
    assert held_out_names([str(tmp_path / "images")]) == set()  # not ICDAR's layout: nothing held back
