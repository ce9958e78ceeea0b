#!/usr/bin/env bash
# The test command of the README: fetches the default assets (SmolLM2 + benchmark files;
# idempotent, verified by sha256) and runs the whole test suite in release mode, with the WGSL
# backend built in (`--features wgpu`): its conformance tests run on whatever Vulkan driver is
# present (Mesa's lavapipe in CI, installed by .ci/run) and fail when there is none, unless
# QTOOL_SKIP_WGSL=1 (machines without Vulkan).
# Tests that need the optional Qwen model are #[ignore]d; run them with
#   cargo run --release -- assets fetch --with qwen && cargo test --release -- --ignored
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --features wgpu -- assets fetch
cargo test --release --workspace --features wgpu "$@"
