//! The integer view of GGML blocks that [`super::matmul_gguf_q8_ref`] multiplies: for one
//! 32-column block of a weight row, its raw codes (unsigned, or signed for Q8_0) and the terms
//! that turn them into weights ([`Terms`]). Layouts are those of `quant::gguf::dequant` (see
//! its per-type headers); the f16 fields are widened with its exact `f16_to_f32`, so
//! dequantizing `Block32` with [`Block32::weight`] gives that decoder's values bit for bit
//! (the conformance tests check it).

use quant::gguf::dequant::{f16_to_f32, unpack_scales_mins};
use quant::gguf::GgmlType;

/// How the codes `q` of one 32-column block become weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Terms {
    /// `w = d · (q − z)`: Q8_0 (`z = 0`, `q` signed), Q4_0 (`z = 8`), Q5_0 (`z = 16`).
    Offset {
        /// Block scale.
        d: f32,
        /// Integer offset.
        z: i32,
    },
    /// `w = d · q + m`: Q4_1, Q5_1.
    Min {
        /// Block scale.
        d: f32,
        /// Block minimum.
        m: f32,
    },
    /// `w = (d · sc) · q − (dmin · mn)`: a sub-block of Q4_K or Q5_K (6-bit `sc`, `mn`).
    SubMin {
        /// Super-block scale.
        d: f32,
        /// Super-block scale of the minimums.
        dmin: f32,
        /// Sub-block scale, 0..64.
        sc: i32,
        /// Sub-block minimum, 0..64.
        mn: i32,
    },
    /// `w = (d · sc[h]) · (q − 32)` on half `h` (16 columns): two Q6_K sub-blocks.
    Halves {
        /// Super-block scale.
        d: f32,
        /// The two signed 8-bit sub-block scales.
        sc: [i32; 2],
    },
}

/// One 32-column block of a weight row: codes in column order and their [`Terms`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block32 {
    /// The raw codes: 0..16 (4-bit), 0..32 (5-bit), 0..64 (Q6_K), −128..128 (Q8_0).
    pub q: [i32; 32],
    /// Scale, offset or minimum.
    pub terms: Terms,
}

impl Block32 {
    /// Weight `t` as the exact decoder computes it (the same f32 operations in the same order).
    pub fn weight(&self, t: usize) -> f32 {
        let q = self.q[t];
        match self.terms {
            Terms::Offset { d, z: 0 } => q as f32 * d,
            Terms::Offset { d, z } => d * (q - z) as f32,
            Terms::Min { d, m } => d * q as f32 + m,
            Terms::SubMin { d, dmin, sc, mn } => d * sc as f32 * q as f32 - dmin * mn as f32,
            Terms::Halves { d, sc } => d * sc[t / 16] as f32 * (q - 32) as f32,
        }
    }
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// 16 bytes of nibbles: elements 0..16 low, 16..32 high; plus an optional fifth bit per element.
fn nibbles(qs: &[u8], qh: u32) -> [i32; 32] {
    std::array::from_fn(|t| (i32::from(qs[t % 16] >> (4 * (t / 16))) & 0x0f) | ((((qh >> t) & 1) as i32) << 4))
}

/// Block `b` (columns `32 b .. 32 b + 32`) of `row`, a whole row of `ty` blocks; `ty` must be
/// one of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
pub fn block32(ty: GgmlType, row: &[u8], b: usize) -> Block32 {
    let (bs, ts) = (ty.block_size(), ty.type_size());
    // The block that holds column 32 b, and the 32-column sub-block inside it.
    let (blk, s) = (&row[(32 * b / bs) * ts..][..ts], (32 * b % bs) / 32);
    match ty {
        GgmlType::Q8_0 => Block32 {
            q: std::array::from_fn(|t| i32::from(blk[2 + t] as i8)),
            terms: Terms::Offset { d: f16_at(blk, 0), z: 0 },
        },
        GgmlType::Q4_0 => Block32 { q: nibbles(&blk[2..18], 0), terms: Terms::Offset { d: f16_at(blk, 0), z: 8 } },
        GgmlType::Q5_0 => {
            let qh = u32::from_le_bytes(blk[2..6].try_into().unwrap());
            Block32 { q: nibbles(&blk[6..22], qh), terms: Terms::Offset { d: f16_at(blk, 0), z: 16 } }
        }
        GgmlType::Q4_1 => {
            Block32 { q: nibbles(&blk[4..20], 0), terms: Terms::Min { d: f16_at(blk, 0), m: f16_at(blk, 2) } }
        }
        GgmlType::Q5_1 => {
            let qh = u32::from_le_bytes(blk[4..8].try_into().unwrap());
            Block32 { q: nibbles(&blk[8..24], qh), terms: Terms::Min { d: f16_at(blk, 0), m: f16_at(blk, 2) } }
        }
        GgmlType::Q4K | GgmlType::Q5K => {
            let (sc, mn) = unpack_scales_mins(blk[4..16].try_into().unwrap());
            // Sub-block s: the low (s even) or high nibbles of bytes 32 (s / 2).. of the codes;
            // Q5_K's fifth bit is bit s of qh[t].
            let (qs, shift) = (if ty == GgmlType::Q4K { &blk[16..] } else { &blk[48..] }, 4 * (s % 2));
            let q = std::array::from_fn(|t| {
                let lo = i32::from(qs[32 * (s / 2) + t] >> shift) & 0x0f;
                let hi = if ty == GgmlType::Q5K { i32::from((blk[16 + t] >> s) & 1) << 4 } else { 0 };
                lo | hi
            });
            let terms =
                Terms::SubMin { d: f16_at(blk, 0), dmin: f16_at(blk, 2), sc: i32::from(sc[s]), mn: i32::from(mn[s]) };
            Block32 { q, terms }
        }
        GgmlType::Q6K => {
            // Run s of 32: half g = s / 4, run r = s % 4 of it (see `quant`'s Q6_K header).
            let (g, r) = (s / 4, s % 4);
            let (ql, qh) = (&blk[64 * g + 32 * (r % 2)..][..32], &blk[128 + 32 * g..][..32]);
            let q = std::array::from_fn(|t| {
                (i32::from(ql[t] >> (4 * (r / 2))) & 0x0f) | ((i32::from(qh[t] >> (2 * r)) & 0x03) << 4)
            });
            let sc = [i32::from(blk[192 + 2 * s] as i8), i32::from(blk[193 + 2 * s] as i8)];
            Block32 { q, terms: Terms::Halves { d: f16_at(blk, 208), sc } }
        }
        _ => panic!("block32: {ty} has no integer view"),
    }
}
