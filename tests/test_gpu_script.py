"""The one-shot device script, dry-run on CPU with tiny settings: every step runs and it leaves a
loadable variable-rate checkpoint and throughput figures under $OUT."""

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
    for name, spec_name in (("sci_gpu", "sci-gpu"), ("sci", "sci"), ("wacnn", "wacnn")):
        model = load_checkpoint(out / f"{name}.pt")
        assert model.rate is not None and model.spec.name == spec_name
        assert f"done: {name} iter_3.pth" in (out / "gpu.log").read_text()
