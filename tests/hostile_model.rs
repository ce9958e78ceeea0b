//! Crafted model configs through the binary (qtool issue 20): every loader and writer refuses a
//! config that is out of bounds or contradicts the tensors' shapes, with an error naming the
//! field, before anything is allocated or written; nothing panics or aborts.

use crate::crafted::{fails_with, qtool_in, smollm2_edited};
use quant::gguf::MetaValue;

fn s(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn gguf_zero_heads_and_zero_sized_q_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = smollm2_edited(d.path(), "heads0.gguf", |g| g.set("llama.attention.head_count", MetaValue::U32(0)));
    let p = s(&p);
    let out = s(&d.path().join("out"));
    for args in [
        vec!["inspect", &p],
        vec!["generate", "--model", &p, "--prompt", "hi", "--max-new-tokens", "2"],
        vec!["convert", &p, "--out", &out],
        vec!["quantize", "--model", &p, "--scheme", "w8a16", "--out", &out],
    ] {
        let (ok, text) = qtool_in(None, &args);
        if args[0] == "inspect" {
            // inspect reports the header; the config line says what is wrong.
            assert!(text.contains("llama.attention.head_count"), "{args:?}: {text}");
            let _ = ok;
        } else {
            assert!(!ok && text.contains("llama.attention.head_count"), "{args:?}: {text}");
        }
    }
    assert!(!d.path().join("out").exists());
    // A zero-sized Q projection (rows of blocks, no rows).
    let p = smollm2_edited(d.path(), "q0.gguf", |g| {
        let t = g.tensor("blk.0.attn_q.weight");
        t.dims[1] = 0;
        t.bytes.clear();
    });
    fails_with(&["generate", "--model", &s(&p), "--prompt", "hi", "--max-new-tokens", "2"], &["blk.0.attn_q.weight"]);
    fails_with(&["convert", &s(&p), "--out", &out], &["blk.0.attn_q.weight"]);
    assert!(!d.path().join("out").exists());
}

#[test]
fn gguf_unbounded_sizes_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let out = s(&d.path().join("out"));
    let cases: [(&str, MetaValue, &str); 3] = [
        ("llama.block_count", MetaValue::U32(0xFFFF_FFFF), "llama.block_count"),
        ("llama.context_length", MetaValue::U64(4_000_000_000), "llama.context_length"),
        ("llama.embedding_length", MetaValue::U64(1 << 40), "llama.embedding_length"),
    ];
    for (key, v, needle) in cases {
        let p = smollm2_edited(d.path(), "big.gguf", |g| g.set(key, v));
        fails_with(&["generate", "--model", &s(&p), "--prompt", "hi", "--max-new-tokens", "2"], &[needle]);
        fails_with(&["convert", &s(&p), "--out", &out], &[needle]);
        assert!(!d.path().join("out").exists(), "{key}");
    }
}

#[test]
fn hf_huge_context_is_an_error_and_rope_follows_the_context_used() {
    let d = tempfile::tempdir().unwrap();
    let w = crate::tiny_llama::random_weights(1);
    crate::tiny_llama::write_dense(
        d.path(),
        &w,
        &w.linears.iter().map(|(p, _, v)| (p.clone(), v.clone())).collect::<Vec<_>>(),
        None,
    );
    let cfg = d.path().join("config.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    v["max_position_embeddings"] = (1u64 << 62).into();
    std::fs::write(&cfg, v.to_string()).unwrap();
    let err = model::load::load_checkpoint(d.path(), None).err().expect("2^62 positions are refused");
    assert!(err.to_string().contains("max_position_embeddings"), "{err}");
    // A large but sane context builds no table for positions nobody asked for: loading a
    // 1M-token model is as quick as loading a 64-token one.
    v["max_position_embeddings"] = (1u64 << 20).into();
    std::fs::write(&cfg, v.to_string()).unwrap();
    let t0 = std::time::Instant::now();
    let m = crate::tiny_llama::load(d.path(), None);
    assert!(t0.elapsed().as_secs_f64() < 2.0, "load took {:?}", t0.elapsed());
    assert_eq!(m.config.max_position_embeddings, 1 << 20);
    let logits = crate::tiny_llama::logits(&m);
    assert!(logits.iter().all(|x| x.is_finite()));
}

#[test]
fn writers_refuse_configs_that_contradict_the_tensors() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    // One more layer than the file has, and KV heads that contradict the K/V widths.
    let p31 = smollm2_edited(d.path(), "l31.gguf", |g| g.set("llama.block_count", MetaValue::U32(31)));
    let kv1 = smollm2_edited(d.path(), "kv1.gguf", |g| g.set("llama.attention.head_count_kv", MetaValue::U32(1)));
    for (p, needle) in [(&p31, "model.layers.30"), (&kv1, "k_proj")] {
        fails_with(&["convert", &s(p), "--out", &s(&out)], &[needle]);
        assert!(!out.exists(), "convert wrote a config it cannot load");
        fails_with(&["quantize", "--model", &s(p), "--scheme", "w8a16", "--out", &s(&out)], &[needle]);
        assert!(!out.exists(), "quantize wrote a config it cannot load");
    }
}

#[test]
fn generate_refuses_absurd_flags() {
    let gguf = crate::common::smollm2_gguf();
    let g = s(&gguf);
    fails_with(&["generate", "--model", &g, "--prompt", "hi", "--samples", "100000"], &["--samples"]);
    fails_with(&["generate", "--model", &g, "--prompt", "hi", "--temperature", "NaN"], &["--temperature"]);
    fails_with(&["generate", "--model", &g, "--prompt", "hi", "--temperature", "inf"], &["--temperature"]);
    fails_with(&["generate", "--model", &g, "--prompt", "hi", "--top-p", "NaN"], &["--top-p"]);
    fails_with(
        &["eval", "--model", &g, "--tasks", "gsm8k", "--temperature", "NaN", "--out", "/nonexistent/x"],
        &["temperature"],
    );
}

#[test]
fn gptq_config_over_dense_tensors_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let w = crate::tiny_llama::random_weights(2);
    let dense: Vec<(String, Vec<f32>)> = w.linears.iter().map(|(p, _, v)| (p.clone(), v.clone())).collect();
    let gptq = serde_json::json!({"quant_method": "gptq", "bits": 4, "group_size": 32, "sym": true});
    crate::tiny_llama::write_dense(&d.path().join("gptq"), &w, &dense, Some(gptq));
    let err = model::load::load_checkpoint(&d.path().join("gptq"), None).err().expect("dense tensors under gptq");
    let msg = err.to_string();
    assert!(msg.contains("gptq") && msg.contains("qweight"), "{msg}");
    let ct = serde_json::json!({"quant_method": "compressed-tensors", "format": "pack-quantized",
        "config_groups": {"g": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "symmetric": true,
        "strategy": "group", "group_size": 32}}}, "ignore": ["lm_head"]});
    crate::tiny_llama::write_dense(&d.path().join("ct"), &w, &dense, Some(ct));
    let err = model::load::load_checkpoint(&d.path().join("ct"), None).err().expect("dense tensors under ct");
    let msg = err.to_string();
    assert!(msg.contains("compressed-tensors") && msg.contains("weight_packed"), "{msg}");
}
