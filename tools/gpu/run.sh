#!/usr/bin/env bash
# Everything one device call does (tools/gpu/README.md): install what the device lacks from the
# carried wheels, run the CUDA smoke tests, print training img/s at the tiny, shipped and full
# sizes, train the variable-rate model at GPU size for SCLC_GPU_TRAIN_MINUTES (default 7) and
# leave its codec checkpoint, log and learning curve under $OUT.
#   on the device:  bash tools/gpu/run.sh          (carry: .whl .gpu_data)
#   dry run on CPU: SCLC_GPU_DRY_RUN=1 OUT=/tmp/gpu PYTHON=.venv/bin/python bash tools/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder for results}"
DRY=${SCLC_GPU_DRY_RUN:-0}
MINUTES=${SCLC_GPU_TRAIN_MINUTES:-7}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu.log") 2>&1
say() { echo "== $(date +%T) $*"; }
export PYTHONUNBUFFERED=1

if [ "$DRY" = 1 ]; then
  DEVICE=cpu
  BENCH=(--device cpu --batch 2 --crop 64 --steps 1 --warmup 1)
  TRAIN=(--set 'train.data=[]' --set 'train.val_data=[]' --set train.max_iters=3 --set train.crop=64
         --set train.batch_size=2 --set train.val_crop=64 --set train.val_images=2 --set train.workers=0
         --set train.val_interval=3 --set train.checkpoint_interval=3 --set train.amp='"off"'
         --set backbone.N=16 --set backbone.M=16 --set backbone.num_heads=4)
else
  DEVICE=cuda
  BENCH=(--device cuda --batch 16 --crop 256 --steps 10 --warmup 3)
  TRAIN=(--set "train.max_minutes=$MINUTES")
  say "install carried wheels and sclc into /tmp/site"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
  $PY -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site . || exit 3
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
fi
$PY -c "import torch, compressai, mmengine, sclc; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

say "CUDA smoke tests"
$PY -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tail -n 3

say "training throughput (img/s) at three sizes"
FULL=(--set backbone.N=192 --set backbone.M=320 --set backbone.num_slices=10 --set backbone.max_support_slices=5
      --set backbone.num_heads=8 --set backbone.prior_channels=32 --set block.hidden=64)
{
  $PY benchmarks/train_step.py examples/specs/tiny.toml --modes fp32 bf16 "${BENCH[@]}"
  $PY benchmarks/train_step.py examples/zoo/sci.toml --modes fp32 bf16 "${BENCH[@]}"
  [ "$DRY" = 1 ] || $PY benchmarks/train_step.py examples/zoo/sci.toml "${FULL[@]}" --modes bf16 "${BENCH[@]}"
} 2>&1 | grep -v Warning | tee "$OUT/throughput.txt"

say "train examples/zoo/sci_gpu.toml on $DEVICE"
WORK=/tmp/sclc_gpu_run
rm -rf "$WORK"
$PY -m sclc train examples/zoo/sci_gpu.toml --work-dir "$WORK" --device "$DEVICE" "${TRAIN[@]}" 2>&1 \
  | grep -E "Iter\(|time budget|COLLAPSE|Error|error" | cut -c1-400
newest=$(ls "$WORK"/iter_*.pth 2>/dev/null | sort -t_ -k2 -n | tail -n 1)
if [ -z "$newest" ]; then say "no checkpoint was written"; exit 4; fi
$PY -m sclc export "$newest" "$OUT/sci_gpu.pt" --half
cp "$WORK"/*/vis_data/scalars.json "$OUT/scalars.json" 2>/dev/null
say "done: $(basename "$newest") -> $OUT/sci_gpu.pt"
