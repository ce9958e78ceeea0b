//! GGUF dequantization checked bit for bit against gguf-py 0.19.0 (its numpy dequantizers):
//! fixtures written by `scripts/fixtures/gguf_dequant.py` hold the sha256 of gguf-py's f32
//! output for every tensor of a synthetic file covering each supported type, of SmolLM2 (Q4_1,
//! Q8_0, F32) and of Qwen2.5-Coder-1.5B Q4_K_M (Q4_K, Q6_K, F32; optional asset, ignored test).

use crate::common::{qwen_gguf, smollm2_gguf};
use quant::gguf::{GgufFile, TensorInfo};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf_dequant").join(name)
}

fn load_json(name: &str) -> Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

/// sha256 of the values as little-endian f32 bytes (the layout gguf-py's `tobytes()` hashes).
fn sha256_f32(values: &[f32]) -> String {
    let mut h = Sha256::new();
    let mut buf = Vec::with_capacity(4 * 4096);
    for chunk in values.chunks(4096) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        h.update(&buf);
    }
    hex(&h.finalize())
}

fn file_sha256(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("fixture entry lacks string '{key}': {v}"))
}

/// What went wrong with one tensor, with enough detail to start debugging.
fn describe(info: &TensorInfo, expect: &Value, got: &[f32], g: &GgufFile) -> String {
    let mut s = format!(
        "{} ({}, dims {:?}): sha256 {} != expected {}",
        info.name,
        info.ty,
        info.dims,
        sha256_f32(got),
        str_field(expect, "sha256")
    );
    if let Some(first4) = expect["first4"].as_array() {
        let want: Vec<f32> = first4.iter().map(|x| x.as_f64().unwrap() as f32).collect();
        write!(s, "\n    first4 got {:?}, expected {want:?}", &got[..got.len().min(4)]).unwrap();
        let sum: f64 = got.iter().map(|&x| x as f64).sum();
        write!(s, "\n    sum got {sum}, expected {}", expect["sum"]).unwrap();
    }
    if let Some(rows) = expect["row_sha256"].as_array() {
        let row_len = info.dims[0] as usize;
        let bad = got.chunks(row_len).zip(rows).position(|(r, e)| sha256_f32(r) != e.as_str().unwrap());
        if let Some(r) = bad {
            let row = &got[r * row_len..(r + 1) * row_len];
            let bytes_per_row = info.n_bytes as usize / (got.len() / row_len);
            let raw = &g.tensor_data(info)[r * bytes_per_row..][..info.ty.type_size()];
            write!(s, "\n    first differing row {r}: starts {:?}", &row[..row_len.min(8)]).unwrap();
            write!(s, "\n    its first block's bytes: {}", hex(raw)).unwrap();
        }
    }
    s
}

/// Dequantizes every tensor of `gguf` and compares with the fixture `json`. Returns the
/// number of tensors and elements checked and the seconds spent in `dequantize` alone.
fn check_all(gguf: &Path, json: &str) -> (usize, u64, f64) {
    let doc = load_json(json);
    let g = GgufFile::open(gguf).unwrap_or_else(|e| panic!("{e}"));
    let expected = doc["tensors"].as_array().expect("fixture has a 'tensors' array");
    let names: Vec<&str> = g.tensors.iter().map(|t| t.name.as_str()).collect();
    let want_names: Vec<&str> = expected.iter().map(|e| str_field(e, "name")).collect();
    assert_eq!(names, want_names, "{}: tensor list differs from {json}", gguf.display());

    let mut failures = Vec::new();
    let mut n_elements = 0;
    let mut dequant_s = 0.0;
    for (info, e) in g.tensors.iter().zip(expected) {
        assert_eq!(info.ty.name(), str_field(e, "type"), "{}: type", info.name);
        let dims: Vec<u64> = e["dims"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect();
        assert_eq!(info.dims, dims, "{}: dims", info.name);
        let t0 = Instant::now();
        let values = g.dequantize(info).unwrap_or_else(|err| panic!("{err}"));
        dequant_s += t0.elapsed().as_secs_f64();
        n_elements += values.len() as u64;
        if sha256_f32(&values) != str_field(e, "sha256") {
            failures.push(describe(info, e, &values, &g));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} tensors of {} differ from gguf-py:\n{}",
        failures.len(),
        expected.len(),
        gguf.display(),
        failures.join("\n")
    );
    (expected.len(), n_elements, dequant_s)
}

/// Checks a real model's fixture header against the file, then every tensor.
fn check_model(gguf: &Path, json: &str) {
    let doc = load_json(json);
    let size = std::fs::metadata(gguf).unwrap().len();
    assert_eq!(Some(size), doc["model_bytes"].as_u64(), "{} is not the file {json} was made from", gguf.display());
    let t0 = Instant::now();
    let (n, el, dequant_s) = check_all(gguf, json);
    eprintln!(
        "{json}: {n} tensors, {el} elements bit-exact in {:.2} s ({dequant_s:.2} s dequantizing, {:.0} M elements/s)",
        t0.elapsed().as_secs_f64(),
        el as f64 / dequant_s / 1e6
    );
}

#[test]
fn synthetic_every_type_matches_gguf_py() {
    let path = fixture("synthetic_types.gguf.fixture");
    let doc = load_json("synthetic.json");
    assert_eq!(file_sha256(&path), str_field(&doc, "file_sha256"), "the synthetic fixture was altered");
    let types: std::collections::BTreeSet<&str> =
        doc["tensors"].as_array().unwrap().iter().map(|t| str_field(t, "type")).collect();
    for ty in ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"] {
        assert!(types.contains(ty), "synthetic fixture lacks {ty}");
    }
    check_all(&path, "synthetic.json");
}

#[test]
fn smollm2_every_tensor_matches_gguf_py() {
    check_model(&smollm2_gguf(), "smollm2.json");
}

#[test]
#[ignore = "needs the optional Qwen asset (assets fetch --with qwen); run with --ignored"]
fn qwen_every_tensor_matches_gguf_py() {
    check_model(&qwen_gguf(), "qwen.json");
}
