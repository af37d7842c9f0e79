#!/usr/bin/env bash
# Everything one device call does (tools/gpu/README.md): install what the device lacks from the
# carried wheels, run the CUDA smoke tests, print training img/s at the tiny, shipped and full
# sizes, train three variable-rate models side by side (tools/gpu/README.md) for what is left of
# SCLC_GPU_BUDGET_S (default 560 s: the command's own time, less a reserve for validation and
# export; SCLC_GPU_TRAIN_MINUTES fixes the minutes instead) and leave the codecs and the log
# under $OUT.
#   on the device:  bash tools/gpu/run.sh          (carry: .whl .gpu_pack)
#   dry run on CPU: SCLC_GPU_DRY_RUN=1 OUT=/tmp/gpu PYTHON=.venv/bin/python bash tools/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder for results}"
DRY=${SCLC_GPU_DRY_RUN:-0}
BUDGET_S=${SCLC_GPU_BUDGET_S:-560}
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
         --set train.val_interval=3 --set train.checkpoint_interval=3 --set train.amp='"off"')
else
  DEVICE=cuda
  BENCH=(--device cuda --batch 16 --crop 256 --steps 10 --warmup 3)
  # the crops travel as one tar (per-file overhead of ~13,700 small files would pass the 64 MiB limit)
  [ -d .gpu_data ] || tar -xzf .gpu_pack/gpu_data.tgz || exit 3
  say "install carried wheels and sclc into /tmp/site"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
  $PY -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site . || exit 3
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
fi
$PY -c "import torch, compressai, mmengine, sclc; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

say "CUDA smoke tests"
$PY -m pytest -p no:cacheprovider tests/test_cuda.py 2>&1 | grep -E "passed|failed|skipped|error" | tail -n 3  # no -q: pyproject adds one, and -qq drops the count

say "training throughput (img/s) at three sizes"
FULL=(--set backbone.N=192 --set backbone.M=320 --set backbone.num_slices=10 --set backbone.max_support_slices=5
      --set backbone.num_heads=8 --set backbone.prior_channels=32 --set block.hidden=64)
{
  $PY benchmarks/train_step.py examples/specs/tiny.toml --modes fp32 bf16 "${BENCH[@]}"
  $PY benchmarks/train_step.py examples/zoo/sci.toml --modes fp32 bf16 "${BENCH[@]}"
  [ "$DRY" = 1 ] || $PY benchmarks/train_step.py examples/zoo/sci.toml "${FULL[@]}" --modes bf16 "${BENCH[@]}"
} 2>&1 | grep -v Warning | tee "$OUT/throughput.txt"

# Three runs share the GPU (a step costs about the same at every size: it is bound by kernel
# launches): the shipped pair `sci` and `wacnn` grown twice as wide (`sclc widen`: N 96, M 128,
# the same output to start with) and continued on the same crops for the same minutes, and `sci`
# continued at its own size, the control that says whether the width pays or only the training.
# Each exports, float16, to $OUT/NAME.pt; a file over 15 MiB comes back in parts (a returned file
# may have 16 MiB; `cat NAME.pt.part-* > NAME.pt`); the logs are summarised into gpu.log (a
# call returns at most 8 files).
source tools/gpu/gpu_data.sh  # GPU_DATA: the packed crops, batch 16 x 256^2
train() {  # NAME SPEC ARGS...: train in the background, log to /tmp/sclc_gpu/NAME.train.log
  local name=$1 spec=$2; shift 2
  rm -rf "/tmp/sclc_gpu/$name"; mkdir -p /tmp/sclc_gpu
  $PY -m sclc train "$spec" --work-dir "/tmp/sclc_gpu/$name" --device "$DEVICE" "$@" "${TRAIN[@]}" \
    >"/tmp/sclc_gpu/$name.train.log" 2>&1 &
  pids+=($!)
}
export_newest() {  # NAME: export the newest checkpoint of NAME to $OUT/NAME.pt (in parts if large)
  local name=$1 newest
  newest=$(ls "/tmp/sclc_gpu/$name"/iter_*.pth 2>/dev/null | sort -t_ -k2 -n | tail -n 1)
  if [ -z "$newest" ]; then say "$name: no checkpoint was written"; return 1; fi
  $PY -m sclc export "$newest" "$OUT/$name.pt" --half || return 1
  if [ "$(stat -c %s "$OUT/$name.pt")" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15M "$OUT/$name.pt" "$OUT/$name.pt.part-" && rm "$OUT/$name.pt"
  fi
  say "done: $name $(basename "$newest") -> $OUT/$name.pt"
}
if [ "$DRY" != 1 ]; then
  # 90 s reserve: the Runner's start before its clock, the last validation, the exports
  MINUTES=${SCLC_GPU_TRAIN_MINUTES:-$(awk -v b="$BUDGET_S" -v s="$SECONDS" 'BEGIN {m = (b - s - 90) / 60; printf "%.2f", (m < 1 ? 1 : m)}')}
  TRAIN=(--set "train.max_minutes=$MINUTES")
fi
# Every run ends in a cosine decay from 1e-4 to 1e-6 over its minutes (a constant rate leaves a
# model at the noise of its last steps; RESULTS_HISTORY.md, round 5).
DECAY=(--set 'train.lr_schedule="cosine"' --set train.lr=1e-4 --set train.min_lr=1e-6)
WIDE=(--set backbone.N=96 --set backbone.M=128 --set backbone.num_heads=8 --set backbone.num_slices=8
      --set backbone.z_channels=48)  # what `sclc widen --factor 2` prints for the shipped pair
RUNS=(sci_x2 wacnn_x2 sci)
say "train ${RUNS[*]} on $DEVICE${MINUTES:+ for $MINUTES min}"
mkdir -p /tmp/sclc_gpu
pids=()
for run in "${RUNS[@]}"; do
  name=${run%_x2}
  masks=(); [ "$DRY" != 1 ] && [ "$name" = sci ] && masks=(--set 'train.masks="boxes"')  # EAST masks packed beside the crops
  start="sclc/pretrained/$name.pt" width=()
  if [ "$run" != "$name" ]; then
    start="/tmp/sclc_gpu/$run.start.pt" width=("${WIDE[@]}")
    $PY -m sclc widen "$name" "$start" --factor 2 >"/tmp/sclc_gpu/$run.widen.log" || exit 3
    head -n 1 "/tmp/sclc_gpu/$run.widen.log"
  fi
  train "$run" "examples/zoo/$name.toml" "${GPU_DATA[@]}" "${masks[@]}" "${width[@]}" \
    --set "train.init_from=\"$start\"" "${DECAY[@]}"
done
wait "${pids[@]}"  # not a bare wait: that would also wait for the tee behind gpu.log
for run in "${RUNS[@]}"; do
  say "$run"
  grep -E "Iter\(|time budget|COLLAPSE|Error|error" "/tmp/sclc_gpu/$run.train.log" | cut -c1-400
done
pids=()
for run in "${RUNS[@]}"; do export_newest "$run" & pids+=($!); done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=4; done
say "finished after $SECONDS s"
exit $status
