//! The AVX2 building blocks of the `cpu-q8` GGML kernels ([`super::gguf_q8`]): the unpacked
//! form of one 32-column block of 8 or 16 W rows ([`TBlock`]), the byte transpose that makes
//! it (eight rows at a time), and the integer dots and f32 steps of
//! [`matmul_gguf_q8_ref`](crate::ops::matmul_gguf_q8_ref) on an 8-row block, eight W rows in
//! the eight lanes of a vector (16-row blocks: `gguf_q8_zmm`).
//!
//! Layout of [`TBlock::codes`], `[8 groups g][R rows t][4 bytes]`: byte `c` of row `t` in group
//! `g` is the code of column `4g + c` (u8; Q8_0's signed codes as their bytes). One 32-byte
//! (8 rows) or 64-byte (16 rows) load is a group; `_mm256_maddubs_epi16` against x's four codes `4g..4g + 4` broadcast to
//! every lane leaves row `t`'s two pair sums in i16 lanes `2t, 2t + 1`, and
//! `_mm256_madd_epi16` by ones (or by the row's sub-block scale in both lanes) adds them into
//! i32 lane `t`: no horizontal sums. Groups are added in i16 first as far as no lane can
//! overflow: all eight for 4-bit codes (`8 · 2 · 15 · 127 = 30480`), four for 5-bit (`31496`),
//! two for Q6_K's 6-bit (`32004`); Q8_0 takes `|q|` times x with q's sign (`2 · 128 · 127`),
//! one group at a time. With AVX-512 VNNI (and VL) `vpdpbusd` does a group's four products and
//! their sum into the i32 lane in one instruction. Every sum is exact, so the order does not
//! matter; the f32 steps
//! ([`step_offset`], [`step_min`]) are the reference's lines, unfused.

use super::gguf_q8_heads::Rows;
use crate::ops::Q8_BLOCK;
use std::arch::x86_64::*;

/// One GGML block type on the `cpu-q8` path: how a block of eight W rows unpacks into
/// [`TBlock`]s and how one [`TBlock`] updates the accumulators. Implementations are
/// `#[inline(always)]`, so they compile inside the task that calls them.
pub(super) trait Q8Kind {
    /// Columns per GGML block (32 or 256).
    const BS: usize;
    /// Bytes per GGML block.
    const TS: usize;
    /// Unpacks block `u` (columns `u · BS ..`) of the eight rows `rows.ptr[t]` into rows
    /// `8h .. 8h + 8` of `out[.. BS / 32]`.
    ///
    /// # Safety
    /// AVX2 must be available; every `rows.ptr[t]` valid for `(u + 1) · TS` bytes; `8h < R`.
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]);
    /// `acc[i]` (lane `t`: W row `t`) after block `t` against x block `x[i]` (one step of the
    /// reference); `VNNI`: the dots with `vpdpbusd`.
    ///
    /// # Safety
    /// AVX2 (and with `VNNI`, AVX-512 VNNI and VL) must be available; each `x[i].q` valid for
    /// 32 bytes.
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]);
    /// The same step for sixteen W rows in the lanes of 512-bit vectors (`gguf_q8_zmm`).
    ///
    /// # Safety
    /// AVX-512 F, BW, VL and VNNI must be available; each `x[i].q` valid for 32 bytes.
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]);
}

/// W rows per unpack (a half of a 16-row [`TBlock`]): one 256-bit lane each.
pub(super) const ROWS: usize = 8;

/// One 32-column block of `R` (8 or 16) W rows, unpacked (module doc). Fields a type does not
/// use are left as they are.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub(super) struct TBlock<const R: usize> {
    /// `[group][row][c]`: the code of column `4 group + c` of the row.
    pub codes: [[[u8; 4]; R]; 8],
    /// Per row: the block's (super-block's) `d`.
    pub d: [f32; R],
    /// Per row: `m` (Q4_1, Q5_1) or `dmin · f32(mn)` (Q4_K, Q5_K).
    pub aux: [f32; R],
    /// `[half][row]`: the row's sub-block scale in both i16 lanes of its pair (Q4_K, Q5_K: half
    /// 0 only; Q6_K: the scale of columns 0..16, then 16..32).
    pub sc: [[[i16; 2]; R]; 2],
    /// Q6_K, per row: `[sc₀, sc₁]`.
    pub scp: [[i16; 2]; R],
}

impl<const R: usize> TBlock<R> {
    pub(super) const ZERO: Self =
        TBlock { codes: [[[0; 4]; R]; 8], d: [0.0; R], aux: [0.0; R], sc: [[[0; 2]; R]; 2], scp: [[0; 2]; R] };
}

/// Stores `v` as rows `8h .. 8h + 8` of a per-row f32 field.
///
/// # Safety
/// AVX2 must be available; `8h + 8 <= R`.
#[inline(always)]
pub(super) unsafe fn put_f32<const R: usize>(dst: &mut [f32; R], h: usize, v: __m256) {
    // SAFETY: AVX2 (the caller's contract); eight f32 inside `dst`.
    unsafe { _mm256_storeu_ps(dst[8 * h..8 * h + 8].as_mut_ptr(), v) }
}

/// Stores `v` (eight i16 pairs) as rows `8h .. 8h + 8` of a per-row pair field.
///
/// # Safety
/// AVX2 must be available; `8h + 8 <= R`.
#[inline(always)]
pub(super) unsafe fn put_pairs<const R: usize>(dst: &mut [[i16; 2]; R], h: usize, v: __m256i) {
    // SAFETY: AVX2 (the caller's contract); 32 bytes inside `dst`.
    unsafe { _mm256_storeu_si256(dst[8 * h..8 * h + 8].as_mut_ptr().cast(), v) }
}

/// What the f32 steps need of one x block: its scale and code sums.
#[derive(Clone, Copy, Default)]
#[repr(C)]
pub(super) struct XMeta {
    /// `dx`.
    pub dx: f32,
    /// `dx · f32(sx)`: the minimum terms' x factor.
    pub dsx: f32,
    /// `sx = Σ xq`.
    pub sx: i32,
    /// `sx₀` (low 16 bits) and `sx₁` (high 16 bits) as i16: Q6_K's half sums.
    pub sxh: i32,
}

/// One x block of one row: its 32 codes and [`XMeta`].
#[derive(Clone, Copy)]
pub(super) struct XBlock<'a> {
    pub q: *const i8,
    pub meta: &'a XMeta,
}

/// Stores eight rows `r[t]` (32 codes each, column order) as rows `8h + t` of `codes`,
/// `codes[g][8h + t][c] = r[t][4g + c]`: an 8×8 transpose of 32-bit elements.
///
/// # Safety
/// AVX2 must be available; `8h + 8 <= R`.
#[inline(always)]
pub(super) unsafe fn transpose_store<const R: usize>(r: &[__m256i; ROWS], codes: &mut [[[u8; 4]; R]; 8], h: usize) {
    // SAFETY: AVX2 (the caller's contract); stores of 32 bytes into rows 8h.. of `codes[g]`.
    unsafe {
        let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
        let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
        let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
        let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
        let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        // u[g mod 4]: rows 0-3 of groups (g, g + 4) in lanes (0-3 | 4-7); v likewise rows 4-7.
        let u = [
            _mm256_unpacklo_epi64(t0, t2),
            _mm256_unpackhi_epi64(t0, t2),
            _mm256_unpacklo_epi64(t1, t3),
            _mm256_unpackhi_epi64(t1, t3),
        ];
        let v = [
            _mm256_unpacklo_epi64(t4, t6),
            _mm256_unpackhi_epi64(t4, t6),
            _mm256_unpacklo_epi64(t5, t7),
            _mm256_unpackhi_epi64(t5, t7),
        ];
        for g in 0..4 {
            let (lo, hi) =
                (_mm256_permute2x128_si256::<0x20>(u[g], v[g]), _mm256_permute2x128_si256::<0x31>(u[g], v[g]));
            _mm256_storeu_si256(codes[g][8 * h..8 * h + 8].as_mut_ptr().cast(), lo);
            _mm256_storeu_si256(codes[g + 4][8 * h..8 * h + 8].as_mut_ptr().cast(), hi);
        }
    }
}

/// Byte `i` = `0x10` where bit `i` of `qh` is set, else 0: the fifth bits of Q5_0 / Q5_1.
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn fifth_bits(qh: u32) -> __m256i {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        // Byte i of the result takes byte i / 8 of qh, then its bit i % 8.
        let pick = _mm256_setr_epi8(
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
        );
        let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(qh as i32), pick);
        let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
        _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(0x10))
    }
}

/// x's codes `4g .. 4g + 4` in every i32 lane.
///
/// # Safety
/// AVX2 must be available; `x.q` valid for 32 bytes.
#[inline(always)]
unsafe fn x4(x: &XBlock<'_>, g: usize) -> __m256i {
    // SAFETY: AVX2 (the caller's contract); 4g + 4 <= 32 bytes.
    unsafe { _mm256_set1_epi32(std::ptr::read_unaligned(x.q.add(4 * g).cast::<i32>())) }
}

/// The group loads of a block.
#[inline(always)]
unsafe fn group(t: &TBlock<8>, g: usize) -> __m256i {
    // SAFETY: AVX2 (the caller's contract); a 32-byte row of `codes`.
    unsafe { _mm256_load_si256(t.codes[g].as_ptr().cast()) }
}

/// Per x row, lane `t`: row `t`'s exact dot with x over groups `g0 .. g1`. AVX2: `maddubs`
/// pairs added in i16 over runs of at most `RUN` groups (`RUN · 2 · max code · 127` must stay
/// below 2¹⁵), each run `madd`-ed by `scale16` (ones, or the row's scale in both halves of its
/// pair, which multiplies the dot by it). `VNNI`: `vpdpbusd` into i32, then times the scale
/// (`vpmulld` by the low half of each pair, sign-extended) unless `scale16` is ones.
///
/// # Safety
/// AVX2 (and with `VNNI`, AVX-512 VNNI and VL) must be available; each `x[i].q` valid for 32
/// bytes; `g1 <= 8`.
#[inline(always)]
pub(super) unsafe fn dot<const M: usize, const RUN: usize, const VNNI: bool>(
    t: &TBlock<8>,
    x: &[XBlock<'_>; M],
    (g0, g1): (usize, usize),
    scale16: Option<&[[i16; 2]; 8]>,
) -> [__m256i; M] {
    // SAFETY: the caller's contract; groups < g1 <= 8. Loops, not closures: closures do not
    // inherit the caller's target features.
    unsafe {
        let mut s32 = [_mm256_setzero_si256(); M];
        if VNNI {
            // Two chains per x row (even and odd groups): `vpdpbusd` has a latency of several
            // cycles, and one chain of eight would leave the core waiting.
            let mut odd = [_mm256_setzero_si256(); M];
            for g in g0..g1 {
                let w = group(t, g);
                let acc = if (g - g0) % 2 == 0 { &mut s32 } else { &mut odd };
                for (s, xb) in acc.iter_mut().zip(x) {
                    *s = _mm256_dpbusd_epi32(*s, w, x4(xb, g));
                }
            }
            for (s, o) in s32.iter_mut().zip(odd) {
                *s = _mm256_add_epi32(*s, o);
            }
            if let Some(sc) = scale16 {
                let sc = _mm256_srai_epi32::<16>(_mm256_slli_epi32::<16>(load16(sc)));
                for s in s32.iter_mut() {
                    *s = _mm256_mullo_epi32(*s, sc);
                }
            }
            return s32;
        }
        let scale = match scale16 {
            Some(sc) => load16(sc),
            None => _mm256_set1_epi16(1),
        };
        let mut r0 = g0;
        while r0 < g1 {
            let mut s16 = [_mm256_setzero_si256(); M];
            for g in r0..(r0 + RUN).min(g1) {
                let w = group(t, g);
                for (s, xb) in s16.iter_mut().zip(x) {
                    *s = _mm256_add_epi16(*s, _mm256_maddubs_epi16(w, x4(xb, g)));
                }
            }
            for (a, s) in s32.iter_mut().zip(s16) {
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(s, scale));
            }
            r0 += RUN;
        }
        s32
    }
}

/// Per x row, lane `t`: the exact dot of row `t`'s signed codes (Q8_0) with x, one group at
/// a time as `|q|` times x carrying q's sign (AVX2: `maddubs` then `madd` by ones, as a pair
/// sum reaches `2 · 128 · 127`; `VNNI`: `vpdpbusd`).
///
/// # Safety
/// As [`dot`].
#[inline(always)]
pub(super) unsafe fn dot_signed<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M]) -> [__m256i; M] {
    // SAFETY: the caller's contract.
    unsafe {
        let ones = _mm256_set1_epi16(1);
        // Two chains per x row (even and odd groups), as in [`dot`].
        let mut s32 = [[_mm256_setzero_si256(); M]; 2];
        for g in 0..8 {
            let w = group(t, g);
            let aw = _mm256_abs_epi8(w);
            for (s, xb) in s32[g % 2].iter_mut().zip(x) {
                let sx = _mm256_sign_epi8(x4(xb, g), w);
                *s = if VNNI {
                    _mm256_dpbusd_epi32(*s, aw, sx)
                } else {
                    _mm256_add_epi32(*s, _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones))
                };
            }
        }
        let [mut even, odd] = s32;
        for (s, o) in even.iter_mut().zip(odd) {
            *s = _mm256_add_epi32(*s, o);
        }
        even
    }
}

/// `acc + f32(s) · (dx · d)`, per lane (Q8_0, Q4_0, Q5_0 with `s = dot − z·sx`; Q6_K).
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn step_offset(acc: __m256, s: __m256i, meta: &XMeta, d: &[f32; 8]) -> __m256 {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        let dxd = _mm256_mul_ps(_mm256_set1_ps(meta.dx), _mm256_loadu_ps(d.as_ptr()));
        _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(s), dxd))
    }
}

/// `acc + (f32(s) · (dx · d) ± (dx · f32(sx)) · aux)`, per lane: `+ m` for Q4_1, Q5_1
/// (`SUB = false`), `− dmin · f32(mn)` for Q4_K, Q5_K (`SUB = true`).
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn step_min<const SUB: bool>(acc: __m256, s: __m256i, meta: &XMeta, t: &TBlock<8>) -> __m256 {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        let dxd = _mm256_mul_ps(_mm256_set1_ps(meta.dx), _mm256_loadu_ps(t.d.as_ptr()));
        let u = _mm256_mul_ps(_mm256_cvtepi32_ps(s), dxd);
        let v = _mm256_mul_ps(_mm256_set1_ps(meta.dsx), _mm256_loadu_ps(t.aux.as_ptr()));
        _mm256_add_ps(acc, if SUB { _mm256_sub_ps(u, v) } else { _mm256_add_ps(u, v) })
    }
}

/// Loads eight i16 pairs (a scale vector of an 8-row [`TBlock`]).
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn load16(v: &[[i16; 2]; 8]) -> __m256i {
    // SAFETY: AVX2 (the caller's contract); 32 bytes.
    unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
}

/// Columns per x block (one [`XMeta`] each).
pub(super) const XB: usize = Q8_BLOCK;
