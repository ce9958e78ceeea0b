//! Decoders of the 256-weight GGML super-blocks (Q4_K, Q5_K, Q6_K) for the kernels: per
//! sub-block the codes are gathered into bytes and converted eight at a time with the
//! sub-block's scale (and minimum). Layouts and formulas are those of `quant::gguf::dequant`
//! (see its per-type headers), with the same f32 operations in the same order, so the values
//! are bit-identical to its decoders.

use super::lanes::{f16_at, offset_scale, scale_sub};
use super::BlockKind;
use crate::cpu::simd::Lanes;
use quant::gguf::dequant::unpack_scales_mins;

/// Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/minimums, 128 bytes of nibbles (sub-block
/// 2g in the low nibbles of bytes 32g.., 2g+1 in the high ones); w = (d·sc) q − (dmin·m).
pub(crate) struct Q4K;
/// Q5_K: Q4_K's fields plus 32 bytes of fifth bits (bit s of byte l: element l of sub-block s).
pub(crate) struct Q5K;
/// Q6_K: 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 signed scales, f16 d;
/// w = (d·scale) (q − 32).
pub(crate) struct Q6K;

impl BlockKind for Q4K {
    const BS: usize = 256;
    const TS: usize = 144;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let (sc, mn) = unpack_scales_mins(b[4..16].try_into().unwrap());
        // Byte group g holds sub-block 2g in its low nibbles and 2g + 1 in its high ones.
        for (g, qs) in b[16..144].chunks_exact(32).enumerate() {
            let (mut lo, mut hi) = ([0u8; 32], [0u8; 32]);
            for l in 0..32 {
                lo[l] = qs[l] & 0x0f;
                hi[l] = qs[l] >> 4;
            }
            for (s, codes) in [(2 * g, &lo), (2 * g + 1, &hi)] {
                // SAFETY: V's instruction set is present (the caller's contract).
                unsafe { scale_sub::<V>(codes, d * sc[s] as f32, dmin * mn[s] as f32, base + 32 * s, sink) }
            }
        }
    }
}

impl BlockKind for Q5K {
    const BS: usize = 256;
    const TS: usize = 176;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let (sc, mn) = unpack_scales_mins(b[4..16].try_into().unwrap());
        let qh = &b[16..48];
        for (g, qs) in b[48..176].chunks_exact(32).enumerate() {
            let (mut lo, mut hi) = ([0u8; 32], [0u8; 32]);
            for l in 0..32 {
                lo[l] = (qs[l] & 0x0f) | (((qh[l] >> (2 * g)) & 1) << 4);
                hi[l] = (qs[l] >> 4) | (((qh[l] >> (2 * g + 1)) & 1) << 4);
            }
            for (s, codes) in [(2 * g, &lo), (2 * g + 1, &hi)] {
                // SAFETY: as above.
                unsafe { scale_sub::<V>(codes, d * sc[s] as f32, dmin * mn[s] as f32, base + 32 * s, sink) }
            }
        }
    }
}

impl BlockKind for Q6K {
    const BS: usize = 256;
    const TS: usize = 210;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        let d = f16_at(b, 208);
        let scales = &b[192..208];
        // Half g (128 values): run k of 32 takes low nibbles (k < 2) or high nibbles (k >= 2) of
        // ql[64g + 32(k % 2)..] and bits 2k..2k+2 of qh[32g..].
        for g in 0..2 {
            let (ql, qh) = (&b[64 * g..64 * g + 64], &b[128 + 32 * g..160 + 32 * g]);
            let mut runs = [[0u8; 32]; 4];
            for l in 0..32 {
                let (a, c, h) = (ql[l], ql[32 + l], qh[l]);
                runs[0][l] = (a & 0x0f) | ((h & 0x03) << 4);
                runs[1][l] = (c & 0x0f) | (((h >> 2) & 0x03) << 4);
                runs[2][l] = (a >> 4) | (((h >> 4) & 0x03) << 4);
                runs[3][l] = (c >> 4) | (((h >> 6) & 0x03) << 4);
            }
            for (k, codes) in runs.iter().enumerate() {
                let r = 4 * g + k;
                for half in 0..2 {
                    let sc = d * (scales[2 * r + half] as i8) as f32;
                    let at = base + 32 * r + 16 * half;
                    // SAFETY: as above.
                    unsafe { offset_scale::<V>(&codes[16 * half..16 * half + 16], 32.0, sc, at, sink) }
                }
            }
        }
    }
}
