//! Matmul v2: register tiles over cache-sized blocks of W.
//!
//! The `n` rows of W are cut into blocks of `nb` rows; rayon runs one task per block, and a
//! task computes the outputs `y[0..m, block]`. Inside a task, rows are assigned to tiles as
//! a few long sequential streams (see [`streams`]):
//! - `m = 1` (decode, GEMV): 1×`g` tiles (`g` = [`streams::gemv_streams`]) read each W row
//!   once, loading each x chunk once per `g` rows; W is read exactly once overall.
//! - `m > 1` (prefill): for each group of [`MR`] x rows, [`MR`]×[`NR`] tiles sweep the block,
//!   so the block (sized to about [`BLOCK_BYTES`], within L2) is reused by every x row while
//!   it is hot, and each W chunk loaded is used `MR` times, each x chunk `NR` times.
//!
//! Block sizes depend on the thread count, but results do not (see `tile`).

use super::streams::{self, stream_tiles};
use super::tile::{tile_dyn, Prefetch, TileArgs};
use super::SyncPtr;
use crate::cpu::simd::{self, Isa, Lanes, LanesFn, WeightElem};
use rayon::prelude::*;

/// x rows per register tile when `m > 1`.
pub const MR: usize = 3;
/// W rows per register tile when `m > 1` (`MR·NR` accumulators + `MR` x + 1 W = 16 ymm).
pub const NR: usize = 4;
/// Target size of one block of W (bytes), to stay in a 1 MiB L2 next to the x rows.
pub const BLOCK_BYTES: usize = 256 * 1024;
/// Blocks per thread to aim for, so that uneven blocks still balance.
const BLOCKS_PER_THREAD: usize = 4;

/// One task: outputs `y[0..m, j0..j0 + nb]` from the block `w[j0.., ..]`.
struct Block<'a, W> {
    x: &'a [f32],
    m: usize,
    k: usize,
    /// The block's rows, `nb * k` elements.
    w: &'a [W],
    nb: usize,
    /// `y` at column `j0` of row 0; row stride `ldy`.
    y: SyncPtr,
    ldy: usize,
}

impl<W: WeightElem> LanesFn for Block<'_, W> {
    #[inline(always)]
    unsafe fn call<V: Lanes>(self) {
        let Block { x, m, k, w, nb, y, ldy } = self;
        assert!(x.len() >= m * k && w.len() >= nb * k);
        let (xp, wp, yp) = (x.as_ptr(), w.as_ptr(), y.get());
        let (g, mr_max) = if m == 1 { (streams::gemv_streams(k * size_of::<W>()), 1) } else { (NR, MR) };
        let mut i = 0;
        while i < m {
            let mr = mr_max.min(m - i);
            for (j, stride, nr) in stream_tiles(nb, g) {
                // SAFETY: rows i..i + mr < m of x; rows j + q·stride < nb (q < nr) of w, as
                // stream_tiles guarantees; y's m × nb window, which the caller reserved for
                // this task.
                unsafe {
                    let t = TileArgs {
                        x: xp.add(i * k),
                        ldx: k,
                        w: wp.add(j * k),
                        ldw: stride * k,
                        k,
                        y: yp.add(i * ldy + j),
                        ldy,
                        ldyj: stride,
                        prefetch: Prefetch::None,
                    };
                    tile_dyn::<V, W>(mr, nr, &t);
                }
            }
            i += mr;
        }
    }
}

/// Rows of W per block for this shape and thread count (a multiple of 8).
pub fn block_rows(m: usize, n: usize, k: usize, elem_bytes: usize, threads: usize) -> usize {
    let for_balance = n.div_ceil(threads.max(1) * BLOCKS_PER_THREAD);
    let rows = if m == 1 { for_balance } else { for_balance.min(BLOCK_BYTES / (k * elem_bytes).max(1)) };
    rows.max(1).div_ceil(8) * 8
}
/// v2 on validated shapes (`x[m, k]`, `w[n, k]`, `y[m, n]`); `isa` must be available.
pub(crate) fn matmul<W: WeightElem>(isa: Isa, x: &[f32], m: usize, k: usize, w: &[W], n: usize, y: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    let nb = block_rows(m, n, k, size_of::<W>(), rayon::current_num_threads());
    let yp = SyncPtr::new(y);
    let blocks = n.div_ceil(nb);
    (0..blocks).into_par_iter().for_each(|b| {
        let j0 = b * nb;
        let rows = nb.min(n - j0);
        let f = Block {
            x,
            m,
            k,
            w: &w[j0 * k..(j0 + rows) * k],
            nb: rows,
            // SAFETY: j0 < n, so the offset is inside y; block b alone writes columns
            // j0..j0 + rows of every row.
            y: SyncPtr(unsafe { yp.get().add(j0) }),
            ldy: n,
        };
        // SAFETY: the caller checked that `isa` is available.
        unsafe { simd::run(isa, f) };
    });
}
