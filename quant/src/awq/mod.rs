//! AWQ (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization for LLM Compression and
//! Acceleration"), as AutoAWQ implements it: before round-to-nearest quantization, multiply each
//! input column `j` of the Linears that read one input `X[m, k]` by a scale `s_j` and divide
//! `X`'s channel `j` by it. The product is unchanged (`(X ⊘ s)(W ⊙ s)ᵀ = X Wᵀ`), but columns
//! that meet large activations get a finer grid relative to their size, so the quantization
//! error of the salient weights shrinks.
//!
//! Scales come from a grid search: `s = x_mean^α / w_mean^(1-α)` (or `x_mean^α`) for `α = i/grid`,
//! keeping the `α` whose quantized output on sampled calibration rows is closest to the full
//! precision output. A second search then clips each weight group's range (`auto_clip`).
//!
//! Pieces, one file each:
//! - [`options`]: [`AwqOptions`] and the search result [`AwqScales`];
//! - [`inputs`]: validation of the Linears and the statistics;
//! - [`weight_mean`]: `w_mean`, the mean of group-normalized `|W|` per input channel;
//! - [`loss`]: `||X Wᵀ - (X ⊘ s) Q(W ⊙ s)ᵀ||²` on the sampled rows;
//! - [`search`]: [`search_scales`], the grid search over `α`;
//! - [`clip`]: [`clip_search`], the per-group clip search on the (scaled) weight;
//! - [`fold`]: [`scale_columns`], [`divide`] and [`divide_rows`] for folding the scales.
//!
//! Folding is the caller's job: multiply the columns of every Linear reading `X` by `s`
//! ([`scale_columns`]) and divide whatever produces `X` by `s`: the preceding RMSNorm/LayerNorm
//! weight (and bias) with [`divide`], or the output rows of the preceding Linear (e.g. `v_proj`
//! before `o_proj`, `up_proj` before `down_proj`) with [`divide_rows`]. The clip search then runs
//! on the scaled weight with the statistics of the scaled input (`stats.divided_by(&s)`), and RTN
//! quantizes the clipped, scaled weight.

pub mod clip;
pub mod fold;
pub mod inputs;
pub mod loss;
pub mod options;
pub mod search;
pub mod weight_mean;

#[cfg(test)]
mod tests;

pub use clip::clip_search;
pub use fold::{divide, divide_rows, scale_columns};
pub use options::{AwqOptions, AwqScales};
pub use search::search_scales;
