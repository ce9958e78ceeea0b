//! The settings of one `qtool quantize` run, as the CLI resolved them.

use crate::calib::CalibSpec;
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
    /// The algorithm, recorded in the output: one of `crate::calib::recipe::METHODS`.
    pub method: String,
    /// SmoothQuant's migration strength.
    pub smooth_alpha: f32,
    /// Seed of QuaRot's random signs (`--seed`, shared with the calibration draw).
    pub seed: u64,
    /// Calibration data; with it the Linears are quantized layer by layer in sequence
    /// (`crate::calib`). Required by GPTQ; with RTN it changes nothing but proves the pipeline.
    pub calib: Option<CalibSpec>,
    /// Held-out samples for the GPTQ overfitting check (`crate::calib::holdout`); 0: none.
    pub calib_holdout: usize,
    /// GPTQ settings.
    pub gptq: GptqSettings,
    /// RTN's per-group clip search.
    pub clip_search: Option<ClipSearch>,
    /// Quantize `lm_head` too (untying it from the embeddings when tied).
    pub quantize_lm_head: bool,
    /// Replace an existing output.
    pub force: bool,
    /// `--dtype` for dense tensors and scales; `None`: bf16 (f16 for GPTQ).
    pub dtype: Option<ScaleDtype>,
}

/// The GPTQ flags.
#[derive(Clone, Debug, PartialEq)]
pub struct GptqSettings {
    /// Columns in order of descending Hessian diagonal (`desc_act`).
    pub act_order: bool,
    /// Group parameters fixed up front over natural-order groups (forced with act-order for the
    /// formats that cannot store a permuted `g_idx`: all but `gptq`).
    pub static_groups: bool,
    /// Dampening fraction of the mean Hessian diagonal.
    pub damp: f64,
}

impl Default for GptqSettings {
    fn default() -> GptqSettings {
        GptqSettings { act_order: false, static_groups: false, damp: 0.01 }
    }
}
