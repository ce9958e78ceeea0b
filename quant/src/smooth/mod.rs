//! SmoothQuant (Xiao et al. 2022, "SmoothQuant: Accurate and Efficient Post-Training
//! Quantization for Large Language Models"): migrate the difficulty of quantizing activations
//! with outlier channels into the weights. For the Linears reading one input `X[m, k]`,
//! `s_j = max|X_j|^α / max|W_{·j}|^(1-α)`; `X ⊘ s` has flatter channels (easier per-token int8)
//! while `W ⊙ s` absorbs the range, and `(X ⊘ s)(W ⊙ s)ᵀ = X Wᵀ`.
//!
//! Folding is the caller's job, as for AWQ: [`crate::awq::scale_columns`] on every Linear reading
//! `X`, [`crate::awq::divide`] on the preceding norm's weight (and bias). `max|X_j|` comes from
//! calibration, e.g. [`ChannelStats::abs_max`](crate::stats::ChannelStats::abs_max).
//!
//! - [`scales`]: [`smooth_scales`] and [`DEFAULT_ALPHA`].

pub mod scales;

#[cfg(test)]
mod tests;

pub use scales::{smooth_scales, DEFAULT_ALPHA};
