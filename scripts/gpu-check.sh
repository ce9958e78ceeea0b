#!/usr/bin/env bash
# GPU check of the CUDA and WGSL backends, for a lent GPU machine with no network and no Rust
# toolchain: conformance, end-to-end greedy tokens, PyTorch baselines and kernel benchmarks in
# one go.
#
# Usage: scripts/gpu-check.sh DIR [smoke|full]
#   DIR holds (see scripts/gpu-prepare.sh, which fills it):
#     qtool[.gz]        release binary built with --features wgpu,cuda (gzipped to travel)
#     conformance-*[.gz] kernels conformance test binary (--features wgpu,cuda)
#     model.gguf        a SmolLM2 GGUF small enough to travel (scripts/smollm2_truncate.py)
#     .gl/*.deb         Vulkan loader packages, unpacked into / when no loader is installed
#   smoke: conformance, e2e tokens and one small shape of each benchmark (about 1 minute on an H200);
#   full (default): every benchmark shape and batch (about 2 minutes on an H200).
# Writes under $OUT (default ./gpu-check-out), at most 8 files: summary.json,
# kernels-cuda.{md,json}, kernels-wgsl.md, kernels-wgsl-tiled.md, torch-baseline.json and
# logs.tgz (every log, the e2e JSON, both conformance logs, nvidia-smi).
set -uo pipefail
DIR=${1:?usage: gpu-check.sh DIR [smoke|full]}
MODE=${2:-full}
OUT=${OUT:-$PWD/gpu-check-out}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
LOGS=$(mktemp -d)
# Gzipped binaries are unpacked beside a copy (the carried folder may be read-only).
BIN=$(mktemp -d)
for f in "$DIR"/qtool "$DIR"/qtool.gz "$DIR"/conformance-*; do
  [ -e "$f" ] || continue
  case "$f" in
    *.d) ;;
    *.gz) gzip -dc "$f" > "$BIN/$(basename "${f%.gz}")" ;;
    *) cp "$f" "$BIN/" ;;
  esac
done
chmod +x "$BIN"/* 2>/dev/null
QTOOL="$BIN/qtool"
CONF=$(ls "$BIN"/conformance-* 2>/dev/null | head -n1)
[ -x "$QTOOL" ] || { echo "no executable $QTOOL" >&2; exit 2; }
[ -n "$CONF" ] && [ -x "$CONF" ] || { echo "no conformance-* test binary in $DIR" >&2; exit 2; }
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }

# --- Libraries: Vulkan loader, NVIDIA ICD, NVRTC and the driver on the loader path.
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in "$DIR"/.gl/*.deb .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] \
  && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
NVRTC=$(ls /usr/local/cuda/lib64/libnvrtc.so.* /usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so.* 2>/dev/null \
  | grep -v builtins | head -n1)
[ -n "$NVRTC" ] || NVRTC=$(find / -xdev -name 'libnvrtc.so.1[0-9]*' ! -name '*builtins*' 2>/dev/null | head -n1)
for d in "$(dirname "${NVRTC:-/nonexistent/x}")" /usr/local/nvidia/lib64 /usr/local/cuda/lib64; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1
  echo "nvrtc: ${NVRTC:-not found}"; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; echo "mode: $MODE"
  nproc; uname -r
} > "$LOGS/machine.txt"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1)
cat "$LOGS/machine.txt"

# --- Phase 1, in parallel: CUDA conformance (QTOOL_REQUIRE=cuda: a missing driver fails),
# WGSL conformance, end-to-end greedy tokens (CPU against CUDA and WGSL).
QTOOL_REQUIRE=cuda timeout 150 "$CONF" cuda --test-threads=4 > "$LOGS/conformance-cuda.log" 2>&1 &
p_cuda=$!
QTOOL_REQUIRE=wgpu timeout 150 "$CONF" wgsl --test-threads=4 > "$LOGS/conformance-wgsl.log" 2>&1 &
p_wgsl=$!
e2e_rc=2
if [ -e "$DIR/model.gguf" ]; then
  timeout 170 bash "$HERE/e2e-tokens.sh" "$QTOOL" "$DIR/model.gguf" "$LOGS/e2e" cuda wgsl > "$LOGS/e2e.log" 2>&1 &
  p_e2e=$!
else
  echo "no $DIR/model.gguf" > "$LOGS/e2e.log"; p_e2e=
fi
wait $p_cuda; cuda_rc=$?
wait $p_wgsl; wgsl_rc=$?
[ -n "$p_e2e" ] && { wait $p_e2e; e2e_rc=$?; }
phase1_s=$(elapsed)
result() { grep -E '^test result:' "$1" | tail -n1; }
echo "phase 1 (${phase1_s}s): cuda rc $cuda_rc: $(result "$LOGS/conformance-cuda.log")"
echo "  wgsl rc $wgsl_rc: $(result "$LOGS/conformance-wgsl.log")"
echo "  e2e rc $e2e_rc: $(grep -E '^e2e ' "$LOGS/e2e.log" | tr '\n' ';')"
grep -E 'panicked|FAILED|failed|mismatch|MISMATCH' "$LOGS"/conformance-*.log | head -n 20

# --- Phase 2: PyTorch baselines, then our CUDA kernels, then WGSL, one at a time on the GPU.
if [ "$MODE" = smoke ]; then
  SHAPES=4096x4096; BATCH=1,16,512; TB_ARGS="--quick --budget-s 30"; WSHAPES=4096x4096; WBATCH=1
else
  SHAPES=standard; BATCH=1,4,16,64,256,512,1024; TB_ARGS="--budget-s 80"; WSHAPES=llama-7b; WBATCH=1,16
fi
PYTHONUNBUFFERED=1 timeout 100 python3 "$HERE/torch_kernels_baseline.py" --out "$LOGS/torch" $TB_ARGS \
  > "$LOGS/torch.log" 2>&1
torch_rc=$?
cp "$LOGS/torch/torch-baseline.json" "$OUT/" 2>/dev/null
BASE=(); [ -e "$LOGS/torch/torch-baseline.json" ] && BASE=(--baseline "$LOGS/torch/torch-baseline.json")
timeout 240 "$QTOOL" bench kernels --backend cuda --shapes "$SHAPES" --batch "$BATCH" --iters 7 "${BASE[@]}" \
  --out "$OUT/kernels-cuda.md" > "$LOGS/bench-cuda.log" 2>&1
bench_rc=$?
timeout 120 "$QTOOL" bench kernels --backend wgsl --shapes "$WSHAPES" --batch "$WBATCH" --iters 5 \
  --out "$LOGS/kernels-wgsl.md" > "$LOGS/bench-wgsl.log" 2>&1
wbench_rc=$?
cp "$LOGS/kernels-wgsl.md" "$OUT/" 2>/dev/null
# The row-per-workgroup packed kernel (`wgsl-tiled`) beside the decode GEMV `wgsl` picks.
timeout 60 "$QTOOL" bench kernels --backend wgsl-tiled --shapes 4096x4096 --batch 1 --iters 5 \
  --out "$LOGS/kernels-wgsl-tiled.md" > "$LOGS/bench-wgsl-tiled.log" 2>&1
cp "$LOGS/kernels-wgsl-tiled.md" "$OUT/" 2>/dev/null

count() { local c; c=$(sed -nE "s/.* ([0-9]+) $2.*/\1/p" <<<"$(result "$1")"); echo "${c:-0}"; }
cuda_passed=$(count "$LOGS/conformance-cuda.log" passed)
wgsl_passed=$(count "$LOGS/conformance-wgsl.log" passed)
cat > "$OUT/summary.json" <<JSON
{"gpu": "${GPU//\"/\'}", "mode": "$MODE", "seconds": $(elapsed), "phase1_s": $phase1_s,
 "cuda_conformance_rc": $cuda_rc, "cuda_passed": $cuda_passed,
 "wgsl_conformance_rc": $wgsl_rc, "wgsl_passed": $wgsl_passed,
 "e2e_rc": $e2e_rc, "torch_rc": $torch_rc, "bench_cuda_rc": $bench_rc, "bench_wgsl_rc": $wbench_rc}
JSON
tar -czf "$OUT/logs.tgz" --exclude="*.safetensors" --exclude="*.gguf" --exclude="*.bin" -C "$LOGS" . 2>/dev/null
cat "$OUT/summary.json"
tail -n 30 "$LOGS/bench-cuda.log"
[ "$cuda_rc" -eq 0 ] && [ "$wgsl_rc" -eq 0 ] && [ "$e2e_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
