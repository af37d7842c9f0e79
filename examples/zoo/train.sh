#!/usr/bin/env bash
# Train (or continue) the shipped variable-rate models `sci` and `wacnn`: same data, size and
# budget, one thread each (two 1-thread jobs beat one 2-thread job on 2 cores). Resumable: run it
# again and each continues from the newest checkpoint in its work dir; on a machine without that
# work dir, each starts from its shipped weights (sclc/pretrained/NAME.pt, float16; Adam restarts).
#   examples/zoo/train.sh [WORK=work_dirs/zoo] [--device cuda]
# Continuing the shipped weights at this constant rate on 128^2 crops made them worse (RESULTS.md,
# issue #13's grid); round 5 finished them with a decay on 256^2 crops instead (MODEL_CARD.md):
#   THREADS=1 tools/gpu/same_on_cpu.sh sci 2400 work_dirs/decay/sci --set train.batch_size=8 \
#     --set train.workers=0 --set 'train.lr_schedule="cosine"' --set train.lr=1e-4 --set train.min_lr=1e-6
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-work_dirs/zoo}
shift || true
mkdir -p "$work/logs"
for name in sci wacnn; do
  resume=()
  if ls "$work/$name"/iter_*.pth >/dev/null 2>&1; then
    resume=(--resume)
  elif [ -f "sclc/pretrained/$name.pt" ]; then
    resume=(--set "train.init_from=\"sclc/pretrained/$name.pt\"")
  fi
  OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 nohup python -m sclc train "examples/zoo/$name.toml" \
    --work-dir "$work/$name" "${resume[@]}" "$@" >>"$work/logs/$name.log" 2>&1 &
  echo "$name: pid $! log $work/logs/$name.log"
done
