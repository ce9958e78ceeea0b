//! Calibrated quantization through the real binary on SmolLM2-135M: GPTQ (w4a16 g64 asym, 8
//! samples x 128 tokens of MMATH problems) lands closer to the base model than RTN on GSM8K
//! solutions (KLD, `eval::kld`); the calibration pipeline with RTN writes exactly the bytes
//! plain RTN writes; act-order GPTQ folders carry g_idx with desc_act; the output records how it
//! was made; bad calibration input is refused with clear messages.

use crate::common::{mmath, qtool, smollm2_gguf};
use eval::kld::{KldSpec, Silent, TextSource};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `qtool quantize` on SmolLM2 into `out` with `extra` flags; returns stderr (progress, notes).
fn quantize(out: &Path, extra: &[&str]) -> String {
    let src = smollm2_gguf();
    let mut args = vec!["quantize", "--model", src.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (ok, _, stderr) = qtool(&args);
    assert!(ok, "qtool {args:?} failed:\n{stderr}");
    stderr
}

fn expect_error(extra: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let src = smollm2_gguf();
    let out = dir.path().join("out");
    let mut args = vec!["quantize", "--model", src.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (ok, _, stderr) = qtool(&args);
    assert!(!ok, "qtool {args:?} should fail");
    for n in needles {
        assert!(stderr.contains(n), "qtool {args:?}: error should mention {n:?}, got:\n{stderr}");
    }
    assert!(!out.exists(), "a refused run leaves no output");
}

/// MMATH English problems and answers as plain text (calibration that is not GSM8K).
fn mmath_text(dir: &Path) -> PathBuf {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(mmath("en")).unwrap()).unwrap();
    let docs: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("{}\n{}", x["question"].as_str().unwrap(), x["answer"].as_str().unwrap_or("")))
        .collect();
    let p = dir.join("mmath-en.txt");
    std::fs::write(&p, docs.join("\n\n")).unwrap();
    p
}

/// The first `n` GSM8K test solutions as a text file (the KLD text).
fn gsm8k_text(dir: &Path, n: usize) -> PathBuf {
    let all = eval::kld::text::gsm8k_solutions(&crate::common::gsm8k_test()).expect("GSM8K test set");
    let text: Vec<&str> = all.split("\n\n").take(n).collect();
    let p = dir.join("gsm8k.txt");
    std::fs::write(&p, text.join("\n\n")).unwrap();
    p
}

fn kld(model: &Path, text: &Path, cache: &Path) -> eval::kld::KldReport {
    let spec = KldSpec {
        base: smollm2_gguf(),
        base_dtype: None,
        model: model.to_path_buf(),
        model_dtype: None,
        backend: "cpu".into(),
        text: TextSource::File(text.to_path_buf()),
        ctx: 256,
        chunks: Some(6),
        top_k: eval::kld::DEFAULT_TOP_K,
        batch: None,
        cache: Some(cache.to_path_buf()),
    };
    eval::kld::run(&spec, &mut Silent).expect("kld run")
}

fn config(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap()
}

#[test]
fn gptq_w4a16_g64_asym_has_lower_kld_than_rtn() {
    let dir = tempfile::tempdir().unwrap();
    let calib = format!("text:{}", mmath_text(dir.path()).display());
    let (rtn, gptq) = (dir.path().join("rtn"), dir.path().join("gptq"));
    let scheme = ["--scheme", "w4a16-g64-asym", "--format", "qtool"];
    quantize(&rtn, &scheme);
    let t0 = std::time::Instant::now();
    let log = quantize(
        &gptq,
        &[&scheme[..], &["--method", "gptq", "--calib", &calib, "--calib-samples", "8", "--calib-seqlen", "128"]]
            .concat(),
    );
    println!("GPTQ run: {:.1}s\n{log}", t0.elapsed().as_secs_f64());
    assert!(log.contains("layer 29: GPTQ loss"), "per-layer loss printed:\n{log}");
    let text = gsm8k_text(dir.path(), 60);
    let cache = dir.path().join("base.kldcache");
    let r_rtn = kld(&rtn, &text, &cache);
    let r_gptq = kld(&gptq, &text, &cache);
    println!("RTN  w4a16-g64-asym:\n{}\nGPTQ w4a16-g64-asym:\n{}", r_rtn.table(), r_gptq.table());
    let (k_rtn, k_gptq) = (r_rtn.summary.kld.mean.mean, r_gptq.summary.kld.mean.mean);
    println!("mean KLD: RTN {k_rtn:.5}, GPTQ {k_gptq:.5} ({:.0}% of RTN)", 100.0 * k_gptq / k_rtn);
    assert!(k_gptq < k_rtn, "GPTQ KLD {k_gptq} should be below RTN's {k_rtn}");
    let q = &config(&gptq)["qtool_quantization"];
    assert_eq!(q["method"], "gptq");
    assert_eq!(q["calibration"]["source"], calib.as_str());
    assert_eq!((q["calibration"]["samples"].as_u64(), q["calibration"]["seqlen"].as_u64()), (Some(8), Some(128)));
    assert_eq!(q["calibration"]["seed"], 0);
    assert_eq!(q["qtool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(config(&gptq)["quantization_config"]["method"], "gptq");
}

#[test]
fn calibration_pipeline_with_rtn_writes_the_same_weights_as_rtn() {
    let dir = tempfile::tempdir().unwrap();
    let calib = format!("text:{}", mmath_text(dir.path()).display());
    let (plain, seq) = (dir.path().join("plain"), dir.path().join("seq"));
    let scheme = ["--scheme", "w4a16-g64-asym", "--format", "compressed-tensors"];
    quantize(&plain, &scheme);
    quantize(&seq, &[&scheme[..], &["--calib", &calib, "--calib-samples", "2", "--calib-seqlen", "64"]].concat());
    let a = std::fs::read(plain.join("model.safetensors")).unwrap();
    let b = std::fs::read(seq.join("model.safetensors")).unwrap();
    assert!(a == b, "layer-by-layer RTN must write the same tensors as plain RTN");
    assert_eq!(config(&seq)["qtool_quantization"]["method"], "rtn");
    assert_eq!(config(&seq)["qtool_quantization"]["calibration"]["samples"], 2);
    assert!(config(&plain)["qtool_quantization"]["calibration"].is_null());
}

#[test]
fn act_order_gptq_folder_carries_g_idx_and_desc_act() {
    let dir = tempfile::tempdir().unwrap();
    let calib = format!("text:{}", mmath_text(dir.path()).display());
    let out = dir.path().join("gptq-ao");
    let log = quantize(
        &out,
        &[
            "--scheme",
            "w4a16",
            "--sym",
            "--format",
            "gptq",
            "--method",
            "gptq",
            "--act-order",
            "--calib",
            &calib,
            "--calib-samples",
            "2",
            "--calib-seqlen",
            "64",
        ],
    );
    assert!(log.contains("GPTQ loss"), "{log}");
    let qc: Value = serde_json::from_str(&std::fs::read_to_string(out.join("quantize_config.json")).unwrap()).unwrap();
    assert_eq!(
        (&qc["desc_act"], &qc["static_groups"], &qc["damp_percent"]),
        (&Value::from(true), &Value::from(false), &Value::from(0.01))
    );
    assert_eq!(config(&out)["quantization_config"]["desc_act"], true);
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let g = st.tensor("model.layers.3.mlp.down_proj.g_idx").unwrap();
    let g: Vec<i32> = g.data().chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(g.len(), 1536);
    assert!(g.windows(2).any(|w| w[0] > w[1]), "act-order permutes g_idx");
    // qtool runs what it wrote.
    let (ok, _, stderr) =
        qtool(&["generate", "--model", out.to_str().unwrap(), "--prompt", "2+2=", "--max-new-tokens", "4"]);
    assert!(ok, "generate on the act-order folder:\n{stderr}");
}

#[test]
fn gguf_output_records_the_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let calib = format!("text:{}", mmath_text(dir.path()).display());
    let out = dir.path().join("gptq.gguf");
    quantize(
        &out,
        &[
            "--scheme",
            "w4a16",
            "--sym",
            "--format",
            "gguf",
            "--gguf-type",
            "q4_0",
            "--method",
            "gptq",
            "--calib",
            &calib,
            "--calib-samples",
            "2",
            "--calib-seqlen",
            "64",
            "--seed",
            "7",
        ],
    );
    let g = quant::gguf::GgufFile::open(&out).unwrap();
    let get = |k: &str| g.metadata.iter().find(|(n, _)| n == k).map(|(_, v)| format!("{v:?}"));
    assert!(get("qtool.quantization.method").unwrap().contains("gptq"));
    assert!(get("qtool.quantization.calibration.source").unwrap().contains("mmath-en.txt"));
    assert!(get("qtool.quantization.calibration.seed").unwrap().contains('7'));
    assert!(get("qtool.quantization.calibration.seqlen").unwrap().contains("64"));
}

#[test]
fn bad_calibration_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n\n  \n").unwrap();
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "Only a few words of text.").unwrap();
    let calib = |p: &Path| format!("text:{}", p.display());
    let gptq = ["--scheme", "w4a16", "--method", "gptq", "--calib-samples", "2"];
    expect_error(&[&gptq[..], &["--calib", &calib(&empty)]].concat(), &["empty.txt", "empty"]);
    expect_error(
        &[&gptq[..], &["--calib", &calib(&short)]].concat(),
        &["short.txt", "shorter than one sample of 512 tokens"],
    );
    expect_error(
        &[&gptq[..], &["--calib", &calib(&short), "--calib-seqlen", "100000"]].concat(),
        &["--calib-seqlen 100000", "context of"],
    );
    expect_error(&["--scheme", "w4a16", "--method", "gptq"], &["--method gptq needs calibration data"]);
    expect_error(&["--scheme", "w4a16", "--calib", "gsm8k-solutions"], &["GSM8K test split", "gsm8k:PATH"]);
    expect_error(&["--scheme", "w4a16", "--calib", "books:x"], &["text:FILE"]);
    expect_error(&["--scheme", "w4a16", "--act-order"], &["--method gptq"]);
    expect_error(&[&gptq[..], &["--calib", &calib(&short), "--damp", "0"]].concat(), &["--damp 0"]);
    let missing = dir.path().join("missing.jsonl");
    expect_error(&[&gptq[..], &["--calib", &format!("traces:{}", missing.display())]].concat(), &["missing.jsonl"]);
    let bad_trace = dir.path().join("bad.jsonl");
    std::fs::write(&bad_trace, "{\"prompt\": \"only a prompt\"}\n").unwrap();
    expect_error(
        &[&gptq[..], &["--calib", &format!("traces:{}", bad_trace.display())]].concat(),
        &["bad.jsonl line 1", "response"],
    );
    // The GSM8K test split itself: every item is an evaluation item.
    let test = crate::common::gsm8k_test();
    expect_error(
        &[&gptq[..], &["--calib", &format!("gsm8k:{}", test.display())]].concat(),
        &["every one of its 1319 documents contains an evaluation item"],
    );
}

#[test]
fn layer_by_layer_forward_gives_the_logits_of_the_whole_forward() {
    use model::{LayerObserver, LinearInput, LogitRows, SeqChunk};
    struct Rows(Vec<(LinearInput, usize, usize)>);
    impl LayerObserver for Rows {
        fn observe(&mut self, site: LinearInput, x: &[f32], rows: usize) -> model::Result<()> {
            self.0.push((site, rows, x.len() / rows));
            Ok(())
        }
    }
    let m = model::load::load_model(&smollm2_gguf(), Some(model::weights::DType::F32), kernels::cpu_backend()).unwrap();
    let (model, tok) = (m.model, m.tokenizer);
    let tokens = tok.encode("Natalia sold clips to 48 of her friends in April.", false).unwrap();
    let mut cache = model.new_cache(1, 64);
    let whole = model.forward(&[SeqChunk { slot: 0, tokens: &tokens }], &mut cache, LogitRows::All).unwrap();

    let c = &model.config;
    let d = c.hidden_size;
    let mut x = model.embed_rows(&tokens).unwrap();
    let mut seen = Rows(Vec::new());
    for li in 0..c.num_hidden_layers {
        model.layer_forward(li, &mut x, if li == 0 { Some(&mut seen) } else { None }).unwrap();
    }
    let t = tokens.len();
    let f = c.intermediate_size;
    let qd = c.num_attention_heads * c.head_dim;
    assert_eq!(
        seen.0,
        vec![
            (LinearInput::AttnIn, t, d),
            (LinearInput::AttnOut, t, qd),
            (LinearInput::MlpIn, t, d),
            (LinearInput::MlpDown, t, f)
        ]
    );
    let be = model.backend();
    let mut normed = vec![0f32; x.len()];
    be.rms_norm(&x, t, d, &model.norm, c.rms_norm_eps as f32, &mut normed).unwrap();
    let mut logits = vec![0f32; t * c.vocab_size];
    model.embed_tokens.matmul(be, &normed, t, &mut logits).unwrap();
    assert!(logits == whole, "layer_forward chained over all layers must give forward's logits bit for bit");
}

#[test]
fn kvquant_style_keys_are_calibrated_before_rope_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let calib = format!("text:{}", mmath_text(dir.path()).display());
    let out = dir.path().join("kv4");
    quantize(&out, &["--scheme", "kv4", "--calib", &calib, "--calib-samples", "2", "--calib-seqlen", "128"]);
    let m = model::load::load_model(&out, None, kernels::cpu_backend()).expect("loads").model;
    let kv = m.kv_quant.as_ref().expect("a KV format");
    assert!(kv.keys_before_rope(), "calibrated per-channel keys are quantized before RoPE");
    assert_eq!(kv.k_channels.as_ref().unwrap().len(), m.config.num_hidden_layers);
    // Without calibration the same scheme falls back to per-token groups after RoPE.
    let plain = dir.path().join("kv4-plain");
    quantize(&plain, &["--scheme", "kv4"]);
    let m = model::load::load_model(&plain, None, kernels::cpu_backend()).unwrap().model;
    assert!(!m.kv_quant.as_ref().unwrap().keys_before_rope());
    // qtool's KV cache (and so its calibrated keys) cannot go into a compressed-tensors folder.
    expect_error(
        &[
            "--scheme",
            "w8a8-kv8",
            "--format",
            "compressed-tensors",
            "--calib",
            &calib,
            "--calib-samples",
            "1",
            "--calib-seqlen",
            "64",
        ],
        &["kv_cache_scheme", "formats that can: qtool"],
    );
}

#[test]
fn quarot_w4a4_has_lower_kld_than_rtn_and_records_its_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (rtn, rot) = (dir.path().join("rtn"), dir.path().join("quarot"));
    quantize(&rtn, &["--scheme", "w4a4-kv4", "--format", "qtool"]);
    let log = quantize(&rot, &["--scheme", "w4a4-kvr4", "--method", "quarot", "--format", "qtool"]);
    assert!(log.contains("online Hadamard before down_proj"), "{log}");
    let c = config(&rot);
    assert_eq!(c["quantization_config"]["rotation"]["down_proj"], true);
    assert_eq!(c["quantization_config"]["rotation"]["qk_heads"], true);
    assert_eq!(c["tie_word_embeddings"], false, "the rotation unties lm_head");
    let text = gsm8k_text(dir.path(), 60);
    let cache = dir.path().join("base.kldcache");
    let (k_rtn, k_rot) =
        (kld(&rtn, &text, &cache).summary.kld.mean.mean, kld(&rot, &text, &cache).summary.kld.mean.mean);
    println!("w4a4 mean KLD: RTN {k_rtn:.4}, QuaRot (RTN weights) {k_rot:.4}");
    assert!(k_rot < k_rtn, "QuaRot KLD {k_rot} should be below RTN's {k_rtn}");
    // The rotation needs qtool's online transforms: other formats refuse it.
    expect_error(&["--scheme", "w8a8", "--method", "quarot", "--format", "compressed-tensors"], &["--format qtool"]);
}

#[test]
fn methods_refuse_what_they_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let calib = format!("text:{}", mmath_text(dir.path()).display());
    expect_error(&["--scheme", "w4a16-asym", "--method", "awq"], &["--method awq needs calibration data"]);
    expect_error(&["--scheme", "w8a8", "--method", "smoothquant+gptq"], &["needs calibration data"]);
    expect_error(
        &["--scheme", "kv4", "--method", "awq", "--calib", &calib, "--calib-samples", "1", "--calib-seqlen", "64"],
        &["quantizes no weights"],
    );
    expect_error(&["--scheme", "w4a16", "--method", "quarot", "--format", "gguf"], &["GGUF output", "--format qtool"]);
    expect_error(
        &["--scheme", "w8a8", "--method", "smoothquant", "--smooth-alpha", "1.5", "--calib", &calib],
        &["--smooth-alpha"],
    );
    expect_error(&["--scheme", "w4a16", "--method", "spinquant"], &["spinquant"]);
}
