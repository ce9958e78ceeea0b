//! Int8-activation matmul for int4 weights in qtool's packed layout, the opt-in path of
//! [`CpuBackend::with_int8_activations`](crate::CpuBackend::with_int8_activations):
//! `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` with each x row quantized to int8 per block of 32
//! columns (llama.cpp's Q8_0: scale `max |x| / 127`, round to nearest) and every block's
//! products summed in integers, exactly the math (and the f32 summation order) of
//! [`matmul_packed_q8_ref`], which this equals bit for bit. Only weights with
//! [`q8_supported`] (int4, no act-order, groups and `k` multiples of 32) may come here.
//!
//! Shapes: `x[m, k]` f32 → `xq[m, k]` i8, `dx[m, k/32]` f32 scales, `sx[m, k/32]` i32 block sums
//! (computed once per call); W codes `[n, k/2]` bytes (code `2c` in the low nibble of byte `c`,
//! `2c + 1` in the high one), scales `[n, n_groups]`, zeros `[n, n_groups]` or the int4 offset 8.
//!
//! AVX2: blocks go in pairs. One 32-byte load of a W row covers blocks `b, b + 1`; its low
//! nibbles are the even codes of both, its high nibbles the odd ones, and the quantized x is
//! stored reordered once per call (see [`Q8Rows`]) so that it lines up with them.
//! `_mm256_maddubs_epi16` (u8 code × i8 x), the two nibble halves added in i16 (≤ 4·15·127, no
//! saturation), and `_mm256_madd_epi16` by ones give eight i32 partial sums per W row, lanes
//! 0-3 block `b`, 4-7 block `b + 1`. Eight W rows go at a time: a `hadd` tree reduces their
//! partial sums into two vectors, lane `t` the exact dot of row `t` with block `b`, resp.
//! `b + 1`; then `− z · Σxq` (i32), converted and multiplied by `dx · ws` and added to an f32
//! accumulator per (x row, W row) lane, unfused and block by block as the reference. A lone
//! last block (odd `k / 32`) uses one 16-byte load, `[low | high]` nibbles.
//! Up to four x rows share each decoded W block. Rayon splits the `n` rows into tasks of
//! multiples of eight rows, as the f32 packed path does; results do not depend on the thread
//! count or on `m`. Without AVX2 ([`Isa::Portable`]) the scalar reference runs.

use crate::cpu::simd::Isa;
use crate::ops::matmul_packed_q8::quantize_block_q8;
use crate::ops::{matmul_packed_q8_ref, q8_supported, Q8_BLOCK};
use quant::pack::PackedWeight;

/// Whether `w` takes this path (see [`q8_supported`]).
pub(crate) fn supported(w: &PackedWeight) -> bool {
    w.format().bits() == 4 && w.g_idx().is_none() && q8_supported(w)
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` with int8 activations on validated shapes; `w` must be
/// [`supported`] and `isa` available.
pub(crate) fn matmul(isa: Isa, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
    assert!(supported(w), "packed_q8::matmul on a weight the int8 path does not serve");
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        // SAFETY: the caller checked that AVX2 (with FMA, F16C) is available.
        unsafe { avx2::matmul(x, m, w, y) };
        return;
    }
    let _ = isa;
    matmul_packed_q8_ref(x, m, w, y);
}

/// x quantized for the kernel: `xq[m, k]`, `dx[m, k/32]` scales, `sx[m, k/32]` the blocks' code
/// sums. `xq` is reordered so that the kernel's nibble vectors line up with it: each pair of
/// blocks `2p, 2p + 1` (64 bytes) holds the even columns of block `2p`, the even columns of
/// `2p + 1`, the odd columns of `2p`, the odd columns of `2p + 1` (16 each); a lone last block
/// (odd `k / 32`) holds its even columns, then its odd ones.
struct Q8Rows {
    xq: Vec<i8>,
    dx: Vec<f32>,
    sx: Vec<i32>,
}

/// Quantizes `x[m, k]` with [`quantize_block_q8`] (the reference's quantizer, so the same codes
/// and scales) and reorders each row's blocks as [`Q8Rows`] says.
#[inline(always)]
fn quantize(x: &[f32], m: usize, k: usize) -> Q8Rows {
    let nb = k / Q8_BLOCK;
    let mut q8 = Q8Rows { xq: vec![0i8; m * k], dx: vec![0f32; m * nb], sx: vec![0i32; m * nb] };
    const H: usize = Q8_BLOCK / 2;
    for i in 0..m {
        for b in 0..nb {
            let mut q = [0i8; Q8_BLOCK];
            let xb = &x[i * k + b * Q8_BLOCK..i * k + (b + 1) * Q8_BLOCK];
            q8.dx[i * nb + b] = quantize_block_q8(xb, &mut q);
            q8.sx[i * nb + b] = q.iter().map(|&v| i32::from(v)).sum();
            // Where this block's even and odd columns go inside row i.
            let (even, odd) = if b % 2 == 0 && b + 1 < nb {
                (b * Q8_BLOCK, b * Q8_BLOCK + 2 * H)
            } else if b % 2 == 1 {
                ((b - 1) * Q8_BLOCK + H, (b - 1) * Q8_BLOCK + 3 * H)
            } else {
                (b * Q8_BLOCK, b * Q8_BLOCK + H)
            };
            let row = &mut q8.xq[i * k..(i + 1) * k];
            for t in 0..H {
                row[even + t] = q[2 * t];
                row[odd + t] = q[2 * t + 1];
            }
        }
    }
    q8
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{quantize, Q8Rows, Q8_BLOCK};
    use crate::cpu::matmul::SyncPtr;
    use quant::pack::PackedWeight;
    use rayon::prelude::*;
    use std::arch::x86_64::*;

    /// W rows per register block (one i32 lane each).
    const ROWS: usize = 8;
    /// x rows per pass over a W block.
    const MAX_M: usize = 4;
    /// Tasks per thread to aim for, so that uneven tasks still balance.
    const TASKS_PER_THREAD: usize = 4;

    /// Everything a task reads.
    struct Args<'a> {
        q: &'a Q8Rows,
        m: usize,
        k: usize,
        n: usize,
        w: &'a PackedWeight,
        bytes: &'a [u8],
        row_bytes: usize,
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn quantize_avx2(x: &[f32], m: usize, k: usize) -> Q8Rows {
        quantize(x, m, k)
    }

    /// # Safety
    /// AVX2 must be available; `w` supported, shapes validated.
    pub(super) unsafe fn matmul(x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
        let (n, k) = (w.n(), w.k());
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            y.fill(0.0);
            return;
        }
        // SAFETY: AVX2 is available (the caller's contract).
        let q = unsafe { quantize_avx2(x, m, k) };
        let bytes: &[u8] = bytemuck::cast_slice(w.codes());
        let row_bytes = w.row_words() * 4;
        assert!(row_bytes * 2 >= k && bytes.len() >= n * row_bytes && y.len() >= m * n);
        let a = Args { q: &q, m, k, n, w, bytes, row_bytes };
        let threads = rayon::current_num_threads().max(1);
        let per_task = n.div_ceil(threads * TASKS_PER_THREAD).div_ceil(ROWS).max(1) * ROWS;
        let yp = SyncPtr::new(y);
        (0..n.div_ceil(per_task)).into_par_iter().for_each(|t| {
            let j0 = t * per_task;
            // SAFETY: AVX2 is available; task t alone writes columns j0..j0 + rows of y.
            unsafe { task(&a, j0, per_task.min(n - j0), yp) };
        });
    }

    /// Outputs `y[0..m, j0..j0 + rows]`.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn task(a: &Args<'_>, j0: usize, rows: usize, y: SyncPtr) {
        let mut jr = 0;
        while jr < rows {
            let nr = ROWS.min(rows - jr);
            // A ragged last block repeats its last row; only nr lanes are stored.
            let r: [usize; ROWS] = std::array::from_fn(|t| j0 + jr + t.min(nr - 1));
            let mut i0 = 0;
            while i0 < a.m {
                let mc = MAX_M.min(a.m - i0);
                let mut out = [[0f32; ROWS]; MAX_M];
                // SAFETY: AVX2 is available; rows r < n, x rows i0 + mc <= m.
                unsafe {
                    match mc {
                        1 => block::<1>(a, i0, &r, &mut out),
                        2 => block::<2>(a, i0, &r, &mut out),
                        3 => block::<3>(a, i0, &r, &mut out),
                        _ => block::<4>(a, i0, &r, &mut out),
                    }
                }
                for (i, o) in out.iter().enumerate().take(mc) {
                    for (t, &v) in o.iter().enumerate().take(nr) {
                        // SAFETY: (i0 + i) < m and j0 + jr + t < n, inside y (asserted length);
                        // this task owns these columns.
                        unsafe { *y.get().add((i0 + i) * a.n + j0 + jr + t) = v };
                    }
                }
                i0 += mc;
            }
            jr += nr;
        }
    }

    /// `out[i][t] = y[i0 + i, r[t]]` for `i < M`.
    #[inline(always)]
    unsafe fn block<const M: usize>(a: &Args<'_>, i0: usize, r: &[usize; ROWS], out: &mut [[f32; ROWS]; MAX_M]) {
        let Args { q, k, w, bytes, row_bytes, .. } = *a;
        let (gs, ng, nb) = (w.group_size(), w.n_groups(), k / Q8_BLOCK);
        let bpg = gs / Q8_BLOCK;
        let (scales, zeros) = (w.scales(), w.zeros());
        let sym = i32::from(w.format().int().offset());
        assert!(q.xq.len() >= (i0 + M) * k && q.sx.len() >= (i0 + M) * nb && q.dx.len() >= (i0 + M) * nb);
        // SAFETY (whole body): AVX2 is available; code loads read 16 bytes at b * 16 + 16 <=
        // k / 2 <= row_bytes of rows r[t] < n (asserted in `matmul`); x loads 32 bytes of rows
        // i0 + i < i0 + M (asserted above).
        unsafe {
            let mask = _mm256_set1_epi8(0x0f);
            let ones = _mm256_set1_epi16(1);
            let rowp: [*const u8; ROWS] = std::array::from_fn(|t| bytes.as_ptr().add(r[t] * row_bytes));
            let xqp = q.xq.as_ptr().add(i0 * k);
            let mut acc = [_mm256_setzero_ps(); M];
            let mut cur = (usize::MAX, (_mm256_setzero_ps(), _mm256_setzero_si256()));
            let mut b = 0;
            // Pairs of blocks: one 32-byte load per row gives [even codes of b | of b + 1]
            // (low nibbles) and [odd codes of b | of b + 1] (high nibbles).
            while b + 1 < nb {
                let g0 = group_of(&mut cur, b / bpg, r, ng, scales, zeros, sym);
                let g1 = group_of(&mut cur, (b + 1) / bpg, r, ng, scales, zeros, sym);
                let c: [(__m256i, __m256i); ROWS] = std::array::from_fn(|t| {
                    let v = _mm256_loadu_si256(rowp[t].add(b * 16).cast());
                    (_mm256_and_si256(v, mask), _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask))
                });
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xp = xqp.add(i * k + b * Q8_BLOCK);
                    let (xe, xo) = (_mm256_loadu_si256(xp.cast()), _mm256_loadu_si256(xp.add(Q8_BLOCK).cast()));
                    // i16 pairs ≤ 2 · 2 · 15 · 127: no saturation.
                    let p: [__m256i; ROWS] = std::array::from_fn(|t| {
                        let s16 = _mm256_add_epi16(_mm256_maddubs_epi16(c[t].0, xe), _mm256_maddubs_epi16(c[t].1, xo));
                        _mm256_madd_epi16(s16, ones)
                    });
                    let (d0, d1) = reduce(p);
                    finish(acc, d0, q, (i0 + i) * nb + b, g0);
                    finish(acc, d1, q, (i0 + i) * nb + b + 1, g1);
                }
                b += 2;
            }
            // A lone last block: [even codes | odd codes] from one 16-byte load.
            if b < nb {
                let gb = group_of(&mut cur, b / bpg, r, ng, scales, zeros, sym);
                let c: [__m256i; ROWS] = std::array::from_fn(|t| {
                    let v = _mm_loadu_si128(rowp[t].add(b * 16).cast());
                    let lohi = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(v), _mm_srli_epi16::<4>(v));
                    _mm256_and_si256(lohi, mask)
                });
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xv = _mm256_loadu_si256(xqp.add(i * k + b * Q8_BLOCK).cast());
                    let p: [__m256i; ROWS] =
                        std::array::from_fn(|t| _mm256_madd_epi16(_mm256_maddubs_epi16(c[t], xv), ones));
                    let (lo, hi) = reduce(p);
                    finish(acc, _mm256_add_epi32(lo, hi), q, (i0 + i) * nb + b, gb);
                }
            }
            for (o, a) in out.iter_mut().zip(&acc) {
                _mm256_storeu_ps(o.as_mut_ptr(), *a);
            }
        }
    }

    /// The W scales and zero points of group `g` for the eight rows `r`, cached in `cur`.
    #[inline(always)]
    unsafe fn group_of(
        cur: &mut (usize, (__m256, __m256i)),
        g: usize,
        r: &[usize; ROWS],
        ng: usize,
        scales: &[f32],
        zeros: Option<&[u8]>,
        sym: i32,
    ) -> (__m256, __m256i) {
        if cur.0 != g {
            let wsa: [f32; ROWS] = std::array::from_fn(|t| scales[r[t] * ng + g]);
            // SAFETY (both): AVX2 is available (the caller's contract); eight readable lanes.
            let zv = match zeros {
                Some(z) => {
                    let za: [i32; ROWS] = std::array::from_fn(|t| i32::from(z[r[t] * ng + g]));
                    unsafe { _mm256_loadu_si256(za.as_ptr().cast()) }
                }
                None => unsafe { _mm256_set1_epi32(sym) },
            };
            *cur = (g, (unsafe { _mm256_loadu_ps(wsa.as_ptr()) }, zv));
        }
        cur.1
    }

    /// `acc += (dot − z · Σxq) · (dx · ws)` for x block `xb` (an index into `dx`, `sx`), per
    /// lane, unfused: the reference's operations.
    #[inline(always)]
    unsafe fn finish(acc: &mut __m256, dot: __m256i, q: &Q8Rows, xb: usize, (ws, zv): (__m256, __m256i)) {
        // SAFETY: AVX2 is available (the caller's contract).
        unsafe {
            let s = _mm256_sub_epi32(dot, _mm256_mullo_epi32(zv, _mm256_set1_epi32(q.sx[xb])));
            let d = _mm256_mul_ps(_mm256_set1_ps(q.dx[xb]), ws);
            *acc = _mm256_add_ps(*acc, _mm256_mul_ps(_mm256_cvtepi32_ps(s), d));
        }
    }

    /// Eight rows' i32 vectors `p[t]`: lanes 0-3 of row `t` summed into lane `t` of the first
    /// result, lanes 4-7 into the second.
    #[inline(always)]
    unsafe fn reduce(p: [__m256i; ROWS]) -> (__m256i, __m256i) {
        // SAFETY: AVX2 is available (the caller's contract).
        unsafe {
            let s01 = _mm256_hadd_epi32(p[0], p[1]);
            let s23 = _mm256_hadd_epi32(p[2], p[3]);
            let s45 = _mm256_hadd_epi32(p[4], p[5]);
            let s67 = _mm256_hadd_epi32(p[6], p[7]);
            // [rows 0-3 of lanes 0-3 | rows 0-3 of lanes 4-7], likewise rows 4-7.
            let s0123 = _mm256_hadd_epi32(s01, s23);
            let s4567 = _mm256_hadd_epi32(s45, s67);
            (_mm256_permute2x128_si256::<0x20>(s0123, s4567), _mm256_permute2x128_si256::<0x31>(s0123, s4567))
        }
    }
}
