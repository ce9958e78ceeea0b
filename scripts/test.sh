#!/usr/bin/env bash
# The test command of the README: fetches the default assets (SmolLM2 + benchmark files;
# idempotent, verified by sha256) and runs the whole test suite in release mode.
# Tests that need the optional Qwen model are #[ignore]d; run them with
#   cargo run --release -- assets fetch --with qwen && cargo test --release -- --ignored
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -- assets fetch
cargo test --release --workspace "$@"
