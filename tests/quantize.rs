//! `qtool quantize` through the real binary on SmolLM2-135M: every format's files are read back
//! (safetensors crate, qtool's GGUF reader) and checked against the spec (names, dtypes, shapes,
//! config fields) and against RTN run here on the same source weights (codes and scales bit for
//! bit); bad input is refused with clear messages; a failed write leaves nothing behind.

use crate::common::{qtool, smollm2_gguf};
use model::load::gguf::unpermute_rows;
use model::load::{load_checkpoint, Checkpoint};
use quant::gguf::{GgmlType, GgufFile};
use quant::pack::{unpack_ct, unpack_gptq, CtPackQuantized, GptqPacked, GptqVersion};
use quant::{quantize_rtn, Granularity, IntFormat, QuantizedWeight, RtnOptions, ScaleDtype, WeightFormat};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// Runs `qtool quantize` on SmolLM2 with `extra` flags into `out`; returns stdout (the summary).
fn quantize(out: &Path, extra: &[&str]) -> String {
    let src = smollm2_gguf();
    let mut args = vec!["quantize", "--model", src.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = qtool(&args);
    assert!(ok, "qtool {args:?} failed:\n{stderr}");
    stdout
}

fn expect_error(args: &[&str], needles: &[&str]) {
    let (ok, _, stderr) = qtool(args);
    assert!(!ok, "qtool {args:?} should fail");
    for n in needles {
        assert!(stderr.contains(n), "qtool {args:?}: error should mention {n:?}, got:\n{stderr}");
    }
}

/// SmolLM2's weights as the pipeline reads them (f32, HF names).
fn source() -> &'static Checkpoint {
    static CK: OnceLock<Checkpoint> = OnceLock::new();
    CK.get_or_init(|| load_checkpoint(&smollm2_gguf(), Some(model::weights::DType::F32)).unwrap())
}

/// The 210 decoder Linears `(module, n, k)` of SmolLM2.
fn linears() -> Vec<(String, usize, usize)> {
    let ck = source();
    let mut v: Vec<(String, usize, usize)> = ck
        .weights
        .iter()
        .filter(|(n, _)| n.ends_with("_proj.weight"))
        .map(|(n, t)| (n.trim_end_matches(".weight").to_string(), t.shape[0], t.shape[1]))
        .collect();
    v.sort();
    assert_eq!(v.len(), 30 * 7);
    v
}

fn rtn(module: &str, n: usize, k: usize, f: &WeightFormat, dtype: ScaleDtype) -> QuantizedWeight {
    let w = source().weights[&format!("{module}.weight")].to_f32_vec();
    quantize_rtn(&w, n, k, f, &RtnOptions { scale_dtype: dtype, clip_search: None }).unwrap()
}

fn weight(int: IntFormat, g: Granularity, sym: bool) -> WeightFormat {
    WeightFormat::new(int, g, sym).unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn i32s(t: &TensorView<'_>) -> Vec<i32> {
    t.data().chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn floats(t: &TensorView<'_>) -> Vec<f32> {
    match t.dtype() {
        Dtype::F16 => t.data().chunks(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::BF16 => t.data().chunks(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::F32 => t.data().chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
        d => panic!("not a float tensor: {d:?}"),
    }
}

/// Checks the tensors every HF output keeps dense, and the tokenizer files.
fn check_dense_and_tokenizer(dir: &Path, st: &SafeTensors<'_>, dtype: Dtype) {
    let e = st.tensor("model.embed_tokens.weight").unwrap();
    assert_eq!((e.dtype(), e.shape()), (dtype, &[49152, 576][..]));
    assert_eq!(st.tensor("model.layers.7.input_layernorm.weight").unwrap().dtype(), dtype);
    assert_eq!(st.tensor("model.norm.weight").unwrap().shape(), &[576]);
    assert!(st.tensor("lm_head.weight").is_err(), "SmolLM2 ties lm_head to the embeddings");
    for f in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
        assert!(dir.join(f).is_file(), "{f} carried over");
    }
    let tc = read_json(&dir.join("tokenizer_config.json"));
    assert!(tc["chat_template"].as_str().unwrap().contains("im_start"));
}

fn ct_group0(cfg: &Value) -> &Value {
    &cfg["quantization_config"]["config_groups"]["group_0"]
}

fn check_ct_packed(dir: &Path, f: &WeightFormat) {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    check_dense_and_tokenizer(dir, &st, Dtype::BF16);
    let g = f.group_size(0);
    for (x, n, k) in linears() {
        let t = |s: &str| st.tensor(&format!("{x}.{s}")).unwrap_or_else(|_| panic!("{x}.{s} missing"));
        assert!(st.tensor(&format!("{x}.weight")).is_err(), "{x}.weight replaced by weight_packed");
        assert_eq!((t("weight_packed").dtype(), t("weight_packed").shape()), (Dtype::I32, &[n, k / 8][..]));
        assert_eq!((t("weight_scale").dtype(), t("weight_scale").shape()), (Dtype::BF16, &[n, k / g][..]));
        let shape = t("weight_shape");
        assert_eq!((shape.dtype(), shape.shape()), (Dtype::I64, &[2][..]));
        assert_eq!(shape.data(), [(n as i64).to_le_bytes(), (k as i64).to_le_bytes()].concat());
        let zp = if f.symmetric() {
            assert!(st.tensor(&format!("{x}.weight_zero_point")).is_err());
            None
        } else {
            let z = t("weight_zero_point");
            assert_eq!((z.dtype(), z.shape()), (Dtype::I32, &[n / 8, k / g][..]));
            Some(i32s(&z))
        };
        let p = CtPackQuantized {
            weight_shape: [n, k],
            weight_packed: i32s(&t("weight_packed")),
            weight_scale: floats(&t("weight_scale")),
            weight_zero_point: zp,
            weight_g_idx: None,
        };
        assert_eq!(unpack_ct(&p, f, ScaleDtype::Bf16).unwrap(), rtn(&x, n, k, f, ScaleDtype::Bf16), "{x}");
    }
    let cfg = read_json(&dir.join("config.json"));
    let qc = &cfg["quantization_config"];
    assert_eq!(qc["quant_method"], "compressed-tensors");
    assert_eq!(qc["format"], "pack-quantized");
    assert_eq!(qc["quantization_status"], "compressed");
    assert_eq!(qc["ignore"], serde_json::json!(["lm_head"]));
    assert_eq!(qc["kv_cache_scheme"], Value::Null);
    let w = &ct_group0(&cfg)["weights"];
    assert_eq!(ct_group0(&cfg)["targets"], serde_json::json!(["Linear"]));
    assert_eq!((w["num_bits"].as_u64(), w["type"].as_str()), (Some(4), Some("int")));
    assert_eq!((w["strategy"].as_str(), w["group_size"].as_u64()), (Some("group"), Some(g as u64)));
    assert_eq!(w["symmetric"].as_bool(), Some(f.symmetric()));
    assert_eq!((w["dynamic"].as_bool(), &w["actorder"]), (Some(false), &Value::Null));
    assert_eq!(ct_group0(&cfg)["input_activations"], Value::Null);
    assert_eq!(cfg["torch_dtype"], "bfloat16");
}

#[test]
fn compressed_tensors_w4a16_symmetric_and_asymmetric() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("w4a16");
    let summary = quantize(&out, &["--scheme", "w4a16", "--group-size", "64"]);
    assert!(summary.contains("compressed-tensors") && summary.contains("210 quantized Linears"), "{summary}");
    check_ct_packed(&out, &weight(IntFormat::Int4, Granularity::Group(64), true));
    let (ok, report, _) = qtool(&["inspect", out.to_str().unwrap()]);
    assert!(ok);
    for needle in ["quantization: compressed-tensors", "format: pack-quantized", "int4 group 64 sym static", "I32"] {
        assert!(report.contains(needle), "inspect should show {needle:?}:\n{}", &report[..report.len().min(3000)]);
    }
    let out = d.path().join("w4a16-asym");
    quantize(&out, &["--scheme", "w4a16-asym", "--group-size", "64", "--format", "compressed-tensors"]);
    check_ct_packed(&out, &weight(IntFormat::Int4, Granularity::Group(64), false));
}

#[test]
fn compressed_tensors_w8a8_is_int_quantized() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("w8a8");
    quantize(&out, &["--scheme", "w8a8"]);
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    check_dense_and_tokenizer(&out, &st, Dtype::BF16);
    let f = weight(IntFormat::Int8, Granularity::PerChannel, true);
    for (x, n, k) in linears() {
        let w = st.tensor(&format!("{x}.weight")).unwrap();
        assert_eq!((w.dtype(), w.shape()), (Dtype::I8, &[n, k][..]));
        let s = st.tensor(&format!("{x}.weight_scale")).unwrap();
        assert_eq!((s.dtype(), s.shape()), (Dtype::BF16, &[n, 1][..]));
        let q = rtn(&x, n, k, &f, ScaleDtype::Bf16);
        let codes: Vec<u8> = w.data().iter().map(|&b| (b as i8 as i16 + 128) as u8).collect();
        assert_eq!(codes, q.codes(), "{x}");
        assert_eq!(floats(&s), q.scales(), "{x}");
    }
    let cfg = read_json(&out.join("config.json"));
    assert_eq!(cfg["quantization_config"]["format"], "int-quantized");
    let g = ct_group0(&cfg);
    assert_eq!((g["weights"]["strategy"].as_str(), &g["weights"]["group_size"]), (Some("channel"), &Value::Null));
    let a = &g["input_activations"];
    assert_eq!(
        (a["num_bits"].as_u64(), a["type"].as_str(), a["strategy"].as_str()),
        (Some(8), Some("int"), Some("token"))
    );
    assert_eq!((a["symmetric"].as_bool(), a["dynamic"].as_bool()), (Some(true), Some(true)));
}

#[test]
fn gptq_w4a16_g128_with_a_shorter_last_group() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("gptq");
    quantize(&out, &["--scheme", "w4a16", "--format", "gptq"]);
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    check_dense_and_tokenizer(&out, &st, Dtype::F16);
    let f = weight(IntFormat::Int4, Granularity::Group(128), true);
    for (x, n, k) in linears() {
        let t = |s: &str| st.tensor(&format!("{x}.{s}")).unwrap();
        let ng = k.div_ceil(128); // 576 -> 5 groups, the last of 64
        assert_eq!((t("qweight").dtype(), t("qweight").shape()), (Dtype::I32, &[k / 8, n][..]));
        assert_eq!((t("qzeros").dtype(), t("qzeros").shape()), (Dtype::I32, &[ng, n / 8][..]));
        assert!(i32s(&t("qzeros")).iter().all(|&z| z as u32 == 0x7777_7777), "v1 stores zero 8 as 7");
        assert_eq!((t("scales").dtype(), t("scales").shape()), (Dtype::F16, &[ng, n][..]));
        let g_idx = i32s(&t("g_idx"));
        assert_eq!(g_idx, (0..k as i32).map(|j| j / 128).collect::<Vec<_>>());
        let p = GptqPacked {
            n,
            k,
            qweight: i32s(&t("qweight")),
            qzeros: i32s(&t("qzeros")),
            scales: floats(&t("scales")),
            g_idx,
        };
        let got = unpack_gptq(&p, &f, ScaleDtype::F16, GptqVersion::V1).unwrap();
        assert_eq!(got, rtn(&x, n, k, &f, ScaleDtype::F16), "{x}");
    }
    let qc = read_json(&out.join("quantize_config.json"));
    let want = serde_json::json!({"bits": 4, "group_size": 128, "damp_percent": 0.01, "desc_act": false,
        "static_groups": false, "sym": true, "true_sequential": true, "quant_method": "gptq", "checkpoint_format": "gptq"});
    assert_eq!(qc, want);
    assert_eq!(read_json(&out.join("config.json"))["quantization_config"], want);
}

/// Reads `out.gguf`, checks metadata against the source, and returns it.
fn open_gguf(path: &Path, file_type: u32) -> GgufFile {
    let g = GgufFile::open(path).unwrap();
    let src = GgufFile::open(smollm2_gguf()).unwrap();
    assert_eq!(g.version, 3);
    assert_eq!(g.alignment, 32);
    assert_eq!(g.get_u64("general.file_type").unwrap(), file_type as u64);
    assert_eq!(g.get_str("general.architecture").unwrap(), "llama");
    for key in ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"] {
        assert_eq!(g.get(key), src.get(key), "{key} copied");
    }
    assert_eq!(g.get("tokenizer.chat_template"), src.get("tokenizer.chat_template"));
    assert_eq!(g.tensors.len(), src.tensors.len());
    assert_eq!(g.tensor("blk.3.attn_norm.weight").unwrap().ty, GgmlType::F32);
    let e = g.tensor("token_embd.weight").unwrap();
    assert_eq!((e.ty, e.dims.clone()), (GgmlType::F16, vec![576, 49152]));
    g
}

/// The HF-ordered f32 values of a GGUF Linear (llama Q/K rows un-permuted, as qtool loads them).
fn gguf_linear(g: &GgufFile, module: &str, n: usize, k: usize) -> (GgmlType, Vec<f32>) {
    let name = quant::writer::gguf_model::gguf_name(&format!("{module}.weight")).unwrap();
    let t = g.tensor(&name).unwrap_or_else(|| panic!("{name} missing"));
    assert_eq!(t.dims, vec![k as u64, n as u64], "{name}");
    let mut v = g.dequantize(t).unwrap();
    if module.ends_with("q_proj") {
        v = unpermute_rows(&v, 9, k);
    } else if module.ends_with("k_proj") {
        v = unpermute_rows(&v, 3, k);
    }
    (t.ty, v)
}

#[test]
fn gguf_q8_0_and_q4_0_hold_the_rtn_codes_exactly() {
    let d = tempfile::tempdir().unwrap();
    for (scheme, int, ty, ftype) in
        [("w8a16", IntFormat::Int8, GgmlType::Q8_0, 7), ("w4a16", IntFormat::Int4, GgmlType::Q4_0, 2)]
    {
        let path = d.path().join(format!("{scheme}.gguf"));
        let summary = quantize(&path, &["--scheme", scheme, "--format", "gguf"]);
        assert!(summary.contains("uses groups of 32 weights, not the preset's"), "{summary}");
        let g = open_gguf(&path, ftype);
        let f = weight(int, Granularity::Group(32), true);
        for (x, n, k) in linears() {
            let (got_ty, v) = gguf_linear(&g, &x, n, k);
            assert_eq!(got_ty, ty, "{x}");
            assert_eq!(v, rtn(&x, n, k, &f, ScaleDtype::F16).dequantize(), "{scheme} {x}: bit-exact");
        }
    }
}

#[test]
fn gguf_q4_k_with_q4_1_for_rows_that_are_not_whole_super_blocks() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("q4k.gguf");
    let summary = quantize(&path, &["--scheme", "w4a16-asym", "--format", "gguf"]);
    assert!(summary.contains("Q4_1 x180, Q4_K x30"), "{summary}");
    let g = open_gguf(&path, 14);
    for (x, n, k) in linears() {
        let (ty, v) = gguf_linear(&g, &x, n, k);
        assert_eq!(ty, if k == 1536 { GgmlType::Q4K } else { GgmlType::Q4_1 }, "{x}");
        let w = source().weights[&format!("{x}.weight")].to_f32_vec();
        // The file holds exactly qtool's encoding of the (permuted) source weights ...
        let perm = match (x.ends_with("q_proj"), x.ends_with("k_proj")) {
            (true, _) => quant::writer::gguf_model::permute_rows(&w, 9, k),
            (_, true) => quant::writer::gguf_model::permute_rows(&w, 3, k),
            _ => w.clone(),
        };
        let bytes = quant::gguf::encode::encode(ty, &perm, &x).unwrap();
        let info = g.tensor(&quant::writer::gguf_model::gguf_name(&format!("{x}.weight")).unwrap()).unwrap();
        let mut want = vec![0f32; n * k];
        quant::gguf::dequant::dequantize(ty, &bytes, &mut want).unwrap();
        assert_eq!(g.dequantize(info).unwrap(), want, "{x}");
        // ... which is a close 4-bit approximation.
        let err: f64 = w.iter().zip(&v).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>();
        let norm: f64 = w.iter().map(|a| (*a as f64).powi(2)).sum::<f64>();
        assert!((err / norm).sqrt() < 0.15, "{x}: relative error {}", (err / norm).sqrt());
    }
    // qtool's own loader runs the file.
    let (ok, stdout, stderr) = qtool(&[
        "generate",
        "--model",
        path.to_str().unwrap(),
        "--prompt",
        "The capital of France is",
        "--max-new-tokens",
        "4",
    ]);
    assert!(ok && !stdout.is_empty(), "generate on the written GGUF failed:\n{stderr}");
}

#[test]
fn qtool_fake_quant_w4a4_kv4() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("w4a4");
    let summary = quantize(&out, &["--scheme", "w4a4-kv4"]);
    assert!(summary.contains("(qtool, scheme w4a4-kv4)"), "{summary}");
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    check_dense_and_tokenizer(&out, &st, Dtype::BF16);
    let f = weight(IntFormat::Int4, Granularity::PerChannel, true);
    for (x, n, k) in linears() {
        let t = st.tensor(&format!("{x}.weight")).unwrap();
        assert_eq!((t.dtype(), t.shape()), (Dtype::BF16, &[n, k][..]));
        let want: Vec<f32> = rtn(&x, n, k, &f, ScaleDtype::Bf16)
            .dequantize()
            .iter()
            .map(|&v| half::bf16::from_f32(v).to_f32())
            .collect();
        assert_eq!(floats(&t), want, "{x}");
    }
    let qc = &read_json(&out.join("config.json"))["quantization_config"];
    assert_eq!((qc["quant_method"].as_str(), qc["format"].as_str()), (Some("qtool"), Some("fake-quant")));
    assert_eq!((qc["scheme"].as_str(), qc["method"].as_str()), (Some("w4a4-kv4"), Some("rtn")));
    assert_eq!(qc["weights"], "int4 per-channel sym");
    assert_eq!(qc["input_activations"], "int4 per-token asym dynamic clip 0.9");
    assert_eq!(qc["kv_cache"], "K int4 per-channel asym; V int4 g128 asym");
    assert!(qc["qtool_version"].is_string());
}

#[test]
fn hf_source_to_gguf_rebuilds_the_tokenizer_metadata() {
    let d = tempfile::tempdir().unwrap();
    let hf = d.path().join("hf");
    let src = smollm2_gguf();
    let (ok, _, stderr) = qtool(&["convert", src.to_str().unwrap(), "--out", hf.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let path = d.path().join("from-hf.gguf");
    let (ok, _, stderr) = qtool(&[
        "quantize",
        "--model",
        hf.to_str().unwrap(),
        "--scheme",
        "w8a16",
        "--format",
        "gguf",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let g = GgufFile::open(&path).unwrap();
    let s = GgufFile::open(&src).unwrap();
    for key in [
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.merges",
        "tokenizer.ggml.token_type",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.chat_template",
        "llama.rope.dimension_count",
        "llama.attention.head_count_kv",
        "llama.context_length",
    ] {
        assert_eq!(g.get(key), s.get(key), "{key}");
    }
    assert_eq!(g.get_f64("llama.rope.freq_base").unwrap(), s.get_f64("llama.rope.freq_base").unwrap());
}

#[test]
fn list_schemes_prints_every_preset() {
    let (ok, stdout, _) = qtool(&["quantize", "--list-schemes"]);
    assert!(ok);
    for p in quant::scheme::PRESET_NAMES {
        assert!(stdout.contains(&format!("{p}: ")), "{p} listed");
    }
}

#[test]
fn bad_input_is_refused_clearly() {
    let d = tempfile::tempdir().unwrap();
    let src = smollm2_gguf();
    let s = src.to_str().unwrap();
    let out = d.path().join("o");
    let o = out.to_str().unwrap();
    expect_error(&["quantize", "--model", s, "--scheme", "w5a16", "--out", o], &["unknown preset 'w5a16'", "w4a16"]);
    expect_error(
        &["quantize", "--model", s, "--scheme", "w4a16", "--format", "compressed-tensors", "--out", o],
        &[
            "cannot be written as compressed-tensors",
            "group size 128 does not divide in_features 576",
            "formats that can",
        ],
    );
    expect_error(
        &["quantize", "--model", s, "--scheme", "w3a16", "--format", "gguf", "--out", o],
        &["scheme 'w3a16' cannot be written as gguf", "formats that can: compressed-tensors, gptq, qtool"],
    );
    expect_error(
        &["quantize", "--model", s, "--scheme", "w4a16", "--group-size", "64", "--format", "gguf", "--out", o],
        &["w4a16-g64", "groups of 32"],
    );
    expect_error(
        &["quantize", "--model", s, "--scheme", "w8a8-kv8", "--format", "gptq", "--out", o],
        &["cannot be written as gptq", "formats that can: qtool"],
    );
    expect_error(
        &["quantize", "--model", s, "--scheme", "w4a16", "--group-size", "12", "--out", o],
        &["multiple of 8"],
    );
    assert!(!out.exists());
    std::fs::create_dir(&out).unwrap();
    expect_error(&["quantize", "--model", s, "--scheme", "w8a8", "--out", o], &["already exists", "--force"]);
}

/// A two-layer-free tiny Llama folder whose up_proj is all non-negative: its asymmetric zero
/// points are 0, which GPTQ v1 cannot store, so the writer fails after writing its configs.
fn tiny_llama(dir: &Path) {
    use safetensors::tensor::TensorView;
    std::fs::create_dir_all(dir).unwrap();
    let cfg = r#"{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,
        "num_attention_heads":2,"num_key_value_heads":1,"num_hidden_layers":1,"rms_norm_eps":1e-5,
        "vocab_size":32,"max_position_embeddings":64,"tie_word_embeddings":true}"#;
    std::fs::write(dir.join("config.json"), cfg).unwrap();
    let shapes: Vec<(&str, Vec<usize>)> = vec![
        ("model.embed_tokens.weight", vec![32, 64]),
        ("model.norm.weight", vec![64]),
        ("model.layers.0.input_layernorm.weight", vec![64]),
        ("model.layers.0.post_attention_layernorm.weight", vec![64]),
        ("model.layers.0.self_attn.q_proj.weight", vec![64, 64]),
        ("model.layers.0.self_attn.k_proj.weight", vec![32, 64]),
        ("model.layers.0.self_attn.v_proj.weight", vec![32, 64]),
        ("model.layers.0.self_attn.o_proj.weight", vec![64, 64]),
        ("model.layers.0.mlp.gate_proj.weight", vec![128, 64]),
        ("model.layers.0.mlp.up_proj.weight", vec![128, 64]),
        ("model.layers.0.mlp.down_proj.weight", vec![64, 128]),
    ];
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .into_iter()
        .map(|(n, s)| {
            let len: usize = s.iter().product();
            let v: Vec<f32> =
                (0..len)
                    .map(|i| {
                        if n.contains("up_proj") {
                            (i % 5) as f32 * 0.01
                        } else {
                            ((i * 37 % 23) as f32 - 11.0) * 0.01
                        }
                    })
                    .collect();
            (n.to_string(), s, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> =
        data.iter().map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap())).collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
}

#[test]
fn a_failed_write_leaves_no_output_and_no_temporary() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("tiny");
    tiny_llama(&src);
    let parent = d.path().join("outs");
    std::fs::create_dir(&parent).unwrap();
    let out = parent.join("gptq");
    expect_error(
        &[
            "quantize",
            "--model",
            src.to_str().unwrap(),
            "--scheme",
            "w4a16-asym",
            "--group-size",
            "32",
            "--format",
            "gptq",
            "--out",
            out.to_str().unwrap(),
        ],
        &["model.layers.0.mlp.up_proj", "zero point 0", "--sym", "compressed-tensors"],
    );
    assert!(!out.exists(), "no partial output");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0, "no temporary folder left");
    // The same model as compressed-tensors (true zero points) works.
    let ok = parent.join("ct");
    let (success, _, stderr) = qtool(&[
        "quantize",
        "--model",
        src.to_str().unwrap(),
        "--scheme",
        "w4a16-asym",
        "--group-size",
        "32",
        "--out",
        ok.to_str().unwrap(),
    ]);
    assert!(success, "{stderr}");
    assert!(ok.join("model.safetensors").exists() && ok.join("config.json").exists());
}

/// Entries of `dir` (names).
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn a_full_disk_leaves_no_output_and_no_temporary() {
    // RLIMIT_FSIZE stands in for a full disk: once a file would grow past 4 MiB the write fails
    // (EFBIG; SIGXFSZ ignored so the process sees the error, as it would see ENOSPC).
    let d = tempfile::tempdir().unwrap();
    let src = smollm2_gguf();
    for (format, out) in [("compressed-tensors", "ct"), ("gguf", "model.gguf")] {
        let out = d.path().join(out);
        let script = format!(
            "trap '' XFSZ; ulimit -f 4096; exec '{}' quantize --model '{}' --scheme w8a16 --format {format} --out '{}'",
            env!("CARGO_BIN_EXE_qtool"),
            src.display(),
            out.display()
        );
        let run = Command::new("bash").arg("-c").arg(&script).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{format}: should fail on a full disk");
        assert!(!stderr.contains("panicked"), "{format}: panicked:\n{stderr}");
        assert!(stderr.contains("File too large"), "{format}: the error should say why:\n{stderr}");
        assert!(!out.exists(), "{format}: no partial output");
        assert!(entries(d.path()).is_empty(), "{format}: temporaries left: {:?}", entries(d.path()));
    }
}

#[test]
fn a_killed_write_leaves_no_output_and_the_next_run_clears_its_temporary() {
    let d = tempfile::tempdir().unwrap();
    let src = smollm2_gguf();
    let out = d.path().join("ct");
    let args = ["quantize", "--model", src.to_str().unwrap(), "--scheme", "w8a16", "--out", out.to_str().unwrap()];
    let mut child = Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its temporary folder holds a file being written.
    let t0 = std::time::Instant::now();
    let killed_while_writing = loop {
        let tmp = entries(d.path()).into_iter().find(|n| n.contains(".qtool-tmp-"));
        if let Some(t) = tmp {
            if std::fs::read_dir(d.path().join(&t)).map(|mut r| r.next().is_some()).unwrap_or(false) {
                child.kill().unwrap();
                break true;
            }
        }
        if child.try_wait().unwrap().is_some() || t0.elapsed().as_secs() > 120 {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    child.wait().unwrap();
    assert!(killed_while_writing, "the write finished before it could be killed");
    assert!(!out.exists(), "no partial output after SIGKILL");
    let left = entries(d.path());
    assert_eq!(left.len(), 1, "the killed run's temporary stays until the next run: {left:?}");
    // The same command again: succeeds and removes the dead run's temporary.
    let (ok, _, stderr) = qtool(&args);
    assert!(ok, "{stderr}");
    assert_eq!(entries(d.path()), ["ct"], "only the finished output remains");
    assert!(out.join("model.safetensors").exists());
}
