//! (d) Run-time fake quantization inside the model: dynamic activation quantization before
//! each Linear and KV-cache quantization change the logits a little at 8 bits and more at 4
//! (and more again at 2 for the cache), and a scheme without them changes nothing at all. On
//! the tiny random Llama through qtool fake-quant folders, and on SmolLM2 through the model's
//! setters.

use crate::tiny_llama::*;
use model::load::load_model;
use model::{LogitRows, SeqChunk};
use quant::Scheme;
use serde_json::json;

#[test]
fn tiny_llama_fake_quant_is_monotone_and_exact_when_off() {
    let tmp = tempfile::tempdir().unwrap();
    let w = random_weights(5);
    let lin: Vec<(String, Vec<f32>)> = w.linears.iter().map(|(p, _, v)| (p.clone(), v.clone())).collect();
    let base_dir = tmp.path().join("base");
    write_dense(&base_dir, &w, &lin, None);
    let base = logits(&load(&base_dir, None));
    let err = |scheme: &str| {
        let dir = tmp.path().join(scheme);
        write_dense(&dir, &w, &lin, Some(json!({"quant_method": "qtool", "format": "fake-quant", "scheme": scheme})));
        let e = rel_err(&logits(&load(&dir, None)), &base);
        println!("{scheme}: rel err {e:.3e}");
        e
    };
    for off in ["bf16", "w4a16", "w3a16-asym"] {
        assert_eq!(err(off), 0.0, "{off} has no run-time quantization");
    }
    let (a8, a4) = (err("w8a8"), err("w4a4"));
    assert!(0.0 < a8 && a8 < a4, "activations: int8 {a8}, int4 {a4}");
    let (k8, k4, k2) = (err("kv8"), err("kv4"), err("kv2"));
    assert!(0.0 < k8 && k8 < k4 && k4 < k2, "KV: 8 bits {k8}, 4 bits {k4}, 2 bits {k2}");
}

#[test]
fn smollm2_kv_and_activation_fake_quant_are_monotone() {
    let mut loaded = load_model(&crate::common::smollm2_gguf(), None, kernels::cpu_backend()).unwrap();
    let ids = loaded.tokenizer.encode("Janet's ducks lay 16 eggs per day. She eats three for breakfast", true).unwrap();
    let m = &mut loaded.model;
    let run = |m: &model::Model| {
        let mut cache = m.new_cache(1, ids.len());
        m.forward(&[SeqChunk { slot: 0, tokens: &ids }], &mut cache, LogitRows::All).unwrap()
    };
    let base = run(m);
    let mut errs = Vec::new();
    for scheme in ["kv8", "kv4", "kv2"] {
        m.set_kv_quant(Scheme::parse(scheme).unwrap().kv).unwrap();
        errs.push(rel_err(&run(m), &base));
    }
    m.set_kv_quant(None).unwrap();
    assert_eq!(rel_err(&run(m), &base), 0.0, "clearing the KV format restores the model");
    for scheme in ["w8a8", "w4a4"] {
        let act = Scheme::parse(scheme).unwrap().act;
        m.linears_mut().for_each(|l| l.act = act);
        errs.push(rel_err(&run(m), &base));
    }
    println!(
        "SmolLM2 rel err: kv8 {:.2e}, kv4 {:.2e}, kv2 {:.2e}, a8 {:.2e}, a4 {:.2e}",
        errs[0], errs[1], errs[2], errs[3], errs[4]
    );
    assert!(0.0 < errs[0] && errs[0] < errs[1] && errs[1] < errs[2], "KV: {errs:?}");
    assert!(0.0 < errs[3] && errs[3] < errs[4], "activations: {errs:?}");
}
