//! Q8_0: blocks of 32 weights, an f16 scale `d` then 32 signed bytes; weight = q * d (one f32
//! multiply, as gguf-py computes it).

use super::blocks::for_each_block;
use super::half_bits::f16_at;

/// Decodes whole Q8_0 blocks (34 bytes -> 32 values).
pub fn dequantize_q8_0(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<32, 34, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 34], out: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    for (o, &q) in out.iter_mut().zip(&b[2..]) {
        *o = (q as i8) as f32 * d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_blocks() {
        // d = 0.5 (f16 0x3800); q_i = i - 16.
        let mut b = [0u8; 34];
        b[..2].copy_from_slice(&0x3800u16.to_le_bytes());
        for i in 0..32 {
            b[2 + i] = (i as i8 - 16) as u8;
        }
        let mut out = [0f32; 32];
        dequantize_q8_0(&b, &mut out);
        for (i, &v) in out.iter().enumerate() {
            assert_eq!(v, (i as f32 - 16.0) * 0.5, "element {i}");
        }
        // Extremes with a negative scale: -128 * -2 = 256, 127 * -2 = -254.
        b[..2].copy_from_slice(&0xc000u16.to_le_bytes());
        b[2] = 0x80;
        b[3] = 0x7f;
        dequantize_q8_0(&b, &mut out);
        assert_eq!(&out[..2], &[256.0, -254.0]);
    }
}
