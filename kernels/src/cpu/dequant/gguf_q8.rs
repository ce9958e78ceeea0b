//! Int8-activation matmul for GGML block weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K,
//! Q6_K), the `cpu-q8` path of [`CpuBackend::matmul_gguf`](crate::CpuBackend): `y[m, n] = x[m,
//! k] · dequant(W)[n, k]ᵀ` with x quantized to int8 per block of 32 columns and each block's
//! products summed in integers, equal bit for bit to
//! [`matmul_gguf_q8_ref`](crate::ops::matmul_gguf_q8_ref) (the per-type sums and f32 steps are
//! in its module doc). Without AVX2 ([`Isa::Portable`]) the reference itself runs.
//!
//! Shapes: `x[m, k]` f32 → `xq[m, k]` i8 and `[m, k/32]` `XMeta` (scale, code sums), once per
//! call (rows in parallel when there are many); W is `n` rows of `k / BS` blocks as the GGUF
//! file stores them (read in place: nothing is prepared).
//!
//! AVX2: rayon splits the `n` rows into tasks of whole tiles (about four tasks per thread). A
//! task walks its rows eight at a time (a tile; a ragged last tile repeats its last row and
//! stores only its own lanes) and `k` in spans of [`SPAN`] columns: each span of the
//! tile is unpacked once into eight `TBlock`s (3.5 KiB, in L1: codes as bytes, transposed so
//! that one 32-byte load holds four columns of all eight rows, scales beside them), then every
//! x row (up to [`MCHUNK`] per pass, [`MAX_M`] at a time sharing each load) runs the span's
//! blocks through `maddubs`/`madd` (or, on CPUs with AVX-512 F, BW, VL and VNNI, 256-bit
//! `vpdpbusd`) into one i32 lane per W row and the reference's f32 steps into one f32
//! accumulator lane per W row — so the unpacking is paid once per span and tile, whatever `m`,
//! and no horizontal sums are needed. On those VNNI CPUs `m >= 2` takes tiles of sixteen rows
//! (two unpacks of eight) in 512-bit vectors: twice the rows per `vpdpbusd` and per broadcast
//! of x, where the dots and loads bound the speed; `m = 1` keeps eight, being bound by memory.
//! Each row is prefetched [`PREFETCH_SPANS`] spans ahead in software (past its end, the next
//! tile's row). Results depend neither on `m`, the thread count, the tile height nor VNNI.
//!
//! Files: this driver; `gguf_q8_tile` (the `TBlock`, the transpose, the 8-row dots and f32
//! steps), `gguf_q8_zmm` (the 16-row ones), `gguf_q8_height` (one trait over the two tile
//! heights), `gguf_q8_heads` (the eight rows' f16 fields and header bytes as vectors),
//! `gguf_q8_32` and `gguf_q8_k` (each type's unpacking and step).

use crate::cpu::simd::Isa;
use crate::ops::{gguf_q8_supported, matmul_gguf_q8_ref};
use quant::gguf::GgmlType;

/// Columns per unpacked span: one super-block, eight blocks of 32.
pub(crate) const SPAN: usize = 256;
/// Most x rows per pass over a span (their accumulators live on the stack).
pub(crate) const MCHUNK: usize = 64;
/// How many spans ahead of the unpacking each row is prefetched in software: the eight rows of
/// a tile are eight short streams, which the hardware prefetcher alone does not keep ahead of.
pub(crate) const PREFETCH_SPANS: usize = 2;
/// x rows that share each load of a `TBlock` group.
pub(crate) const MAX_M: usize = 4;

/// Whether `ty` takes this path: every GGML block type `matmul_gguf` decodes.
pub(crate) fn supported(ty: GgmlType) -> bool {
    gguf_q8_supported(ty)
}

/// Whether this CPU has AVX-512 F, BW, VL and VNNI: the dots then use `vpdpbusd`, on 256-bit
/// vectors at m = 1 and on 16-row tiles in 512-bit vectors for m >= 2.
pub(crate) fn vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` with int8 activations on validated shapes; `ty` must be
/// [`supported`] and `isa` available. With `vnni` (and [`vnni_available`]) the AVX2 kernels
/// take their dots with `vpdpbusd`: the same bits.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    isa: Isa,
    vnni: bool,
    x: &[f32],
    m: usize,
    k: usize,
    ty: GgmlType,
    blocks: &[u8],
    n: usize,
    y: &mut [f32],
) {
    assert!(supported(ty), "gguf_q8::matmul on {ty}, which the int8 path does not serve");
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        // SAFETY: the caller checked that AVX2 (with FMA, F16C) is available; VNNI is checked.
        unsafe { avx2::matmul(vnni && vnni_available(), x, m, k, ty, blocks, n, y) };
        return;
    }
    let _ = (isa, vnni);
    matmul_gguf_q8_ref(x, m, k, ty, blocks, n, y);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::super::gguf_q8_32::{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0};
    use super::super::gguf_q8_heads::Rows;
    use super::super::gguf_q8_height::Tile;
    use super::super::gguf_q8_k::{Q4K, Q5K, Q6K};
    use super::super::gguf_q8_tile::{Q8Kind, TBlock, XBlock, XMeta, ROWS, XB};
    use super::{MAX_M, MCHUNK, PREFETCH_SPANS, SPAN};
    use crate::cpu::matmul::SyncPtr;
    use crate::ops::matmul_packed_q8::quantize_block_q8;
    use quant::gguf::GgmlType;
    use rayon::prelude::*;
    use std::arch::x86_64::*;

    /// Tasks per thread to aim for, so that uneven tasks still balance.
    const TASKS_PER_THREAD: usize = 4;
    /// x elements from which the quantization runs rows in parallel.
    const PAR_QUANT: usize = 1 << 15;

    /// x quantized: `xq[m, k]` in column order, `meta[m, k/32]`.
    struct Q8Act {
        xq: Vec<i8>,
        meta: Vec<XMeta>,
    }

    /// Everything a task reads.
    struct Args<'a> {
        q: &'a Q8Act,
        m: usize,
        k: usize,
        n: usize,
        blocks: &'a [u8],
        row_bytes: usize,
        /// Dots with `vpdpbusd` (AVX-512 VNNI, VL present).
        vnni: bool,
    }

    /// One x row: [`quantize_block_q8`] per block (the reference's codes and scales), then the
    /// code sums of each block and of its halves.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn quantize_row(x: &[f32], q: &mut [i8], meta: &mut [XMeta]) {
        for ((xb, qb), mb) in x.chunks_exact(XB).zip(q.chunks_exact_mut(XB)).zip(meta) {
            let dx = quantize_block_q8(xb, qb);
            let half = |h: &[i8]| h.iter().map(|&v| i32::from(v)).sum::<i32>();
            let (s0, s1) = (half(&qb[..XB / 2]), half(&qb[XB / 2..]));
            // |s0|, |s1| <= 16 · 127: each fits an i16.
            let sxh = (u32::from(s0 as i16 as u16) | (u32::from(s1 as i16 as u16) << 16)) as i32;
            *mb = XMeta { dx, dsx: dx * (s0 + s1) as f32, sx: s0 + s1, sxh };
        }
    }

    fn quantize(x: &[f32], m: usize, k: usize) -> Q8Act {
        let nb = k / XB;
        let mut a = Q8Act { xq: vec![0i8; m * k], meta: vec![XMeta::default(); m * nb] };
        // SAFETY (both): AVX2 is available (`matmul`'s contract).
        let row = |((x, q), meta): ((&[f32], &mut [i8]), &mut [XMeta])| unsafe { quantize_row(x, q, meta) };
        let rows = x[..m * k].chunks_exact(k).zip(a.xq.chunks_exact_mut(k)).zip(a.meta.chunks_exact_mut(nb));
        if m * k >= PAR_QUANT && m > 1 {
            let rows =
                x[..m * k].par_chunks_exact(k).zip(a.xq.par_chunks_exact_mut(k)).zip(a.meta.par_chunks_exact_mut(nb));
            rows.for_each(row);
        } else {
            rows.for_each(row);
        }
        a
    }

    /// # Safety
    /// AVX2 (with FMA, F16C) must be available, and with `vnni` AVX-512 F, VL and VNNI; shapes
    /// validated, `ty` supported.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn matmul(
        vnni: bool,
        x: &[f32],
        m: usize,
        k: usize,
        ty: GgmlType,
        blocks: &[u8],
        n: usize,
        y: &mut [f32],
    ) {
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            y.fill(0.0);
            return;
        }
        let q = quantize(x, m, k);
        let row_bytes = k / ty.block_size() * ty.type_size();
        assert!(blocks.len() >= n * row_bytes && y.len() >= m * n && k.is_multiple_of(ty.block_size()));
        let a = Args { q: &q, m, k, n, blocks, row_bytes, vnni };
        match ty {
            GgmlType::Q4_0 => run::<Q4_0>(&a, y),
            GgmlType::Q4_1 => run::<Q4_1>(&a, y),
            GgmlType::Q5_0 => run::<Q5_0>(&a, y),
            GgmlType::Q5_1 => run::<Q5_1>(&a, y),
            GgmlType::Q8_0 => run::<Q8_0>(&a, y),
            GgmlType::Q4K => run::<Q4K>(&a, y),
            GgmlType::Q5K => run::<Q5K>(&a, y),
            GgmlType::Q6K => run::<Q6K>(&a, y),
            _ => unreachable!("gguf_q8: {ty} passed `supported`"),
        }
    }

    fn run<K: Q8Kind>(a: &Args<'_>, y: &mut [f32]) {
        // Tiles of 16 rows in 512-bit vectors for m >= 2 on VNNI: twice the rows per dot and
        // per broadcast of x; m = 1 reads memory at its rate with 8-row tiles already.
        let wide = a.vnni && a.m >= 2;
        let quantum = if wide { 2 * ROWS } else { ROWS };
        let threads = rayon::current_num_threads().max(1);
        let per_task = a.n.div_ceil(threads * TASKS_PER_THREAD).div_ceil(quantum).max(1) * quantum;
        let yp = SyncPtr::new(y);
        (0..a.n.div_ceil(per_task)).into_par_iter().for_each(|t| {
            let j0 = t * per_task;
            let rows = per_task.min(a.n - j0);
            // SAFETY: AVX2 is available, and AVX-512 F/BW/VL/VNNI when `a.vnni`; task t alone
            // writes columns j0..j0 + rows of y.
            unsafe {
                match (a.vnni, wide) {
                    (_, true) => task_zmm::<K>(a, j0, rows, yp),
                    (true, false) => task_vnni::<K>(a, j0, rows, yp),
                    _ => task_avx2::<K>(a, j0, rows, yp),
                }
            };
        });
    }

    /// [`task`] with 8-row tiles, compiled for AVX2.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn task_avx2<K: Q8Kind>(a: &Args<'_>, j0: usize, rows: usize, y: SyncPtr) {
        // SAFETY: the caller's contract.
        unsafe { task::<K, TBlock<8>, false>(a, j0, rows, y) }
    }

    /// [`task`] with 8-row tiles, compiled for AVX2 and AVX-512 VNNI (256-bit `vpdpbusd`).
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn task_vnni<K: Q8Kind>(a: &Args<'_>, j0: usize, rows: usize, y: SyncPtr) {
        // SAFETY: the caller's contract.
        unsafe { task::<K, TBlock<8>, true>(a, j0, rows, y) }
    }

    /// [`task`] with 16-row tiles in 512-bit vectors (AVX-512 F, BW, VL, VNNI).
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn task_zmm<K: Q8Kind>(a: &Args<'_>, j0: usize, rows: usize, y: SyncPtr) {
        // SAFETY: the caller's contract.
        unsafe { task::<K, TBlock<16>, true>(a, j0, rows, y) }
    }

    /// Outputs `y[0..m, j0..j0 + rows]`, `T::R` W rows a tile.
    #[inline(always)]
    unsafe fn task<K: Q8Kind, T: Tile, const VNNI: bool>(a: &Args<'_>, j0: usize, rows: usize, y: SyncPtr) {
        let (m, k) = (a.m, a.k);
        let mut tb = [T::ZERO; SPAN / XB];
        // SAFETY (both): the tile's instruction set is available (the caller's contract).
        let mut acc = [unsafe { T::zero() }; MCHUNK];
        let halves = T::R / ROWS;
        let mut jt = 0;
        while jt < rows {
            let nr = T::R.min(rows - jt);
            // Half h: rows 8h .. 8h + 8 of the tile. SAFETY: rows j0 + jt + t < n (a ragged tile
            // repeats its last row) start inside `blocks`, which holds n whole rows (asserted in
            // `matmul`).
            let rp: [Rows; 2] = std::array::from_fn(|h| Rows {
                ptr: std::array::from_fn(|t| unsafe {
                    a.blocks.as_ptr().add((j0 + jt + (ROWS * h + t).min(nr - 1)) * a.row_bytes)
                }),
            });
            let mut i0 = 0;
            while i0 < m {
                let mc = MCHUNK.min(m - i0);
                acc[..mc].fill(unsafe { T::zero() });
                let mut s0 = 0;
                while s0 < k {
                    let cols = SPAN.min(k - s0);
                    for (h, rph) in rp.iter().enumerate().take(halves) {
                        let ahead = (s0 + PREFETCH_SPANS * SPAN) / K::BS * K::TS;
                        prefetch(rph, a.row_bytes, T::R, ahead, SPAN / K::BS * K::TS);
                        for u in s0 / K::BS..(s0 + cols) / K::BS {
                            // SAFETY: the tile's instruction set; block u < k / BS of each row.
                            unsafe { T::unpack::<K>(rph, u, h, &mut tb[(u * K::BS - s0) / XB..]) };
                        }
                    }
                    let blks = &tb[..cols / XB];
                    let mut i = 0;
                    while i < mc {
                        let mm = MAX_M.min(mc - i);
                        let (rows_x, acc) = (i0 + i, &mut acc[i..i + mm]);
                        // SAFETY: as above; x rows rows_x + mm <= m, blocks s0 / 32 + cols / 32
                        // <= k / 32.
                        unsafe {
                            match mm {
                                1 => pass::<K, T, 1, VNNI>(a, blks, s0 / XB, rows_x, acc),
                                2 => pass::<K, T, 2, VNNI>(a, blks, s0 / XB, rows_x, acc),
                                3 => pass::<K, T, 3, VNNI>(a, blks, s0 / XB, rows_x, acc),
                                _ => pass::<K, T, 4, VNNI>(a, blks, s0 / XB, rows_x, acc),
                            }
                        }
                        i += mm;
                    }
                    s0 += cols;
                }
                for (i, v) in acc[..mc].iter().enumerate() {
                    let mut o = [0f32; 2 * ROWS];
                    // SAFETY: as above.
                    unsafe { T::store(*v, &mut o) };
                    for (t, &val) in o.iter().enumerate().take(nr) {
                        // SAFETY: row i0 + i < m, column j0 + jt + t < n: inside y (asserted);
                        // this task owns the column.
                        unsafe { *y.get().add((i0 + i) * a.n + j0 + jt + t) = val };
                    }
                }
                i0 += mc;
            }
            jt += nr;
        }
    }

    /// Prefetches `len` bytes at byte `pos` of each row `rows` (of a tile of `tile` rows), or,
    /// past a row's end, at `pos − row_bytes` of the row `tile` further (the next tile's): the
    /// bytes the task reads [`PREFETCH_SPANS`] spans later. Prefetches never fault; an address
    /// past the weight is computed with wrapping arithmetic.
    #[inline(always)]
    unsafe fn prefetch(rows: &Rows, row_bytes: usize, tile: usize, pos: usize, len: usize) {
        let at = if pos < row_bytes { pos } else { pos - row_bytes + tile * row_bytes };
        for &p in &rows.ptr {
            let start = p.wrapping_add(at);
            let mut line = 0;
            while line < len + 64 {
                // SAFETY: a prefetch hint reads nothing architecturally.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(line).cast()) };
                line += 64;
            }
        }
    }

    /// `acc[r]` for x row `i + r` (`r < M`) after the blocks `blks`, x blocks `b0 ..`.
    ///
    /// # Safety
    /// AVX2 must be available; rows `i + M <= m`, blocks `b0 + blks.len() <= k / 32`.
    #[inline(always)]
    unsafe fn pass<K: Q8Kind, T: Tile, const M: usize, const VNNI: bool>(
        a: &Args<'_>,
        blks: &[T],
        b0: usize,
        i: usize,
        acc: &mut [T::Acc],
    ) {
        let nb = a.k / XB;
        let mut v: [T::Acc; M] = std::array::from_fn(|r| acc[r]);
        for (bi, t) in blks.iter().enumerate() {
            let b = b0 + bi;
            let x: [XBlock<'_>; M] = std::array::from_fn(|r| XBlock {
                // SAFETY: (i + r) · k + 32 b + 32 <= m · k = xq.len().
                q: unsafe { a.q.xq.as_ptr().add((i + r) * a.k + b * XB) },
                meta: &a.q.meta[(i + r) * nb + b],
            });
            // SAFETY: AVX2; each x block holds 32 codes.
            unsafe { T::update::<K, M, VNNI>(t, &x, &mut v) };
        }
        acc[..M].copy_from_slice(&v);
    }
}
