//! CPU Hadamard rotation in place: per row `x[n]` seen as `[m, P]` (`n = m · P`, `P = 2^p`),
//! a fast Walsh–Hadamard transform of each contiguous run of `P` (radix-8 first pass, then
//! radix-2 butterflies, all in `f32`), then the dense `m × m` ±1 mix of the runs into the row,
//! scaled by `1/sqrt(n)`: O(n · (log P + m)) per row. Rows in parallel when large; each row is
//! computed by one thread in a fixed order, so results do not depend on the thread count.
//! Matches [`hadamard_ref`](crate::ops::hadamard_ref).

use super::par::for_each_row;
use crate::hadamard::Hadamard;
use std::cell::RefCell;

/// `x ← H · x` for each `h.n()`-long row of `x` (shape already validated).
pub(crate) fn hadamard(x: &mut [f32], h: &Hadamard) {
    let (n, m, pp, s) = (h.n(), h.base_order(), h.pow2(), h.scale());
    let base = h.base_matrix();
    thread_local! {
        static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }
    for_each_row(x, n, |_, row| {
        for run in row.chunks_exact_mut(pp) {
            fwht(run);
        }
        if m == 1 {
            row.iter_mut().for_each(|v| *v *= s);
            return;
        }
        SCRATCH.with_borrow_mut(|tmp| {
            tmp.clear();
            tmp.extend_from_slice(row);
            for (a, dst) in row.chunks_exact_mut(pp).enumerate() {
                dst.fill(0.0);
                for (c, src) in tmp.chunks_exact(pp).enumerate() {
                    if base[a * m + c] > 0 {
                        dst.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
                    } else {
                        dst.iter_mut().zip(src).for_each(|(d, &v)| *d -= v);
                    }
                }
                dst.iter_mut().for_each(|v| *v *= s);
            }
        });
    });
}

/// Unnormalised Walsh–Hadamard transform of `v` (length a power of two), Sylvester order:
/// `v ← H_P · v` with `H_P[i, j] = (−1)^popcount(i & j)`.
fn fwht(v: &mut [f32]) {
    let len = v.len();
    let mut h = 1;
    if len >= 8 {
        // Strides 1, 2 and 4 within each aligned block of 8, in registers.
        for c in v.chunks_exact_mut(8) {
            let mut t = [0f32; 8];
            t.copy_from_slice(c);
            for stride in [1, 2, 4] {
                for i in (0..8).filter(|i| i & stride == 0) {
                    let (a, b) = (t[i], t[i + stride]);
                    t[i] = a + b;
                    t[i + stride] = a - b;
                }
            }
            c.copy_from_slice(&t);
        }
        h = 8;
    }
    while h < len {
        for block in v.chunks_exact_mut(2 * h) {
            let (lo, hi) = block.split_at_mut(h);
            for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
                let (p, q) = (*a, *b);
                *a = p + q;
                *b = p - q;
            }
        }
        h *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::hadamard_ref;

    const MUST_WORK: [usize; 10] = [64, 128, 576, 896, 960, 1536, 2048, 4096, 4864, 8960];

    fn data(len: usize, seed: u64) -> Vec<f32> {
        let mut z = seed;
        (0..len)
            .map(|_| {
                z = z.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((z >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
            })
            .collect()
    }

    fn max_rel(got: &[f32], want: &[f32]) -> f64 {
        let scale = want.iter().fold(0f64, |a, &w| a.max(f64::from(w).abs())).max(1e-30);
        got.iter().zip(want).fold(0f64, |a, (&g, &w)| a.max((f64::from(g) - f64::from(w)).abs())) / scale
    }

    /// `H · x` per row with the materialised `matrix()`, in `f64`.
    fn dense(mat: &[f32], x: &[f32], n: usize, transpose: bool) -> Vec<f32> {
        x.chunks_exact(n)
            .flat_map(|row| {
                (0..n).map(move |i| {
                    let at = |j: usize| if transpose { mat[j * n + i] } else { mat[i * n + j] };
                    (0..n).map(|j| f64::from(at(j)) * f64::from(row[j])).sum::<f64>() as f32
                })
            })
            .collect()
    }

    #[test]
    fn fwht_is_sylvester() {
        for len in [1usize, 2, 4, 8, 16, 64] {
            let x = data(len, len as u64);
            let mut got = x.clone();
            fwht(&mut got);
            for (i, &g) in got.iter().enumerate() {
                let want: f64 = (0..len)
                    .map(|j| f64::from(crate::hadamard::construct::sylvester_sign(i, j)) * f64::from(x[j]))
                    .sum();
                assert!((f64::from(g) - want).abs() < 1e-5, "len {len} [{i}]: {g} vs {want}");
            }
        }
    }

    #[test]
    fn fast_equals_reference_and_matrix() {
        let extra = [1usize, 2, 12, 24, 28 * 4, 140, 252 * 2];
        for n in MUST_WORK.into_iter().chain(extra) {
            let h = Hadamard::new(n).unwrap();
            let rows = if n >= 4096 { 1 } else { 3 };
            let x = data(rows * n, n as u64);
            let mut fast = x.clone();
            hadamard(&mut fast, &h);
            let mut refr = x.clone();
            hadamard_ref(&mut refr, rows, &h);
            let e = max_rel(&fast, &refr);
            assert!(e < 1e-5, "n = {n}: fast vs ref max rel err {e:.2e}");
            let viamat = dense(&h.matrix(), &x, n, false);
            let e = max_rel(&refr, &viamat);
            assert!(e < 1e-6, "n = {n}: ref vs matrix()·x max rel err {e:.2e}");
            // Orthonormal: norms kept.
            for (r, (a, b)) in fast.chunks_exact(n).zip(x.chunks_exact(n)).enumerate() {
                let na: f64 = a.iter().map(|&v| f64::from(v).powi(2)).sum();
                let nb: f64 = b.iter().map(|&v| f64::from(v).powi(2)).sum();
                assert!((na.sqrt() / nb.sqrt() - 1.0).abs() < 1e-5, "n = {n} row {r}: norm {na} vs {nb}");
            }
        }
    }

    #[test]
    fn transpose_undoes_it() {
        for n in [12usize, 64, 576, 1536] {
            let h = Hadamard::new(n).unwrap();
            let x = data(2 * n, 7 + n as u64);
            let mut y = x.clone();
            hadamard(&mut y, &h);
            let back = dense(&h.matrix(), &y, n, true);
            let e = max_rel(&back, &x);
            assert!(e < 1e-5, "n = {n}: Hᵀ·H·x vs x max rel err {e:.2e}");
        }
    }
}
