//! A configuration's checkpoint: quantized once into `DIR/ckpt/NAME` by `qtool quantize`'s
//! pipeline, which builds it under a temporary name and renames it into place when complete
//! (a killed run's temporary is removed by the next). It counts as complete when the folder is
//! there and `DIR/NAME/quantize.json`, written right after, describes it; otherwise it is made
//! again. The base is the model as given: nothing to write, its stored bits are read from its
//! headers.

use super::layout::Layout;
use super::plan::Configuration;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a checkpoint is (`DIR/NAME/quantize.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// The format written (`as given` for the base).
    pub format: String,
    /// Bits per weight the scheme costs on the decoder Linears.
    pub scheme_bpw: f64,
    /// Bits per weight of the Linears as stored.
    pub stored_bpw: f64,
    /// Bytes of the checkpoint's files.
    pub bytes: u64,
    /// Seconds the quantization took (0 for the base).
    pub seconds: f64,
    /// The writer's notes.
    pub notes: Vec<String>,
}

/// The checkpoint a configuration runs: the model itself for the base.
pub fn model_path(layout: &Layout, c: &Configuration, model: &Path) -> PathBuf {
    if c.entry.is_some() {
        layout.checkpoint(c)
    } else {
        model.to_path_buf()
    }
}

/// The description of a complete checkpoint, if there is one.
pub fn complete(layout: &Layout, c: &Configuration, model: &Path) -> Option<CheckpointInfo> {
    let info: CheckpointInfo = serde_json::from_str(&std::fs::read_to_string(layout.quantize_info(c)).ok()?).ok()?;
    model_path(layout, c, model).exists().then_some(info)
}

/// The recorded description, whether or not the checkpoint is still there (a finished
/// configuration's checkpoint may have been deleted).
pub fn recorded(layout: &Layout, c: &Configuration) -> Option<CheckpointInfo> {
    serde_json::from_str(&std::fs::read_to_string(layout.quantize_info(c)).ok()?).ok()
}

/// Bits per weight of the decoder Linears of a checkpoint as stored, from its headers (GGUF
/// `attn_*`/`ffn_*` matrices, or HF `*_proj.weight`).
fn stored_linear_bits(path: &Path) -> anyhow::Result<(f64, u64)> {
    let r = model::inspect::inspect(path).with_context(|| format!("reading the headers of {}", path.display()))?;
    const GGUF: [&str; 7] = ["attn_q.", "attn_k.", "attn_v.", "attn_output.", "ffn_gate.", "ffn_up.", "ffn_down."];
    let linear = |n: &str| n.ends_with("_proj.weight") || (n.starts_with("blk.") && GGUF.iter().any(|g| n.contains(g)));
    let (mut bytes, mut params) = (0u64, 0u64);
    for t in r.tensors.iter().filter(|t| linear(&t.name)) {
        bytes += t.bytes;
        params += t.shape.iter().product::<usize>() as u64;
    }
    let bits = if params == 0 { 16.0 } else { bytes as f64 * 8.0 / params as f64 };
    Ok((bits, r.n_bytes()))
}

/// Makes sure the configuration's checkpoint is complete; returns its description and whether
/// it was made now.
pub fn ensure(layout: &Layout, c: &Configuration, model: &Path) -> anyhow::Result<(CheckpointInfo, bool)> {
    if let Some(info) = complete(layout, c, model) {
        return Ok((info, false));
    }
    let info = match &c.entry {
        None => {
            let (stored_bpw, bytes) = stored_linear_bits(model)?;
            CheckpointInfo {
                format: "as given".into(),
                scheme_bpw: 16.0,
                stored_bpw,
                bytes,
                seconds: 0.0,
                notes: vec![],
            }
        }
        Some(e) => {
            let mut opts = crate::sweep::quantize_options(e, model, layout.checkpoint(c))?;
            if layout.gguf_checkpoints {
                // For an external engine that loads GGUF: quantize picks the GGML type by
                // scheme (Q8_0 / Q4_0 / Q4_1 / Q4_K) and refuses what GGUF cannot express.
                opts.format = Some(quant::writer::CheckpointFormat::Gguf);
            }
            let s = crate::quantize::run(&opts).with_context(|| format!("quantizing configuration {}", c.name))?;
            let st = &s.stats;
            let linear = st.linear_bits_per_weight();
            CheckpointInfo {
                format: s.format.name().to_string(),
                scheme_bpw: crate::sweep::scheme_bits_per_weight(&e.scheme, model)?,
                // KV-only schemes quantize no Linear: they stay bf16.
                stored_bpw: if linear > 0.0 { linear } else { 16.0 },
                bytes: st.file_bytes(),
                seconds: s.seconds,
                notes: s.notes.clone(),
            }
        }
    };
    let text = serde_json::to_string_pretty(&info)? + "\n";
    crate::atomic::write(&layout.quantize_info(c), text.as_bytes())?;
    Ok((info, c.entry.is_some()))
}

/// Deletes a finished configuration's checkpoint (never the base's model).
pub fn remove(layout: &Layout, c: &Configuration) -> anyhow::Result<()> {
    if c.entry.is_none() {
        return Ok(());
    }
    let path = layout.checkpoint(c);
    let r = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::anyhow!("deleting the finished checkpoint {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}
