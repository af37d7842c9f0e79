#!/bin/bash
# After examples/zoo/train_wide.sh: export, measure on ship.py's 17 crops (real bitstreams, q1..8),
# and BD-rates against the shipped pair, JPEG and WebP.  examples/zoo/eval_wide.sh [ITERATION]
cd "$(dirname "$0")/../.."
it=${1:-1000}
for m in sci wacnn; do .venv/bin/python -m sclc export work_dirs/wide/$m/iter_$it.pth work_dirs/wide/${m}_x2_r1.pt --half; done
for m in sci wacnn; do
  OMP_NUM_THREADS=1 .venv/bin/python examples/zoo/measure.py $m=work_dirs/wide/${m}_x2_r1.pt --every 4 --offset 0 \
    --out work_dirs/wide/eval_$m > work_dirs/wide/eval_$m.log 2>&1 &
done
wait
mkdir -p work_dirs/wide/eval17
ln -sfn ../eval_sci/dev512_offset0 work_dirs/wide/eval17/dev512_offset0
.venv/bin/python - <<'PY'
import json
a = json.load(open("work_dirs/wide/eval_sci/ship.json")); b = json.load(open("work_dirs/wide/eval_wacnn/ship.json"))
a["points"] += b["points"]
json.dump(a, open("work_dirs/wide/eval17/ship.json", "w"), indent=1)
for p in a["points"]:
    print(p["curve"], p["setting"], {k: round(v, 4) for k, v in p["mean"].items() if k in ("bpp", "psnr", "text_psnr", "ms_ssim")})
PY
.venv/bin/python examples/zoo/bd_fine.py --work work_dirs/wide/eval17 --crops dev512_offset0 \
  --against work_dirs/zoo/ship.json --classic work_dirs/grid_cos/eval/sci_dev/classic.json
