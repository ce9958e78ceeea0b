//! Matmul v1: one output at a time. For each x row in turn, rayon splits the W rows into
//! chunks and each task computes its outputs with 1×1 tiles. Simple and correct; W is read
//! from memory once per x row and x is reloaded for every output.

use super::tile::{tile, Prefetch, TileArgs};
use crate::cpu::simd::{self, Isa, Lanes, LanesFn, WeightElem};
use rayon::prelude::*;

/// W rows per rayon task.
const ROWS_PER_TASK: usize = 64;

struct Dots<'a, W> {
    x: &'a [f32],
    w: &'a [W],
    k: usize,
    y: &'a mut [f32],
}

impl<W: WeightElem> LanesFn for Dots<'_, W> {
    #[inline(always)]
    unsafe fn call<V: Lanes>(self) {
        assert!(self.x.len() >= self.k && self.w.len() >= self.y.len() * self.k);
        for (j, out) in self.y.iter_mut().enumerate() {
            // SAFETY: row j of w and the k values of x are in bounds (asserted above).
            unsafe {
                tile::<V, W, 1, 1>(&TileArgs {
                    x: self.x.as_ptr(),
                    ldx: self.k,
                    w: self.w.as_ptr().add(j * self.k),
                    ldw: self.k,
                    k: self.k,
                    y: out,
                    ldy: 1,
                    ldyj: 1,
                    prefetch: Prefetch::None,
                })
            };
        }
    }
}

/// v1 on validated shapes (`x[m, k]`, `w[n, k]`, `y[m, n]`); `isa` must be available.
pub(crate) fn matmul<W: WeightElem>(isa: Isa, x: &[f32], m: usize, k: usize, w: &[W], n: usize, y: &mut [f32]) {
    if n == 0 {
        return;
    }
    for i in 0..m {
        let xi = &x[i * k..(i + 1) * k];
        y[i * n..(i + 1) * n].par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(c, yc)| {
            let j0 = c * ROWS_PER_TASK;
            let f = Dots { x: xi, w: &w[j0 * k..(j0 + yc.len()) * k], k, y: yc };
            // SAFETY: the caller checked that `isa` is available.
            unsafe { simd::run(isa, f) };
        });
    }
}
