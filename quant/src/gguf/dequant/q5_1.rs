//! Q5_1: blocks of 32 weights, f16 scale `d`, f16 minimum `m`, a little-endian u32 `qh` of fifth
//! bits (bit i belongs to element i), then 16 bytes of low nibbles (low = elements 0..16, high =
//! 16..32); weight = (d * q) + m, rounded after each operation.

use super::blocks::for_each_block;
use super::half_bits::f16_at;

/// Decodes whole Q5_1 blocks (24 bytes -> 32 values).
pub fn dequantize_q5_1(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<32, 24, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 24], out: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    for (j, &q) in b[8..].iter().enumerate() {
        let lo = (q & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
        let hi = (q >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
        out[j] = d * lo as f32 + m;
        out[j + 16] = d * hi as f32 + m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_blocks() {
        // d = 0.5, m = 10; all fifth bits set; nibbles: low j, high 0.
        let mut b = [0u8; 24];
        b[..2].copy_from_slice(&0x3800u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x4900u16.to_le_bytes());
        b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        for j in 0..16u8 {
            b[8 + j as usize] = j;
        }
        let mut out = [0f32; 32];
        dequantize_q5_1(&b, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], 0.5 * (16 + j) as f32 + 10.0, "element {j}");
            assert_eq!(out[16 + j], 0.5 * 16.0 + 10.0, "element {}", 16 + j);
        }
    }
}
