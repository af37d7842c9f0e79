"""``sclc eval``: real compress -> decompress of every image with every model and codec setting."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image

from sclc.data.boxes import find_box_file, mask_from_file, read_words
from sclc.data.folder import list_images
from sclc.errors import SclcError
from sclc.eval import metrics
from sclc.eval.codecs import ClassicCodec
from sclc.imageio import detect_mask, load_rgb

SCHEMA = "sclc-eval/2"  # 2: cer and cer_gt per image and setting, "ocr", text-region crops
READABLE_SCHEMAS = ("sclc-eval/1", SCHEMA)
PSNR_CAP = 100.0  # identical images have infinite PSNR; JSON has no infinity
POINT_KEYS = ("bpp", "psnr", "ms_ssim", "text_psnr", "cer", "cer_gt", "encode_s", "decode_s")
CROP_SIZE = (384, 192)  # width, height of the text-region crops kept for the HTML report


class DetectorMasks:
    """Detector masks of the image being evaluated, each computed once however many models ask
    for it; with ``cache_dir`` also kept on disk across runs (keyed by image hash and detector)."""

    def __init__(self, cache_dir: str | Path | None):
        self.cache_dir, self._image, self._masks = cache_dir, None, {}

    def __call__(self, rgb: np.ndarray, path: Path, name: str, params, module) -> np.ndarray:
        if path != self._image:
            self._image, self._masks = path, {}
        key = (name, repr(params))
        if key not in self._masks:
            self._masks[key] = self._compute(rgb, path, name, params, module)
        return self._masks[key]

    def _compute(self, rgb, path, name, params, module) -> np.ndarray:
        if self.cache_dir is not None:
            from sclc.data.mask_cache import MaskCache

            return MaskCache(self.cache_dir, name, params, module)(rgb, path)
        return detect_mask(module, rgb)


def _text_mask(path: Path, rgb: np.ndarray, box_dirs, detector,
               masks: DetectorMasks) -> tuple[np.ndarray | None, str]:
    box_file = find_box_file(path, box_dirs)
    if box_file is not None:
        return mask_from_file(box_file, *rgb.shape[:2]), "boxes"
    if detector is not None:
        name, params, module = detector
        return masks(rgb, path, name, params, module), f"detector:{name}"
    return None, "none"


def _codec_text_mask(path: Path, rgb: np.ndarray, model, masks: DetectorMasks):
    """The codec's own text-prior mask, from the cache (None: the codec runs its detector itself)."""
    if masks.cache_dir is None or not model.conditioned:
        return None
    import torch

    choice = model.spec.text_prior
    return torch.from_numpy(masks(rgb, path, choice.name, choice.params, model.text_prior)).float()[None, None]


def _measure(original, mask, encode, decode) -> tuple[dict, np.ndarray]:
    start = time.perf_counter()
    data = encode()
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = decode(data)
    decode_s = time.perf_counter() - start
    if decoded.shape != original.shape:
        raise SclcError(f"decoded shape {decoded.shape} differs from the original {original.shape}")
    cap = lambda v: None if v is None else min(v, PSNR_CAP)  # noqa: E731
    return {"bytes": len(data), "bpp": metrics.bits_per_pixel(len(data), *original.shape[:2]),
            "psnr": cap(metrics.psnr(original, decoded)), "ms_ssim": metrics.ms_ssim(original, decoded),
            "text_psnr": cap(metrics.psnr(original, decoded, mask)) if mask is not None else None,
            "encode_s": encode_s, "decode_s": decode_s}, decoded


class TextReading:
    """OCR of one image's original, against which its decoded versions are read (``--ocr``)."""

    def __init__(self, engine, rgb: np.ndarray, truth):
        from sclc import ocr

        self.engine, self.truth = engine, truth
        words = engine.read(rgb)
        self.text = ocr.text_of(words)
        self.read = [(w.box, w.text) for w in words]  # what was readable, where
        self.floor = ocr.word_cer(truth, words) if truth else None  # the metric's own floor on this image

    def score(self, decoded: np.ndarray) -> dict:
        """``cer``: the original's words against what is read in the same places of ``decoded``
        (word by word, so a page layout read in another order costs nothing); ``cer_gt``: the same
        against the ground-truth words."""
        from sclc import ocr

        words = self.engine.read(decoded)
        return {"cer": ocr.word_cer(self.read, words),
                "cer_gt": ocr.word_cer(self.truth, words) if self.truth else None}


def crop_box(mask: np.ndarray | None, height: int, width: int, size=CROP_SIZE) -> tuple[int, int, int, int]:
    """The ``size`` window (clipped to the image) holding the most text pixels, on a 16-pixel grid;
    the centre of the image without a mask. -> x0, y0, x1, y1 (exclusive)."""
    w, h = min(size[0], width), min(size[1], height)
    if mask is None or not mask.any():
        x0, y0 = (width - w) // 2, (height - h) // 2
        return x0, y0, x0 + w, y0 + h
    table = np.pad(mask.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, where = -1, (0, 0)
    for y0 in sorted({*range(0, height - h + 1, 16), height - h}):
        for x0 in sorted({*range(0, width - w + 1, 16), width - w}):
            count = table[y0 + h, x0 + w] - table[y0, x0 + w] - table[y0 + h, x0] + table[y0, x0]
            if count > best:
                best, where = count, (x0, y0)
    return where[0], where[1], where[0] + w, where[1] + h


def png_base64(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _mean(rows: list[dict]) -> dict:
    """The mean of every numeric metric the rows hold (None where no image has it); names, sizes
    and embedded crops are not metrics."""
    def numeric(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    out = {}
    for key in dict.fromkeys(k for r in rows for k, v in r.items()
                             if k not in ("image", "bytes") and (v is None or numeric(v))):
        values = [r[key] for r in rows if numeric(r.get(key))]
        out[key] = float(np.mean(values)) if values else None
    return out


def evaluate(data_dir: str | Path, models: list[tuple[str, object]], codecs: list[ClassicCodec],
             box_dirs: tuple[Path, ...] = (), detector=None, limit: int | None = None,
             progress: bool = True, mask_cache: str | Path | None = None, ocr_engine=None,
             crops: int = 0) -> dict:
    """``models``: (curve label, LoadedModel); ``detector``: (name, params, module) for images without boxes.

    ``mask_cache``: a folder where detector masks (the codecs' text priors and the metric's) are
    computed once per image and reused; the codecs' ``encode_s`` then excludes their detector.
    ``ocr_engine``: an engine of :mod:`sclc.ocr`; each decoded image's ``cer`` against the
    original's text, and ``cer_gt`` against the box file's words where it has them.
    ``crops``: keep the text-region crop (PNG) of the first ``crops`` images for every setting.
    """
    from sclc.codec import decompress, encode

    paths = list_images(Path(data_dir))[:limit]
    if not paths:
        raise SclcError(f"no images under {data_dir}")
    jobs = [("learned", label, loaded.setting, loaded) for label, loaded in models]
    jobs += [("classic", codec.name, s, codec) for codec in codecs for s in codec.settings]
    points = {(kind, curve, str(setting)): [] for kind, curve, setting, _ in jobs}
    sources = {}
    masks = DetectorMasks(mask_cache)
    floors, kept_crops = {}, {}
    bar = _progress(len(paths) * len(jobs), progress)
    for number, path in enumerate(paths):
        rgb = load_rgb(path)
        mask, sources[path.name] = _text_mask(path, rgb, box_dirs, detector, masks)
        reading = None
        if ocr_engine is not None:
            box_file = find_box_file(path, box_dirs)
            reading = TextReading(ocr_engine, rgb, read_words(box_file) if box_file else None)
            floors[path.name] = {"cer_gt": reading.floor, "characters": len(" ".join(reading.text.split()))}
        box = crop_box(mask, *rgb.shape[:2]) if number < crops else None
        if box is not None:
            kept_crops[path.name] = {"box": list(box), "original": png_base64(rgb[box[1]:box[3], box[0]:box[2]])}
        for kind, curve, setting, job in jobs:
            if kind == "learned":
                prior_mask = _codec_text_mask(path, rgb, job.model, masks)
                row, decoded = _measure(rgb, mask, lambda: encode(Image.fromarray(rgb), job, prior_mask).data,
                                        lambda data: np.asarray(decompress(data, job).convert("RGB")))
            else:
                row, decoded = _measure(rgb, mask, lambda: job.encode(rgb, setting), job.decode)
            row.update(reading.score(decoded) if reading else {"cer": None, "cer_gt": None})
            if box is not None:
                row["crop"] = png_base64(decoded[box[1]:box[3], box[0]:box[2]])
            points[(kind, curve, str(setting))].append({"image": path.name, **row})
            bar.update(1)
    bar.close()
    settings = {(k, c, str(s)): s for k, c, s, _ in jobs}
    return {
        "schema": SCHEMA,
        "data_dir": str(data_dir),
        "images": [p.name for p in paths],
        "text_mask_source": sources,
        "cached_text_priors": mask_cache is not None,
        "ocr": None if ocr_engine is None else {"engine": ocr_engine.name, "version": ocr_engine.version,
                                                "originals": floors},
        "crops": kept_crops,
        "points": [{"curve": curve, "kind": kind, "setting": settings[(kind, curve, key)], "mean": _mean(rows),
                    "images": rows} for (kind, curve, key), rows in points.items()],
    }


QUALITIES = (1, 2, 3, 4, 5, 6, 7, 8)  # where variable-rate models are evaluated by default


def models_to_evaluate(values: list[str], qualities=QUALITIES, text_quality: float = 0.0,
                       refine_steps: int = 0) -> list[tuple[str, object]]:
    """``--model PATH`` or ``--model LABEL=PATH`` -> (label, loaded model) points; points with one
    label form one RD curve: a variable-rate model gives one point per quality. ``refine_steps``:
    encoder-side refinement of every model (variable-rate ones only can)."""
    from sclc.resolve import load_model

    out = []
    for value in values:
        label, _, path = value.partition("=")
        if not path or Path(value).exists():
            label, path = "", value
        loaded = load_model(path)
        label = label or loaded.model.spec.name
        if loaded.model.rate is None:
            out.append((label, loaded.refined(refine_steps)))  # refuses refinement: no lambda map to optimise
        else:
            out += [(label, loaded.at_quality(q, text_quality).refined(refine_steps)) for q in qualities]
    return out


def read_results(path: str | Path) -> dict:
    """A results file written by :func:`evaluate`, checked to be one."""
    import json

    try:
        with open(path, encoding="utf-8") as file:
            results = json.load(file)
    except (OSError, ValueError) as exc:
        raise SclcError(f"cannot read results {path}: {exc}") from None
    if not isinstance(results, dict) or results.get("schema") not in READABLE_SCHEMAS:
        raise SclcError(f"{path} is not an sclc eval results file (schema {' or '.join(READABLE_SCHEMAS)})")
    problem = _points_problem(results.get("points"))
    if problem:
        raise SclcError(f"{path}: {problem}")
    return results


def _points_problem(points) -> str | None:
    """What is wrong with a results file's points, or None: each needs a curve name, a setting and
    mean metrics that are numbers (a metric nobody measured is null)."""
    if not isinstance(points, list):
        return "no list of points"
    for i, point in enumerate(points):
        if not isinstance(point, dict) or not isinstance(point.get("curve"), str) or "setting" not in point:
            return f"point {i} needs a curve name and a setting"
        mean = point.get("mean")
        if not isinstance(mean, dict) or not isinstance(mean.get("bpp"), (int, float)):
            return f"point {i} ({point['curve']}) has no mean bpp"
        bad = [k for k, v in mean.items() if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)))]
        if bad:
            return f"point {i} ({point['curve']}): mean {bad[0]} is not a number"
    return None


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="code", desc="eval", leave=False)
