#!/usr/bin/env bash
# Grow a shipped zoo model twice as wide (`sclc widen`: same output, new channels at zero) and
# train it on the packed crops, one thread, cosine decay; resumable (rerun the same command).
#   examples/zoo/train_wide.sh NAME ITERATIONS WORK_DIR [ARGS...]   e.g. sci 1000 work_dirs/wide/sci
# Start from a later wide codec instead of the shipped model with FROM=path/to/wide.pt.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 iterations=$2 work=$3
shift 3
python=${PYTHON:-python}
mkdir -p "$work"
start=${FROM:-$work/start_x2.pt}
[ -f "$start" ] || OMP_NUM_THREADS=1 "$python" -m sclc widen "$name" "$start" --factor 2
wide=(--set backbone.N=96 --set backbone.M=128 --set backbone.num_heads=8 --set backbone.num_slices=8
      --set backbone.z_channels=48)
THREADS=${THREADS:-1} PYTHON=$python exec tools/gpu/same_on_cpu.sh "$name" "$iterations" "$work" "${wide[@]}" \
  --set "train.init_from=\"$start\"" --set train.batch_size=8 --set train.workers=0 \
  --set 'train.lr_schedule="cosine"' --set train.lr=${LR:-1e-4} --set train.min_lr=1e-6 \
  --set train.log_interval=25 --set train.checkpoint_interval=100 "$@"
