//! When the elementwise ops go parallel: below [`PAR_MIN_ELEMS`] elements a rayon split costs
//! more than it saves (decode-time vectors are a few thousand values).

use rayon::prelude::*;

/// Work (in elements) below which the elementwise ops stay on the calling thread.
pub const PAR_MIN_ELEMS: usize = 1 << 15;

/// Calls `f(row_index, row)` for each `row_len`-sized row of `out`, in parallel when `out` is
/// large. Each row is processed by one call, so results do not depend on the thread count.
pub(crate) fn for_each_row<F>(out: &mut [f32], row_len: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Send + Sync,
{
    if row_len == 0 {
        return;
    }
    if out.len() < PAR_MIN_ELEMS {
        out.chunks_mut(row_len).enumerate().for_each(|(r, row)| f(r, row));
    } else {
        let min_rows = (PAR_MIN_ELEMS / 4 / row_len).max(1);
        out.par_chunks_mut(row_len).enumerate().with_min_len(min_rows).for_each(|(r, row)| f(r, row));
    }
}

/// Splits `out` into fixed chunks (independent of the thread count) and calls `f(offset,
/// chunk)` on each, in parallel when `out` is large.
pub(crate) fn for_each_chunk<F>(out: &mut [f32], f: F)
where
    F: Fn(usize, &mut [f32]) + Send + Sync,
{
    const CHUNK: usize = 1 << 13;
    if out.len() < PAR_MIN_ELEMS {
        f(0, out);
    } else {
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| f(c * CHUNK, chunk));
    }
}

/// `Σ v[i]²` with eight partial sums (lane `i mod 8`), combined in a fixed order, so LLVM can
/// vectorise it and the result does not depend on who calls it.
pub(crate) fn sum_sq(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l] * c[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    for &t in tail {
        s += t * t;
    }
    s
}

/// `Σ a[i] · b[i]` (over the shorter length) with eight partial sums, as [`sum_sq`].
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += ca[l] * cb[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    let done = n - n % 8;
    for (x, y) in a[done..].iter().zip(&b[done..]) {
        s += x * y;
    }
    s
}

/// `Σ v[i]` with eight partial sums, as [`sum_sq`].
pub(crate) fn sum(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    for &t in tail {
        s += t;
    }
    s
}
