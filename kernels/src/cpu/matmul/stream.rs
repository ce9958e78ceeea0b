//! How a sweep that reads W rows from memory (decode, and the first sweep over a prefill
//! block) picks its prefetch schedule and, for GEMV, its tile width.
//!
//! Rows are only `k` elements long (1.1 KiB for bf16 at k = 576), too short for the hardware
//! prefetcher to lock on when several are read side by side; measured on Zen 4 (one thread,
//! bf16 49152×576 GEMV: 7 GB/s without software prefetch, 18–23 GB/s with it):
//! - rows up to [`SHORT_ROW_BYTES`]: prefetch the whole next tile, spread over the current
//!   one, with tiles of about [`NEXT_TILE_BYTES`] (wider tiles prefetch too early and lose);
//! - longer rows: eight-row tiles, each row's stream prefetched [`ROW_AHEAD_BYTES`] ahead.

use super::tile::{Prefetch, LINE};

/// Rows up to this many bytes are prefetched tile by tile.
pub const SHORT_ROW_BYTES: usize = 3 * 1024;
/// Target bytes of the next tile prefetched during the current one (short rows).
pub const NEXT_TILE_BYTES: usize = 6 * 1024;
/// Prefetch distance of each row stream (long rows).
pub const ROW_AHEAD_BYTES: usize = 1024;

/// The rows of a GEMV tile for W rows of `row_bytes` bytes (2 to 8).
pub fn gemv_rows(row_bytes: usize) -> usize {
    if row_bytes <= SHORT_ROW_BYTES {
        (NEXT_TILE_BYTES / row_bytes.max(1)).clamp(2, 8)
    } else {
        8
    }
}

/// The prefetch of a tile whose `nr` rows start at `w` (rows of `row_bytes`, stride
/// `row_bytes`) in a sweep of tiles `nr` rows apart.
pub(crate) fn prefetch_for<W>(w: *const W, nr: usize, row_bytes: usize) -> Prefetch {
    let next = nr * row_bytes;
    if row_bytes <= SHORT_ROW_BYTES {
        Prefetch::Lines {
            start: w.cast::<u8>().wrapping_add(next),
            count: next.div_ceil(LINE),
        }
    } else {
        Prefetch::RowsAhead {
            dist: ROW_AHEAD_BYTES,
            next,
        }
    }
}
