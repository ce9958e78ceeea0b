//! Writer unit tests on a tiny synthetic model: each format's files read back (safetensors
//! crate, qtool's GGUF reader) to the exact `QuantizedWeight`s written; capability refusals
//! name the scheme, the format and the alternatives; atomic outputs leave nothing behind.

use super::*;
use crate::format::ScaleDtype;
use crate::gguf::{GgmlType, GgufFile, MetaValue};
use crate::pack::{unpack_ct, unpack_gptq, CtPackQuantized, GptqPacked, GptqVersion};
use crate::rtn::{quantize_rtn, RtnOptions};
use crate::scheme::Scheme;
use crate::test_util::gaussian;
use safetensors::{Dtype, SafeTensors};
use serde_json::json;

fn linear(module: &str, n: usize, k: usize, s: &Scheme, dtype: ScaleDtype, seed: u64) -> QuantLinear {
    let w = gaussian(seed, n * k, 0.05);
    let q = quantize_rtn(&w, n, k, s.weight.as_ref().unwrap(), &RtnOptions { scale_dtype: dtype, clip_search: None })
        .unwrap();
    QuantLinear { module: module.into(), weight: q }
}

fn model(s: &Scheme, dtype: ScaleDtype) -> HfModel {
    let norm = DenseTensor { name: "model.norm.weight".into(), shape: vec![64], data: vec![1.0; 64] };
    HfModel {
        config: json!({"architectures": ["LlamaForCausalLM"], "hidden_size": 64}),
        dtype,
        dense: vec![norm],
        linears: vec![
            linear("model.layers.0.self_attn.q_proj", 64, 64, s, dtype, 1),
            linear("model.layers.0.mlp.down_proj", 64, 128, s, dtype, 2),
        ],
    }
}

fn i32s(t: &safetensors::tensor::TensorView<'_>) -> Vec<i32> {
    t.data().chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn floats(t: &safetensors::tensor::TensorView<'_>) -> Vec<f32> {
    match t.dtype() {
        Dtype::F32 => t.data().chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
        Dtype::F16 => t.data().chunks(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::BF16 => t.data().chunks(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        d => panic!("not a float: {d:?}"),
    }
}

#[test]
fn compressed_tensors_pack_quantized_reads_back_exactly() {
    let s = Scheme::parse("w4a16-g32-asym").unwrap();
    let m = model(&s, ScaleDtype::Bf16);
    let dir = tempfile::tempdir().unwrap();
    let stats = compressed_tensors::write(dir.path(), &m, &s, &["lm_head".into()]).unwrap();
    assert_eq!((stats.quantized_tensors, stats.kept_tensors), (2, 1));
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for l in &m.linears {
        let x = &l.module;
        let (n, k) = (l.weight.n(), l.weight.k());
        let packed = st.tensor(&format!("{x}.weight_packed")).unwrap();
        assert_eq!((packed.dtype(), packed.shape()), (Dtype::I32, &[n, k / 8][..]));
        let scale = st.tensor(&format!("{x}.weight_scale")).unwrap();
        assert_eq!((scale.dtype(), scale.shape()), (Dtype::BF16, &[n, k / 32][..]));
        let shape = st.tensor(&format!("{x}.weight_shape")).unwrap();
        assert_eq!((shape.dtype(), shape.shape()), (Dtype::I64, &[2][..]));
        let zp = st.tensor(&format!("{x}.weight_zero_point")).unwrap();
        assert_eq!((zp.dtype(), zp.shape()), (Dtype::I32, &[n / 8, k / 32][..]));
        let p = CtPackQuantized {
            weight_shape: [n, k],
            weight_packed: i32s(&packed),
            weight_scale: floats(&scale),
            weight_zero_point: Some(i32s(&zp)),
            weight_g_idx: None,
        };
        assert_eq!(unpack_ct(&p, l.weight.format(), ScaleDtype::Bf16).unwrap(), l.weight, "{x}");
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    let qc = &cfg["quantization_config"];
    assert_eq!(qc["format"], "pack-quantized");
    assert_eq!(qc["config_groups"]["group_0"]["weights"]["group_size"], 32);
    assert_eq!(qc["config_groups"]["group_0"]["weights"]["symmetric"], false);
    assert_eq!(cfg["torch_dtype"], "bfloat16");
}

#[test]
fn compressed_tensors_int_quantized_is_signed_int8() {
    let s = Scheme::parse("w8a8").unwrap();
    let m = model(&s, ScaleDtype::Bf16);
    let dir = tempfile::tempdir().unwrap();
    compressed_tensors::write(dir.path(), &m, &s, &[]).unwrap();
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let l = &m.linears[1];
    let w = st.tensor(&format!("{}.weight", l.module)).unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::I8, &[64, 128][..]));
    let codes: Vec<u8> = w.data().iter().map(|&b| (b as i8 as i16 + 128) as u8).collect();
    assert_eq!(codes, l.weight.codes());
    let scale = st.tensor(&format!("{}.weight_scale", l.module)).unwrap();
    assert_eq!(scale.shape(), &[64, 1]);
    assert_eq!(floats(&scale), l.weight.scales());
    assert!(st.tensor(&format!("{}.weight_zero_point", l.module)).is_err());
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    let g = &cfg["quantization_config"]["config_groups"]["group_0"];
    assert_eq!(cfg["quantization_config"]["format"], "int-quantized");
    assert_eq!(g["weights"]["strategy"], "channel");
    assert_eq!(g["input_activations"]["strategy"], "token");
    assert_eq!(g["input_activations"]["dynamic"], true);
}

#[test]
fn gptq_reads_back_exactly_and_refuses_zero_points_of_zero() {
    let s = Scheme::parse("w4a16-g32-asym").unwrap();
    let m = model(&s, ScaleDtype::F16);
    let dir = tempfile::tempdir().unwrap();
    gptq::write(dir.path(), &m).unwrap();
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for l in &m.linears {
        let x = &l.module;
        let (n, k) = (l.weight.n(), l.weight.k());
        let t = |s: &str| st.tensor(&format!("{x}.{s}")).unwrap();
        assert_eq!((t("qweight").dtype(), t("qweight").shape()), (Dtype::I32, &[k / 8, n][..]));
        assert_eq!((t("qzeros").dtype(), t("qzeros").shape()), (Dtype::I32, &[k / 32, n / 8][..]));
        assert_eq!((t("scales").dtype(), t("scales").shape()), (Dtype::F16, &[k / 32, n][..]));
        assert_eq!((t("g_idx").dtype(), t("g_idx").shape()), (Dtype::I32, &[k][..]));
        let p = GptqPacked {
            n,
            k,
            qweight: i32s(&t("qweight")),
            qzeros: i32s(&t("qzeros")),
            scales: floats(&t("scales")),
            g_idx: i32s(&t("g_idx")),
        };
        assert_eq!(unpack_gptq(&p, l.weight.format(), ScaleDtype::F16, GptqVersion::V1).unwrap(), l.weight);
    }
    let qc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("quantize_config.json")).unwrap()).unwrap();
    assert_eq!(qc["bits"], 4);
    assert_eq!(qc["sym"], false);
    assert_eq!(qc["checkpoint_format"], "gptq");
    // A row of non-negative weights has zero point 0, which v1 cannot store.
    let mut bad = m.clone();
    let f = *s.weight.as_ref().unwrap();
    let pos: Vec<f32> = (0..64 * 64).map(|i| (i % 7) as f32 * 0.01).collect();
    let q = quantize_rtn(&pos, 64, 64, &f, &RtnOptions { scale_dtype: ScaleDtype::F16, clip_search: None }).unwrap();
    bad.linears[1] = QuantLinear { module: "model.layers.0.mlp.up_proj".into(), weight: q };
    let e = gptq::write(tempfile::tempdir().unwrap().path(), &bad).unwrap_err().to_string();
    assert!(e.contains("model.layers.0.mlp.up_proj") && e.contains("--sym") && e.contains("compressed-tensors"), "{e}");
}

#[test]
fn qtool_fake_stores_dequantized_weights_in_the_model_dtype() {
    let s = Scheme::parse("w4a4-kv4").unwrap();
    let m = model(&s, ScaleDtype::Bf16);
    let dir = tempfile::tempdir().unwrap();
    qtool_fake::write(dir.path(), &m, &s, "rtn", &["lm_head".into()], None).unwrap();
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for l in &m.linears {
        let t = st.tensor(&format!("{}.weight", l.module)).unwrap();
        assert_eq!(t.dtype(), Dtype::BF16);
        let want: Vec<f32> = l.weight.dequantize().iter().map(|&v| half::bf16::from_f32(v).to_f32()).collect();
        assert_eq!(floats(&t), want);
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    let qc = &cfg["quantization_config"];
    assert_eq!(qc["quant_method"], "qtool");
    assert_eq!(qc["scheme"], "w4a4-kv4");
    assert!(qc["input_activations"].as_str().unwrap().starts_with("int4 per-token asym"));
    assert!(qc["kv_cache"].as_str().unwrap().contains("K int4 per-channel asym"));
}

#[test]
fn gguf_round_trips_through_the_reader_with_permuted_rows() {
    let s = Scheme::parse("w4a16-g32").unwrap();
    let m = model(&s, ScaleDtype::F16);
    let arch = GgufArch { name: "llama".into(), n_head: 4, n_head_kv: 2 };
    let w = gaussian(9, 64 * 256, 0.05);
    let up = DenseTensor { name: "model.layers.0.mlp.up_proj.weight".into(), shape: vec![64, 256], data: w.clone() };
    let g = GgufModel {
        arch,
        metadata: vec![("general.architecture".into(), MetaValue::String("llama".into()))],
        dense: m.dense.clone(),
        dense_type: GgmlType::F16,
        linears: vec![
            (m.linears[0].module.clone(), GgufLinear::Blocks(m.linears[0].weight.clone())),
            ("model.layers.0.mlp.up_proj".into(), GgufLinear::Encode { ty: GgmlType::Q4K, weight: up }),
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    let stats = gguf_model::write(&path, &g, &|| {}).unwrap();
    assert_eq!(stats.notes, vec!["Linear types: Q4_0 x1, Q4_K x1".to_string()]);
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(
        f.tensors.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["blk.0.attn_q.weight", "blk.0.ffn_up.weight", "output_norm.weight"]
    );
    let q = f.tensor("blk.0.attn_q.weight").unwrap();
    assert_eq!((q.ty, q.dims.clone()), (GgmlType::Q4_0, vec![64, 64]));
    let got = f.dequantize(q).unwrap();
    let want = gguf_model::permute_rows(&m.linears[0].weight.dequantize(), 4, 64);
    assert_eq!(got, want, "Q4_0 blocks decode to the permuted QuantizedWeight bit for bit");
    let up = f.tensor("blk.0.ffn_up.weight").unwrap();
    assert_eq!((up.ty, up.dims.clone()), (GgmlType::Q4K, vec![256, 64]));
    assert_eq!(f.tensor("output_norm.weight").unwrap().ty, GgmlType::F32);
    assert_eq!(f.get_str("general.architecture").unwrap(), "llama");
}

#[test]
fn permutation_pairs_the_two_rotary_halves() {
    // One head of 4 rows, 1 column: HF rows [a0, a1, b0, b1] -> llama.cpp [a0, b0, a1, b1].
    assert_eq!(gguf_model::permute_rows(&[0, 1, 2, 3], 1, 1), [0, 2, 1, 3]);
    assert_eq!(gguf_model::gguf_name("model.layers.3.mlp.down_proj.weight").unwrap(), "blk.3.ffn_down.weight");
    assert_eq!(gguf_model::gguf_name("model.layers.0.self_attn.k_proj.bias").unwrap(), "blk.0.attn_k.bias");
    assert_eq!(gguf_model::gguf_name("model.rotary.inv_freq"), None);
}

#[test]
fn capability_refusals_name_scheme_format_and_alternatives() {
    let o = FormatOptions::default();
    let e = check_scheme(CheckpointFormat::Gguf, &Scheme::parse("w3a16").unwrap(), &o).unwrap_err().to_string();
    assert!(e.contains("scheme 'w3a16' cannot be written as gguf"), "{e}");
    assert!(e.contains("formats that can: compressed-tensors, gptq, qtool"), "{e}");
    let e = check_scheme(CheckpointFormat::CompressedTensors, &Scheme::parse("w4a4-kv4").unwrap(), &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("formats that can: qtool"), "{e}");
    let e = check_scheme(CheckpointFormat::Gptq, &Scheme::parse("w8a8").unwrap(), &o).unwrap_err().to_string();
    assert!(e.contains("weight-only") && e.contains("compressed-tensors, qtool"), "{e}");
    let explicit = FormatOptions { group_explicit: true, ..o };
    let e =
        check_scheme(CheckpointFormat::Gguf, &Scheme::parse("w4a16-g64").unwrap(), &explicit).unwrap_err().to_string();
    assert!(e.contains("groups of 32"), "{e}");
    let plan = gguf_plan(&Scheme::parse("w4a16-asym").unwrap(), &o).unwrap();
    assert_eq!((plan.ty, plan.fallback), (GgmlType::Q4K, Some(GgmlType::Q4_1)));
    let shapes = vec![("model.layers.0.self_attn.q_proj".to_string(), 576, 576)];
    let w4 = Scheme::parse("w4a16").unwrap();
    let e = check(CheckpointFormat::CompressedTensors, &w4, &o, &shapes).unwrap_err().to_string();
    assert!(e.contains("group size 128 does not divide in_features 576"), "{e}");
    assert_eq!(default_format(&w4, &o, &shapes).0, CheckpointFormat::Qtool);
    assert_eq!(
        default_format(&Scheme::parse("w4a16-g64").unwrap(), &o, &shapes).0,
        CheckpointFormat::CompressedTensors
    );
}

#[test]
fn atomic_outputs_leave_nothing_on_failure_and_refuse_existing_targets() {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("out");
    {
        let d = AtomicDir::new(&target, false).unwrap();
        std::fs::write(d.path().join("config.json"), "{}").unwrap();
        // Dropped without commit: an error half way.
    }
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0, "no temporary left, no target");
    let d = AtomicDir::new(&target, false).unwrap();
    std::fs::write(d.path().join("config.json"), "{}").unwrap();
    std::fs::write(d.path().join("a"), "1").unwrap();
    d.commit().unwrap();
    assert!(target.join("a").exists());
    let e = AtomicDir::new(&target, false).unwrap_err().to_string();
    assert!(e.contains("already exists") && e.contains("--force"), "{e}");
    let d = AtomicDir::new(&target, true).unwrap();
    std::fs::write(d.path().join("config.json"), "{}").unwrap();
    std::fs::write(d.path().join("b"), "2").unwrap();
    d.commit().unwrap();
    assert!(target.join("b").exists() && !target.join("a").exists());
    // A temporary left by a killed process (pid that cannot exist) is cleared by the next run.
    let stale = root.path().join(".out.qtool-tmp-4294967295");
    std::fs::create_dir(&stale).unwrap();
    let f = AtomicFile::new(&root.path().join("out.gguf"), false).unwrap();
    drop(f);
    if std::path::Path::new("/proc").is_dir() {
        let _ = AtomicDir::new(&target, true).unwrap();
        assert!(!stale.exists());
    }
    let names: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["out"]);
}

#[test]
fn forced_outputs_never_replace_what_the_user_owns() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(home.join("sub")).unwrap();
    std::fs::write(home.join("notes.txt"), "mine").unwrap();
    for target in [home.join("sub/.."), home.join(".."), std::path::PathBuf::from("."), std::path::PathBuf::from("/")] {
        let e = AtomicDir::new(&target, true).unwrap_err().to_string();
        assert!(e.contains("--out must end in the output's own name"), "{target:?}: {e}");
    }
    let e = AtomicDir::new(&home, true).unwrap_err().to_string();
    assert!(e.contains("not a model folder"), "{e}");
    assert!(home.join("notes.txt").exists() && home.join("sub").exists());
    // An empty folder may be replaced.
    let d = AtomicDir::new(&home.join("sub"), true).unwrap();
    std::fs::write(d.path().join("config.json"), "{}").unwrap();
    d.commit().unwrap();
    assert!(home.join("sub/config.json").exists() && home.join("notes.txt").exists());
}
