//! Q4_0: blocks of 32 weights, an f16 scale `d` then 16 bytes of nibbles; the low nibbles are
//! elements 0..16, the high nibbles 16..32, and weight = d * (q - 8).

use super::blocks::for_each_block;
use super::half_bits::f16_at;

/// Decodes whole Q4_0 blocks (18 bytes -> 32 values).
pub fn dequantize_q4_0(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<32, 18, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 18], out: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let (lo, hi) = out.split_at_mut(16);
    for ((l, h), &q) in lo.iter_mut().zip(hi).zip(&b[2..]) {
        *l = d * ((q & 0x0f) as i8 - 8) as f32;
        *h = d * ((q >> 4) as i8 - 8) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_blocks() {
        // d = 2; byte j holds low nibble j (element j) and high nibble 15 - j (element 16 + j).
        let mut b = [0u8; 18];
        b[..2].copy_from_slice(&0x4000u16.to_le_bytes());
        for j in 0..16u8 {
            b[2 + j as usize] = j | ((15 - j) << 4);
        }
        let mut out = [0f32; 32];
        dequantize_q4_0(&b, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], 2.0 * (j as f32 - 8.0), "element {j}");
            assert_eq!(out[16 + j], 2.0 * (7.0 - j as f32), "element {}", 16 + j);
        }
        // Two blocks: the second has d = -1 and all nibbles 0 -> every weight is 8.
        let mut two = [0u8; 36];
        two[..18].copy_from_slice(&b);
        two[18..20].copy_from_slice(&0xbc00u16.to_le_bytes());
        let mut out2 = [0f32; 64];
        dequantize_q4_0(&two, &mut out2);
        assert_eq!(&out2[..32], &out[..]);
        assert!(out2[32..].iter().all(|&v| v == 8.0));
    }
}
