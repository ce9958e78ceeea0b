//! CPU `x += y`, chunks in parallel when large. Matches [`add_ref`](crate::ops::add_ref).

use super::par::for_each_chunk;

/// `x[i] += y[i]` (lengths already validated).
pub(crate) fn add(x: &mut [f32], y: &[f32]) {
    for_each_chunk(x, |off, chunk| {
        let n = chunk.len();
        for (a, &b) in chunk.iter_mut().zip(&y[off..off + n]) {
            *a += b;
        }
    });
}
