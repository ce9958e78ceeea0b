#!/usr/bin/env bash
# GPU check of the WGSL and CUDA backends, for a machine with a GPU, no network and no Rust
# toolchain.
#
# Usage: scripts/gpu-check.sh DIR
#   DIR holds the release binary `qtool` and the kernels conformance test binary
#   (`conformance-<hash>`, from `cargo test --release -p kernels --features wgpu --no-run`),
#   both built with `--features wgpu,cuda` (`cuda,wgpu` for the kernels crate), and optionally a `.gl/` folder of Vulkan loader .debs
#   (see the device README: libvulkan1 etc., unpacked into / when no loader is installed).
# Writes under $OUT (default ./gpu-check-out): conformance.log, kernels-wgsl.{md,json},
# kernels-cpu.{md,json}, conformance-cuda.log, summary.json. Budget: well under 8 minutes.
set -uo pipefail
DIR=${1:?usage: gpu-check.sh DIR (with qtool and conformance-* built with --features wgpu)}
OUT=${OUT:-$PWD/gpu-check-out}
mkdir -p "$OUT"
QTOOL="$DIR/qtool"
CONF=$(ls "$DIR"/conformance-* 2>/dev/null | grep -v '\.d$' | head -n1)
[ -x "$QTOOL" ] || { echo "no executable $QTOOL" >&2; exit 2; }
[ -n "$CONF" ] && [ -x "$CONF" ] || { echo "no conformance-* test binary in $DIR" >&2; exit 2; }

# A Vulkan loader: carried .debs when the machine has none.
if ! ldconfig -p | grep 'libvulkan\.so\.1' >/dev/null; then
  for f in "$DIR"/.gl/*.deb .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
# The NVIDIA ICD where the driver's own manifest is not where the loader looks.
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] \
  && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1 || true

start=$(date +%s)
# Conformance: every wgsl test (the wgsl and wgsl_tiled instantiations and the wgsl module).
timeout 240 "$CONF" wgsl --test-threads=4 > "$OUT/conformance.log" 2>&1
conf_rc=$?
conf_line=$(grep -E '^test result:' "$OUT/conformance.log" | tail -n1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$conf_line"); passed=${passed:-0}
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$conf_line"); failed=${failed:-0}
adapter=$(grep -m1 'wgsl adapter:' "$OUT/conformance.log" | sed 's/^wgsl adapter: //')
conf_s=$(( $(date +%s) - start ))

# CUDA: every cuda conformance test and the CUDA-only ones (both int4 variants, W8A8 dp4a,
# resident weights); QTOOL_REQUIRE=cuda turns a missing driver into a failure, not a SKIP.
start=$(date +%s)
QTOOL_REQUIRE=cuda timeout 240 "$CONF" cuda --test-threads=4 > "$OUT/conformance-cuda.log" 2>&1
cuda_rc=$?
cuda_line=$(grep -E '^test result:' "$OUT/conformance-cuda.log" | tail -n1)
cuda_passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$cuda_line"); cuda_passed=${cuda_passed:-0}
cuda_s=$(( $(date +%s) - start ))

# Kernel benchmark: WGSL on the GPU, the CPU beside it for scale.
start=$(date +%s)
timeout 180 "$QTOOL" bench kernels --backend wgsl --shapes llama-7b --batch 1,16 --iters 10 \
  --out "$OUT/kernels-wgsl.md" > "$OUT/bench-wgsl.log" 2>&1
bench_rc=$?
timeout 60 "$QTOOL" bench kernels --backend cpu --shapes llama-7b --batch 1 --iters 3 \
  --out "$OUT/kernels-cpu.md" > /dev/null 2>&1 || true
bench_s=$(( $(date +%s) - start ))

cat > "$OUT/summary.json" <<JSON
{"adapter": "${adapter//\"/\'}", "conformance_rc": $conf_rc, "passed": $passed, "failed": $failed,
 "conformance_s": $conf_s, "cuda_rc": $cuda_rc, "cuda_passed": $cuda_passed, "cuda_s": $cuda_s,
 "bench_rc": $bench_rc, "bench_s": $bench_s}
JSON
cat "$OUT/summary.json"
echo "$passed passed, $failed failed"
[ "$conf_rc" -eq 0 ] && [ "$cuda_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
