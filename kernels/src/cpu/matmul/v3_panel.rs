//! Matmul v3: v2's 3×4 tiles for prefill, but over an `f32` panel, with the next block of W
//! fetched from memory while the current one is computed.
//!
//! For `f32` W, for `m <` [`MIN_M`] and for `k >` [`MAX_K`] it runs v2 unchanged: there is
//! nothing to widen; with few sweeps per block widening costs more than it saves (measured on
//! Zen 4, one thread, bf16: v2 ahead at m = 8 and 16, v3 ahead from m = 32, by 5–20% at
//! m = 64); long rows leave a panel of a few rows, which v2's 16-bit block holds twice of
//! (bf16 1536×8960 at m = 512: v2 52, v3 36 GFLOP/s). Otherwise
//! rayon splits the `n` rows of W into tasks of consecutive rows; a task walks its rows in
//! blocks of about [`PANEL_BYTES`] (as `f32`) and for each block
//! 1. widens the block into a per-thread `f32` panel (a sequential read of W: the hardware
//!    prefetcher streams it; bf16/f16 → f32 is exact, so results equal v2's bit for bit);
//! 2. sweeps the panel with [`MR`]×[`NR`] tiles for every group of x rows, each tile also
//!    prefetching its share of the task's next block, so that step 1 of the next block finds
//!    it in cache. The sweeps then run at the register-tile rate instead of waiting on memory,
//!    and no tile converts bf16 more than once.

use super::tile::{tile_dyn, Prefetch, TileArgs, LINE};
use super::v2_tiled::{self, MR, NR};
use super::SyncPtr;
use crate::cpu::simd::{self, Isa, Lanes, LanesFn, WeightElem};
use rayon::prelude::*;
use std::cell::RefCell;

/// Smallest `m` that uses the panel; below it v3 is v2.
pub const MIN_M: usize = 32;
/// Largest `k` that uses the panel (it then holds at least 16 rows).
pub const MAX_K: usize = PANEL_BYTES / (16 * 4);
/// Target bytes of one `f32` panel (leaves L2 room for the next block and the x rows).
pub const PANEL_BYTES: usize = 192 * 1024;
/// Tasks per thread to aim for, so that uneven tasks still balance.
const TASKS_PER_THREAD: usize = 4;

thread_local! {
    /// Each thread's panel, reused across calls.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// One task: outputs `y[0..m, j0..j0 + rows]` from `w[j0..j0 + rows, ..]`.
struct Task<'a, W> {
    x: &'a [f32],
    m: usize,
    k: usize,
    /// The task's rows, `rows * k` elements.
    w: &'a [W],
    rows: usize,
    /// Rows per panel (a multiple of `NR`).
    pr: usize,
    panel: &'a mut [f32],
    /// `y` at column `j0` of row 0; row stride `ldy`.
    y: SyncPtr,
    ldy: usize,
}

/// `dst[i] = src[i]` widened to `f32`, eight at a time.
///
/// # Safety
/// `src` readable and `dst` writable for `len` elements; `V`'s instruction set present.
#[inline(always)]
unsafe fn widen<V: Lanes, W: WeightElem>(src: *const W, dst: *mut f32, len: usize) {
    // SAFETY: offsets stay below len.
    unsafe {
        let mut i = 0;
        while i + 8 <= len {
            W::load8::<V>(src.add(i)).store(dst.add(i));
            i += 8;
        }
        while i < len {
            *dst.add(i) = (*src.add(i)).to_f32();
            i += 1;
        }
    }
}

impl<W: WeightElem> LanesFn for Task<'_, W> {
    #[inline(always)]
    unsafe fn call<V: Lanes>(self) {
        let Task { x, m, k, w, rows, pr, panel, y, ldy } = self;
        assert!(x.len() >= m * k && w.len() >= rows * k && panel.len() >= pr * k);
        let (xp, wp, pp, yp) = (x.as_ptr(), w.as_ptr(), panel.as_mut_ptr(), y.get());
        let row_bytes = k * size_of::<W>();
        let mut j0 = 0;
        while j0 < rows {
            let nb = pr.min(rows - j0);
            // SAFETY: rows j0..j0 + nb of w and the panel's first nb rows are in bounds.
            unsafe { widen::<V, W>(wp.add(j0 * k), pp, nb * k) };
            // Spread the next block's lines over this block's tiles.
            let next = wp.wrapping_add((j0 + nb) * k).cast::<u8>();
            let next_lines = (pr.min(rows.saturating_sub(j0 + nb)) * row_bytes).div_ceil(LINE);
            let tiles = m.div_ceil(MR) * nb.div_ceil(NR);
            let per_tile = next_lines.div_ceil(tiles);
            let mut t_idx = 0;
            let mut i = 0;
            while i < m {
                let mr = MR.min(m - i);
                let mut j = 0;
                while j < nb {
                    let nr = NR.min(nb - j);
                    let first = t_idx * per_tile;
                    let count = per_tile.min(next_lines.saturating_sub(first));
                    // SAFETY: rows i..i + mr < m of x, panel rows j..j + nr < nb, and y's
                    // m × rows window, which the caller reserved for this task.
                    unsafe {
                        let t = TileArgs {
                            x: xp.add(i * k),
                            ldx: k,
                            w: pp.add(j * k).cast_const(),
                            ldw: k,
                            k,
                            y: yp.add(i * ldy + j0 + j),
                            ldy,
                            ldyj: 1,
                            prefetch: Prefetch::Lines { start: next.wrapping_add(first * LINE), count },
                        };
                        tile_dyn::<V, f32>(mr, nr, &t);
                    }
                    t_idx += 1;
                    j += nr;
                }
                i += mr;
            }
            j0 += nb;
        }
    }
}

/// v3 on validated shapes (`x[m, k]`, `w[n, k]`, `y[m, n]`); `isa` must be available.
pub(crate) fn matmul<W: WeightElem>(isa: Isa, x: &[f32], m: usize, k: usize, w: &[W], n: usize, y: &mut [f32]) {
    if W::IS_F32 || m < MIN_M || k == 0 || k > MAX_K {
        return v2_tiled::matmul(isa, x, m, k, w, n, y);
    }
    if n == 0 {
        return;
    }
    let threads = rayon::current_num_threads().max(1);
    let pr = ((PANEL_BYTES / (k * 4)).max(1)).div_ceil(NR) * NR;
    let task_rows = n.div_ceil(threads * TASKS_PER_THREAD).div_ceil(NR) * NR;
    let yp = SyncPtr::new(y);
    let tasks = n.div_ceil(task_rows);
    (0..tasks).into_par_iter().for_each(|t| {
        let j0 = t * task_rows;
        let rows = task_rows.min(n - j0);
        let pr = pr.min(rows.div_ceil(NR) * NR);
        PANEL.with_borrow_mut(|panel| {
            if panel.len() < pr * k {
                panel.resize(pr * k, 0.0);
            }
            let f = Task {
                x,
                m,
                k,
                w: &w[j0 * k..(j0 + rows) * k],
                rows,
                pr,
                panel: &mut panel[..],
                // SAFETY: j0 < n, so the offset is inside y; task t alone writes columns
                // j0..j0 + rows of every row.
                y: SyncPtr(unsafe { yp.get().add(j0) }),
                ldy: n,
            };
            // SAFETY: the caller checked that `isa` is available.
            unsafe { simd::run(isa, f) };
        });
    });
}
