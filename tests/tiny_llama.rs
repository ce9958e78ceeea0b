//! A tiny random Llama (2 layers, hidden 64, 4 heads / 2 KV heads of 16, MLP 160, vocab 128,
//! untied lm_head) and writers for HF folders holding it: dense, compressed-tensors
//! (pack-quantized, int-quantized), GPTQ and qtool fake-quant, following the formats in
//! ../shared/FORMATS.md with `quant`'s packers. Every quantized folder comes with the dense
//! folder of its dequantized weights, the model it must reproduce.

#![allow(dead_code)]

use model::load::load_checkpoint;
use model::weights::DType;
use model::{LogitRows, Model, SeqChunk};
use quant::pack::{int_quantized_ct, pack_ct, pack_gptq, GptqVersion};
use quant::QuantizedWeight;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use serde_json::{json, Value};
use std::path::Path;

pub const HIDDEN: usize = 64;
pub const FFN: usize = 160;
pub const HEADS: usize = 4;
pub const KV_HEADS: usize = 2;
pub const HEAD_DIM: usize = 16;
pub const VOCAB: usize = 128;
pub const LAYERS: usize = 2;

/// SplitMix64 with a uniform helper.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(-scale, scale)).collect()
    }
}

/// One tensor to write: name, dtype, shape, little-endian bytes.
pub struct Entry(pub String, pub Dtype, pub Vec<usize>, pub Vec<u8>);

pub fn f32_entry(name: &str, shape: &[usize], v: &[f32]) -> Entry {
    Entry(name.into(), Dtype::F32, shape.to_vec(), v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

pub fn i32_entry(name: &str, shape: &[usize], v: &[i32]) -> Entry {
    Entry(name.into(), Dtype::I32, shape.to_vec(), v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

/// Scales in the dtype a writer stores them in (exact: the quantizer rounded them to it).
pub fn scale_entry(name: &str, shape: &[usize], v: &[f32], dtype: Dtype) -> Entry {
    let bytes = match dtype {
        Dtype::BF16 => v.iter().flat_map(|x| half::bf16::from_f32(*x).to_le_bytes()).collect(),
        Dtype::F16 => v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect(),
        _ => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    };
    Entry(name.into(), dtype, shape.to_vec(), bytes)
}

/// The Linear prefixes and shapes `[n, k]` of the decoder layers.
pub fn layer_linears() -> Vec<(String, [usize; 2])> {
    let (qd, kvd) = (HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM);
    let mut v = Vec::new();
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        for (name, shape) in [
            ("self_attn.q_proj", [qd, HIDDEN]),
            ("self_attn.k_proj", [kvd, HIDDEN]),
            ("self_attn.v_proj", [kvd, HIDDEN]),
            ("self_attn.o_proj", [HIDDEN, qd]),
            ("mlp.gate_proj", [FFN, HIDDEN]),
            ("mlp.up_proj", [FFN, HIDDEN]),
            ("mlp.down_proj", [HIDDEN, FFN]),
        ] {
            v.push((format!("{p}.{name}"), shape));
        }
    }
    v
}

/// Random weights: Linear weights by prefix (`[n, k]` f32) and the other tensors.
pub struct TinyWeights {
    pub linears: Vec<(String, [usize; 2], Vec<f32>)>,
    pub others: Vec<(String, Vec<usize>, Vec<f32>)>,
}

pub fn random_weights(seed: u64) -> TinyWeights {
    let mut rng = Rng::new(seed);
    let linears =
        layer_linears().into_iter().map(|(p, [n, k])| (p, [n, k], rng.vec(n * k, 1.5 / (k as f32).sqrt()))).collect();
    let mut others = vec![
        ("model.embed_tokens.weight".to_string(), vec![VOCAB, HIDDEN], rng.vec(VOCAB * HIDDEN, 1.0)),
        ("lm_head.weight".to_string(), vec![VOCAB, HIDDEN], rng.vec(VOCAB * HIDDEN, 0.3)),
        ("model.norm.weight".to_string(), vec![HIDDEN], (0..HIDDEN).map(|_| 1.0 + rng.uniform(-0.1, 0.1)).collect()),
    ];
    for l in 0..LAYERS {
        for n in ["input_layernorm", "post_attention_layernorm"] {
            let v = (0..HIDDEN).map(|_| 1.0 + rng.uniform(-0.1, 0.1)).collect();
            others.push((format!("model.layers.{l}.{n}.weight"), vec![HIDDEN], v));
        }
    }
    TinyWeights { linears, others }
}

pub fn config(quantization_config: Option<Value>) -> Value {
    let mut c = json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": HIDDEN,
        "intermediate_size": FFN,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "num_hidden_layers": LAYERS,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "vocab_size": VOCAB,
        "max_position_embeddings": 64,
        "tie_word_embeddings": false,
        "torch_dtype": "float32",
    });
    if let Some(q) = quantization_config {
        c["quantization_config"] = q;
    }
    c
}

/// Writes `config.json` and `model.safetensors`.
pub fn write_folder(dir: &Path, config: &Value, entries: &[Entry]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(config).unwrap()).unwrap();
    let views: Vec<(String, TensorView)> =
        entries.iter().map(|Entry(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
}

/// The non-Linear tensors (f32).
pub fn other_entries(w: &TinyWeights) -> Vec<Entry> {
    w.others.iter().map(|(n, s, v)| f32_entry(n, s, v)).collect()
}

/// A dense folder whose Linears hold `weights[prefix]` (f32).
pub fn write_dense(dir: &Path, w: &TinyWeights, linears: &[(String, Vec<f32>)], qc: Option<Value>) {
    let mut e = other_entries(w);
    for ((p, [n, k], _), (p2, v)) in w.linears.iter().zip(linears) {
        assert_eq!(p, p2);
        e.push(f32_entry(&format!("{p}.weight"), &[*n, *k], v));
    }
    write_folder(dir, &config(qc), &e);
}

/// compressed-tensors pack-quantized tensors of one Linear.
pub fn ct_pack_entries(p: &str, q: &QuantizedWeight, scale_dtype: Dtype) -> Vec<Entry> {
    let t = pack_ct(q).unwrap();
    let (n, ng) = (q.n(), q.n_groups());
    let mut e = vec![
        i32_entry(&format!("{p}.weight_packed"), &[n, t.weight_packed.len() / n], &t.weight_packed),
        scale_entry(&format!("{p}.weight_scale"), &[n, ng], &t.weight_scale, scale_dtype),
        Entry(
            format!("{p}.weight_shape"),
            Dtype::I64,
            vec![2],
            t.weight_shape.iter().flat_map(|&x| (x as i64).to_le_bytes()).collect(),
        ),
    ];
    if let Some(z) = &t.weight_zero_point {
        e.push(i32_entry(&format!("{p}.weight_zero_point"), &[z.len() / ng, ng], z));
    }
    if let Some(g) = &t.weight_g_idx {
        e.push(i32_entry(&format!("{p}.weight_g_idx"), &[g.len()], g));
    }
    e
}

/// compressed-tensors int-quantized tensors of one 8-bit Linear.
pub fn ct_int_entries(p: &str, q: &QuantizedWeight, scale_dtype: Dtype) -> Vec<Entry> {
    let t = int_quantized_ct(q).unwrap();
    let (n, k, ng) = (q.n(), q.k(), q.n_groups());
    let mut e = vec![
        Entry(format!("{p}.weight"), Dtype::I8, vec![n, k], t.weight.iter().map(|&v| v as u8).collect()),
        scale_entry(&format!("{p}.weight_scale"), &[n, ng], &t.weight_scale, scale_dtype),
    ];
    if let Some(z) = &t.weight_zero_point {
        e.push(Entry(format!("{p}.weight_zero_point"), Dtype::I8, vec![n, ng], z.iter().map(|&v| v as u8).collect()));
    }
    e
}

/// GPTQ tensors of one Linear (scales in f16).
pub fn gptq_entries(p: &str, q: &QuantizedWeight, version: GptqVersion) -> Vec<Entry> {
    let t = pack_gptq(q, version).unwrap();
    let (n, ng) = (q.n(), q.n_groups());
    vec![
        i32_entry(&format!("{p}.qweight"), &[t.qweight.len() / n, n], &t.qweight),
        i32_entry(&format!("{p}.qzeros"), &[ng, t.qzeros.len() / ng], &t.qzeros),
        scale_entry(&format!("{p}.scales"), &[ng, n], &t.scales, Dtype::F16),
        i32_entry(&format!("{p}.g_idx"), &[t.g_idx.len()], &t.g_idx),
    ]
}

/// Loads a folder (`dtype` as `load_checkpoint` takes it) on the CPU backend.
pub fn load(dir: &Path, dtype: Option<DType>) -> Model {
    Model::new(load_checkpoint(dir, dtype).unwrap(), kernels::cpu_backend()).unwrap()
}

/// Logits of every position of a fixed 24-token prompt, then of 4 decode steps (one token
/// each), so both the prefill and the decode kernels run.
pub fn logits(m: &Model) -> Vec<f32> {
    let ids: Vec<u32> = (0..24).map(|i| (7 + 37 * i) % VOCAB as u32).collect();
    let mut cache = m.new_cache(1, 32);
    let mut out = m.forward(&[SeqChunk { slot: 0, tokens: &ids }], &mut cache, LogitRows::All).unwrap();
    for t in [3u32, 99, 64, 5] {
        out.extend(m.forward(&[SeqChunk { slot: 0, tokens: &[t] }], &mut cache, LogitRows::Last).unwrap());
    }
    out
}

/// max |a - b| / max |b|.
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}
