//! How a sweep over a block of W rows assigns rows to tiles so that memory sees a few long
//! sequential streams.
//!
//! W rows are only `k` elements long (1.1 KiB for bf16 at k = 576). A tile of adjacent rows
//! reads `g` short streams that all jump ahead when the next tile starts, and the hardware
//! prefetcher never locks on. Instead the block's rows are cut into `g` contiguous ranges of
//! `r = nb / g` rows and tile `t` takes row `t` of each range (rows `t, t + r, t + 2r, ...`):
//! each of the `g` streams then runs through its range without a gap. The `nb mod g` rows
//! left over form one edge tile of adjacent rows.
//!
//! Measured on Zen 4 (bf16 GEMV, W cycled through 64 MiB so it comes from memory, best of
//! many runs, one thread): 49152×576 reads 20 GB/s with one row at a time (v1), 18–23 GB/s
//! with 8 adjacent rows plus software prefetch, 27–28 GB/s with 4 streams; 8 streams win only
//! for rows of tens of KiB.

/// GEMV streams for rows of `row_bytes` bytes.
pub fn gemv_streams(row_bytes: usize) -> usize {
    if row_bytes >= 16 * 1024 {
        8
    } else {
        4
    }
}

/// The tiles of a sweep over `nb` rows with `g` streams, in order, as `(first row, row
/// stride, rows)`.
pub fn stream_tiles(nb: usize, g: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    let r = nb / g;
    let edge = nb - r * g;
    (0..r).map(move |t| (t, r, g)).chain((edge > 0).then_some((r * g, 1, edge)))
}

#[cfg(test)]
mod tests {
    use super::stream_tiles;

    #[test]
    fn stream_tiles_cover_each_row_once() {
        for nb in 0..40 {
            for g in 1..=8 {
                let mut seen = vec![0; nb];
                for (first, stride, rows) in stream_tiles(nb, g) {
                    assert!(rows <= g);
                    for q in 0..rows {
                        seen[first + q * stride] += 1;
                    }
                }
                assert!(seen.iter().all(|&c| c == 1), "nb={nb} g={g}: {seen:?}");
            }
        }
    }
}
