//! The settings of one `qtool quantize` run, as the CLI resolved them.

use quant::writer::{CheckpointFormat, FormatOptions};
use quant::{ClipSearch, ScaleDtype, Scheme};
use std::path::PathBuf;

/// Everything the pipeline needs to know.
#[derive(Clone, Debug)]
pub struct QuantizeOptions {
    /// Source checkpoint: HF folder or GGUF file.
    pub model: PathBuf,
    /// Output folder (or GGUF file).
    pub out: PathBuf,
    /// The scheme with the CLI's overrides applied.
    pub scheme: Scheme,
    /// `--format`, or `None` for the default.
    pub format: Option<CheckpointFormat>,
    /// GGUF type choice and whether the group size was explicit.
    pub format_options: FormatOptions,
    /// The algorithm name recorded in the output (`rtn`).
    pub method: String,
    /// RTN's per-group clip search.
    pub clip_search: Option<ClipSearch>,
    /// Quantize `lm_head` too (untying it from the embeddings when tied).
    pub quantize_lm_head: bool,
    /// Replace an existing output.
    pub force: bool,
    /// `--dtype` for dense tensors and scales; `None`: bf16 (f16 for GPTQ).
    pub dtype: Option<ScaleDtype>,
}
