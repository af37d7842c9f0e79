"""CUDA smoke tests: skipped without a GPU; tools/gpu/run.sh runs them on a lent device."""

import math

import pytest
import torch

from sclc.builder import build_loss, build_model
from sclc.spec import load_spec
from sclc.train.model import TrainableCodec

from conftest import TINY_SPEC, write

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

VR = "[variable_rate]\nlmbda_min = 0.0001\nlmbda_max = 0.08\n"


def test_bf16_training_step_on_cuda_keeps_likelihoods_in_float32(tmp_path):
    spec = load_spec(write(tmp_path, TINY_SPEC.format(name="cuda", seed=0) + VR))
    model = TrainableCodec(build_model(spec), build_loss(spec), amp="bf16").cuda().train()
    x = torch.rand(2, 3, 64, 64, device="cuda")
    mask, q = torch.zeros(2, 1, 64, 64, device="cuda"), torch.rand(2, 1, 64, 64, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model.codec(x, mask, q)
    assert all(lik.dtype == torch.float32 for lik in out["likelihoods"].values())
    terms = model(x, mask, q)
    (terms["loss"] + terms["aux_loss"]).backward()
    assert math.isfinite(float(terms["loss"]))
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


def test_training_runs_on_cuda_through_the_runner(tmp_path):
    from sclc.train.runner import build_runner

    spec = load_spec(write(tmp_path, TINY_SPEC.format(name="cuda-run", seed=0) + VR + """[train]
crop = 64
batch_size = 2
val_crop = 64
val_images = 2
max_iters = 3
val_interval = 3
checkpoint_interval = 3
amp = "bf16"
"""))
    runner = build_runner(spec, tmp_path / "run", device="cuda")
    runner.train()
    assert (tmp_path / "run" / "iter_3.pth").exists()
    assert next(runner.model.parameters()).is_cuda
