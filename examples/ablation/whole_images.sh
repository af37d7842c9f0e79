#!/bin/bash
# Whole-image evaluation of the ablation grid's seed-0 variants (issue 13): 9 held-out sci/dev images.
# Needs work_dirs/s11/whole8: links to every 8th sci/dev image from offset 1 (sclc.data.folder.list_images order).
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for v in wacnn_s0 full_s0 no_text_s0 mse_s0 no_structural_s0 sft_cb_s0; do
  out=work_dirs/s12/whole_$v.json
  [ -f $out ] && continue
  .venv/bin/sclc eval work_dirs/s11/whole8 --model $v=work_dirs/grid_cos/models/$v.pt --qualities 1 3 5 8 \
    --box-dir ../shared/data/textdet/slides/words --box-dir ../shared/data/textdet/docbank/tokens \
    --out $out > work_dirs/s12/whole_$v.log 2>&1
done
