//! Bad input through the real `qtool` binary: each case must exit non-zero with a message that
//! names the file/field and what was expected, and must not panic.

use std::path::Path;
use std::process::Command;

fn qtool(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qtool")).args(args).output().expect("qtool runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "qtool panicked on {args:?}:\n{stderr}");
    (out.status.success(), stderr)
}

fn expect_error(args: &[&str], needles: &[&str]) {
    let (ok, stderr) = qtool(args);
    assert!(!ok, "qtool {args:?} should fail");
    for n in needles {
        assert!(stderr.contains(n), "qtool {args:?}: error should mention {n:?}, got:\n{stderr}");
    }
}

/// A minimal valid GGUF v3 header with no metadata and no tensors.
fn gguf_header(n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(n_tensors.to_le_bytes());
    b.extend(n_kv.to_le_bytes());
    b
}

fn push_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

/// A GGUF with one F32 tensor `t` of `n` elements whose data is `data_len` bytes long.
fn gguf_one_tensor(ty: u32, n: u64, offset: u64, data_len: usize) -> Vec<u8> {
    let mut b = gguf_header(1, 0);
    push_str(&mut b, "t");
    b.extend(1u32.to_le_bytes());
    b.extend(n.to_le_bytes());
    b.extend(ty.to_le_bytes());
    b.extend(offset.to_le_bytes());
    while !b.len().is_multiple_of(32) {
        b.push(0);
    }
    b.extend(vec![0u8; data_len]);
    b
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn gguf_errors_are_clear() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "magic.gguf", b"GGML\x03\0\0\0");
    expect_error(&["inspect", &p], &["magic.gguf", "wrong magic", "expected \"GGUF\""]);
    let p = write(d.path(), "short.gguf", &gguf_header(0, 0)[..10]);
    expect_error(&["inspect", &p], &["short.gguf", "truncated"]);
    let p = write(d.path(), "data.gguf", &gguf_one_tensor(0, 64, 0, 100));
    expect_error(&["inspect", &p], &["data.gguf", "tensor 't'", "past the end of the file"]);
    let p = write(d.path(), "offset.gguf", &gguf_one_tensor(0, 8, 1 << 40, 64));
    expect_error(&["inspect", &p], &["offset.gguf", "tensor 't'", "past the end of the file"]);
    let p = write(d.path(), "type.gguf", &gguf_one_tensor(99, 8, 0, 64));
    expect_error(&["inspect", &p], &["type.gguf", "tensor 't'", "unknown GGML type id 99"]);
    let p = write(d.path(), "count.gguf", &gguf_header(u64::MAX, 1));
    expect_error(
        &["convert", &p, "--out", &d.path().join("o").to_string_lossy()],
        &["count.gguf", "more than the file"],
    );
    assert!(!d.path().join("o").exists(), "no output folder after a failed convert");
}

fn hf_folder(dir: &Path, config: &str, safetensors: &[u8]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), config).unwrap();
    std::fs::write(dir.join("model.safetensors"), safetensors).unwrap();
    dir.to_string_lossy().into_owned()
}

const GOOD_CONFIG: &str = r#"{"architectures":["LlamaForCausalLM"],"hidden_size":8,"intermediate_size":16,
"num_attention_heads":2,"num_key_value_heads":1,"num_hidden_layers":1,"rms_norm_eps":1e-5,
"vocab_size":10,"max_position_embeddings":32}"#;

#[test]
fn hf_folder_errors_are_clear() {
    let d = tempfile::tempdir().unwrap();
    // Header length (1 MiB) larger than the whole file.
    let mut st = (1u64 << 20).to_le_bytes().to_vec();
    st.extend(b"{}");
    let p = hf_folder(&d.path().join("hdr"), GOOD_CONFIG, &st);
    expect_error(&["generate", "--model", &p, "--prompt", "hi"], &["model.safetensors", "invalid safetensors"]);
    let p = hf_folder(&d.path().join("field"), &GOOD_CONFIG.replace("\"hidden_size\":8,", ""), b"");
    expect_error(&["inspect", &p], &["config.json", "hidden_size", "missing"]);
    let p = hf_folder(&d.path().join("arch"), &GOOD_CONFIG.replace("LlamaForCausalLM", "MambaForCausalLM"), b"");
    expect_error(&["inspect", &p], &["config.json", "unsupported architecture 'MambaForCausalLM'", "LlamaForCausalLM"]);
    expect_error(&["inspect", &d.path().join("nope").to_string_lossy()], &["nope"]);
}

#[test]
fn prompt_longer_than_context_is_refused() {
    let gguf = crate::common::smollm2_gguf();
    let long = "word ".repeat(9000); // SmolLM2's context is 8192 tokens
    expect_error(
        &["generate", "--model", &gguf.to_string_lossy(), "--prompt", &long, "--max-new-tokens", "4"],
        &["prompt", "tokens", "context is 8192"],
    );
}
