#!/usr/bin/env bash
# Builds llama.cpp's own tools, the CPU-speed peer of qtool's benchmarks, from the
# `llama-cpp-python` source distribution's vendor/llama.cpp (fetched by package name with pip;
# nothing of llama.cpp is committed) into out/llamacpp/ (git-ignored). Idempotent: a finished
# build is reused. Prints the bin folder.
#   VERSION=0.3.36 bash scripts/llamacpp/build.sh
# Tools: llama-bench, llama-batched-bench, llama-perplexity, llama-server, llama-cli, and the
# shared ggml libraries (libggml*.so) that scripts/ggml/build.sh links its mat-vec harness to.
# Needs cmake and a C/C++ compiler (`apt-get install cmake g++` on Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=${VERSION:-0.3.36}
PYTHON=${PYTHON:-python3}
D=out/llamacpp
SRC=$D/llama_cpp_python-$VERSION/vendor/llama.cpp
BUILD=$D/build-$VERSION
TOOLS=(llama-bench llama-batched-bench llama-perplexity llama-server llama-cli)
mkdir -p "$D"
done_all=1
for t in "${TOOLS[@]}"; do [ -x "$BUILD/bin/$t" ] || done_all=0; done
if [ "$done_all" = 1 ]; then echo "$BUILD/bin"; exit 0; fi
for tool in cmake c++; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (Debian: apt-get install cmake g++)" >&2; exit 1; }
done
if [ ! -f "$SRC/CMakeLists.txt" ]; then
  sdist=$D/llama_cpp_python-$VERSION.tar.gz
  if [ ! -f "$sdist" ]; then
    # The source distribution, never a wheel; pip checks the index's hash.
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$D" >&2
  fi
  tar -xzf "$sdist" -C "$D" "llama_cpp_python-$VERSION/vendor/llama.cpp"
fi
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
  -DLLAMA_BUILD_SERVER=ON >&2
cmake --build "$BUILD" --config Release -j "$(nproc)" --target "${TOOLS[@]}" >&2
echo "$BUILD/bin"
