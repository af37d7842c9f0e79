from pathlib import Path

import pytest
import torch
from hypothesis import settings

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


def write(tmp_path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
