//! CPU attention over a KV cache in any [`crate::kv`] storage: one task per (query, head) in
//! parallel; per cached position the head's K slice (borrowed from an f32 cache, else decoded:
//! f16 widened a slice at a time, codes `(code − zero) · scale`) is dotted with the query in eight partial sums
//! (vectorized; a sequential f32 sum is latency-bound and dominated prefill at 2048 tokens),
//! then softmax (max, exp, sum) and the probability-weighted sum of the V slices. Matches
//! [`attention_ref`](crate::ops::attention_ref).

use super::par::dot;
use crate::kv::{KvTensor, KvView};
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

/// Channels `c0 .. c0 + buf.len()` of position `t` of `x` as f32: borrowed from an f32 cache,
/// else decoded into `buf` (f16 widened by `half`'s slice conversion, codes through
/// [`KvTensor::value`], `(code − zero) · scale`).
pub(crate) fn slice<'a>(
    x: &KvTensor<'a>,
    t: usize,
    c0: usize,
    kv_dim: usize,
    n_kv_heads: usize,
    buf: &'a mut [f32],
) -> &'a [f32] {
    match *x {
        KvTensor::F32(v) => &v[t * kv_dim + c0..][..buf.len()],
        // f16: widened in one call (exact; vectorized with F16C where the CPU has it), the
        // values `KvTensor::value` gives.
        KvTensor::F16(h) => {
            let n = buf.len();
            let bits: &[half::f16] = bytemuck::cast_slice(&h[t * kv_dim + c0..][..n]);
            bits.convert_to_f32_slice(buf);
            buf
        }
        // Codes: the one dequantization of `crate::kv`.
        _ => {
            for (d, o) in buf.iter_mut().enumerate() {
                *o = x.value(t, c0 + d, kv_dim, n_kv_heads);
            }
            buf
        }
    }
}

/// `out[m, n_heads, head_dim]` (shapes already validated).
pub(crate) fn attention(q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) {
    let (hd, len, kv_dim) = (kv.head_dim, kv.len, kv.kv_dim());
    let group = n_heads / kv.n_kv_heads;
    let scale = 1.0 / (hd as f32).sqrt();
    out.par_chunks_mut(hd).enumerate().for_each(|(row, o)| {
        let (i, h) = (row / n_heads, row % n_heads);
        let last = len - m + i;
        let c0 = (h / group) * hd;
        let qh = &q[row * hd..][..hd];
        let mut buf = vec![0f32; hd];
        let mut p: Vec<f32> =
            (0..=last).map(|t| dot(qh, slice(&kv.k, t, c0, kv_dim, kv.n_kv_heads, &mut buf)) * scale).collect();
        let max = p.iter().fold(f32::NEG_INFINITY, |a, &s| a.max(s));
        let mut sum = 0f32;
        for s in p.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        o.fill(0.0);
        for (t, &pt) in p.iter().enumerate() {
            let w = pt * inv;
            for (od, &vd) in o.iter_mut().zip(slice(&kv.v, t, c0, kv_dim, kv.n_kv_heads, &mut buf)) {
                *od += w * vd;
            }
        }
    });
}
