//! The register-tile microkernel every CPU matmul variant is built from, and the fixed
//! per-output summation order that makes results independent of tiling and thread count.
//!
//! A tile computes `MR × NR` outputs `y[i, j] = x[i, :] · W[j, :]`, both operands read along
//! `k` (dot-product form, no packing). Per output the order of operations is always:
//!
//! 1. eight lane accumulators, `acc[l] += x[8c + l] · w[8c + l]` for chunks `c = 0, 1, ...`
//!    in order (fused on AVX2);
//! 2. [`Lanes::hsum`] in its fixed order;
//! 3. the `k mod 8` leftover products added one by one, in order of `k`.
//!
//! Nothing depends on `MR`, `NR`, blocking or the thread that runs the tile, so every variant
//! and every tile shape (including edge tiles) give the same bits for the same inputs on the
//! same [`Isa`](crate::cpu::Isa): a row of a prefill matmul equals the decode (`m = 1`) result.

use crate::cpu::simd::{Lanes, WeightElem};

/// Computes the `MR × NR` outputs `y[i * ldy + j] = Σ_kk x[i * ldx + kk] · w[j * ldw + kk]`.
///
/// # Safety
/// `x` must be readable for `MR` rows of `k` at stride `ldx`, `w` for `NR` rows of `k` at
/// stride `ldw`, `y` writable at the `MR × NR` positions; `V`'s instruction set must be
/// present.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub(crate) unsafe fn tile<V: Lanes, W: WeightElem, const MR: usize, const NR: usize>(
    x: *const f32,
    ldx: usize,
    w: *const W,
    ldw: usize,
    k: usize,
    y: *mut f32,
    ldy: usize,
) {
    // SAFETY (whole body): every pointer offset stays inside the ranges the caller vouches
    // for: rows i < MR / j < NR, columns < k.
    unsafe {
        let mut acc = [[V::zero(); NR]; MR];
        let chunks = k / 8;
        for c in 0..chunks {
            let off = c * 8;
            let mut xv = [V::zero(); MR];
            for i in 0..MR {
                xv[i] = V::load(x.add(i * ldx + off));
            }
            for j in 0..NR {
                let wv: V = W::load8(w.add(j * ldw + off));
                for i in 0..MR {
                    acc[i][j] = acc[i][j].mul_add(xv[i], wv);
                }
            }
        }
        for i in 0..MR {
            for j in 0..NR {
                let mut s = acc[i][j].hsum();
                for kk in chunks * 8..k {
                    s += *x.add(i * ldx + kk) * (*w.add(j * ldw + kk)).to_f32();
                }
                *y.add(i * ldy + j) = s;
            }
        }
    }
}

/// [`tile`] with run-time `mr ≤ 4` and `nr ≤ 8` (edge tiles), dispatched to a const instance.
/// Pairs with `mr > 1` and `nr > 4` are not instantiated and panic.
///
/// # Safety
/// As [`tile`] with `MR = mr`, `NR = nr`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn tile_dyn<V: Lanes, W: WeightElem>(
    mr: usize,
    nr: usize,
    x: *const f32,
    ldx: usize,
    w: *const W,
    ldw: usize,
    k: usize,
    y: *mut f32,
    ldy: usize,
) {
    macro_rules! dispatch {
        ($(($a:literal, $b:literal)),*) => {
            match (mr, nr) {
                $(($a, $b) => unsafe { tile::<V, W, $a, $b>(x, ldx, w, ldw, k, y, ldy) },)*
                _ => unreachable!("tile_dyn: no instance for {mr} x {nr}"),
            }
        };
    }
    dispatch!(
        (1, 1),
        (1, 2),
        (1, 3),
        (1, 4),
        (1, 5),
        (1, 6),
        (1, 7),
        (1, 8),
        (2, 1),
        (2, 2),
        (2, 3),
        (2, 4),
        (3, 1),
        (3, 2),
        (3, 3),
        (3, 4),
        (4, 1),
        (4, 2),
        (4, 3),
        (4, 4)
    )
}
