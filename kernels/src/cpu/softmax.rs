//! CPU softmax over rows, in place: max, `exp(x − max)`, eight-way sum, scale by `1/sum`.
//! Rows in parallel when large. Matches [`softmax_ref`](crate::ops::softmax_ref).

use super::par::{for_each_row, sum};

/// Softmax of each `n`-long row of `x` (shape already validated).
pub(crate) fn softmax(x: &mut [f32], n: usize) {
    for_each_row(x, n, |_, row| {
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
        for v in row.iter_mut() {
            *v = (*v - max).exp();
        }
        let inv = 1.0 / sum(row);
        for v in row.iter_mut() {
            *v *= inv;
        }
    });
}
