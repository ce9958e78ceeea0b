//! The work split of the CPU kernels over 16-row interleaved weight tiles
//! (`dequant::packed_q8_vnni`, `matmul_w8a8_vnni`): rayon tasks of consecutive tiles (about
//! four per thread, so uneven tasks still balance), and in each tile the x rows in runs of at
//! most [`MAX_M`] that share every load of the tile. A tile's outputs are its 16 columns of y,
//! so tasks write disjoint columns. Both kernels prefetch [`PREFETCH_BYTES`] ahead.

use rayon::prelude::*;

/// W rows per tile: one 32-bit lane of a 512-bit register each.
pub(crate) const TILE: usize = 16;
/// x rows per pass over a tile.
pub(crate) const MAX_M: usize = 4;
/// How far ahead in a tile's codes the kernels prefetch in software, bytes: the hardware
/// prefetcher alone leaves bandwidth unused (it stops at page edges and ramps up slowly).
/// Chosen on measurement: `reports/kernels-cpu-q8-xeon2.md` (0 vs 1 vs 2 KiB).
pub(crate) const PREFETCH_BYTES: usize = 1024;
/// Tasks per thread to aim for.
const TASKS_PER_THREAD: usize = 4;

/// Calls `f(tile, i0, rows)` for every tile of `n` W rows and every run `i0 .. i0 + rows` (at
/// most [`MAX_M`]) of the `m` x rows, tiles in parallel.
pub(crate) fn for_each_tile(n: usize, m: usize, f: impl Fn(usize, usize, usize) + Sync) {
    let tiles = n.div_ceil(TILE);
    let threads = rayon::current_num_threads().max(1);
    let per_task = tiles.div_ceil(threads * TASKS_PER_THREAD).max(1);
    (0..tiles.div_ceil(per_task)).into_par_iter().for_each(|task| {
        for tile in task * per_task..((task + 1) * per_task).min(tiles) {
            let mut i0 = 0;
            while i0 < m {
                let rows = MAX_M.min(m - i0);
                f(tile, i0, rows);
                i0 += rows;
            }
        }
    });
}
