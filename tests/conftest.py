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


def write(tmp_path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
