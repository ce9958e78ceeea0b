#!/usr/bin/env bash
# NVRTC compile check of the CUDA backend, for any machine (no GPU, no driver, no CUDA toolkit):
# installs NVRTC from PyPI (the nvidia-cuda-nvrtc wheel, CUDA 13) into a venv under
# out/nvrtc-venv (created once, then reused), points the dynamic loader at the libnvrtc.so.* in
# it, and runs the kernels conformance tests `nvrtc::*`, which compile every
# kernels/src/cuda/kernels/*.cu with NVRTC to PTX (compute_75 and compute_90) and fail with
# NVRTC's log on an error; then assembles every PTX with ptxas (nvidia-cuda-nvcc wheel), which
# checks the inline PTX that NVRTC passes through. QTOOL_REQUIRE=nvrtc makes a missing libnvrtc a failure, not a SKIP.
#
# Usage: scripts/nvrtc-check.sh [extra cargo test args]
# Env: PYTHON (default python3), NVRTC_SPEC (default 'nvidia-cuda-nvrtc>=13,<14'),
#      CARGO_TARGET_DIR (cargo's default when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
NVRTC_SPEC=${NVRTC_SPEC:-'nvidia-cuda-nvrtc>=13,<14'}
VENV=out/nvrtc-venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "nvrtc-check: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -m pip show nvidia-cuda-nvrtc >/dev/null 2>&1; then
  echo "nvrtc-check: pip install $NVRTC_SPEC" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$NVRTC_SPEC"
fi

# The wheel puts the library under site-packages/nvidia/cu13/lib (older wheels: nvidia/cuda_nvrtc/lib).
LIB=$(find "$VENV" -name 'libnvrtc.so.*' ! -name '*builtins*' -print 2>/dev/null | sort | head -n1)
if [ -z "$LIB" ]; then
  echo "nvrtc-check: no libnvrtc.so.* found under $VENV after installing $NVRTC_SPEC" >&2
  exit 2
fi
LIBDIR=$(cd "$(dirname "$LIB")" && pwd)
echo "nvrtc-check: using $LIB" >&2

export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export QTOOL_REQUIRE="nvrtc${QTOOL_REQUIRE:+,$QTOOL_REQUIRE}"
PTX_DIR=$(mktemp -d)
trap 'rm -rf "$PTX_DIR"' EXIT
QTOOL_PTX_DIR="$PTX_DIR" cargo test -p kernels --release --features cuda --test conformance "$@" -- nvrtc:: --nocapture

# NVRTC passes inline PTX (asm) through unchecked; ptxas (the nvidia-cuda-nvcc wheel) assembles
# every PTX file for its architecture, so a wrong instruction fails here and not first on a GPU.
if ! "$VENV/bin/python" -m pip show nvidia-cuda-nvcc >/dev/null 2>&1; then
  echo "nvrtc-check: pip install ${PTXAS_SPEC:=nvidia-cuda-nvcc>=13,<14}" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PTXAS_SPEC"
fi
PTXAS=$(find "$VENV" -name ptxas -type f -print 2>/dev/null | head -n1)
[ -x "$PTXAS" ] || { echo "nvrtc-check: no ptxas under $VENV" >&2; exit 2; }
n=0
for f in "$PTX_DIR"/*.ptx; do
  arch=${f%.ptx}; arch=sm_${arch##*.compute_}
  "$PTXAS" -arch="$arch" "$f" -o /dev/null || { echo "nvrtc-check: ptxas failed on $(basename "$f") for $arch" >&2; exit 1; }
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "nvrtc-check: the test wrote no PTX to assemble" >&2; exit 1; }
echo "nvrtc-check: ptxas assembled all $n PTX files"
