//! The 32-column GGML blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) for the `cpu-q8` kernels
//! ([`super::gguf_q8`]): each block of eight rows unpacked into a [`TBlock`] (codes in column
//! order, then transposed; `d` and `m` widened exactly by [`f16_at`]) and its step of
//! [`matmul_gguf_q8_ref`](crate::ops::matmul_gguf_q8_ref). Layouts as in
//! `quant::gguf::dequant`: f16 `d` at 0, f16 `m` at 2 (`_1` types), u32 fifth bits `qh`
//! (Q5 types), 16 bytes of nibbles (elements 0..16 low, 16..32 high) or 32 signed bytes.

use super::gguf_q8_tile::{
    dot_signed, dot_unsigned, fifth_bits, ones16, step_min, step_offset, transpose_store, Q8Kind, TBlock, XBlock, ROWS,
};
use super::lanes::f16_at;
use std::arch::x86_64::*;

/// Q4_0: w = d (q − 8).
pub(super) struct Q4_0;
/// Q4_1: w = d q + m.
pub(super) struct Q4_1;
/// Q5_0: w = d (q − 16).
pub(super) struct Q5_0;
/// Q5_1: w = d q + m.
pub(super) struct Q5_1;
/// Q8_0: w = q d, q signed.
pub(super) struct Q8_0;

/// Unpacks block `u` of the eight rows (`ts` bytes a block): nibbles at byte `qs`, fifth bits
/// at `qh` (if any), `m` at byte 2 when `min`.
///
/// # Safety
/// AVX2 must be available; every `rows[t]` valid for `(u + 1) · ts` bytes.
#[inline(always)]
unsafe fn unpack_nibbles(
    rows: &[*const u8; ROWS],
    u: usize,
    (ts, qs, qh, min): (usize, usize, Option<usize>, bool),
    out: &mut TBlock,
) {
    // SAFETY: AVX2 (the caller's contract); reads inside block u of each row (qs + 16 <= ts).
    unsafe {
        let mask = _mm256_set1_epi8(0x0f);
        let r: [__m256i; ROWS] = std::array::from_fn(|t| {
            let b = std::slice::from_raw_parts(rows[t].add(u * ts), ts);
            out.d[t] = f16_at(b, 0);
            if min {
                out.aux[t] = f16_at(b, 2);
            }
            let v = _mm_loadu_si128(b[qs..qs + 16].as_ptr().cast());
            let c =
                _mm256_and_si256(_mm256_inserti128_si256::<1>(_mm256_castsi128_si256(v), _mm_srli_epi16::<4>(v)), mask);
            match qh {
                Some(at) => _mm256_or_si256(c, fifth_bits(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))),
                None => c,
            }
        });
        transpose_store(&r, &mut out.codes);
    }
}

impl Q8Kind for Q4_0 {
    const BS: usize = 32;
    const TS: usize = 18;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, u, (Self::TS, 2, None, false), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot_unsigned::<M, 8>(t, x, 0, ones16());
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                let s = _mm256_sub_epi32(s, _mm256_set1_epi32(8 * xb.meta.sx));
                *a = step_offset(*a, s, xb.meta, &t.d);
            }
        }
    }
}

impl Q8Kind for Q5_0 {
    const BS: usize = 32;
    const TS: usize = 22;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, u, (Self::TS, 6, Some(2), false), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let (lo, hi) = (dot_unsigned::<M, 4>(t, x, 0, ones16()), dot_unsigned::<M, 4>(t, x, 4, ones16()));
            for (i, (a, xb)) in acc.iter_mut().zip(x).enumerate() {
                let s = _mm256_sub_epi32(_mm256_add_epi32(lo[i], hi[i]), _mm256_set1_epi32(16 * xb.meta.sx));
                *a = step_offset(*a, s, xb.meta, &t.d);
            }
        }
    }
}

impl Q8Kind for Q4_1 {
    const BS: usize = 32;
    const TS: usize = 20;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, u, (Self::TS, 4, None, true), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot_unsigned::<M, 8>(t, x, 0, ones16());
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_min(*a, s, xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q5_1 {
    const BS: usize = 32;
    const TS: usize = 24;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, u, (Self::TS, 8, Some(4), true), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let (lo, hi) = (dot_unsigned::<M, 4>(t, x, 0, ones16()), dot_unsigned::<M, 4>(t, x, 4, ones16()));
            for (i, (a, xb)) in acc.iter_mut().zip(x).enumerate() {
                *a = step_min(*a, _mm256_add_epi32(lo[i], hi[i]), xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q8_0 {
    const BS: usize = 32;
    const TS: usize = 34;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: AVX2 (the caller's contract); 32 bytes at 2 of block u of each row.
        unsafe {
            let out = &mut out[0];
            let r: [__m256i; ROWS] = std::array::from_fn(|t| {
                let b = std::slice::from_raw_parts(rows[t].add(u * Self::TS), Self::TS);
                out.d[t] = f16_at(b, 0);
                _mm256_loadu_si256(b[2..34].as_ptr().cast())
            });
            transpose_store(&r, &mut out.codes);
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot_signed::<M>(t, x);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_offset(*a, s, xb.meta, &t.d);
            }
        }
    }
}
