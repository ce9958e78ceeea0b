//! A model as a GGUF file for llama.cpp: Hugging Face tensor names to GGUF names
//! (`token_embd`, `blk.N.attn_q`, ..., `output`), llama-arch Q/K rows re-permuted into
//! llama.cpp's rotary order, each tensor encoded (Linears in their GGML block type, norms and
//! biases F32, embeddings and an unquantized `output` in F16 or F32), in llama.cpp's order.

use super::gguf_writer::{write_gguf, GgufTensorOut};
use super::model::{DenseTensor, WriteStats};
use crate::gguf::encode::{encode, q4_0_from_quantized, q8_0_from_quantized};
use crate::gguf::{GgmlType, MetaValue};
use crate::qweight::{QuantizedParts, QuantizedWeight};
use crate::QuantError;
use std::collections::BTreeMap;
use std::path::Path;

/// The architecture facts the tensor layout depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GgufArch {
    /// `general.architecture`: `llama` (Q/K rows permuted) or `qwen2`.
    pub name: String,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads.
    pub n_head_kv: usize,
}

/// How one quantized Linear is stored.
#[derive(Clone, Debug, PartialEq)]
pub enum GgufLinear {
    /// An int8 / int4 symmetric weight in groups of 32 with f16 scales: Q8_0 / Q4_0 blocks
    /// holding exactly its codes and scales.
    Blocks(QuantizedWeight),
    /// A float weight `[n, k]` encoded as `ty` (Q4_1, Q4_K).
    Encode {
        /// The block type.
        ty: GgmlType,
        /// The weight.
        weight: DenseTensor,
    },
}

/// A whole model for [`write`].
#[derive(Clone, Debug)]
pub struct GgufModel {
    /// Architecture.
    pub arch: GgufArch,
    /// Metadata key/values in file order (architecture, hyper-parameters, tokenizer, ...).
    pub metadata: Vec<(String, MetaValue)>,
    /// Tensors kept in floating point: 1-D ones are written F32, 2-D ones as `dense_type`.
    pub dense: Vec<DenseTensor>,
    /// F16 or F32, for the embeddings and an unquantized `output`.
    pub dense_type: GgmlType,
    /// Quantized Linears by Hugging Face module name (`model.layers.0.self_attn.q_proj`).
    pub linears: Vec<(String, GgufLinear)>,
}

/// The GGUF name of a Hugging Face tensor name, if it is one of the Llama / Qwen2 tensors.
pub fn gguf_name(hf: &str) -> Option<String> {
    match hf {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, tail) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (part, kind) = tail.rsplit_once('.')?;
    if kind != "weight" && kind != "bias" {
        return None;
    }
    let g = match part {
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return None,
    };
    Some(format!("blk.{layer}.{g}.{kind}"))
}

/// llama.cpp's rotary row order for Q/K: within each head of `hd` rows, HF row `j * hd/2 + i`
/// moves to row `2i + j` (i < hd/2, j in {0, 1}). `rows` is `[n_heads * hd, cols]` row-major.
pub fn permute_rows<T: Copy>(rows: &[T], n_heads: usize, cols: usize) -> Vec<T> {
    let hd = rows.len() / cols / n_heads;
    let half = hd / 2;
    let mut out = Vec::with_capacity(rows.len());
    for h in 0..n_heads {
        for i in 0..half {
            for j in 0..2 {
                let src = (h * hd + j * half + i) * cols;
                out.extend_from_slice(&rows[src..src + cols]);
            }
        }
    }
    out
}

/// The head count whose rows `hf` must be permuted by, for a llama-arch model.
fn permute_heads(arch: &GgufArch, hf: &str) -> Option<usize> {
    if arch.name != "llama" {
        return None;
    }
    if hf.contains(".self_attn.q_proj.") {
        Some(arch.n_head)
    } else if hf.contains(".self_attn.k_proj.") {
        Some(arch.n_head_kv)
    } else {
        None
    }
}

/// `q` with its output rows permuted (codes, scales and zero points move together).
fn permute_quantized(q: &QuantizedWeight, n_heads: usize) -> Result<QuantizedWeight, QuantError> {
    let p = q.clone().into_parts();
    let ng = q.n_groups();
    let zeros = p.zeros.as_ref().map(|z| permute_rows(z, n_heads, ng));
    QuantizedWeight::new(QuantizedParts {
        codes: permute_rows(&p.codes, n_heads, p.k),
        scales: permute_rows(&p.scales, n_heads, ng),
        zeros,
        ..p
    })
}

/// The GGML type a Q4_K Linear with rows of `k` falls back to, if any (llama.cpp likewise
/// writes tensors whose rows are not whole 256-blocks in a 32-block type).
pub fn type_for_rows(ty: GgmlType, fallback: Option<GgmlType>, k: usize) -> Option<GgmlType> {
    if k.is_multiple_of(ty.block_size()) {
        Some(ty)
    } else {
        fallback.filter(|f| k.is_multiple_of(f.block_size()))
    }
}

/// Sort key putting tensors in llama.cpp's order: embeddings, layers in order, final norm, output.
fn order_key(name: &str) -> (usize, usize, String) {
    if name.starts_with("token_embd") {
        return (0, 0, name.into());
    }
    if let Some(rest) = name.strip_prefix("blk.") {
        let layer = rest.split('.').next().and_then(|l| l.parse().ok()).unwrap_or(usize::MAX);
        return (1, layer, name.into());
    }
    (2, if name.starts_with("output_norm") { 0 } else { 1 }, name.into())
}

fn named(hf: &str) -> Result<String, QuantError> {
    gguf_name(hf).ok_or_else(|| QuantError::BadTensor {
        tensor: hf.to_string(),
        what: "has no GGUF name (qtool writes Llama / Qwen2 tensors)".into(),
    })
}

/// Encodes every tensor of `m` and writes the GGUF file at `path` (the caller makes it atomic);
/// `progress` is called after each Linear is encoded.
pub fn write(path: &Path, m: &GgufModel, progress: &(dyn Fn() + Sync)) -> Result<WriteStats, QuantError> {
    if !matches!(m.dense_type, GgmlType::F16 | GgmlType::F32) {
        return Err(QuantError::BadFormat { what: format!("dense GGUF tensors are F16 or F32, not {}", m.dense_type) });
    }
    let mut stats = WriteStats::default();
    let mut out = Vec::with_capacity(m.dense.len() + m.linears.len());
    for d in &m.dense {
        let name = named(&d.name)?;
        let ty = if d.shape.len() == 1 { GgmlType::F32 } else { m.dense_type };
        let cols = d.shape.get(1).copied().unwrap_or(1);
        let data = match permute_heads(&m.arch, &d.name) {
            Some(h) => permute_rows(&d.data, h, cols),
            None => d.data.clone(),
        };
        let bytes = encode(ty, &data, &name)?;
        stats.kept_tensors += 1;
        stats.total_params += d.numel() as u64;
        out.push(GgufTensorOut { name, dims: d.shape.iter().rev().map(|&x| x as u64).collect(), ty, bytes });
    }
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for (module, l) in &m.linears {
        let hf = format!("{module}.weight");
        let name = named(&hf)?;
        let heads = permute_heads(&m.arch, &hf);
        let (ty, n, k, bytes) = match l {
            GgufLinear::Blocks(q) => {
                let q = match heads {
                    Some(h) => permute_quantized(q, h)?,
                    None => q.clone(),
                };
                let (ty, bytes) = match q.format().bits() {
                    8 => (GgmlType::Q8_0, q8_0_from_quantized(&q)?),
                    _ => (GgmlType::Q4_0, q4_0_from_quantized(&q)?),
                };
                (ty, q.n(), q.k(), bytes)
            }
            GgufLinear::Encode { ty, weight } => {
                let [n, k] = weight.shape[..] else {
                    return Err(QuantError::BadTensor {
                        tensor: hf,
                        what: format!("shape {:?} is not 2-D", weight.shape),
                    });
                };
                let data = match heads {
                    Some(h) => permute_rows(&weight.data, h, k),
                    None => weight.data.clone(),
                };
                (*ty, n, k, encode(*ty, &data, &name)?)
            }
        };
        progress();
        *types.entry(ty.name()).or_default() += 1;
        stats.quantized_tensors += 1;
        stats.quantized_params += (n * k) as u64;
        stats.quantized_bytes += bytes.len() as u64;
        stats.total_params += (n * k) as u64;
        out.push(GgufTensorOut { name, dims: vec![k as u64, n as u64], ty, bytes });
    }
    out.sort_by_key(|t| order_key(&t.name));
    stats.total_bytes = out.iter().map(|t| t.bytes.len() as u64).sum();
    let size = write_gguf(path, &m.metadata, &out)?;
    stats.files.push((path.to_path_buf(), size));
    let list: Vec<String> = types.iter().map(|(t, c)| format!("{t} x{c}")).collect();
    stats.notes.push(format!("Linear types: {}", list.join(", ")));
    Ok(stats)
}
