#!/usr/bin/env bash
# Build the full mmcv 2.0.1 (compiled CPU ops) that the mmocr:* text priors need, into a wheel
# that pip caches, then install it with mmocr 1.0.1 and mmdet 3.1.0 (the `mmocr` extra).
#
#   tools/build_mmcv.sh [WHEEL_DIR]     # default work_dirs/wheels; about 20 min on 2 free cores
#
# mmcv 2.x ships only a source distribution on PyPI (OpenMMLab's prebuilt wheels stop at older
# torch releases), so its C++ ops compile against the installed torch. MAX_JOBS=1 and nice 19 keep
# it off other work's CPU; raise MAX_JOBS on a free machine. No CUDA ops (FORCE_CUDA=0): sclc
# runs the detectors on CPU. Run it inside the project's virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${1:-work_dirs/wheels}"
mkdir -p "$WHEELS"
python -m pip install ninja "setuptools<81" wheel  # mmcv's setup.py imports pkg_resources
if ! ls "$WHEELS"/mmcv-2.0.1-*.whl >/dev/null 2>&1; then
    # torch 2.14's headers need C++20; mmcv 2.0.1's setup.py asks for C++17 (found 2026-11-27:
    # "#error C++20 or later compatible compiler is required to use ATen"). Patch the flag.
    # With that flag mmcv's own C++ compiles against torch 2.14.1 unchanged (checked 2026-11-28).
    # --no-build-isolation: pip's isolated setuptools (>= 81) lacks the pkg_resources that
    # mmcv's setup.py imports even to describe itself (found 2026-11-28).
    [ -f "$WHEELS/src/mmcv-2.0.1.tar.gz" ] || python -m pip download --no-deps --no-binary :all: \
        --no-build-isolation "mmcv==2.0.1" -d "$WHEELS/src"
    tar -xzf "$WHEELS/src/mmcv-2.0.1.tar.gz" -C "$WHEELS/src"
    sed -i 's/-std=c++1[47]/-std=c++20/' "$WHEELS/src/mmcv-2.0.1/setup.py"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-1}" nice -n 19 \
        python -m pip wheel --no-deps --no-build-isolation "$WHEELS/src/mmcv-2.0.1" -w "$WHEELS"
fi
python -m pip install "$WHEELS"/mmcv-2.0.1-*.whl
python -m pip install -e ".[mmocr]"
python -c "import mmcv.ops, mmocr, mmdet; print('mmcv', mmcv.__version__, 'mmocr', mmocr.__version__, 'mmdet', mmdet.__version__)"
