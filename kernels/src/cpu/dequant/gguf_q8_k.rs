//! The 256-column GGML super-blocks (Q4_K, Q5_K, Q6_K) for the `cpu-q8` kernels
//! ([`super::gguf_q8`]): each super-block of eight rows unpacked into eight [`TBlock`]s, one
//! per 32-column sub-block (codes in column order, then transposed; the eight rows' header
//! bytes transposed so that the 6-bit scales and minimums unpack for all rows at once, as i16
//! scale pairs and `dmin · f32(mn)`; `d`, `dmin` widened exactly by [`f16_lanes`]),
//! and a sub-block's step of
//! [`matmul_gguf_q8_ref`](crate::ops::matmul_gguf_q8_ref). Layouts as in `quant::gguf::dequant`:
//!
//! - Q4_K (144 bytes): f16 `d`, f16 `dmin`, 12 bytes of 6-bit scales/minimums, 128 bytes of
//!   nibbles (32-byte group `h`: sub-block `2h` low, `2h + 1` high);
//! - Q5_K (176 bytes): the same with 32 bytes of fifth bits (bit `s` of byte `l`: column `l` of
//!   sub-block `s`) before the nibbles;
//! - Q6_K (210 bytes): 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales (one
//!   per 16 columns), f16 `d`; half `g` (128 columns), run `r` of 32: nibbles of
//!   `ql[64g + 32(r mod 2)..]` (low for `r < 2`), bits `2r, 2r + 1` of `qh[32g..]`.

use super::gguf_q8_heads::{f16_lanes, transpose_8x16, Rows};
use super::gguf_q8_tile::{
    dot, load16, put_f32, put_pairs, step_min, step_offset, transpose_store, Q8Kind, TBlock, XBlock, ROWS,
};
use super::gguf_q8_zmm::{dot16, load_pairs, step_min16, step_offset16};
use std::arch::x86_64::*;

/// Q4_K: w = (d sc) q − (dmin mn).
pub(super) struct Q4K;
/// Q5_K: as Q4_K with 5-bit codes.
pub(super) struct Q5K;
/// Q6_K: w = (d sc[h]) (q − 32).
pub(super) struct Q6K;

/// Byte lanes `lo` (8 rows) widened to i32 and doubled into both i16 halves: a [`TBlock`] scale
/// pair vector. `signed`: the bytes are i8 (Q6_K), else u8.
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
unsafe fn scale_pairs(lo: __m128i, signed: bool) -> __m256i {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        let v = if signed { _mm256_cvtepi8_epi32(lo) } else { _mm256_cvtepu8_epi32(lo) };
        _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi32(0xffff)), _mm256_slli_epi32::<16>(v))
    }
}

/// Bits 6, 7 of each byte of `v` moved to bits 4, 5 (the rest 0).
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
unsafe fn top2(v: __m128i) -> __m128i {
    // SAFETY: AVX2 (the caller's contract); the 16-bit shift's carry from the next byte lands
    // in bits 6, 7, which the mask drops.
    unsafe { _mm_and_si128(_mm_srli_epi16::<2>(v), _mm_set1_epi8(48)) }
}

/// The headers of super-block `u` of eight rows into rows `8h ..` of the eight sub-blocks'
/// [`TBlock`]s: the 16-byte headers transposed (`d`, `dmin`, then the 12 scale bytes `s`), the
/// scales unpacked as `quant`'s `unpack_scales_mins` does, all rows at once: for `j < 4`,
/// `sc[j] = s[j] & 63`, `mn[j] = s[j + 4] & 63`, `sc[j + 4] = s[j + 8] & 15 | (s[j] >> 2) & 48`,
/// `mn[j + 4] = s[j + 8] >> 4 | (s[j + 4] >> 2) & 48`.
///
/// # Safety
/// AVX2 must be available; every `rows.ptr[t]` valid for `(u + 1) · ts` bytes.
#[inline(always)]
unsafe fn scales_mins<const R: usize>(rows: &Rows, (u, h): (usize, usize), ts: usize, out: &mut [TBlock<R>]) {
    // SAFETY: AVX2 (the caller's contract); 16-byte loads at the start of each block.
    unsafe {
        let mut hx = [_mm_setzero_si128(); ROWS];
        for (h, &p) in hx.iter_mut().zip(&rows.ptr) {
            *h = _mm_loadu_si128(p.add(u * ts).cast());
        }
        // p[q]: header bytes 2q (low half) and 2q + 1 (high half) of the eight rows: p[0] the
        // bytes of d, p[1] of dmin; the scale bytes s[i] are header bytes 4 + i, so p[2 + i / 2]
        // holds s[i], s[i + 1] (i even).
        let p = transpose_8x16(&hx);
        let d = f16_lanes(_mm_unpacklo_epi8(p[0], _mm_srli_si128::<8>(p[0])));
        let dmin = f16_lanes(_mm_unpacklo_epi8(p[1], _mm_srli_si128::<8>(p[1])));
        let (m63, m15) = (_mm_set1_epi8(63), _mm_set1_epi8(15));
        let sc = [
            _mm_and_si128(p[2], m63),
            _mm_and_si128(p[3], m63),
            _mm_or_si128(_mm_and_si128(p[6], m15), top2(p[2])),
            _mm_or_si128(_mm_and_si128(p[7], m15), top2(p[3])),
        ];
        let mn = [
            _mm_and_si128(p[4], m63),
            _mm_and_si128(p[5], m63),
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16::<4>(p[6]), m15), top2(p[4])),
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16::<4>(p[7]), m15), top2(p[5])),
        ];
        for (s, o) in out[..8].iter_mut().enumerate() {
            let (scs, mns) = if s % 2 == 0 {
                (sc[s / 2], mn[s / 2])
            } else {
                (_mm_srli_si128::<8>(sc[s / 2]), _mm_srli_si128::<8>(mn[s / 2]))
            };
            put_f32(&mut o.d, h, d);
            // dmin · f32(mn), as the dequantizer rounds it.
            put_f32(&mut o.aux, h, _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mns))));
            put_pairs(&mut o.sc[0], h, scale_pairs(scs, false));
        }
    }
}

/// Q4_K and Q5_K codes into rows `8h ..`: sub-blocks `2q`, `2q + 1` from the nibbles of 32-byte
/// group `q` at `qs`, plus the fifth bits at 16 when `five`.
///
/// # Safety
/// AVX2 must be available; every `rows.ptr[t]` valid for `(u + 1) · ts` bytes.
#[inline(always)]
unsafe fn unpack_k<const R: usize>(
    rows: &Rows,
    (u, h): (usize, usize),
    (ts, qs, five): (usize, usize, bool),
    out: &mut [TBlock<R>],
) {
    // SAFETY: AVX2 (the caller's contract); 32-byte loads inside each block.
    unsafe {
        let mask = _mm256_set1_epi8(0x0f);
        let sixteen = _mm256_set1_epi8(0x10);
        for q in 0..4 {
            for half in 0..2 {
                let s = 2 * q + half;
                // A loop, not a closure: closures do not inherit the caller's target features.
                let mut r = [_mm256_setzero_si256(); ROWS];
                for (rt, &p) in r.iter_mut().zip(&rows.ptr) {
                    let b = p.add(u * ts);
                    let v = _mm256_loadu_si256(b.add(qs + 32 * q).cast());
                    let v = if half == 0 { v } else { _mm256_srli_epi16::<4>(v) };
                    let c = _mm256_and_si256(v, mask);
                    *rt = if five {
                        let qh = _mm256_loadu_si256(b.add(16).cast());
                        let bit = _mm256_set1_epi8(1 << s);
                        let set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
                        _mm256_or_si256(c, _mm256_and_si256(set, sixteen))
                    } else {
                        c
                    };
                }
                transpose_store(&r, &mut out[s].codes, h);
            }
        }
    }
}

impl Q8Kind for Q4K {
    const BS: usize = 256;
    const TS: usize = 144;
    #[inline(always)]
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let s = dot16::<M>(t, x, (0, 8), Some(&t.sc[0]));
            for ((a, s), xb) in acc.iter_mut().zip(s).zip(x) {
                *a = step_min16::<true>(*a, s, xb.meta, t);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: the caller's contract.
        unsafe {
            scales_mins(rows, (u, h), Self::TS, out);
            unpack_k(rows, (u, h), (Self::TS, 16, false), out);
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract; 4-bit codes: eight groups in i16.
        unsafe {
            let s = dot::<M, 8, VNNI>(t, x, (0, 8), Some(&t.sc[0]));
            for ((a, s), xb) in acc.iter_mut().zip(s).zip(x) {
                *a = step_min::<true>(*a, s, xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q5K {
    const BS: usize = 256;
    const TS: usize = 176;
    #[inline(always)]
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let s = dot16::<M>(t, x, (0, 8), Some(&t.sc[0]));
            for ((a, s), xb) in acc.iter_mut().zip(s).zip(x) {
                *a = step_min16::<true>(*a, s, xb.meta, t);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: the caller's contract.
        unsafe {
            scales_mins(rows, (u, h), Self::TS, out);
            unpack_k(rows, (u, h), (Self::TS, 48, true), out);
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract; 5-bit codes: four groups in i16.
        unsafe {
            let s = dot::<M, 4, VNNI>(t, x, (0, 8), Some(&t.sc[0]));
            for ((a, s), xb) in acc.iter_mut().zip(s).zip(x) {
                *a = step_min::<true>(*a, s, xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q6K {
    const BS: usize = 256;
    const TS: usize = 210;
    #[inline(always)]
    unsafe fn update16<const M: usize>(t: &TBlock<16>, x: &[XBlock<'_>; M], acc: &mut [__m512; M]) {
        // SAFETY: the caller's contract.
        unsafe {
            let (h0, h1) = (dot16::<M>(t, x, (0, 4), Some(&t.sc[0])), dot16::<M>(t, x, (4, 8), Some(&t.sc[1])));
            let scp = load_pairs(&t.scp);
            for (i, (a, xb)) in acc.iter_mut().zip(x).enumerate() {
                // 32 · (sc₀ sx₀ + sc₁ sx₁): one madd of the scale pairs by the half sums.
                let off = _mm512_madd_epi16(scp, _mm512_set1_epi32(xb.meta.sxh));
                let s = _mm512_sub_epi32(_mm512_add_epi32(h0[i], h1[i]), _mm512_slli_epi32::<5>(off));
                *a = step_offset16(*a, s, xb.meta, &t.d);
            }
        }
    }
    #[inline(always)]
    unsafe fn unpack<const R: usize>(rows: &Rows, u: usize, h: usize, out: &mut [TBlock<R>]) {
        // SAFETY: AVX2 (the caller's contract); 32-byte loads inside each block.
        unsafe {
            let d = f16_lanes(rows.u16s(u * Self::TS + 208));
            let mut hx = [_mm_setzero_si128(); ROWS];
            for (h, &p) in hx.iter_mut().zip(&rows.ptr) {
                *h = _mm_loadu_si128(p.add(u * Self::TS + 192).cast());
            }
            // p[s]: the scales of columns 0..16 (low half) and 16..32 (high) of sub-block s.
            let p = transpose_8x16(&hx);
            for (o, &ps) in out[..8].iter_mut().zip(&p) {
                let hi = _mm_srli_si128::<8>(ps);
                put_f32(&mut o.d, h, d);
                put_pairs(&mut o.sc[0], h, scale_pairs(ps, true));
                put_pairs(&mut o.sc[1], h, scale_pairs(hi, true));
                put_pairs(&mut o.scp, h, _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(ps, hi)));
            }
            let (lo4, hi2) = (_mm256_set1_epi8(0x0f), _mm256_set1_epi8(0x30));
            for g in 0..2 {
                for r in 0..4 {
                    let mut codes = [_mm256_setzero_si256(); ROWS];
                    for (ct, &p) in codes.iter_mut().zip(&rows.ptr) {
                        let b = p.add(u * Self::TS);
                        let ql = _mm256_loadu_si256(b.add(64 * g + 32 * (r % 2)).cast());
                        let qh = _mm256_loadu_si256(b.add(128 + 32 * g).cast());
                        let lo = if r < 2 { ql } else { _mm256_srli_epi16::<4>(ql) };
                        // Bits 2r, 2r + 1 of each qh byte to bits 4, 5 (16-bit shifts; the mask
                        // drops what crosses from the neighbouring byte).
                        let hi = match r {
                            0 => _mm256_slli_epi16::<4>(qh),
                            1 => _mm256_slli_epi16::<2>(qh),
                            2 => qh,
                            _ => _mm256_srli_epi16::<2>(qh),
                        };
                        *ct = _mm256_or_si256(_mm256_and_si256(lo, lo4), _mm256_and_si256(hi, hi2));
                    }
                    transpose_store(&codes, &mut out[4 * g + r].codes, h);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize, const VNNI: bool>(t: &TBlock<8>, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract; 6-bit codes: two groups in i16, each half by its scale.
        unsafe {
            let (h0, h1) =
                (dot::<M, 2, VNNI>(t, x, (0, 4), Some(&t.sc[0])), dot::<M, 2, VNNI>(t, x, (4, 8), Some(&t.sc[1])));
            let scp = load16(&t.scp);
            for (i, (a, xb)) in acc.iter_mut().zip(x).enumerate() {
                let dot = _mm256_add_epi32(h0[i], h1[i]);
                // 32 · (sc₀ sx₀ + sc₁ sx₁): one madd of the scale pairs by the half sums.
                let off = _mm256_madd_epi16(scp, _mm256_set1_epi32(xb.meta.sxh));
                *a = step_offset(*a, _mm256_sub_epi32(dot, _mm256_slli_epi32::<5>(off)), xb.meta, &t.d);
            }
        }
    }
}
