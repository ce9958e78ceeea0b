//! The 256-column GGML super-blocks (Q4_K, Q5_K, Q6_K) for the `cpu-q8` kernels
//! ([`super::gguf_q8`]): each super-block of eight rows unpacked into eight [`TBlock`]s, one
//! per 32-column sub-block (codes in column order, then transposed; the integer sub-block
//! scales beside them; `d`, `dmin` widened exactly by [`f16_at`]), and a sub-block's step of
//! [`matmul_gguf_q8_ref`](crate::ops::matmul_gguf_q8_ref). Layouts as in `quant::gguf::dequant`:
//!
//! - Q4_K (144 bytes): f16 `d`, f16 `dmin`, 12 bytes of 6-bit scales/minimums, 128 bytes of
//!   nibbles (32-byte group `h`: sub-block `2h` low, `2h + 1` high);
//! - Q5_K (176 bytes): the same with 32 bytes of fifth bits (bit `s` of byte `l`: column `l` of
//!   sub-block `s`) before the nibbles;
//! - Q6_K (210 bytes): 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales (one
//!   per 16 columns), f16 `d`; half `g` (128 columns), run `r` of 32: nibbles of
//!   `ql[64g + 32(r mod 2)..]` (low for `r < 2`), bits `2r, 2r + 1` of `qh[32g..]`.

use super::gguf_q8_tile::{
    dot_unsigned, load16, step_offset, step_sub_min, transpose_store, Q8Kind, TBlock, XBlock, ROWS,
};
use super::lanes::f16_at;
use quant::gguf::dequant::unpack_scales_mins;
use std::arch::x86_64::*;

/// Q4_K: w = (d sc) q − (dmin mn).
pub(super) struct Q4K;
/// Q5_K: as Q4_K with 5-bit codes.
pub(super) struct Q5K;
/// Q6_K: w = (d sc[h]) (q − 32).
pub(super) struct Q6K;

/// The header of a Q4_K / Q5_K super-block of each row into the eight sub-blocks' [`TBlock`]s.
#[inline(always)]
fn scales_mins(rows: &[&[u8]; ROWS], out: &mut [TBlock]) {
    for (t, b) in rows.iter().enumerate() {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let (sc, mn) = unpack_scales_mins(b[4..16].try_into().unwrap());
        for (s, o) in out[..8].iter_mut().enumerate() {
            o.d[t] = d;
            o.aux[t] = dmin;
            o.mn[t] = f32::from(mn[s]);
            o.sc[0][2 * t] = i16::from(sc[s]);
            o.sc[0][2 * t + 1] = i16::from(sc[s]);
        }
    }
}

/// Super-block `u` of each of the eight rows, `ts` bytes long.
///
/// # Safety
/// Every `rows[t]` valid for `(u + 1) · ts` bytes.
#[inline(always)]
unsafe fn blocks<'a>(rows: &[*const u8; ROWS], u: usize, ts: usize) -> [&'a [u8]; ROWS] {
    // SAFETY: the caller's contract; the slices live only inside `unpack`, while the weight
    // is borrowed.
    std::array::from_fn(|t| unsafe { std::slice::from_raw_parts(rows[t].add(u * ts), ts) })
}

/// Q4_K and Q5_K codes: sub-blocks `2h`, `2h + 1` from the nibbles of 32-byte group `h` at
/// `qs`, plus the fifth bits at 16 when `five`.
///
/// # Safety
/// AVX2 must be available; `b` are whole super-blocks.
#[inline(always)]
unsafe fn unpack_k(b: &[&[u8]; ROWS], qs: usize, five: bool, out: &mut [TBlock]) {
    // SAFETY: AVX2 (the caller's contract); 32-byte loads inside each block.
    unsafe {
        let mask = _mm256_set1_epi8(0x0f);
        let sixteen = _mm256_set1_epi8(0x10);
        for h in 0..4 {
            for half in 0..2 {
                let s = 2 * h + half;
                let r: [__m256i; ROWS] = std::array::from_fn(|t| {
                    let v = _mm256_loadu_si256(b[t][qs + 32 * h..qs + 32 * h + 32].as_ptr().cast());
                    let v = if half == 0 { v } else { _mm256_srli_epi16::<4>(v) };
                    let c = _mm256_and_si256(v, mask);
                    if five {
                        let qh = _mm256_loadu_si256(b[t][16..48].as_ptr().cast());
                        let bit = _mm256_set1_epi8(1 << s);
                        let set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
                        _mm256_or_si256(c, _mm256_and_si256(set, sixteen))
                    } else {
                        c
                    }
                });
                transpose_store(&r, &mut out[s].codes);
            }
        }
    }
}

impl Q8Kind for Q4K {
    const BS: usize = 256;
    const TS: usize = 144;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: the caller's contract.
        unsafe {
            let b = blocks(rows, u, Self::TS);
            scales_mins(&b, out);
            unpack_k(&b, 16, false, out);
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract; 4-bit codes: eight groups in i16.
        unsafe {
            let s = dot_unsigned::<M, 8>(t, x, 0, load16(&t.sc[0]));
            for ((a, s), xb) in acc.iter_mut().zip(s).zip(x) {
                *a = step_sub_min(*a, s, xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q5K {
    const BS: usize = 256;
    const TS: usize = 176;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: the caller's contract.
        unsafe {
            let b = blocks(rows, u, Self::TS);
            scales_mins(&b, out);
            unpack_k(&b, 48, true, out);
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract; 5-bit codes: four groups in i16.
        unsafe {
            let sc = load16(&t.sc[0]);
            let (lo, hi) = (dot_unsigned::<M, 4>(t, x, 0, sc), dot_unsigned::<M, 4>(t, x, 4, sc));
            for (i, (a, xb)) in acc.iter_mut().zip(x).enumerate() {
                *a = step_sub_min(*a, _mm256_add_epi32(lo[i], hi[i]), xb.meta, t);
            }
        }
    }
}

impl Q8Kind for Q6K {
    const BS: usize = 256;
    const TS: usize = 210;
    #[inline(always)]
    unsafe fn unpack(rows: &[*const u8; ROWS], u: usize, out: &mut [TBlock]) {
        // SAFETY: AVX2 (the caller's contract); 32-byte loads inside each block.
        unsafe {
            let b = blocks(rows, u, Self::TS);
            for (t, bt) in b.iter().enumerate() {
                let d = f16_at(bt, 208);
                for (s, o) in out[..8].iter_mut().enumerate() {
                    let (sc0, sc1) = (i16::from(bt[192 + 2 * s] as i8), i16::from(bt[193 + 2 * s] as i8));
                    o.d[t] = d;
                    o.sc[0][2 * t..2 * t + 2].fill(sc0);
                    o.sc[1][2 * t..2 * t + 2].fill(sc1);
                    o.scp[2 * t] = sc0;
                    o.scp[2 * t + 1] = sc1;
                }
            }
            let (lo4, hi2) = (_mm256_set1_epi8(0x0f), _mm256_set1_epi8(0x30));
            for g in 0..2 {
                for r in 0..4 {
                    let codes: [__m256i; ROWS] = std::array::from_fn(|t| {
                        let at = 64 * g + 32 * (r % 2);
                        let ql = _mm256_loadu_si256(b[t][at..at + 32].as_ptr().cast());
                        let qh = _mm256_loadu_si256(b[t][128 + 32 * g..160 + 32 * g].as_ptr().cast());
                        let lo = if r < 2 { ql } else { _mm256_srli_epi16::<4>(ql) };
                        // Bits 2r, 2r + 1 of each qh byte to bits 4, 5 (16-bit shifts; the mask
                        // drops what crosses from the neighbouring byte).
                        let hi = match r {
                            0 => _mm256_slli_epi16::<4>(qh),
                            1 => _mm256_slli_epi16::<2>(qh),
                            2 => qh,
                            _ => _mm256_srli_epi16::<2>(qh),
                        };
                        _mm256_or_si256(_mm256_and_si256(lo, lo4), _mm256_and_si256(hi, hi2))
                    });
                    transpose_store(&codes, &mut out[4 * g + r].codes);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn update<const M: usize>(t: &TBlock, x: &[XBlock<'_>; M], acc: &mut [__m256; M]) {
        // SAFETY: the caller's contract; 6-bit codes: two groups in i16, each half by its scale.
        unsafe {
            let (sc0, sc1) = (load16(&t.sc[0]), load16(&t.sc[1]));
            let p = [
                dot_unsigned::<M, 2>(t, x, 0, sc0),
                dot_unsigned::<M, 2>(t, x, 2, sc0),
                dot_unsigned::<M, 2>(t, x, 4, sc1),
                dot_unsigned::<M, 2>(t, x, 6, sc1),
            ];
            let scp = load16(&t.scp);
            for (i, (a, xb)) in acc.iter_mut().zip(x).enumerate() {
                let dot = _mm256_add_epi32(_mm256_add_epi32(p[0][i], p[1][i]), _mm256_add_epi32(p[2][i], p[3][i]));
                // 32 · (sc₀ sx₀ + sc₁ sx₁): one madd of the scale pairs by the half sums.
                let off = _mm256_madd_epi16(scp, _mm256_set1_epi32(xb.meta.sxh));
                *a = step_offset(*a, _mm256_sub_epi32(dot, _mm256_slli_epi32::<5>(off)), xb.meta, &t.d);
            }
        }
    }
}
