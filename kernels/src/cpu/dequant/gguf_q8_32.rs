//! The 32-column GGML blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) for the `cpu-q8` kernels
//! ([`super::gguf_q8`]): each block of eight rows unpacked into a [`TBlock`] (codes in column
//! order, then transposed; the eight rows' `d` and `m` collected and widened exactly by
//! [`f16_lanes`]) and its step of
//! [`matmul_gguf_q8_ref`](crate::ops::matmul_gguf_q8_ref). Layouts as in
//! `quant::gguf::dequant`: f16 `d` at 0, f16 `m` at 2 (`_1` types), u32 fifth bits `qh`
//! (Q5 types), 16 bytes of nibbles (elements 0..16 low, 16..32 high) or 32 signed bytes.

use super::gguf_q8_heads::{f16_lanes, Rows};
use super::gguf_q8_tile::{
    dot, dot_signed, fifth_bits, put_f32, step_min, step_offset, transpose_store, Q8Kind, TBlock, XBlock, ROWS,
};
use super::gguf_q8_zmm::{dot16, dot_signed16, step_min16, step_offset16};
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
/// AVX2 must be available; every `rows.ptr[t]` valid for `(u + 1) · ts` bytes.
#[inline(always)]
unsafe fn unpack_nibbles<const R: usize>(
    rows: &Rows,
    (u, h): (usize, usize),
    (ts, qs, qh, min): (usize, usize, Option<usize>, bool),
    out: &mut TBlock<R>,
) {
    // SAFETY: AVX2 (the caller's contract); reads inside block u of each row (qs + 16 <= ts).
    unsafe {
        let mask = _mm256_set1_epi8(0x0f);
        // `d` at 0 and `m` at 2 of the eight rows' blocks.
        put_f32(&mut out.d, h, f16_lanes(rows.u16s(u * ts)));
        if min {
            put_f32(&mut out.aux, h, f16_lanes(rows.u16s(u * ts + 2)));
        }
        // A loop, not a closure: closures do not inherit the caller's target features.
        let mut r = [_mm256_setzero_si256(); ROWS];
        for (rt, &p) in r.iter_mut().zip(&rows.ptr) {
            let b = std::slice::from_raw_parts(p.add(u * ts), ts);
            let v = _mm_loadu_si128(b[qs..qs + 16].as_ptr().cast());
            let c =
                _mm256_and_si256(_mm256_inserti128_si256::<1>(_mm256_castsi128_si256(v), _mm_srli_epi16::<4>(v)), mask);
            *rt = match qh {
                Some(at) => _mm256_or_si256(c, fifth_bits(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))),
                None => c,
            };
        }
        transpose_store(&r, &mut out.codes, h);
    }
}

impl Q8Kind for Q4_0 {
    const BS: usize = 32;
    const TS: usize = 18;
    #[inline(always)]
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot16::<M>(t, x, (0, 8), None);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                let s = _mm512_sub_epi32(s, _mm512_set1_epi32(8 * xb.meta.sx));
                *a = step_offset16(*a, s, xb.meta, &t.d);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, (u, h), (Self::TS, 2, None, false), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot::<M, 8, VNNI>(t, x, (0, 8), None);
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
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot16::<M>(t, x, (0, 8), None);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                let s = _mm512_sub_epi32(s, _mm512_set1_epi32(16 * xb.meta.sx));
                *a = step_offset16(*a, s, xb.meta, &t.d);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, (u, h), (Self::TS, 6, Some(2), false), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            // 5-bit codes: runs of four groups in i16.
            let dot = dot::<M, 4, VNNI>(t, x, (0, 8), None);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                let s = _mm256_sub_epi32(s, _mm256_set1_epi32(16 * xb.meta.sx));
                *a = step_offset(*a, s, xb.meta, &t.d);
            }
        }
    }
}

impl Q8Kind for Q4_1 {
    const BS: usize = 32;
    const TS: usize = 20;
    #[inline(always)]
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot16::<M>(t, x, (0, 8), None);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_min16::<false>(*a, s, xb.meta, t);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, (u, h), (Self::TS, 4, None, true), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot::<M, 8, VNNI>(t, x, (0, 8), None);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_min::<false>(*a, s, xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q5_1 {
    const BS: usize = 32;
    const TS: usize = 24;
    #[inline(always)]
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot16::<M>(t, x, (0, 8), None);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_min16::<false>(*a, s, xb.meta, t);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: the caller's contract.
        unsafe { unpack_nibbles(rows, (u, h), (Self::TS, 8, Some(4), true), &mut out[0]) }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot::<M, 4, VNNI>(t, x, (0, 8), None);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_min::<false>(*a, s, xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q8_0 {
    const BS: usize = 32;
    const TS: usize = 34;
    #[inline(always)]
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot_signed16::<M>(t, x);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_offset16(*a, s, xb.meta, &t.d);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: AVX2 (the caller's contract); 32 bytes at 2 of block u of each row.
        unsafe {
            let out = &mut out[0];
            put_f32(&mut out.d, h, f16_lanes(rows.u16s(u * Self::TS)));
            let mut r = [_mm256_setzero_si256(); ROWS];
            for (rt, &p) in r.iter_mut().zip(&rows.ptr) {
                *rt = _mm256_loadu_si256(p.add(u * Self::TS + 2).cast());
            }
            transpose_store(&r, &mut out.codes, h);
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let dot = dot_signed::<M, VNNI>(t, x);
            for ((a, s), xb) in acc.iter_mut().zip(dot).zip(x) {
                *a = step_offset(*a, s, xb.meta, &t.d);
            }
        }
    }
}
