//! GPTQ settings that are not part of the format, and what a run returns.

use crate::format::ScaleDtype;
use crate::qweight::QuantizedWeight;
use crate::rtn::ClipSearch;
use crate::QuantError;

/// Settings of the GPTQ quantizer (the format, bits/group/sym, comes separately).
#[derive(Clone, Debug, PartialEq)]
pub struct GptqOptions {
    /// Dampening: `λ = damp_percent × mean(diag H)` is added to the diagonal before inverting
    /// (GPTQ's `percdamp`, default 0.01).
    pub damp_percent: f64,
    /// Columns per lazy block update (default 128). Results do not depend on it beyond float
    /// rounding.
    pub block_size: usize,
    /// Quantize columns in order of descending `diag(H)` (GPTQ's `desc_act`); the stored `g_idx`
    /// then maps each input column to its group.
    pub act_order: bool,
    /// Compute every group's parameters up front from the (dead-column zeroed) weights, over
    /// natural-order column groups `j / g`, instead of from the error-updated weights when the
    /// sweep reaches the group (GPTQModel's `static_groups`). With `act_order` the `g_idx` stays
    /// `j / g`, so loaders need no reordering.
    pub static_groups: bool,
    /// The dtype scales are stored in; scales are rounded to it before codes are chosen.
    pub scale_dtype: ScaleDtype,
    /// Per-group MSE clip search when group parameters are computed (AutoGPTQ's `mse`).
    pub clip_search: Option<ClipSearch>,
    /// If the damped Hessian is not positive definite, retry with the damping ×10, this many
    /// times (default 2: 0.01, 0.1, 1.0 × mean diagonal).
    pub max_damp_retries: u32,
    /// The layer's name, used in error messages only.
    pub layer: String,
}

impl Default for GptqOptions {
    /// damp 0.01, block 128, no act-order, dynamic groups, f32 scales, no clip search, 2 retries.
    fn default() -> GptqOptions {
        GptqOptions {
            damp_percent: 0.01,
            block_size: 128,
            act_order: false,
            static_groups: false,
            scale_dtype: ScaleDtype::F32,
            clip_search: None,
            max_damp_retries: 2,
            layer: String::new(),
        }
    }
}

impl GptqOptions {
    /// Checks damping > 0 and finite, block size >= 1, and the clip search.
    pub fn validate(&self) -> Result<(), QuantError> {
        if !(self.damp_percent.is_finite() && self.damp_percent > 0.0) {
            return Err(self.error(format!("damp_percent must be positive and finite, got {}", self.damp_percent)));
        }
        if self.block_size == 0 {
            return Err(self.error("block_size must be at least 1".into()));
        }
        if let Some(s) = &self.clip_search {
            s.validate()?;
        }
        Ok(())
    }

    /// A [`QuantError::Gptq`] naming this layer.
    pub fn error(&self, what: String) -> QuantError {
        QuantError::Gptq { layer: self.layer.clone(), what }
    }
}

/// What [`quantize_gptq`](super::quantize_gptq) returns.
#[derive(Clone, Debug, PartialEq)]
pub struct GptqResult {
    /// The quantized weight, in the same form RTN produces.
    pub weight: QuantizedWeight,
    /// GPTQ's own objective, summed over all rows and columns: `Σ (w - q)² / (2 d²)` with `d`
    /// the diagonal of the inverse-Hessian Cholesky factor at that column, exactly the
    /// `torch.sum(Losses)` of the reference implementations (GPTQModel logs it divided by the
    /// sample count as "avg loss"). With exact arithmetic it equals `½ tr(ΔW H ΔWᵀ)` for
    /// `ΔW = W - Q` and the damped `H`, i.e. `||XΔWᵀ||² / N` plus the damping term.
    pub loss: f64,
    /// The `damp_percent` that made the Hessian invertible (the option, or a ×10 retry).
    pub damp_used: f64,
    /// Seconds spent on step 4, damping and the Cholesky factor of the inverse, for timing
    /// reports.
    pub cholesky_seconds: f64,
    /// Seconds spent on step 5, the column sweep with its lazy block updates (the update loop).
    pub sweep_seconds: f64,
    /// Seconds spent on step 2, static group parameters (with their clip search).
    pub group_params_seconds: f64,
}
