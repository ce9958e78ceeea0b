//! The integer dots and f32 steps of the `cpu-q8` GGML kernels on a 16-row [`TBlock`], sixteen
//! W rows in the lanes of 512-bit vectors (AVX-512 F, BW, VL, VNNI): the same operations per
//! lane as the 8-row steps of `gguf_q8_tile`, so the same bits, with twice the rows per
//! instruction and per broadcast of x. One 64-byte load is a group (four columns of the
//! sixteen rows); `vpdpbusd` against x's four codes broadcast to every lane adds the group's
//! four products into each row's i32 lane. Q8_0's signed codes take `|q|` times x negated where
//! `q < 0` (AVX-512 has no byte `sign`; a zero `q` gives zero either way).

use super::gguf_q8_tile::{TBlock, XBlock, XMeta};
use std::arch::x86_64::*;

/// x's codes `4g .. 4g + 4` in every i32 lane.
///
/// # Safety
/// AVX-512 F must be available; `x.q` valid for 32 bytes.
#[inline(always)]
unsafe fn x4(x: &XBlock<'_>, g: usize) -> __m512i {
    // SAFETY: AVX-512 F (the caller's contract); 4g + 4 <= 32 bytes.
    unsafe { _mm512_set1_epi32(std::ptr::read_unaligned(x.q.add(4 * g).cast::<i32>())) }
}

/// Group `g` of a block: four columns of the sixteen rows.
///
/// # Safety
/// AVX-512 F must be available.
#[inline(always)]
unsafe fn group(t: &TBlock<16>, g: usize) -> __m512i {
    // SAFETY: AVX-512 F (the caller's contract); 64 aligned bytes (`TBlock` is 64-aligned and
    // each group 64 bytes long).
    unsafe { _mm512_load_si512(t.codes[g].as_ptr().cast()) }
}

/// Per x row, lane `t`: row `t`'s exact dot with x over groups `g0 .. g1`, times the row's
/// scale (the low i16 of its pair in `scale`, sign-extended) when given. Two chains per x row
/// (even and odd groups), as `vpdpbusd` has a latency of several cycles.
///
/// # Safety
/// AVX-512 F, BW, VL and VNNI must be available; each `x[i].q` valid for 32 bytes; `g1 <= 8`.
#[inline(always)]
pub(super) unsafe fn dot16<const M: usize>(
    t: &TBlock<16>,
    x: &[XBlock<'_>; M],
    (g0, g1): (usize, usize),
    scale: Option<&[[i16; 2]; 16]>,
) -> [__m512i; M] {
    // SAFETY: the caller's contract. Loops, not closures: closures do not inherit the
    // caller's target features.
    unsafe {
        let mut s = [[_mm512_setzero_si512(); M]; 2];
        for g in g0..g1 {
            let w = group(t, g);
            for (a, xb) in s[(g - g0) % 2].iter_mut().zip(x) {
                *a = _mm512_dpbusd_epi32(*a, w, x4(xb, g));
            }
        }
        let [mut even, odd] = s;
        for (a, o) in even.iter_mut().zip(odd) {
            *a = _mm512_add_epi32(*a, o);
        }
        if let Some(sc) = scale {
            let sc = _mm512_srai_epi32::<16>(_mm512_slli_epi32::<16>(load_pairs(sc)));
            for a in even.iter_mut() {
                *a = _mm512_mullo_epi32(*a, sc);
            }
        }
        even
    }
}

/// Per x row, lane `t`: the exact dot of row `t`'s signed codes (Q8_0) with x.
///
/// # Safety
/// As [`dot16`].
#[inline(always)]
pub(super) unsafe fn dot_signed16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M]) -> [__m512i; M] {
    // SAFETY: the caller's contract.
    unsafe {
        let mut s = [[_mm512_setzero_si512(); M]; 2];
        for g in 0..8 {
            let w = group(t, g);
            let (aw, neg) = (_mm512_abs_epi8(w), _mm512_movepi8_mask(w));
            for (a, xb) in s[g % 2].iter_mut().zip(x) {
                let xv = x4(xb, g);
                let sx = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);
                *a = _mm512_dpbusd_epi32(*a, aw, sx);
            }
        }
        let [mut even, odd] = s;
        for (a, o) in even.iter_mut().zip(odd) {
            *a = _mm512_add_epi32(*a, o);
        }
        even
    }
}

/// Sixteen i16 pairs of a 16-row [`TBlock`] scale field.
///
/// # Safety
/// AVX-512 F must be available.
#[inline(always)]
pub(super) unsafe fn load_pairs(v: &[[i16; 2]; 16]) -> __m512i {
    // SAFETY: AVX-512 F (the caller's contract); 64 bytes.
    unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }
}

/// `acc + f32(s) · (dx · d)`, per lane.
///
/// # Safety
/// AVX-512 F must be available.
#[inline(always)]
pub(super) unsafe fn step_offset16(acc: __m512, s: __m512i, meta: &XMeta, d: &[f32; 16]) -> __m512 {
    // SAFETY: AVX-512 F (the caller's contract).
    unsafe {
        let dxd = _mm512_mul_ps(_mm512_set1_ps(meta.dx), _mm512_loadu_ps(d.as_ptr()));
        _mm512_add_ps(acc, _mm512_mul_ps(_mm512_cvtepi32_ps(s), dxd))
    }
}

/// `acc + (f32(s) · (dx · d) ± (dx · f32(sx)) · aux)`, per lane (`SUB`: the K types' minimum).
///
/// # Safety
/// AVX-512 F must be available.
#[inline(always)]
pub(super) unsafe fn step_min16<const SUB: bool>(acc: __m512, s: __m512i, meta: &XMeta, t: &TBlock<16>) -> __m512 {
    // SAFETY: AVX-512 F (the caller's contract).
    unsafe {
        let dxd = _mm512_mul_ps(_mm512_set1_ps(meta.dx), _mm512_loadu_ps(t.d.as_ptr()));
        let u = _mm512_mul_ps(_mm512_cvtepi32_ps(s), dxd);
        let v = _mm512_mul_ps(_mm512_set1_ps(meta.dsx), _mm512_loadu_ps(t.aux.as_ptr()));
        _mm512_add_ps(acc, if SUB { _mm512_sub_ps(u, v) } else { _mm512_add_ps(u, v) })
    }
}
