//! (c) Quantized HF folders written here to the formats' specs (compressed-tensors
//! pack-quantized and int-quantized, GPTQ v1/v2 with and without act-order, qtool fake-quant)
//! for a tiny random Llama: each loads with its Linears packed (no dense copy) and gives the
//! logits of the dense folder holding the dequantized weights; asked for f32, the same folder
//! loads dequantized with the same logits. Unknown formats are errors naming the field.

use crate::tiny_llama::*;
use model::linear_weight::LinearWeight;
use model::load::load_checkpoint;
use model::weights::DType;
use model::Model;
use quant::pack::GptqVersion;
use quant::{
    quantize_rtn, Granularity, IntFormat, QuantizedParts, QuantizedWeight, RtnOptions, ScaleDtype, WeightFormat,
};
use safetensors::Dtype;
use serde_json::{json, Value};
use std::path::Path;

const TOL: f32 = 1e-5;

fn rtn_all(w: &TinyWeights, format: &WeightFormat, scale_dtype: ScaleDtype) -> Vec<QuantizedWeight> {
    let opts = RtnOptions { scale_dtype, clip_search: None };
    w.linears.iter().map(|(_, [n, k], v)| quantize_rtn(v, *n, *k, format, &opts).unwrap()).collect()
}

fn dequantized(w: &TinyWeights, qs: &[QuantizedWeight]) -> Vec<(String, Vec<f32>)> {
    w.linears.iter().zip(qs).map(|((p, _, _), q)| (p.clone(), q.dequantize())).collect()
}

fn ct_weights(bits: u32, symmetric: bool, gran: Granularity) -> Value {
    match gran {
        Granularity::Group(g) => json!({"num_bits": bits, "type": "int", "symmetric": symmetric,
            "strategy": "group", "group_size": g, "dynamic": false, "actorder": null, "observer": "minmax"}),
        _ => json!({"num_bits": bits, "type": "int", "symmetric": symmetric, "strategy": "channel",
            "dynamic": false, "observer": "minmax"}),
    }
}

fn ct_config(format: &str, weights: Value, act: Value) -> Value {
    json!({"quant_method": "compressed-tensors", "format": format, "quantization_status": "compressed",
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": weights, "input_activations": act}},
        "ignore": ["lm_head"], "kv_cache_scheme": null})
}

/// Loads `dir` packed and dequantized-to-f32 and checks both against `reference`.
fn check_against(dir: &Path, reference: &[f32], case: &str) -> Model {
    let packed = load(dir, None);
    let w = &packed.layers[0].q_proj.weight;
    assert!(matches!(w, LinearWeight::Packed(_)), "{case}: q_proj loaded as {}", w.label());
    assert!(matches!(packed.lm_head.as_ref().unwrap().weight, LinearWeight::Dense(_)), "{case}: lm_head is ignored");
    let e = rel_err(&logits(&packed), reference);
    let e_f32 = rel_err(&logits(&load(dir, Some(DType::F32))), reference);
    println!("{case} ({}): packed rel err {e:.2e}, dequantized-at-load {e_f32:.2e}", packed.quant_description);
    assert!(e <= TOL && e_f32 <= TOL, "{case}: {e} / {e_f32}");
    packed
}

#[test]
fn compressed_tensors_pack_quantized() {
    let tmp = tempfile::tempdir().unwrap();
    let w = random_weights(1);
    let cases = [
        (IntFormat::Int4, true, Granularity::Group(32), Dtype::BF16),
        (IntFormat::Int4, false, Granularity::Group(32), Dtype::BF16),
        (IntFormat::Int3, false, Granularity::Group(32), Dtype::F16),
        (IntFormat::Int2, false, Granularity::Group(32), Dtype::F32),
        (IntFormat::Int8, true, Granularity::PerChannel, Dtype::BF16),
    ];
    for (i, (int, sym, gran, sd)) in cases.into_iter().enumerate() {
        let format = WeightFormat::new(int, gran, sym).unwrap();
        let scale_dtype = match sd {
            Dtype::BF16 => ScaleDtype::Bf16,
            Dtype::F16 => ScaleDtype::F16,
            _ => ScaleDtype::F32,
        };
        let qs = rtn_all(&w, &format, scale_dtype);
        let dense_dir = tmp.path().join(format!("dense{i}"));
        write_dense(&dense_dir, &w, &dequantized(&w, &qs), None);
        let mut e = other_entries(&w);
        for ((p, _, _), q) in w.linears.iter().zip(&qs) {
            e.extend(ct_pack_entries(p, q, sd));
        }
        let dir = tmp.path().join(format!("ct{i}"));
        let qc = ct_config("pack-quantized", ct_weights(int.bits(), sym, gran), Value::Null);
        write_folder(&dir, &config(Some(qc)), &e);
        check_against(&dir, &logits(&load(&dense_dir, None)), &format!("pack-quantized {}", format.label()));
    }
}

#[test]
fn compressed_tensors_w8a8_int_quantized_equals_qtool_fake_quant_w8a8() {
    let tmp = tempfile::tempdir().unwrap();
    let w = random_weights(2);
    let format = WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true).unwrap();
    let qs = rtn_all(&w, &format, ScaleDtype::Bf16);
    let fake_dir = tmp.path().join("fake");
    let fake_qc = json!({"quant_method": "qtool", "format": "fake-quant", "scheme": "w8a8"});
    write_dense(&fake_dir, &w, &dequantized(&w, &qs), Some(fake_qc));
    let plain_dir = tmp.path().join("plain");
    write_dense(&plain_dir, &w, &dequantized(&w, &qs), None);
    let mut e = other_entries(&w);
    for ((p, _, _), q) in w.linears.iter().zip(&qs) {
        e.extend(ct_int_entries(p, q, Dtype::BF16));
    }
    let dir = tmp.path().join("w8a8");
    let act = json!({"num_bits": 8, "type": "int", "symmetric": true, "strategy": "token", "dynamic": true});
    write_folder(
        &dir,
        &config(Some(ct_config("int-quantized", ct_weights(8, true, Granularity::PerChannel), act))),
        &e,
    );
    let reference = logits(&load(&fake_dir, None));
    let m = check_against(&dir, &reference, "int-quantized W8A8");
    assert!(m.layers[1].down_proj.act.is_some() && m.lm_head.as_ref().unwrap().act.is_none());
    let without_act = rel_err(&logits(&load(&plain_dir, None)), &reference);
    println!("W8A8 vs the same weights without activation quantization: rel err {without_act:.2e}");
    assert!(without_act > 0.0, "activation quantization must change the logits");
}

/// A random act-order weight: every column in a random group, f16 scales.
fn act_order_weight(format: &WeightFormat, n: usize, k: usize, rng: &mut Rng) -> QuantizedWeight {
    let ng = format.n_groups(k);
    let max = format.int().code_max() as u64 + 1;
    QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: ScaleDtype::F16,
        n,
        k,
        codes: (0..n * k).map(|_| (rng.next_u64() % max) as u8).collect(),
        scales: (0..n * ng).map(|_| half::f16::from_f32(rng.uniform(0.01, 0.05)).to_f32()).collect(),
        zeros: (!format.symmetric()).then(|| (0..n * ng).map(|_| (1 + rng.next_u64() % (max - 1)) as u8).collect()),
        g_idx: Some((0..k).map(|j| ((j * 7 + 3) % ng) as u32).collect()),
    })
    .unwrap()
}

#[test]
fn gptq_v1_v2_and_act_order() {
    let tmp = tempfile::tempdir().unwrap();
    let w = random_weights(3);
    let mut rng = Rng::new(33);
    let cases = [
        ("gptq", GptqVersion::V1, IntFormat::Int4, true, false, false),
        ("gptq_v2", GptqVersion::V2, IntFormat::Int4, false, false, false),
        ("gptq", GptqVersion::V1, IntFormat::Int8, true, false, true),
        ("gptq_v2", GptqVersion::V2, IntFormat::Int3, false, true, false),
    ];
    for (i, (fmt, version, int, sym, act_order, separate_file)) in cases.into_iter().enumerate() {
        let format = WeightFormat::new(int, Granularity::Group(32), sym).unwrap();
        let qs: Vec<QuantizedWeight> = if act_order {
            w.linears.iter().map(|(_, [n, k], _)| act_order_weight(&format, *n, *k, &mut rng)).collect()
        } else {
            rtn_all(&w, &format, ScaleDtype::F16)
        };
        let dense_dir = tmp.path().join(format!("dense{i}"));
        write_dense(&dense_dir, &w, &dequantized(&w, &qs), None);
        let mut e = other_entries(&w);
        for ((p, _, _), q) in w.linears.iter().zip(&qs) {
            e.extend(gptq_entries(p, q, version));
        }
        let dir = tmp.path().join(format!("gptq{i}"));
        let qc = json!({"quant_method": "gptq", "bits": int.bits(), "group_size": 32, "sym": sym,
            "desc_act": act_order, "damp_percent": 0.01, "static_groups": false, "true_sequential": true,
            "checkpoint_format": fmt});
        if separate_file {
            write_folder(&dir, &config(None), &e);
            std::fs::write(dir.join("quantize_config.json"), qc.to_string()).unwrap();
        } else {
            write_folder(&dir, &config(Some(qc)), &e);
        }
        let case = format!("GPTQ {fmt} {}{}", format.label(), if act_order { " act-order" } else { "" });
        let m = check_against(&dir, &logits(&load(&dense_dir, None)), &case);
        if let LinearWeight::Packed(p) = &m.layers[0].up_proj.weight {
            assert_eq!(p.g_idx().is_some(), act_order, "{case}");
        }
    }
}

#[test]
fn unknown_formats_are_errors_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let w = random_weights(4);
    let lin: Vec<(String, Vec<f32>)> = w.linears.iter().map(|(p, _, v)| (p.clone(), v.clone())).collect();
    let cases = [
        (
            json!({"quant_method": "awq", "bits": 4}),
            "quantization_config.quant_method",
            "compressed-tensors, gptq, qtool",
        ),
        (
            ct_config("float-quantized", ct_weights(8, true, Granularity::PerChannel), Value::Null),
            "quantization_config.format",
            "pack-quantized, int-quantized",
        ),
        (
            json!({"quant_method": "qtool", "format": "packed", "scheme": "w4a16"}),
            "quantization_config.format",
            "fake-quant",
        ),
        (
            json!({"quant_method": "qtool", "format": "fake-quant", "scheme": "w9a16"}),
            "quantization_config.scheme",
            "w9a16",
        ),
    ];
    for (i, (qc, field, choices)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("bad{i}"));
        write_dense(&dir, &w, &lin, Some(qc));
        let err = load_checkpoint(&dir, None).err().expect("must fail").to_string();
        println!("{err}");
        assert!(err.contains(field) && err.contains(choices) && err.contains("config.json"), "{err}");
    }
}
