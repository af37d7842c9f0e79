import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from sclc.checkpoint import export_checkpoint, load_checkpoint, save_checkpoint
from sclc.spec import load_spec
from sclc.train.runner import build_runner

from conftest import ROOT, TINY_SPEC, write

SPEC = TINY_SPEC.format(name="train-test", seed=0) + """[train]
crop = 64
batch_size = 2
lr = 1e-3
val_crop = 64
val_images = 2
log_interval = 1
synthetic_images = 50
device = "cpu"
"""


@pytest.fixture
def spec_file(tmp_path):
    return write(tmp_path, SPEC)


def _train(spec_file, work_dir, *overrides, resume=False):
    spec = load_spec(spec_file, list(overrides))
    runner = build_runner(spec, work_dir, resume=resume)
    runner.train()
    return runner


def test_a_few_cpu_iterations_reduce_the_loss_and_checkpoints_keep_the_spec(spec_file, tmp_path):
    runner = _train(spec_file, tmp_path / "run", "train.max_iters=40", "train.val_interval=40",
                    "train.checkpoint_interval=40")
    losses = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(losses) == 40
    assert losses[-5:].mean() < 0.8 * losses[:5].mean()
    logged = runner.message_hub.log_scalars
    assert "val/val/psnr" in logged and "val/val/bpp" in logged  # the runner prefixes the metric's "val/"
    checkpoint = torch.load(tmp_path / "run" / "iter_40.pth", weights_only=True)
    assert checkpoint["meta"]["sclc_spec"]["name"] == "train-test"
    codec = export_checkpoint(tmp_path / "run" / "iter_40.pth", tmp_path / "codec.pt")
    trained = dict(runner.model.codec.named_parameters())
    for key, value in codec.named_parameters():
        torch.testing.assert_close(value, trained[key], rtol=0, atol=0)


def test_bf16_autocast_training_runs(spec_file, tmp_path):
    runner = _train(spec_file, tmp_path / "amp", "train.max_iters=2", "train.val_interval=100",
                    "train.checkpoint_interval=100", "train.amp=\"bf16\"")
    losses = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(losses) == 2 and all(map(math.isfinite, losses))


def test_stage_two_starts_from_init_from(spec_file, tmp_path):
    stage1 = _train(spec_file, tmp_path / "s1", "train.max_iters=3", "train.val_interval=100",
                    "train.checkpoint_interval=3")
    save_checkpoint(stage1.model.codec, tmp_path / "stage1.pt")
    spec = load_spec(spec_file, [f"train.init_from={str(tmp_path / 'stage1.pt')!r}".replace("'", '"')])
    stage2 = build_runner(spec, tmp_path / "s2")
    started = stage2.model.codec.state_dict()
    for key, value in load_checkpoint(tmp_path / "stage1.pt").state_dict().items():
        torch.testing.assert_close(started[key], value, rtol=0, atol=0)
    # and from the raw training checkpoint too
    spec = load_spec(spec_file, [f'train.init_from="{tmp_path / "s1" / "iter_3.pth"}"'])
    from_training = build_runner(spec, tmp_path / "s3").model.codec.state_dict()
    torch.testing.assert_close(from_training["backbone.g_a.0.weight"],
                               stage1.model.codec.state_dict()["backbone.g_a.0.weight"])


def test_a_conditioned_model_starts_from_a_plain_backbone_as_that_backbone(spec_file, tmp_path):
    from sclc.builder import build_model
    from sclc.train.init import init_weights
    from sclc.errors import SclcError
    from sclc.registry import default_registry

    plain_spec = write(tmp_path, SPEC.replace('name = "nesft"\nhidden = 8', 'name = "none"'), "plain.toml")
    plain = build_model(load_spec(plain_spec), default_registry()).eval()
    guided = build_model(load_spec(spec_file), default_registry()).eval()
    fresh = init_weights(guided, plain.state_dict(), "plain.pt")
    assert fresh and all(k.startswith(("backbone.prior_", "backbone.cond_")) for k in fresh)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():  # SEM starts as the identity, so the guided model is the plain one
        torch.testing.assert_close(guided(x, torch.ones(1, 1, 64, 64))["x_hat"], plain(x)["x_hat"])
    wider = build_model(load_spec(spec_file, ["backbone.N=24"]), default_registry())
    with pytest.raises(SclcError, match="weights do not fit .*other shape"):
        init_weights(guided, wider.state_dict(), "wide.pt")


def test_another_block_design_starts_fresh_from_the_same_backbone(spec_file, tmp_path):
    from sclc.builder import build_model
    from sclc.train.init import init_weights
    from sclc.registry import default_registry

    nesft = build_model(load_spec(spec_file), default_registry())
    sft_cb = build_model(load_spec(spec_file, ['block.name="sft_cb"']), default_registry())
    fresh = init_weights(sft_cb, nesft.state_dict(), "nesft.pt")
    assert any(k.startswith("backbone.cond_") for k in fresh)
    assert not any("fem" in k for k in sft_cb.state_dict())  # NESFT's tensors were dropped
    source = nesft.state_dict()
    for key, value in sft_cb.state_dict().items():
        if key not in fresh and not key.endswith(("_quantized_cdf", "_offset", "_cdf_length", "scale_table")):
            torch.testing.assert_close(value, source[key], rtol=0, atol=0)
    # the same block design can be asked to start fresh too, for a like-for-like comparison
    trained = {k: v + 1 if k.startswith("backbone.cond_") else v for k, v in source.items()}
    again = build_model(load_spec(spec_file), default_registry())
    before = {k: v.clone() for k, v in again.state_dict().items()}
    fresh = init_weights(again, trained, "nesft.pt", fresh_blocks=True)
    assert fresh and all(k.startswith("backbone.cond_") for k in fresh)
    for key, value in again.state_dict().items():
        expected = before[key] if key in fresh else trained[key]
        if not key.endswith(("_quantized_cdf", "_offset", "_cdf_length", "scale_table")):
            torch.testing.assert_close(value, expected, rtol=0, atol=0)


def test_encoder_only_training_leaves_the_decoder_bit_for_bit(spec_file, tmp_path):
    stage1 = _train(spec_file, tmp_path / "s1", "train.max_iters=2", "train.val_interval=100",
                    "train.checkpoint_interval=100")
    save_checkpoint(stage1.model.codec, tmp_path / "stage1.pt")
    start = load_checkpoint(tmp_path / "stage1.pt")
    tuned = _train(spec_file, tmp_path / "enc", f'train.init_from="{tmp_path / "stage1.pt"}"', 'train.trainable="encoder"',
                   "train.max_iters=4", "train.val_interval=100", "train.checkpoint_interval=100").model.codec
    before, after = dict(start.named_parameters()), dict(tuned.named_parameters())
    encoder = ("backbone.g_a.", "backbone.h_a.", "backbone.prior_g_a.", "backbone.cond_g_a.", "backbone.cond_h_a.")
    moved = {name for name in after if not torch.equal(after[name], before[name])}
    assert moved and all(name.startswith(encoder) for name in moved)
    assert any(name.startswith("backbone.cond_g_a.") for name in moved)  # the encoder's SEM learns too
    assert not tuned.backbone.entropy_bottleneck.quantiles.requires_grad  # the z prior's range stays
    # A file the tuned encoder writes decodes the same with the original model's decoder.
    x = torch.rand(1, 3, 64, 64)
    tuned.update(force=True)
    tuned.eval()
    start.eval()
    coded = tuned.compress(x, torch.ones(1, 1, 64, 64))
    own = tuned.decompress(coded["strings"], coded["shape"], size=coded["size"])["x_hat"]
    original = start.decompress(coded["strings"], coded["shape"], size=coded["size"])["x_hat"]
    torch.testing.assert_close(original, own, rtol=0, atol=0)
    assert coded["strings"] != start.compress(x, torch.ones(1, 1, 64, 64))["strings"]  # a new encoder's file


def test_encoder_only_training_needs_a_trained_decoder(spec_file):
    from sclc.errors import SclcError

    with pytest.raises(SclcError, match="needs init_from"):
        load_spec(spec_file, ['train.trainable="encoder"'])


def test_cosine_schedule_ends_at_min_lr_and_resumes_on_its_curve(spec_file, tmp_path):
    cosine = ["train.lr_schedule=\"cosine\"", "train.min_lr=1e-5", "train.max_iters=6", "train.val_interval=100",
              "train.checkpoint_interval=3", "train.max_keep_checkpoints=5"]
    runner = _train(spec_file, tmp_path / "cos", *cosine)
    used = runner.message_hub.get_scalar("train/main.lr").data[0]  # the rate each step used
    expected = [1e-5 + (1e-3 - 1e-5) * (1 + math.cos(math.pi * i / 5)) / 2 for i in range(6)]
    assert list(used) == pytest.approx(expected, rel=1e-6)
    assert used[-1] == pytest.approx(1e-5, rel=1e-6)  # the last step trains at min_lr
    assert set(runner.message_hub.get_scalar("train/aux.lr").data[0]) == {1e-3}  # quantiles keep their rate
    # Resume from the middle: the schedule continues where it stopped, not from the top.
    half = tmp_path / "half"
    half.mkdir()
    (half / "iter_3.pth").write_bytes((tmp_path / "cos" / "iter_3.pth").read_bytes())
    (half / "last_checkpoint").write_text(str(half / "iter_3.pth"))
    resumed = _train(spec_file, half, *cosine, resume=True)
    assert list(resumed.message_hub.get_scalar("train/main.lr").data[0])[-3:] == pytest.approx(expected[3:], rel=1e-6)


def test_cosine_over_a_time_budget_decays_by_the_clock_when_that_ends_first():
    from sclc.train.lr_schedule import CosineLRHook

    hook = CosineLRHook(1e-3, 1e-5, max_iters=1000, minutes=1.0)
    hook.start = time.monotonic() - 30  # half of the minute spent, 1 % of the iterations
    assert hook.progress(10) == pytest.approx(0.5, abs=0.02)
    hook.start = time.monotonic() - 120
    assert hook.progress(10) == 1.0
    assert CosineLRHook(1e-3, 1e-5, max_iters=1000).progress(500) == pytest.approx(500 / 999)


def test_resume_starts_the_stream_where_it_stopped_without_loading_trained_batches(spec_file, tmp_path, monkeypatch):
    from sclc.data.stream import CropStream

    work = tmp_path / "run"
    overrides = ("train.checkpoint_interval=3", "train.val_interval=100")
    _train(spec_file, work, "train.max_iters=3", *overrides)
    loaded = []
    original = CropStream.__getitem__
    monkeypatch.setattr(CropStream, "__getitem__", lambda self, position: loaded.append(position) or original(self, position))
    _train(spec_file, work, "train.max_iters=5", *overrides, resume=True)
    assert loaded == list(range(6, 10))  # iterations 4 and 5, batch 2: positions 6..9, nothing before


TRAIN = [sys.executable, "-m", "sclc", "train"]
COMMON = ["--set", "train.max_iters=8", "--set", "train.checkpoint_interval=2", "--set", "train.val_interval=100"]


def _final_weights(work_dir):
    state = torch.load(work_dir / "iter_8.pth", weights_only=True)
    return state["state_dict"], state["optimizer"]


def test_resume_after_sigkill_matches_an_uninterrupted_run(spec_file, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen([*TRAIN, str(spec_file), "--work-dir", str(killed), *COMMON], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "iter_4.pth").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "iter_8.pth").exists(), "the run finished before it could be killed"
    subprocess.run([*TRAIN, str(spec_file), "--work-dir", str(killed), "--resume", *COMMON], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    straight = tmp_path / "straight"
    subprocess.run([*TRAIN, str(spec_file), "--work-dir", str(straight), *COMMON], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    resumed_weights, resumed_optim = _final_weights(killed)
    straight_weights, straight_optim = _final_weights(straight)
    for key in straight_weights:
        torch.testing.assert_close(resumed_weights[key], straight_weights[key], rtol=0, atol=0, msg=key)
    resumed_state = resumed_optim["main"]["state"]
    assert set(resumed_state) == set(straight_optim["main"]["state"])
    assert int(resumed_state[0]["step"]) == 8


DDP_SCRIPT = """
import sys, torch
from sclc.spec import load_spec
from sclc.train.runner import build_runner
spec = load_spec(sys.argv[1], ["train.max_iters=3", "train.val_interval=100", "train.checkpoint_interval=100"])
runner = build_runner(spec, sys.argv[2], launcher="pytorch")
runner.train()
rank = torch.distributed.get_rank()
torch.save(runner.model.module.codec.state_dict(), f"{sys.argv[2]}/rank{rank}.pt")
"""


def test_two_process_ddp_keeps_ranks_identical(spec_file, tmp_path):
    script = write(tmp_path, DDP_SCRIPT, "ddp.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                             "--master_port", "29517", str(script), str(spec_file), str(tmp_path / "ddp")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = torch.load(tmp_path / "ddp" / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "ddp" / "rank1.pt", weights_only=True)
    initial = load_spec(spec_file)
    from sclc.builder import build_model

    untrained = build_model(initial).state_dict()
    assert not torch.equal(rank0["backbone.g_a.0.weight"], untrained["backbone.g_a.0.weight"])  # it trained
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)
