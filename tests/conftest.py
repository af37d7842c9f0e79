from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings
from PIL import Image, ImageDraw

from sclc.registry import default_registry

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "examples" / "specs"

settings.register_profile("sclc", max_examples=12, deadline=None, derandomize=True)
settings.load_profile("sclc")
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def registry():
    return default_registry()


# The smallest full-method model the tests train and code with (conditioned WACNN, WMSE).
TINY_SPEC = """name = "{name}"
seed = {seed}
[backbone]
name = "wacnn"
N = 16
M = 20
num_slices = 5
max_support_slices = 2
num_heads = 4
prior_channels = 4
[text_prior]
name = "none"
[block]
name = "nesft"
hidden = 8
[loss]
name = "wmse"
lmbda = 0.01
"""


CODEC_SPEC = TINY_SPEC.replace("{name}", "codec-test")  # with {seed} to fill in


def screenshot(width=160, height=96, seed=0) -> Image.Image:
    """A small synthetic screen: coloured boxes and a line of code."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 10)), int(rng.integers(0, height - 10))
        draw.rectangle([x0, y0, x0 + int(rng.integers(5, 60)), y0 + int(rng.integers(5, 30))],
                       fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    draw.text((4, height // 2), "def f(x): return x", fill="black")
    return image


@pytest.fixture(scope="session")
def spec_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "codec.toml"
    path.write_text(CODEC_SPEC.format(seed=0))
    return path


@pytest.fixture(scope="session")
def loaded(spec_path):
    from sclc.resolve import load_model

    return load_model(spec_path)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, spec_path):
    """A tiny model after a few real optimisation steps, saved as a codec checkpoint."""
    from sclc.builder import build_loss
    from sclc.checkpoint import save_checkpoint
    from sclc.imageio import prepare_image
    from sclc.resolve import load_model

    model = load_model(spec_path).model.train()
    loss = build_loss(model.spec)
    torch.manual_seed(0)
    x = torch.stack([prepare_image(screenshot(64, 64, s)).tensor[0] for s in range(4)])
    params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    optimizer = torch.optim.Adam(params, lr=2e-3)
    mask = torch.zeros_like(x[:, :1])
    for _ in range(15):
        optimizer.zero_grad()
        loss(model(x, mask), x, mask)["loss"].backward()
        optimizer.step()
    path = tmp_path_factory.mktemp("ckpt") / "trained.pt"
    save_checkpoint(model.eval(), path)
    return path


def write(tmp_path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
