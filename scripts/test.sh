#!/usr/bin/env bash
# The test command of the README: installs the system packages the tests need when they are
# missing (scripts/deps.sh: Vulkan loader + Mesa's lavapipe for the WGSL conformance tests,
# python3, npm, cmake, g++; apt-get, as root or through sudo), fetches the default assets
# (SmolLM2, Qwen2.5-Coder-0.5B, benchmark files; idempotent, verified by sha256) and runs the
# whole test suite in release mode with the WGSL backend built in (`--features wgpu`).
# QTOOL_SKIP_DEPS=1 skips the install step; QTOOL_SKIP_WGSL=1 skips the WGSL tests (machines
# without Vulkan).
# Tests that need the optional Qwen model are #[ignore]d; run them with
#   cargo run --release -- assets fetch --with qwen && cargo test --release -- --ignored
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${QTOOL_SKIP_DEPS:-0}" = 1 ] || bash scripts/deps.sh
cargo run --release --quiet --features wgpu -- assets fetch
cargo test --release --workspace --features wgpu "$@"
