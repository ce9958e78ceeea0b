//! GGUF checkpoints: tensor names mapped to Hugging Face names, llama-arch Q/K rows un-permuted
//! back to HF's rotary layout, and quantized matrices either kept as their GGML blocks (the
//! default: run by `matmul_gguf`, never dequantized at load) or dequantized bit-exactly when a
//! dense dtype is asked for. A row of a GGUF matrix is whole blocks, so un-permuting Q/K moves
//! each row's raw block bytes; F32/F16/BF16 tensors and 1-D tensors are dense.

use super::linears::LinearMap;
use super::plan::QuantPlan;
use super::Checkpoint;
use crate::config::{Arch, ModelConfig};
use crate::config_check::TensorShapes;
use crate::error::{ModelError, Result};
use crate::linear_weight::{GgufBlocks, LinearWeight};
use crate::weights::{DType, Tensor, WeightMap};
use quant::gguf::dequant::is_block_quantized;
use quant::gguf::{GgmlType, GgufFile, TensorInfo};
use rayon::prelude::*;

/// The HF name of a GGUF tensor, or `None` for a name qtool does not know.
pub fn hf_name(gguf_name: &str) -> Option<String> {
    let fixed = match gguf_name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_string());
    }
    let rest = gguf_name.strip_prefix("blk.")?;
    let (layer, tail) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (part, kind) = tail.rsplit_once('.')?;
    if kind != "weight" && kind != "bias" {
        return None;
    }
    let hf = match part {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{kind}"))
}

/// Undoes llama.cpp's rotary permutation of Q/K rows.
///
/// llama.cpp stores, within each head of width `hd`, HF row `j * hd/2 + i` at row `2 i + j`
/// (i < hd/2, j in {0, 1}). `rows` is `[n_heads * hd, cols]` row-major (a bias has cols = 1;
/// GGML blocks are bytes with cols = bytes per row).
pub fn unpermute_rows<T: Copy + Default>(rows: &[T], n_heads: usize, cols: usize) -> Vec<T> {
    let hd = rows.len() / cols / n_heads;
    let half = hd / 2;
    let mut out = vec![T::default(); rows.len()];
    for h in 0..n_heads {
        for i in 0..half {
            for j in 0..2 {
                let src = (h * hd + 2 * i + j) * cols;
                let dst = (h * hd + j * half + i) * cols;
                out[dst..dst + cols].copy_from_slice(&rows[src..src + cols]);
            }
        }
    }
    out
}

/// One loaded GGUF tensor.
enum Loaded {
    Dense(String, Tensor),
    Blocks(String, LinearWeight),
}

/// Heads whose rows llama.cpp permuted in tensor `name` (HF name), if any.
fn permuted_heads(cfg: &ModelConfig, name: &str) -> Option<usize> {
    if cfg.arch != Arch::Llama {
        return None;
    }
    if name.contains("self_attn.q_proj") {
        Some(cfg.num_attention_heads)
    } else if name.contains("self_attn.k_proj") {
        Some(cfg.num_key_value_heads)
    } else {
        None
    }
}

fn load_tensor(g: &GgufFile, info: &TensorInfo, cfg: &ModelConfig, dtype: Option<DType>) -> Result<Loaded> {
    let name = hf_name(&info.name).ok_or_else(|| ModelError::Tensor {
        tensor: info.name.clone(),
        what: format!("{}: not a tensor of the {:?} architecture qtool knows", g.path().display(), cfg.arch),
    })?;
    let shape = info.shape();
    let cols = if shape.len() == 2 { shape[1] } else { 1 };
    if dtype.is_none() && shape.len() == 2 && is_block_quantized(info.ty) {
        let mut bytes = g.tensor_data(info).to_vec();
        if let Some(heads) = permuted_heads(cfg, &name) {
            let row_bytes = bytes.len() / shape[0];
            bytes = unpermute_rows(&bytes, heads, row_bytes);
        }
        let blocks = GgufBlocks::new(info.ty, shape[0], shape[1], bytes, &info.name)?;
        return Ok(Loaded::Blocks(name, LinearWeight::Gguf(blocks)));
    }
    let mut v = g.dequantize(info)?;
    if let Some(heads) = permuted_heads(cfg, &name) {
        v = unpermute_rows(&v, heads, cols);
    }
    // Default for quantized/f32 sources: f32. F16/BF16 sources keep their dtype.
    let native = match info.ty {
        GgmlType::BF16 => DType::BF16,
        GgmlType::F16 => DType::F16,
        _ => DType::F32,
    };
    Ok(Loaded::Dense(name, Tensor::from_f32(shape, v).to_dtype(dtype.unwrap_or(native))))
}

/// The shapes of the file's tensors by HF name (from the tensor infos; nothing is read).
pub fn shapes(g: &GgufFile) -> TensorShapes {
    let mut s = TensorShapes::default();
    for info in &g.tensors {
        if let Some(hf) = hf_name(&info.name) {
            s.insert(&hf, info.shape(), format!("{} ({hf})", info.name));
        }
    }
    s
}

/// Loads every tensor of a GGUF file: with `dtype` `None`, block-quantized matrices stay GGML
/// blocks; with a dtype, everything is dequantized into it.
pub fn load(g: &GgufFile, dtype: Option<DType>) -> Result<Checkpoint> {
    let config = ModelConfig::from_gguf(g)?;
    config.check_tensors(g.path(), &shapes(g))?;
    let loaded: Vec<Loaded> =
        g.tensors.par_iter().map(|info| load_tensor(g, info, &config, dtype)).collect::<Result<_>>()?;
    let (mut weights, mut linears) = (WeightMap::new(), LinearMap::new());
    let mut types = std::collections::BTreeSet::new();
    for l in loaded {
        match l {
            Loaded::Dense(n, t) => _ = weights.insert(n, t),
            Loaded::Blocks(n, w) => {
                types.insert(w.label());
                linears.insert(n, w);
            }
        }
    }
    let description = if let Some(d) = dtype {
        format!("GGUF, dequantized at load to {}", d.name())
    } else if types.is_empty() {
        "GGUF, dense".to_string()
    } else {
        format!("GGUF blocks ({})", types.into_iter().collect::<Vec<_>>().join(", "))
    };
    Ok(Checkpoint { config, weights, linears, quant: QuantPlan::none(&description) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_hf() {
        assert_eq!(hf_name("blk.12.attn_q.bias").unwrap(), "model.layers.12.self_attn.q_proj.bias");
        assert_eq!(hf_name("blk.0.ffn_down.weight").unwrap(), "model.layers.0.mlp.down_proj.weight");
        assert_eq!(hf_name("output.weight").unwrap(), "lm_head.weight");
        assert_eq!(hf_name("rope_freqs.weight"), None);
        assert_eq!(hf_name("blk.x.attn_q.weight"), None);
    }

    /// Applies llama.cpp's permutation as its converter describes it (reshape to
    /// [heads, 2, hd/2, cols], swap axes 1 and 2), independently of `unpermute_rows`.
    fn permute(rows: &[f32], n_heads: usize, cols: usize) -> Vec<f32> {
        let hd = rows.len() / cols / n_heads;
        let half = hd / 2;
        let mut out = vec![0f32; rows.len()];
        let mut dst = 0;
        for h in 0..n_heads {
            for i in 0..half {
                for j in 0..2 {
                    let src = (h * hd + j * half + i) * cols;
                    out[dst..dst + cols].copy_from_slice(&rows[src..src + cols]);
                    dst += cols;
                }
            }
        }
        out
    }

    #[test]
    fn unpermute_inverts_permute() {
        let (heads, hd, cols) = (3, 8, 5);
        let w: Vec<f32> = (0..heads * hd * cols).map(|x| x as f32).collect();
        assert_eq!(unpermute_rows(&permute(&w, heads, cols), heads, cols), w);
        assert_ne!(permute(&w, heads, cols), w);
    }
}
