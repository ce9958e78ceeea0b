//! Q4_1: blocks of 32 weights, f16 scale `d`, f16 minimum `m`, then 16 bytes of nibbles (low
//! nibbles = elements 0..16, high = 16..32); weight = (d * q) + m, rounded after each operation.

use super::blocks::for_each_block;
use super::half_bits::f16_at;

/// Decodes whole Q4_1 blocks (20 bytes -> 32 values).
pub fn dequantize_q4_1(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<32, 20, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 20], out: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let (lo, hi) = out.split_at_mut(16);
    for ((l, h), &q) in lo.iter_mut().zip(hi).zip(&b[4..]) {
        *l = d * (q & 0x0f) as f32 + m;
        *h = d * (q >> 4) as f32 + m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_blocks() {
        // d = 0.25, m = -1; byte j: low nibble j, high nibble 15.
        let mut b = [0u8; 20];
        b[..2].copy_from_slice(&0x3400u16.to_le_bytes());
        b[2..4].copy_from_slice(&0xbc00u16.to_le_bytes());
        for j in 0..16u8 {
            b[4 + j as usize] = j | 0xf0;
        }
        let mut out = [0f32; 32];
        dequantize_q4_1(&b, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], 0.25 * j as f32 - 1.0, "element {j}");
            assert_eq!(out[16 + j], 0.25 * 15.0 - 1.0, "element {}", 16 + j);
        }
    }
}
