"""The one-shot device script, dry-run on CPU with tiny settings: every step runs and it leaves
loadable variable-rate checkpoints (the widened pair and the control) and throughput figures under $OUT."""

import os
import subprocess
import sys

from sclc.checkpoint import load_checkpoint

from conftest import ROOT


def test_gpu_script_dry_run_leaves_a_checkpoint_and_throughput(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "out"), "SCLC_GPU_DRY_RUN": "1", "PYTHON": sys.executable,
           "OMP_NUM_THREADS": "2"}
    result = subprocess.run(["bash", str(ROOT / "tools" / "gpu" / "run.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = tmp_path / "out"
    throughput = (out / "throughput.txt").read_text()
    assert throughput.count("img/s") == 4  # tiny and shipped sizes, fp32 and bf16
    for run, name, N in (("sci_x2", "sci", 96), ("wacnn_x2", "wacnn", 96), ("sci", "sci", 48)):
        parts = sorted(out.glob(f"{run}.pt.part-*"))  # a file over 15 MiB comes back in parts
        assert bool(parts) == (N == 96)
        if parts:
            (out / f"{run}.pt").write_bytes(b"".join(p.read_bytes() for p in parts))
        model = load_checkpoint(out / f"{run}.pt")
        assert model.rate is not None and model.spec.name == name and model.spec.backbone.params.N == N
        assert f"done: {run} iter_3.pth" in (out / "gpu.log").read_text()
