//! The register-tile microkernel every CPU matmul variant is built from, and the fixed
//! per-output summation order that makes results independent of tiling and thread count.
//!
//! A tile computes `MR × NR` outputs `y[i, j] = x[i, :] · W[j, :]`, both operands read along
//! `k` (dot-product form, no packing). Per output the order of operations is always:
//!
//! 1. eight lane accumulators, `acc[l] += x[8c + l] · w[8c + l]` for chunks `c = 0, 1, ...`
//!    in order (fused on AVX2);
//! 2. `Lanes::hsum` in its fixed order;
//! 3. the `k mod 8` leftover products added one by one, in order of `k`.
//!
//! Nothing depends on `MR`, `NR`, blocking or the thread that runs the tile, so every variant
//! and every tile shape (including edge tiles) give the same bits for the same inputs on the
//! same [`Isa`](crate::cpu::Isa): a row of a prefill matmul equals the decode (`m = 1`) result.
//!
//! A tile can also prefetch a run of cache lines (v3: its share of the next block of W),
//! spread evenly over its chunk loop.

use crate::cpu::simd::{prefetch, Lanes, WeightElem};

/// What a tile prefetches while it computes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Prefetch {
    /// Nothing.
    None,
    /// `count` consecutive lines from `start` (may lie anywhere), spread evenly over the
    /// chunk loop.
    Lines { start: *const u8, count: usize },
}

/// Operands of one tile: `MR` rows of x at stride `ldx`, `NR` rows of W at stride `ldw`, both
/// `k` long; outputs at `y[i * ldy + j * ldyj]`.
#[derive(Clone, Copy)]
pub(crate) struct TileArgs<W> {
    pub x: *const f32,
    pub ldx: usize,
    pub w: *const W,
    pub ldw: usize,
    pub k: usize,
    pub y: *mut f32,
    pub ldy: usize,
    pub ldyj: usize,
    pub prefetch: Prefetch,
}

/// Cache line size assumed by the prefetch schedules.
pub(crate) const LINE: usize = 64;

/// Issues the prefetches of chunk `c` (of `chunks`).
#[inline(always)]
fn prefetch_chunk<W>(t: &TileArgs<W>, c: usize, chunks: usize, next_line: &mut usize) {
    match t.prefetch {
        Prefetch::None => {}
        Prefetch::Lines { start, count } => {
            // Line l is issued at chunk floor(l * chunks / count).
            while *next_line < count && *next_line * chunks <= c * count {
                prefetch(start.wrapping_add(*next_line * LINE));
                *next_line += 1;
            }
        }
    }
}

/// Computes the `MR × NR` outputs `y[i * ldy + j * ldyj] = Σ_kk x[i * ldx + kk] · w[j * ldw + kk]`.
///
/// # Safety
/// `x` must be readable for `MR` rows of `k` at stride `ldx`, `w` for `NR` rows of `k` at
/// stride `ldw`, `y` writable at the `MR × NR` positions; `V`'s instruction set must be
/// present.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
pub(crate) unsafe fn tile<V: Lanes, W: WeightElem, const MR: usize, const NR: usize>(t: &TileArgs<W>) {
    let TileArgs { x, ldx, w, ldw, k, y, ldy, ldyj, .. } = *t;
    // SAFETY (whole body): every pointer offset stays inside the ranges the caller vouches
    // for: rows i < MR / j < NR, columns < k. Prefetch addresses use wrapping arithmetic and
    // are never dereferenced.
    unsafe {
        let mut acc = [[V::zero(); NR]; MR];
        let chunks = k / 8;
        let mut next_line = 0;
        for c in 0..chunks {
            let off = c * 8;
            prefetch_chunk(t, c, chunks, &mut next_line);
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
                *y.add(i * ldy + j * ldyj) = s;
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
pub(crate) unsafe fn tile_dyn<V: Lanes, W: WeightElem>(mr: usize, nr: usize, t: &TileArgs<W>) {
    macro_rules! dispatch {
        ($(($a:literal, $b:literal)),*) => {
            match (mr, nr) {
                $(($a, $b) => unsafe { tile::<V, W, $a, $b>(t) },)*
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
