//! The AWQ scale search (AutoAWQ `_search_best_scale`). With `x_mean` the per-channel mean
//! `|x|` over all calibration rows and `w_mean` from [`weight_mean`], for `α = i / grid`,
//! `i` in `0..grid`:
//! - `s = x_mean^α / (w_mean^(1-α) + 1e-4)` (duo scaling) or `s = x_mean^α`;
//! - `s ← max(s, 1e-4)`, `s ← s / sqrt(max(s) · min(s))` (non-finite entries become 1);
//! - loss `Σ_linears ||X Wᵀ - (X ⊘ s) Q(W ⊙ s)ᵀ||²` on the sampled rows
//!   ([`scaled_quant_error_on`](super::loss::scaled_quant_error_on), the rows as their Gram
//!   matrix when that is cheaper).
//!
//! Unit scales (plain RTN) are evaluated first and a candidate must be strictly better to win,
//! so the result is never worse than RTN on the sample. (AutoAWQ has no such candidate with duo
//! scaling, where `α = 0` gives `s = 1 / w_mean`, not 1.)

use super::inputs::check_inputs;
use super::loss::{scaled_quant_error_on, LossRows};
use super::options::{AwqOptions, AwqScales};
use super::weight_mean::weight_mean;
use crate::format::WeightFormat;
use crate::rtn::RtnOptions;
use crate::stats::ChannelStats;
use crate::QuantError;

/// Searches AWQ scales for the `linears` (`(W[n, k], n)` each) that all read the input whose
/// statistics are `stats`, quantized to `format`.
pub fn search_scales(
    stats: &ChannelStats,
    linears: &[(&[f32], usize)],
    k: usize,
    format: &WeightFormat,
    opts: &AwqOptions,
) -> Result<AwqScales, QuantError> {
    format.validate()?;
    opts.validate()?;
    check_inputs(stats, linears, k)?;
    let (x, m) = stats.sample_rows();
    let rtn = RtnOptions { scale_dtype: opts.scale_dtype, clip_search: None };
    let x_mean = stats.mean_abs();
    let w_mean = if opts.duo_scaling { Some(weight_mean(linears, k, format)) } else { None };

    let rows = LossRows::new(x, m, k)?;
    let unit_loss = scaled_quant_error_on(&rows, linears, k, None, format, &rtn)?;
    let (mut scales, mut ratio, mut loss) = (vec![1.0f32; k], None, unit_loss);
    let mut losses = Vec::with_capacity(opts.grid as usize);
    for i in 0..opts.grid {
        let alpha = i as f32 / opts.grid as f32;
        let s = candidate_scales(&x_mean, w_mean.as_deref(), alpha);
        let l = scaled_quant_error_on(&rows, linears, k, Some(&s), format, &rtn)?;
        losses.push(l);
        if l < loss {
            (scales, ratio, loss) = (s, Some(alpha), l);
        }
    }
    Ok(AwqScales { scales, ratio, loss, unit_loss, losses })
}

/// The scales of one grid point `alpha`, clamped, normalized and made finite.
pub fn candidate_scales(x_mean: &[f32], w_mean: Option<&[f32]>, alpha: f32) -> Vec<f32> {
    let a = alpha as f64;
    let mut s: Vec<f64> = match w_mean {
        Some(wm) => {
            x_mean.iter().zip(wm).map(|(&x, &w)| (x as f64).powf(a) / ((w as f64).powf(1.0 - a) + 1e-4)).collect()
        }
        None => x_mean.iter().map(|&x| (x as f64).powf(a)).collect(),
    };
    s.iter_mut().for_each(|v| *v = v.max(1e-4));
    let (lo, hi) = s.iter().filter(|v| v.is_finite()).fold((f64::INFINITY, 0f64), |(l, h), &v| (l.min(v), h.max(v)));
    let norm = if lo.is_finite() && hi > 0.0 { (lo * hi).sqrt() } else { 1.0 };
    s.iter()
        .map(|&v| {
            let r = (v / norm) as f32;
            if r.is_finite() && r > 0.0 {
                r
            } else {
                1.0
            }
        })
        .collect()
}
