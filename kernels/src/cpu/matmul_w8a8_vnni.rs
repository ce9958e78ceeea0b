//! W8A8 on AVX-512 VNNI over a weight repacked at load time
//! ([`Backend::prepare`](crate::Backend::prepare) of a
//! [`WeightView::W8a8`](crate::WeightView::W8a8)) into tiles of 16 interleaved rows:
//! `y[i, j] = (Σ_k xq[i, k] · wq[j, k]) as f32 · x_scales[i] · w_scales[j]`, the bits of
//! [`matmul_w8a8_ref`](crate::ops::matmul_w8a8_ref) for every input.
//!
//! Layout ([`W8a8Tiles`]), `T = ⌈n / 16⌉` tiles, `k4 = ⌈k / 4⌉`:
//! ```text
//! codes   [T][k4][16 rows][4 bytes]  i8, wq[j, 4c + b] (zero past k and past n)
//! offsets [T][16]                    i32, 128 · Σ_k wq[j, k]
//! scales  [T][16]                    f32 (zero past n)
//! ```
//! `vpdpbusd` multiplies unsigned by signed bytes, so x goes in as `xq + 128` (u8, four bytes
//! broadcast to every lane) against the signed codes, each row in its own i32 lane: the lane
//! sums `Σ (xq + 128) · wq = Σ xq · wq + 128 · Σ wq`, and the row's offset is subtracted at the
//! end. The arithmetic wraps modulo 2³² (`vpdpbusd` does not saturate), so the result is exact
//! whenever the true dot product fits in an i32, as the reference needs. Then per lane
//! `(f32(dot) · xs) · ws`, the reference's two roundings. Up to four x rows share each load;
//! rayon splits the tiles (`cpu::tiles16`), and the codes 1 KiB ahead are prefetched.

use crate::cpu::tiles16::TILE;
use crate::prepared::PreparedWeight;
use quant::pack::PackedWeight;
use rayon::prelude::*;
use std::any::Any;

/// An int8 symmetric per-channel weight ([`crate::ops::w8a8_packed_supported`]) in 16-row
/// interleaved tiles (module doc).
pub(crate) struct W8a8Tiles {
    backend: &'static str,
    n: usize,
    k: usize,
    codes: Vec<i8>,
    offsets: Vec<i32>,
    scales: Vec<f32>,
}

impl PreparedWeight for W8a8Tiles {
    fn backend(&self) -> &'static str {
        self.backend
    }
    fn shape(&self) -> [usize; 2] {
        [self.n, self.k]
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl W8a8Tiles {
    /// Repacks `w` (which must be [`crate::ops::w8a8_packed_supported`]); tiles in parallel.
    /// `backend` is the name of the backend preparing it.
    pub(crate) fn new(backend: &'static str, w: &PackedWeight) -> W8a8Tiles {
        assert!(crate::ops::w8a8_packed_supported(w), "W8a8Tiles of a weight that is not int8 sym per-channel");
        let (n, k) = (w.n(), w.k());
        let (tiles, k4) = (n.div_ceil(TILE), k.div_ceil(4));
        let wq = crate::ops::w8a8_packed_codes(w);
        let mut codes = vec![0i8; tiles * k4 * TILE * 4];
        let mut offsets = vec![0i32; tiles * TILE];
        codes.par_chunks_mut(k4 * TILE * 4).zip(offsets.par_chunks_mut(TILE)).enumerate().for_each(
            |(tile, (out, off))| {
                for t in 0..TILE.min(n - tile * TILE) {
                    let row = &wq[(tile * TILE + t) * k..(tile * TILE + t + 1) * k];
                    for (c, &v) in row.iter().enumerate() {
                        out[(c / 4) * TILE * 4 + t * 4 + c % 4] = v;
                    }
                    off[t] = 128 * row.iter().map(|&v| i32::from(v)).sum::<i32>();
                }
            },
        );
        let mut scales = vec![0f32; tiles * TILE];
        scales[..n].copy_from_slice(&w.scales()[..n]);
        W8a8Tiles { backend, n, k, codes, offsets, scales }
    }
}

/// `y[m, n]` from `xq[m, k]`, `x_scales[m]` (lengths validated); `available` must be true.
pub(crate) fn matmul(xq: &[i8], x_scales: &[f32], m: usize, w: &W8a8Tiles, y: &mut [f32]) {
    assert!(super::dequant::packed_q8_vnni::available(), "matmul_w8a8_vnni without AVX-512 VNNI");
    assert!(xq.len() >= m * w.k && x_scales.len() >= m && y.len() >= m * w.n);
    if m == 0 || w.n == 0 {
        return;
    }
    // x + 128 as bytes, rows padded to whole groups of four (the padding meets zero codes).
    let k4 = w.k.div_ceil(4);
    let mut xu = vec![0u8; m * k4 * 4];
    for i in 0..m {
        for (o, &v) in xu[i * k4 * 4..i * k4 * 4 + w.k].iter_mut().zip(&xq[i * w.k..(i + 1) * w.k]) {
            *o = (v as u8) ^ 0x80;
        }
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512 F/BW/VNNI are available (asserted); lengths asserted above.
    unsafe {
        avx512::matmul(&xu, x_scales, m, w, y)
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{W8a8Tiles, TILE};
    use crate::cpu::matmul::SyncPtr;
    use crate::cpu::tiles16::{for_each_tile, PREFETCH_BYTES};
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512 F/BW/VNNI must be available; `xu` is `m` rows of `⌈k/4⌉·4` bytes, `y` `m * n`.
    pub(super) unsafe fn matmul(xu: &[u8], xs: &[f32], m: usize, w: &W8a8Tiles, y: &mut [f32]) {
        let yp = SyncPtr::new(y);
        for_each_tile(w.n, m, |tile, i0, mc| {
            // SAFETY: AVX-512 is available; tile < ⌈n/16⌉, x rows i0 + mc <= m; the task owns
            // the columns of its tiles.
            unsafe {
                match mc {
                    1 => tile_rows::<1>(xu, xs, i0, w, tile, yp),
                    2 => tile_rows::<2>(xu, xs, i0, w, tile, yp),
                    3 => tile_rows::<3>(xu, xs, i0, w, tile, yp),
                    _ => tile_rows::<4>(xu, xs, i0, w, tile, yp),
                }
            }
        });
    }

    /// `y[i0..i0 + M, 16 tile..]` (the lanes inside `n`).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile_rows<const M: usize>(xu: &[u8], xs: &[f32], i0: usize, w: &W8a8Tiles, tile: usize, y: SyncPtr) {
        let k4 = w.k.div_ceil(4);
        let codes = &w.codes[tile * k4 * TILE * 4..(tile + 1) * k4 * TILE * 4];
        assert!(xu.len() >= (i0 + M) * k4 * 4 && xs.len() >= i0 + M);
        // SAFETY (whole body): AVX-512 F/BW/VNNI are available (the caller's contract); code
        // loads read 64 bytes at c · 64 < k4 · 64 inside `codes`, x loads 4 bytes inside rows
        // i0 + i < i0 + M of `xu`, offset and scale loads 16 lanes of tile < T (all asserted or
        // sliced above).
        unsafe {
            // Two accumulators per x row (even and odd groups of four columns), so that two
            // `vpdpbusd` chains run at once; added at the end (exact, wrapping).
            let mut acc = [[_mm512_setzero_si512(); 2]; M];
            let xp: [*const u8; M] = std::array::from_fn(|i| xu.as_ptr().add((i0 + i) * k4 * 4));
            let x4 = |i: usize, c: usize| _mm512_set1_epi32(std::ptr::read_unaligned(xp[i].add(4 * c).cast::<i32>()));
            let mut c = 0;
            while c + 1 < k4 {
                // The lines PREFETCH_BYTES ahead, in software (see `packed_q8_vnni`); past the
                // tile's end they are the next tile's, or nothing: a prefetch never faults.
                let ahead = codes.as_ptr().wrapping_add(c * TILE * 4 + PREFETCH_BYTES);
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64).cast());
                let w0 = _mm512_loadu_si512(codes.as_ptr().add(c * TILE * 4).cast());
                let w1 = _mm512_loadu_si512(codes.as_ptr().add((c + 1) * TILE * 4).cast());
                for (i, a) in acc.iter_mut().enumerate() {
                    a[0] = _mm512_dpbusd_epi32(a[0], x4(i, c), w0);
                    a[1] = _mm512_dpbusd_epi32(a[1], x4(i, c + 1), w1);
                }
                c += 2;
            }
            if c < k4 {
                let w0 = _mm512_loadu_si512(codes.as_ptr().add(c * TILE * 4).cast());
                for (i, a) in acc.iter_mut().enumerate() {
                    a[0] = _mm512_dpbusd_epi32(a[0], x4(i, c), w0);
                }
            }
            let off = _mm512_loadu_si512(w.offsets.as_ptr().add(tile * TILE).cast());
            let ws = _mm512_loadu_ps(w.scales.as_ptr().add(tile * TILE));
            let j0 = tile * TILE;
            let lanes = TILE.min(w.n - j0);
            let keep: __mmask16 = if lanes == TILE { 0xffff } else { (1u16 << lanes) - 1 };
            for (i, a) in acc.iter().enumerate() {
                let dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(a[0], a[1]), off));
                let v = _mm512_mul_ps(_mm512_mul_ps(dot, _mm512_set1_ps(xs[i0 + i])), ws);
                // SAFETY: row i0 + i < m, columns j0 .. j0 + lanes < n of y (m * n long,
                // asserted by `super::matmul`); only this task writes them.
                _mm512_mask_storeu_ps(y.get().add((i0 + i) * w.n + j0), keep, v);
            }
        }
    }
}
