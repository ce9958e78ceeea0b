//! Q4_1 encoder: blocks of 32 weights stored as an f16 scale `d`, an f16 minimum `m` and 16
//! bytes of nibbles (low nibbles elements 0..16, high 16..32), read back as `d * q + m`.
//!
//! `m = f16(min x)`, `d = f16((max x - min x) / 15)`, `q = clamp(round((x - m) / d), 0, 15)`:
//! the block's own range, with both parameters rounded to f16 before codes are chosen.

use super::blocks::encode_blocks;
use super::half::{f16_bytes, round_f16};

/// Encodes `values` (a multiple of 32) as Q4_1 blocks.
pub fn encode_q4_1(values: &[f32]) -> Vec<u8> {
    encode_blocks::<32, 20, _>(values, encode_block)
}

fn encode_block(x: &[f32; 32], out: &mut [u8; 20]) {
    let (lo, hi) = x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let d = round_f16((hi - lo) / 15.0);
    let m = round_f16(lo);
    let code = |v: f32| if d == 0.0 { 0 } else { ((v - m) / d).round_ties_even().clamp(0.0, 15.0) as u8 };
    out[..2].copy_from_slice(&f16_bytes(d));
    out[2..4].copy_from_slice(&f16_bytes(m));
    for j in 0..16 {
        out[4 + j] = code(x[j]) | (code(x[j + 16]) << 4);
    }
}
