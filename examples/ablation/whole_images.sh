#!/bin/bash
# Whole-image evaluation of an ablation grid's seed-0 variants and the seed-1 noise runs (issue 13): the 9 sci/dev images
# at every 8th position from offset 1 (held out of ship.py's every-4th crops), real bitstreams at
# qualities 1, 3, 5 and 8, one thread; then the classic codecs (grid.py's settings). Resumable: a
# variant with its json is skipped.
#   examples/ablation/whole_images.sh work_dirs/grid_r10      then: grid.py report --tag whole
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:?usage: whole_images.sh GRID_WORK_DIR}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
images=$work/whole8 out=$work/eval/whole
mkdir -p "$images" "$out"
.venv/bin/python - "$images" <<'PY'
import sys
from pathlib import Path
from sclc.data.folder import list_images
dev = Path("../shared/data/sci/dev").resolve()
for image in list_images(dev)[1::8]:
    link = Path(sys.argv[1]) / image.name
    if not link.exists():
        link.symlink_to(image)
PY
for v in wacnn_s0 full_s0 no_text_s0 mse_s0 no_structural_s0 sft_cb_s0 nesft_fresh_s0 wacnn_s1 full_s1; do
  [ -f "$out/$v.json" ] || [ ! -f "$work/models/$v.pt" ] && continue
  .venv/bin/sclc eval "$images" --model "$v=$work/models/$v.pt" --qualities 1 3 5 8 \
    --box-dir ../shared/data/textdet/slides/words --box-dir ../shared/data/textdet/docbank/tokens \
    --out "$out/$v.json" > "$out/$v.log" 2>&1
done
boxes=(--box-dir ../shared/data/textdet/slides/words --box-dir ../shared/data/textdet/docbank/tokens)
[ -f "$out/classic.json" ] || .venv/bin/python examples/ablation/grid.py _eval classic --work "$work" \
  --data "$images" --out "$out/classic.json" "${boxes[@]}" > "$out/classic.log" 2>&1
