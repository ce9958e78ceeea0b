//! Int8-activation matmul for int2, int3, int4 and int8 weights in qtool's packed layout, the
//! path of [`CpuBackend::with_int8_activations`](crate::CpuBackend::with_int8_activations):
//! `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` with each x row quantized to int8 per block of 32
//! columns (llama.cpp's Q8_0: scale `max |x| / 127`, round to nearest) and every block's
//! products summed in integers, exactly the math (and the f32 summation order) of
//! [`matmul_packed_q8_ref`], which this equals bit for bit. Only weights [`supported`] here
//! ([`q8_supported`] without act-order; act-order ones go through `packed_q8_act`, which
//! permutes them into such weights) may come here.
//!
//! Shapes: `x[m, k]` f32 → `xq[m, k]` (i8, or i16 for int8 weights), `dx[m, k/32]` f32 scales,
//! `sx[m, k/32]` i32 block sums (computed once per call); W codes `[n, k · bits / 8]` bytes,
//! scales `[n, n_groups]`, zeros `[n, n_groups]` or the format's offset.
//!
//! AVX2: blocks go in pairs `b, b + 1`. Each code width ([`super::packed_q8_codes`]) decodes a
//! pair of one W row into registers whose low 128-bit half holds codes of `b` and whose high
//! half holds codes of `b + 1`, in an order of its choosing; the quantized x is stored
//! reordered once per call ([`Q8Rows`]) so that it lines up. The width's integer dot gives
//! eight i32 partial sums per W row, lanes 0-3 block `b`, 4-7 block `b + 1`. Eight W rows go
//! at a time: a `hadd` tree reduces their partial sums into two vectors, lane `t` the exact
//! dot of row `t` with block `b`, resp. `b + 1`; then `− z · Σxq` (i32), converted and
//! multiplied by `dx · ws` and added to an f32 accumulator per (x row, W row) lane, unfused and
//! block by block as the reference. A lone last block (odd `k / 32`) is decoded alone, its
//! eight lanes summed. Up to four x rows share each decoded W pair. Rayon splits the `n` rows
//! into tasks of multiples of eight rows, as the f32 packed path does; results do not depend
//! on the thread count or on `m`. Without AVX2 ([`Isa::Portable`]) the scalar reference runs.

use crate::cpu::simd::Isa;
use crate::ops::{matmul_packed_q8_ref, q8_supported};
use quant::pack::PackedWeight;

/// Whether `w` takes this path: [`q8_supported`] and no act-order `g_idx`.
pub(crate) fn supported(w: &PackedWeight) -> bool {
    w.g_idx().is_none() && q8_supported(w)
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` with int8 activations on validated shapes; `w` must be
/// [`supported`] and `isa` available.
pub(crate) fn matmul(isa: Isa, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
    assert!(supported(w), "packed_q8::matmul on a weight the int8 path does not serve");
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        use super::packed_q8_codes::{Int2, Int3, Int4, Int8};
        // SAFETY (every arm): the caller checked that AVX2 (with FMA, F16C) is available.
        match w.format().bits() {
            2 => unsafe { avx2::matmul::<Int2>(x, m, w, y) },
            3 => unsafe { avx2::matmul::<Int3>(x, m, w, y) },
            4 => unsafe { avx2::matmul::<Int4>(x, m, w, y) },
            8 => unsafe { avx2::matmul::<Int8>(x, m, w, y) },
            b => unreachable!("q8_supported passed {b}-bit codes"),
        }
        return;
    }
    let _ = isa;
    matmul_packed_q8_ref(x, m, w, y);
}

/// x quantized for the kernel: `xq[m, k]` (each pair of blocks `2p, 2p + 1` in the order the
/// code width's [`pair_col`](super::packed_q8_codes::Codes::pair_col) gives, a lone last block
/// in its [`lone_col`](super::packed_q8_codes::Codes::lone_col) order; block `b` of row `i`
/// starts at `i · k + 32 b` either way), `dx[m, k/32]` scales, `sx[m, k/32]` the blocks' code
/// sums.
#[cfg(target_arch = "x86_64")]
struct Q8Rows<X> {
    xq: Vec<X>,
    dx: Vec<f32>,
    sx: Vec<i32>,
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::super::packed_q8_codes::Codes;
    use super::Q8Rows;
    use crate::cpu::matmul::SyncPtr;
    use crate::ops::matmul_packed_q8::quantize_block_q8;
    use crate::ops::Q8_BLOCK;
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
    struct Args<'a, X> {
        q: &'a Q8Rows<X>,
        m: usize,
        k: usize,
        n: usize,
        w: &'a PackedWeight,
        bytes: &'a [u8],
        row_bytes: usize,
    }

    /// Quantizes `x[m, k]` with [`quantize_block_q8`] (the reference's quantizer, so the same
    /// codes and scales) into `C`'s order ([`Q8Rows`]).
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn quantize<C: Codes>(x: &[f32], m: usize, k: usize) -> Q8Rows<C::X> {
        let nb = k / Q8_BLOCK;
        let mut q8 = Q8Rows { xq: vec![C::X::default(); m * k], dx: vec![0f32; m * nb], sx: vec![0i32; m * nb] };
        // Where column c of a pair (0..64) or of a lone block (0..32) goes.
        let (mut pair_at, mut lone_at) = ([0usize; 2 * Q8_BLOCK], [0usize; Q8_BLOCK]);
        for p in 0..2 * Q8_BLOCK {
            pair_at[C::pair_col(p)] = p;
        }
        for p in 0..Q8_BLOCK {
            lone_at[C::lone_col(p)] = p;
        }
        for i in 0..m {
            for b in 0..nb {
                let mut q = [0i8; Q8_BLOCK];
                let xb = &x[i * k + b * Q8_BLOCK..i * k + (b + 1) * Q8_BLOCK];
                q8.dx[i * nb + b] = quantize_block_q8(xb, &mut q);
                q8.sx[i * nb + b] = q.iter().map(|&v| i32::from(v)).sum();
                let lone = b % 2 == 0 && b + 1 == nb;
                let start = i * k + (b & !1) * Q8_BLOCK;
                for (t, &v) in q.iter().enumerate() {
                    let at = if lone { lone_at[t] } else { pair_at[(b % 2) * Q8_BLOCK + t] };
                    q8.xq[start + at] = C::X::from(v);
                }
            }
        }
        q8
    }

    /// # Safety
    /// AVX2 must be available; `w` supported with `C`'s code width, shapes validated.
    pub(super) unsafe fn matmul<C: Codes>(x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
        let (n, k) = (w.n(), w.k());
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            y.fill(0.0);
            return;
        }
        // SAFETY: AVX2 is available (the caller's contract).
        let q = unsafe { quantize::<C>(x, m, k) };
        let bytes: &[u8] = bytemuck::cast_slice(w.codes());
        let row_bytes = w.row_words() * 4;
        let nb = k / Q8_BLOCK;
        assert!(row_bytes >= nb * C::BLOCK_BYTES && bytes.len() >= n * row_bytes && y.len() >= m * n);
        let a = Args { q: &q, m, k, n, w, bytes, row_bytes };
        let threads = rayon::current_num_threads().max(1);
        let per_task = n.div_ceil(threads * TASKS_PER_THREAD).div_ceil(ROWS).max(1) * ROWS;
        let yp = SyncPtr::new(y);
        (0..n.div_ceil(per_task)).into_par_iter().for_each(|t| {
            let j0 = t * per_task;
            // SAFETY: AVX2 is available; task t alone writes columns j0..j0 + rows of y.
            unsafe { task::<C>(&a, j0, per_task.min(n - j0), yp) };
        });
    }

    /// Outputs `y[0..m, j0..j0 + rows]`.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn task<C: Codes>(a: &Args<'_, C::X>, j0: usize, rows: usize, y: SyncPtr) {
        let mut jr = 0;
        while jr < rows {
            let nr = ROWS.min(rows - jr);
            // A ragged last block repeats its last row; only nr lanes are stored.
            let mut r = [0usize; ROWS];
            for (t, r) in r.iter_mut().enumerate() {
                *r = j0 + jr + t.min(nr - 1);
            }
            let mut i0 = 0;
            while i0 < a.m {
                let mc = MAX_M.min(a.m - i0);
                let mut out = [[0f32; ROWS]; MAX_M];
                // SAFETY: AVX2 is available; rows r < n, x rows i0 + mc <= m.
                unsafe {
                    match mc {
                        1 => block::<C, 1>(a, i0, &r, &mut out),
                        2 => block::<C, 2>(a, i0, &r, &mut out),
                        3 => block::<C, 3>(a, i0, &r, &mut out),
                        _ => block::<C, 4>(a, i0, &r, &mut out),
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
    unsafe fn block<C: Codes, const M: usize>(
        a: &Args<'_, C::X>,
        i0: usize,
        r: &[usize; ROWS],
        out: &mut [[f32; ROWS]; MAX_M],
    ) {
        let Args { q, k, w, bytes, row_bytes, .. } = *a;
        let (gs, ng, nb) = (w.group_size(), w.n_groups(), k / Q8_BLOCK);
        let bpg = gs / Q8_BLOCK;
        let (scales, zeros) = (w.scales(), w.zeros());
        let sym = i32::from(w.format().int().offset());
        assert!(q.xq.len() >= (i0 + M) * k && q.sx.len() >= (i0 + M) * nb && q.dx.len() >= (i0 + M) * nb);
        // SAFETY (whole body): AVX2 is available; code reads stay inside blocks b (+ 1) < nb
        // of rows r[t] < n, nb · BLOCK_BYTES <= row_bytes (asserted in `matmul`); x reads 64
        // (a pair) or 32 (a lone block) elements from i · k + 32 b of rows i0 + i < i0 + M
        // (asserted above). `Dec` is plain vector data, so all-zero is a valid value.
        unsafe {
            let mut rowp = [std::ptr::null::<u8>(); ROWS];
            for (p, &r) in rowp.iter_mut().zip(r) {
                *p = bytes.as_ptr().add(r * row_bytes);
            }
            let xqp = q.xq.as_ptr().add(i0 * k);
            let mut acc = [_mm256_setzero_ps(); M];
            let mut cur = (usize::MAX, (_mm256_setzero_ps(), _mm256_setzero_si256()));
            let mut c: [C::Dec; ROWS] = std::mem::zeroed();
            let mut p = [_mm256_setzero_si256(); ROWS];
            let mut b = 0;
            while b + 1 < nb {
                let g0 = group_of(&mut cur, b / bpg, r, ng, scales, zeros, sym);
                let g1 = group_of(&mut cur, (b + 1) / bpg, r, ng, scales, zeros, sym);
                for t in 0..ROWS {
                    c[t] = C::pair(rowp[t], b);
                }
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xp = xqp.add(i * k + b * Q8_BLOCK);
                    for t in 0..ROWS {
                        p[t] = C::dot_pair(&c[t], xp);
                    }
                    let (d0, d1) = reduce(&p);
                    finish(acc, d0, q, (i0 + i) * nb + b, g0);
                    finish(acc, d1, q, (i0 + i) * nb + b + 1, g1);
                }
                b += 2;
            }
            if b < nb {
                let gb = group_of(&mut cur, b / bpg, r, ng, scales, zeros, sym);
                for t in 0..ROWS {
                    c[t] = C::lone(rowp[t], b);
                }
                for (i, acc) in acc.iter_mut().enumerate() {
                    let xp = xqp.add(i * k + b * Q8_BLOCK);
                    for t in 0..ROWS {
                        p[t] = C::dot_lone(&c[t], xp);
                    }
                    let (lo, hi) = reduce(&p);
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
            let mut wsa = [0f32; ROWS];
            for (s, &r) in wsa.iter_mut().zip(r) {
                *s = scales[r * ng + g];
            }
            // SAFETY (both): AVX2 is available (the caller's contract); eight readable lanes.
            let zv = match zeros {
                Some(z) => {
                    let mut za = [0i32; ROWS];
                    for (o, &r) in za.iter_mut().zip(r) {
                        *o = i32::from(z[r * ng + g]);
                    }
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
    unsafe fn finish<X>(acc: &mut __m256, dot: __m256i, q: &Q8Rows<X>, xb: usize, (ws, zv): (__m256, __m256i)) {
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
    unsafe fn reduce(p: &[__m256i; ROWS]) -> (__m256i, __m256i) {
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
