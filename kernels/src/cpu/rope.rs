//! CPU RoPE in place, HF "rotate_half" pairs `(i, i + head_dim/2)`, reading `cos`/`sin` from
//! the `f32` [`RopeTable`]. Rows in parallel when large. Matches
//! [`rope_ref`](crate::ops::rope_ref).

use super::par::for_each_row;
use crate::ops::RopeTable;

/// RoPE on `x[m, n_heads * head_dim]` at `positions[m]` (shapes already validated).
pub(crate) fn rope(x: &mut [f32], head_dim: usize, positions: &[usize], table: &RopeTable) {
    let half = head_dim / 2;
    if half == 0 || positions.is_empty() {
        return;
    }
    let width = x.len() / positions.len();
    for_each_row(x, width, |r, row| {
        let (cos, sin) = (table.cos_row(positions[r]), table.sin_row(positions[r]));
        for head in row.chunks_exact_mut(head_dim) {
            let (lo, hi) = head.split_at_mut(half);
            for i in 0..half {
                let (x1, x2) = (lo[i], hi[i]);
                lo[i] = x1 * cos[i] - x2 * sin[i];
                hi[i] = x2 * cos[i] + x1 * sin[i];
            }
        }
    });
}
