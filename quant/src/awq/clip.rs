//! The AWQ clip search (AutoAWQ `auto_clip` / `_compute_best_clip`): for every output row and
//! every group of `g` input columns, try the symmetric clamp ranges
//! `max_val = (1 - i / clip_grid) · max |w_group|` for `i` in `0..floor(clip_max_shrink · clip_grid)`;
//! the clamped group `clamp(w, -max_val, max_val)` is quantized by RTN (min/max of the clamped
//! values, as [`quantize_rtn`](crate::rtn::quantize_rtn) does) and the range minimizing
//! `Σ_tokens (x_g · w_g - x_g · Q(clamp(w_g)))²` over a token subsample wins (`i = 0`, no clip,
//! first; a later one must be strictly better, so clipping never increases this error).
//!
//! Tokens: every `max(1, rows / clip_tokens)`-th row of the statistics' sample. The search runs
//! on the weight the final RTN will see: after AWQ scaling, with `stats.divided_by(&s)`.
//!
//! The error of a candidate is computed as `dᵀ·G·d` with `d = w_g - Q(clamp(w_g))` and the
//! group's token Gram matrix `G = X_gᵀ·X_g` (`[g, g]`, f64, built once per group and shared by
//! every row): the same sum as over the tokens, in `g²` instead of `tokens·g` operations.

use rayon::prelude::*;

use super::inputs::check_linear;
use super::options::AwqOptions;
use crate::format::{IntSpec, ScaleDtype, WeightFormat};
use crate::rtn::group_qparams;
use crate::stats::ChannelStats;
use crate::QuantError;

/// Returns `W[n, k]` with every group clamped to its best range; RTN on it (same format and
/// `opts.scale_dtype`, no RTN clip search) reproduces the codes that were evaluated.
pub fn clip_search(
    stats: &ChannelStats,
    w: &[f32],
    n: usize,
    k: usize,
    format: &WeightFormat,
    opts: &AwqOptions,
) -> Result<Vec<f32>, QuantError> {
    format.validate()?;
    opts.validate()?;
    check_linear(w, n, k, "weight")?;
    stats.check_usable(k)?;
    let (x, m) = stats.sample_rows();
    let step = (m / opts.clip_tokens).max(1);
    // tokens[t, k]
    let tokens: Vec<f32> = x.chunks_exact(k).step_by(step).flatten().copied().collect();
    let g = format.group_size(k);
    let t = tokens.len() / k.max(1);
    // grams[group] = X_gᵀ·X_g, [len, len] row-major.
    let grams: Vec<Vec<f64>> = (0..k)
        .step_by(g)
        .collect::<Vec<_>>()
        .par_iter()
        .map(|&start| {
            let len = (start + g).min(k) - start;
            let mut gm = vec![0f64; len * len];
            for r in 0..t {
                let xg = &tokens[r * k + start..r * k + start + len];
                for a in 0..len {
                    let xa = xg[a] as f64;
                    for b in a..len {
                        gm[a * len + b] += xa * xg[b] as f64;
                    }
                }
            }
            for a in 0..len {
                for b in 0..a {
                    gm[a * len + b] = gm[b * len + a];
                }
            }
            gm
        })
        .collect();
    let search =
        GroupSearch { spec: &format.spec, dtype: opts.scale_dtype, grid: opts.clip_grid, steps: opts.clip_steps() };
    let mut out = vec![0f32; n * k];
    out.par_chunks_mut(k).zip(w.par_chunks(k)).for_each(|(orow, row)| {
        for (gi, start) in (0..k).step_by(g).enumerate() {
            let end = (start + g).min(k);
            search.run(&row[start..end], &grams[gi], &mut orow[start..end]);
        }
    });
    Ok(out)
}

/// The clip search of one group.
struct GroupSearch<'a> {
    spec: &'a IntSpec,
    dtype: ScaleDtype,
    grid: u32,
    steps: u32,
}

impl GroupSearch<'_> {
    /// Writes the best clamped version of `wg` into `out`; `gram` is the group's `X_gᵀ·X_g`.
    fn run(&self, wg: &[f32], gram: &[f64], out: &mut [f32]) {
        let amax = wg.iter().fold(0f32, |a, v| a.max(v.abs()));
        let (mut best_err, mut best_max) = (f64::INFINITY, amax);
        let mut clamped = vec![0f32; wg.len()];
        let mut diff = vec![0f64; wg.len()];
        for i in 0..self.steps {
            let max_val = amax * (1.0 - i as f32 / self.grid as f32);
            clamped.iter_mut().zip(wg).for_each(|(c, v)| *c = v.clamp(-max_val, max_val));
            let qp = group_qparams(&clamped, self.spec, self.dtype, None);
            diff.iter_mut().zip(wg).zip(&clamped).for_each(|((d, v), c)| *d = (v - qp.fake(*c, self.spec.int)) as f64);
            let err = quadratic_form(gram, &diff);
            if err < best_err {
                (best_err, best_max) = (err, max_val);
            }
        }
        out.iter_mut().zip(wg).for_each(|(o, v)| *o = v.clamp(-best_max, best_max));
    }
}

/// `dᵀ·G·d` for `G[len, len]` row-major (`len = d.len()`), each row's dot in eight partial sums
/// so that it runs in vector lanes, with an AVX2 build chosen at run time where the CPU has one.
fn quadratic_form(gram: &[f64], d: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { quadratic_form_avx2(gram, d) };
    }
    quadratic_form_lanes(gram, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quadratic_form_avx2(gram: &[f64], d: &[f64]) -> f64 {
    quadratic_form_lanes(gram, d)
}

#[inline(always)]
fn quadratic_form_lanes(gram: &[f64], d: &[f64]) -> f64 {
    let len = d.len();
    let mut total = 0.0;
    for (row, &da) in gram.chunks_exact(len).zip(d) {
        let mut acc = [0f64; 8];
        let (rc, dc) = (row.chunks_exact(8), d.chunks_exact(8));
        let (rt, dt) = (rc.remainder(), dc.remainder());
        for (r, x) in rc.zip(dc) {
            for ((a, &g), &v) in acc.iter_mut().zip(r).zip(x) {
                *a += g * v;
            }
        }
        for ((a, &g), &v) in acc.iter_mut().zip(rt).zip(dt) {
            *a += g * v;
        }
        total += da * acc.iter().sum::<f64>();
    }
    total
}
