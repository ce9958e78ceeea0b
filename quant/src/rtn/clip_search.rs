//! Scale and zero point of one group, optionally with a clip search: shrink the group's range by
//! a grid of factors and keep the one whose quantize-dequantize error is smallest (AutoGPTQ's
//! `Quantizer(mse=True)`: `p = 1 - i / grid` for `i` in `0..floor(max_shrink * grid)`, error
//! `sum |q(x) - x|^norm`, defaults grid 100, max_shrink 0.8, norm 2.4). `p = 1` is always a
//! candidate and a candidate must be strictly better to win, so the search never returns a
//! larger error (in its norm) than no search.

use super::pow::pow_nonneg_f32;
use crate::format::{IntSpec, QParams, ScaleDtype};
use crate::QuantError;

/// A grid search over range shrink factors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipSearch {
    /// Grid resolution: factors are `1 - i / grid`.
    pub grid: u32,
    /// Fraction of the grid searched: `i < floor(max_shrink * grid)`, so the smallest factor tried
    /// is `1 - (floor(max_shrink * grid) - 1) / grid` (0.21 with the defaults).
    pub max_shrink: f32,
    /// Exponent of the error: 2.0 is squared error, AutoGPTQ uses 2.4.
    pub norm: f32,
}

impl Default for ClipSearch {
    /// AutoGPTQ's defaults: grid 100, max_shrink 0.8, norm 2.4.
    fn default() -> ClipSearch {
        ClipSearch { grid: 100, max_shrink: 0.8, norm: 2.4 }
    }
}

impl ClipSearch {
    /// Checks grid >= 1, max_shrink in (0, 1], norm > 0.
    pub fn validate(&self) -> Result<(), QuantError> {
        if self.grid == 0
            || !(self.max_shrink > 0.0 && self.max_shrink <= 1.0)
            || self.norm.is_nan()
            || self.norm <= 0.0
        {
            return Err(QuantError::BadFormat {
                what: format!(
                    "clip search needs grid >= 1, max_shrink in (0, 1] and norm > 0, got {}, {}, {}",
                    self.grid, self.max_shrink, self.norm
                ),
            });
        }
        Ok(())
    }

    /// How many factors are tried (at least 1, the unshrunk range).
    pub fn steps(&self) -> u32 {
        ((self.max_shrink as f64 * self.grid as f64).floor() as u32).max(1)
    }
}

/// `sum |q(x) - x|^norm` over `values` (squares in f64; other powers by [`pow_nonneg_f32`],
/// within 1e-5 of `powf`, summed in f32). Same codes as [`QParams::fake`]; written so that the loop vectorizes, with an AVX2
/// build of it chosen at run time where the CPU has one.
pub fn group_error(values: &[f32], qp: &QParams, spec: &IntSpec, norm: f32) -> f64 {
    let info = spec.int.info();
    let e = ErrorTerms {
        scale: qp.scale,
        zp: (qp.zero as i32 - info.offset as i32) as f32,
        qmin: info.signed_min as f32,
        qmax: info.signed_max as f32,
        norm: norm as f64,
    };
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { e.sum_avx2(values) };
    }
    e.sum(values)
}

/// One group's fake quantization and error norm, unpacked for a vectorizable loop.
struct ErrorTerms {
    scale: f32,
    /// Zero point in signed code units.
    zp: f32,
    qmin: f32,
    qmax: f32,
    norm: f64,
}

impl ErrorTerms {
    /// `|q(x) - x|` for one value; `q` as [`QParams::fake`] computes it: round half to even of
    /// the clamped `x / scale + zp` (by the 1.5·2^23 trick, exact for |v| < 2^22), then
    /// `(q - zp) · scale`.
    #[inline(always)]
    fn diff(&self, x: f32) -> f32 {
        const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
        let v = (x / self.scale + self.zp).clamp(self.qmin, self.qmax);
        let q = (v + MAGIC) - MAGIC;
        ((q - self.zp) * self.scale - x).abs()
    }

    /// The terms summed in eight partial sums, so that the loop runs in vector lanes: squares in
    /// f64, other powers by [`pow_nonneg_f32`] summed in f32 (a group is at most a few hundred
    /// values).
    #[inline(always)]
    fn sum(&self, values: &[f32]) -> f64 {
        let chunks = values.chunks_exact(8);
        let tail = chunks.remainder();
        if self.norm == 2.0 {
            let mut acc = [0f64; 8];
            for c in chunks {
                for (a, &x) in acc.iter_mut().zip(c) {
                    let d = self.diff(x) as f64;
                    *a += d * d;
                }
            }
            for (a, &x) in acc.iter_mut().zip(tail) {
                let d = self.diff(x) as f64;
                *a += d * d;
            }
            return acc.iter().sum();
        }
        let p = self.norm as f32;
        let mut acc = [0f32; 8];
        for c in chunks {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += pow_nonneg_f32(self.diff(x), p);
            }
        }
        for (a, &x) in acc.iter_mut().zip(tail) {
            *a += pow_nonneg_f32(self.diff(x), p);
        }
        acc.iter().map(|&a| a as f64).sum()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn sum_avx2(&self, values: &[f32]) -> f64 {
        self.sum(values)
    }
}

/// The parameters of one group: min/max (clip ratio applied), then the clip search if given.
pub fn group_qparams(values: &[f32], spec: &IntSpec, dtype: ScaleDtype, search: Option<&ClipSearch>) -> QParams {
    let (min, max) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let lo = min.min(0.0) * spec.clip_ratio;
    let hi = max.max(0.0) * spec.clip_ratio;
    let Some(search) = search else {
        return spec.qparams_for_range(lo, hi, dtype);
    };
    let mut best = spec.qparams_for_range(lo, hi, dtype);
    let mut best_err = group_error(values, &best, spec, search.norm);
    for i in 1..search.steps() {
        let p = 1.0 - i as f32 / search.grid as f32;
        let qp = spec.qparams_for_range(p * lo, p * hi, dtype);
        let err = group_error(values, &qp, spec, search.norm);
        if err < best_err {
            (best, best_err) = (qp, err);
        }
    }
    best
}
