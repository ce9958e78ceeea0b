//! Q5_0: blocks of 32 weights, an f16 scale `d`, a little-endian u32 `qh` of fifth bits (bit i
//! belongs to element i), then 16 bytes of low nibbles (low = elements 0..16, high = 16..32);
//! weight = d * (q - 16).

use super::blocks::for_each_block;
use super::half_bits::f16_at;

/// Decodes whole Q5_0 blocks (22 bytes -> 32 values).
pub fn dequantize_q5_0(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<32, 22, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 22], out: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    for (j, &q) in b[6..].iter().enumerate() {
        let lo = (q & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
        let hi = (q >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
        out[j] = d * (lo as i8 - 16) as f32;
        out[j + 16] = d * (hi as i8 - 16) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_blocks() {
        // d = 1; nibbles: low j, high 15 - j; qh sets the fifth bit of elements 0 and 31.
        let mut b = [0u8; 22];
        b[..2].copy_from_slice(&0x3c00u16.to_le_bytes());
        b[2..6].copy_from_slice(&(1u32 | 1 << 31).to_le_bytes());
        for j in 0..16u8 {
            b[6 + j as usize] = j | ((15 - j) << 4);
        }
        let mut out = [0f32; 32];
        dequantize_q5_0(&b, &mut out);
        assert_eq!(out[0], 0.0, "q = 16");
        assert_eq!(out[31], 0.0, "q = 0 | 16");
        for j in 1..16 {
            assert_eq!(out[j], j as f32 - 16.0, "element {j}");
            assert_eq!(out[15 + j], (16 - j) as f32 - 16.0, "element {}", 15 + j);
        }
    }
}
