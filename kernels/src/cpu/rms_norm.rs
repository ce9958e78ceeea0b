//! CPU RMSNorm: per row, an eight-way `f32` sum of squares, then `(x · 1/sqrt(mean + eps)) ·
//! weight` (HF's order of operations). Rows in parallel when large. Matches
//! [`rms_norm_ref`](crate::ops::rms_norm_ref).

use super::par::{for_each_row, sum_sq};

/// RMSNorm of `x[m, d]` into `out[m, d]` (shapes already validated).
pub(crate) fn rms_norm(x: &[f32], d: usize, weight: &[f32], eps: f32, out: &mut [f32]) {
    for_each_row(out, d, |r, row| {
        let xr = &x[r * d..(r + 1) * d];
        let inv = 1.0 / (sum_sq(xr) / d as f32 + eps).sqrt();
        for ((o, &v), &wv) in row.iter_mut().zip(xr).zip(weight) {
            *o = (v * inv) * wv;
        }
    });
}
