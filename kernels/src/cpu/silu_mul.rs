//! CPU SwiGLU gate: `out = gate / (1 + e^-gate) · up`, chunks in parallel when large. Matches
//! [`silu_mul_ref`](crate::ops::silu_mul_ref).

use super::par::for_each_chunk;

/// `out[i] = silu(gate[i]) · up[i]` (lengths already validated).
pub(crate) fn silu_mul(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for_each_chunk(out, |off, chunk| {
        let n = chunk.len();
        for ((o, &g), &u) in chunk.iter_mut().zip(&gate[off..off + n]).zip(&up[off..off + n]) {
            *o = g / (1.0 + (-g).exp()) * u;
        }
    });
}
