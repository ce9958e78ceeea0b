#!/usr/bin/env bash
# Builds scripts/ggml/matvec.c (llama.cpp's CPU mat-vec timed on our shapes) against the ggml
# that scripts/llamacpp/build.sh built from the `llama-cpp-python` sdist (its shared libggml*
# and headers; nothing of llama.cpp is committed), into out/ggml/matvec (git-ignored). Prints
# the path.
#   bash scripts/ggml/build.sh
# Then: qtool bench kernels --backend cpu-q8 --shapes 4096x4096,11008x4096 --batch 1 \
#         --llamacpp out/ggml/matvec --out reports/kernels-cpu-q8-<machine>.md
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=${VERSION:-0.3.36}
BIN=$(VERSION=$VERSION bash scripts/llamacpp/build.sh)
INC=out/llamacpp/llama_cpp_python-$VERSION/vendor/llama.cpp/ggml/include
LIB=$(cd "$BIN" && pwd)
D=out/ggml
mkdir -p "$D"
${CC:-cc} -O2 -o "$D/matvec" scripts/ggml/matvec.c -I"$INC" -L"$LIB" -lggml -lggml-base -lggml-cpu \
  -Wl,-rpath,"$LIB" -lm
echo "$D/matvec"
