//! Block headers of eight W rows at once for the `cpu-q8` GGML kernels: the rows' f16 fields
//! collected into the lanes of one vector ([`Rows::u16s`]) and widened to f32 exactly
//! ([`f16_lanes`]: the bits of `quant`'s `f16_to_f32`, NaN payloads kept), and a 16-byte field
//! of the eight rows transposed ([`transpose_8x16`]) so that each byte position becomes a vector
//! over the rows (the K types' sub-block scales).

use super::gguf_q8_tile::ROWS;
use std::arch::x86_64::*;

/// The eight row pointers of a tile (lane `t`: row `t`).
#[derive(Clone, Copy)]
pub(super) struct Rows {
    pub ptr: [*const u8; ROWS],
}

impl Rows {
    /// Lane `t`: the little-endian u16 at `ptr[t] + at`, by eight scalar inserts (a
    /// `vpgatherdd` is several times slower on CPUs with the gather-sampling mitigation).
    ///
    /// # Safety
    /// AVX2 must be available; every `ptr[t] + at .. + 2` readable.
    #[inline(always)]
    pub(super) unsafe fn u16s(&self, at: usize) -> __m128i {
        // SAFETY: AVX2 (the caller's contract); two bytes at each ptr[t] + at.
        unsafe {
            let h = |t: usize| i32::from(std::ptr::read_unaligned(self.ptr[t].add(at).cast::<u16>()));
            _mm_setr_epi16(
                h(0) as i16,
                h(1) as i16,
                h(2) as i16,
                h(3) as i16,
                h(4) as i16,
                h(5) as i16,
                h(6) as i16,
                h(7) as i16,
            )
        }
    }
}

/// Eight f16 (the u16 lanes of `h`) widened to f32 with the bits of
/// `quant::gguf::dequant::f16_to_f32`: normal numbers and infinities/NaNs (payload kept) by
/// moving bits, zeros and subnormals as `mantissa · 2⁻²⁴` (exact), the sign on top.
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn f16_lanes(h: __m128i) -> __m256 {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        let h = _mm256_cvtepu16_epi32(h);
        let mag = _mm256_and_si256(h, _mm256_set1_epi32(0x7fff));
        let exp = _mm256_and_si256(h, _mm256_set1_epi32(0x7c00));
        let moved = _mm256_slli_epi32::<13>(mag);
        let normal = _mm256_add_epi32(moved, _mm256_set1_epi32(0x3800_0000));
        let inf_nan = _mm256_add_epi32(moved, _mm256_set1_epi32(0x7000_0000));
        let sub = _mm256_castps_si256(_mm256_mul_ps(
            _mm256_cvtepi32_ps(_mm256_and_si256(h, _mm256_set1_epi32(0x3ff))),
            _mm256_set1_ps(f32::from_bits(0x3380_0000)),
        ));
        let is_sub = _mm256_cmpeq_epi32(exp, _mm256_setzero_si256());
        let is_max = _mm256_cmpeq_epi32(exp, _mm256_set1_epi32(0x7c00));
        let bits = _mm256_blendv_epi8(_mm256_blendv_epi8(normal, inf_nan, is_max), sub, is_sub);
        let sign = _mm256_slli_epi32::<16>(_mm256_and_si256(h, _mm256_set1_epi32(0x8000)));
        _mm256_castsi256_ps(_mm256_or_si256(bits, sign))
    }
}

/// Eight 16-byte rows `x[t]` → `out[q]` = bytes `2q` of rows 0..8 (low 8 bytes), then bytes
/// `2q + 1` of rows 0..8 (high 8 bytes).
///
/// # Safety
/// AVX2 must be available.
#[inline(always)]
pub(super) unsafe fn transpose_8x16(x: &[__m128i; ROWS]) -> [__m128i; 8] {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        // Byte pairs of rows (2p, 2p + 1): positions 0..8 (lo) and 8..16 (hi).
        let mut p = [[_mm_setzero_si128(); 2]; 4];
        for (q, pq) in p.iter_mut().enumerate() {
            *pq = [_mm_unpacklo_epi8(x[2 * q], x[2 * q + 1]), _mm_unpackhi_epi8(x[2 * q], x[2 * q + 1])];
        }
        // Rows 0-3 (a) and 4-7 (b), four positions a vector: [pos 4c + 0 | .. | 4c + 3].
        let mut a = [_mm_setzero_si128(); 4];
        let mut b = [_mm_setzero_si128(); 4];
        for h in 0..2 {
            a[2 * h] = _mm_unpacklo_epi16(p[0][h], p[1][h]);
            a[2 * h + 1] = _mm_unpackhi_epi16(p[0][h], p[1][h]);
            b[2 * h] = _mm_unpacklo_epi16(p[2][h], p[3][h]);
            b[2 * h + 1] = _mm_unpackhi_epi16(p[2][h], p[3][h]);
        }
        let mut out = [_mm_setzero_si128(); 8];
        for c in 0..4 {
            out[2 * c] = _mm_unpacklo_epi32(a[c], b[c]);
            out[2 * c + 1] = _mm_unpackhi_epi32(a[c], b[c]);
        }
        out
    }
}
