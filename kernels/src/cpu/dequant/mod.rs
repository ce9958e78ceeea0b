//! CPU matmul over quantized weights, dequantized in the loop: `y[m, n] = x[m, k] ·
//! dequant(W)[n, k]ᵀ` for qtool's packed layout ([`packed`]) and GGML blocks ([`gguf`]).
//!
//! One driver serves both: rayon splits the `n` rows of W into tasks of consecutive rows; a
//! task walks its rows in panels of about [`PANEL_BYTES`] and for each panel
//! 1. decodes its rows into a per-thread `f32` panel (a row decoder, [`RowDecoder`], reads
//!    the packed row once and writes `k` floats that stay in L1/L2);
//! 2. sweeps the panel with the dense matmul's register tiles (`1×8` for `m = 1`, `3×4`
//!    otherwise), so every decoded row is reused by all `m` rows of x.
//!
//! The decoders produce exactly the values of the scalar references (the same f32 operations),
//! and the tiles fix the summation order per output, so results do not depend on `m`, on
//! tiling or on the thread count, and equal the dense `f32` matmul of the dequantized weight
//! bit for bit on the same [`Isa`].

pub mod gguf;
pub mod packed;

use crate::cpu::matmul::tile::{tile_dyn, Prefetch, TileArgs};
use crate::cpu::matmul::v2_tiled::{MR, NR};
use crate::cpu::matmul::SyncPtr;
use crate::cpu::simd::{self, Isa, Lanes, LanesFn};
use rayon::prelude::*;
use std::cell::RefCell;

/// Target bytes of one decoded `f32` panel (room in L2 for x rows beside it).
pub const PANEL_BYTES: usize = 128 * 1024;
/// W rows per register tile for `m = 1`.
const NR_GEMV: usize = 8;
/// Tasks per thread to aim for, so that uneven tasks still balance.
const TASKS_PER_THREAD: usize = 4;

thread_local! {
    /// Each thread's panel, reused across calls.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Decodes rows of a quantized `W[n, k]`. Implementations are `#[inline(always)]` so that
/// they compile for the instruction set of the kernel that calls them.
pub(crate) trait RowDecoder: Sync {
    /// Writes row `r` of `dequant(W)` into `out[k]`.
    fn decode_row(&self, r: usize, out: &mut [f32]);
}

/// One task: outputs `y[0..m, j0..j0 + rows]`.
struct Task<'a, D> {
    dec: &'a D,
    x: &'a [f32],
    m: usize,
    k: usize,
    j0: usize,
    rows: usize,
    /// Rows per panel.
    pr: usize,
    panel: &'a mut [f32],
    /// `y` at column `j0` of row 0; row stride `ldy`.
    y: SyncPtr,
    ldy: usize,
}

impl<D: RowDecoder> LanesFn for Task<'_, D> {
    #[inline(always)]
    unsafe fn call<V: Lanes>(self) {
        let Task { dec, x, m, k, j0, rows, pr, panel, y, ldy } = self;
        assert!(x.len() >= m * k && panel.len() >= pr * k);
        let (mr_max, nr_max) = if m == 1 { (1, NR_GEMV) } else { (MR, NR) };
        let mut jb = 0;
        while jb < rows {
            let pn = pr.min(rows - jb);
            for (r, out) in panel[..pn * k].chunks_exact_mut(k).enumerate() {
                dec.decode_row(j0 + jb + r, out);
            }
            let mut i = 0;
            while i < m {
                let mr = mr_max.min(m - i);
                let mut j = 0;
                while j < pn {
                    let nr = nr_max.min(pn - j);
                    // SAFETY: rows i..i + mr < m of x and rows j..j + nr < pn of the panel
                    // (asserted lengths); y's columns jb + j.. < rows belong to this task.
                    unsafe {
                        let t = TileArgs {
                            x: x.as_ptr().add(i * k),
                            ldx: k,
                            w: panel.as_ptr().add(j * k),
                            ldw: k,
                            k,
                            y: y.get().add(i * ldy + jb + j),
                            ldy,
                            ldyj: 1,
                            prefetch: Prefetch::None,
                        };
                        tile_dyn::<V, f32>(mr, nr, &t);
                    }
                    j += nr;
                }
                i += mr;
            }
            jb += pn;
        }
    }
}

/// Rows per panel for rows of `k` values: about [`PANEL_BYTES`], at least one GEMV tile.
pub fn panel_rows(k: usize) -> usize {
    (PANEL_BYTES / (4 * k.max(1))).max(NR_GEMV) / NR_GEMV * NR_GEMV
}

/// Runs the driver on validated shapes (`x[m, k]`, `y[m, n]`); `isa` must be available.
pub(crate) fn matmul<D: RowDecoder>(isa: Isa, dec: &D, x: &[f32], m: usize, k: usize, n: usize, y: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        y.fill(0.0);
        return;
    }
    let threads = rayon::current_num_threads().max(1);
    let pr = panel_rows(k);
    let per_task = n.div_ceil(threads * TASKS_PER_THREAD).div_ceil(NR_GEMV) * NR_GEMV;
    let per_task = per_task.clamp(NR_GEMV, pr.max(NR_GEMV) * 4);
    let yp = SyncPtr::new(y);
    (0..n.div_ceil(per_task)).into_par_iter().for_each(|t| {
        let j0 = t * per_task;
        let rows = per_task.min(n - j0);
        PANEL.with_borrow_mut(|panel| {
            let pr = pr.min(rows);
            if panel.len() < pr * k {
                panel.resize(pr * k, 0.0);
            }
            let task = Task {
                dec,
                x,
                m,
                k,
                j0,
                rows,
                pr,
                panel: &mut panel[..pr * k],
                // SAFETY: j0 < n, so the offset is inside y; task t alone writes columns
                // j0..j0 + rows of every row.
                y: SyncPtr::new_raw(unsafe { yp.get().add(j0) }),
                ldy: n,
            };
            // SAFETY: the caller checked that `isa` is available.
            unsafe { simd::run(isa, task) };
        });
    });
}
