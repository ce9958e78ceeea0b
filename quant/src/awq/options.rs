//! AWQ settings that are not part of the format, and what the scale search returns.

use crate::format::ScaleDtype;
use crate::QuantError;

/// Settings of the AWQ scale and clip searches (AutoAWQ's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AwqOptions {
    /// Scale search grid: ratios `α = i / grid` for `i` in `0..grid` (AutoAWQ `n_grid`, 20).
    pub grid: u32,
    /// `s = x_mean^α / (w_mean^(1-α) + 1e-4)` when true (AutoAWQ `duo_scaling`, the default),
    /// `s = x_mean^α` when false.
    pub duo_scaling: bool,
    /// Clip search grid: `max_val = (1 - i / clip_grid) · max|w_group|` (AutoAWQ 20).
    pub clip_grid: u32,
    /// Fraction of the clip grid searched: `i` in `0..floor(clip_max_shrink · clip_grid)` (0.5,
    /// so the smallest range tried is 0.55 of the group's).
    pub clip_max_shrink: f32,
    /// Sampled rows the clip search uses at most about this many of: every
    /// `max(1, rows / clip_tokens)`-th sampled row (AutoAWQ `n_sample_token`, 512).
    pub clip_tokens: usize,
    /// The dtype the scales of the final RTN quantization will be stored in; both searches round
    /// scales to it, so RTN on the returned weight reproduces what was evaluated.
    pub scale_dtype: ScaleDtype,
}

impl Default for AwqOptions {
    /// grid 20, duo scaling, clip grid 20, clip max shrink 0.5, 512 clip tokens, f32 scales.
    fn default() -> AwqOptions {
        AwqOptions {
            grid: 20,
            duo_scaling: true,
            clip_grid: 20,
            clip_max_shrink: 0.5,
            clip_tokens: 512,
            scale_dtype: ScaleDtype::F32,
        }
    }
}

impl AwqOptions {
    /// Checks grids >= 1, `clip_max_shrink` in (0, 1], `clip_tokens` >= 1.
    pub fn validate(&self) -> Result<(), QuantError> {
        if self.grid == 0
            || self.clip_grid == 0
            || !(self.clip_max_shrink > 0.0 && self.clip_max_shrink <= 1.0)
            || self.clip_tokens == 0
        {
            return Err(QuantError::BadFormat {
                what: format!(
                    "AWQ needs grid >= 1, clip_grid >= 1, clip_max_shrink in (0, 1] and clip_tokens >= 1, got {}, {}, \
                     {}, {}",
                    self.grid, self.clip_grid, self.clip_max_shrink, self.clip_tokens
                ),
            });
        }
        Ok(())
    }

    /// Clip candidates tried per group (at least 1, the unclipped range).
    pub fn clip_steps(&self) -> u32 {
        ((self.clip_max_shrink as f64 * self.clip_grid as f64).floor() as u32).max(1)
    }
}

/// What [`search_scales`](super::search_scales) returns.
#[derive(Clone, Debug, PartialEq)]
pub struct AwqScales {
    /// `s[k]`, positive and finite: multiply the Linears' columns by it, divide their input by it.
    pub scales: Vec<f32>,
    /// The `α` of the winning candidate; `None` when no candidate beat unit scales (then
    /// `scales` is all ones and AWQ is plain RTN).
    pub ratio: Option<f32>,
    /// Output error `Σ_linears ||X Wᵀ - (X ⊘ s) Q(W ⊙ s)ᵀ||²` of `scales` on the sampled rows.
    pub loss: f64,
    /// The same error with `s = 1` (plain RTN); `loss <= unit_loss` always.
    pub unit_loss: f64,
    /// The error of every grid candidate, `losses[i]` for `α = i / grid`.
    pub losses: Vec<f64>,
}
