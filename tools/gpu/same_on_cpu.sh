#!/usr/bin/env bash
# Give a zoo model on this CPU the training a device call gave another: the same packed crops,
# batch, seed and iterations, from its shipped weights (THREADS=2 threads, resumable). Further
# arguments go to `sclc train` (e.g. --set train.batch_size=8 --set 'train.lr_schedule="cosine"').
#   tools/gpu/same_on_cpu.sh NAME ITERATIONS WORK_DIR [ARGS...]   e.g. wacnn 1786 work_dirs/wacnn_eq/train
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 iterations=$2 work=$3
shift 3
source tools/gpu/gpu_data.sh
resume=(); ls "$work"/iter_*.pth >/dev/null 2>&1 && resume=(--resume)
masks=(); [ "$name" = sci ] && masks=(--set 'train.masks="boxes"')
OMP_NUM_THREADS=${THREADS:-2} PYTHONUNBUFFERED=1 exec "${PYTHON:-python}" -m sclc train "examples/zoo/$name.toml" \
  --work-dir "$work" --device cpu "${resume[@]}" "${GPU_DATA[@]}" "${masks[@]}" --set train.workers=1 \
  --set "train.init_from=\"sclc/pretrained/$name.pt\"" --set "train.max_iters=$iterations" "$@"
