//! Unquantized element types: F32 (copied bit for bit), F16 and BF16 (widened exactly, NaN
//! payloads kept, as numpy's `astype(float32)` and gguf-py's BF16 shift do).

use super::blocks::for_each_block;
use super::half_bits::{bf16_to_f32, f16_to_f32};

/// Little-endian f32 elements.
pub fn dequantize_f32(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<1, 4, _>(bytes, out, |b, o| o[0] = f32::from_le_bytes(*b));
}

/// Little-endian IEEE binary16 elements.
pub fn dequantize_f16(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<1, 2, _>(bytes, out, f16_element);
}

/// Little-endian bfloat16 elements.
pub fn dequantize_bf16(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<1, 2, _>(bytes, out, bf16_element);
}

/// One little-endian f16 element, widened exactly.
#[inline(always)]
pub fn f16_element(b: &[u8; 2], o: &mut [f32; 1]) {
    o[0] = f16_to_f32(u16::from_le_bytes(*b));
}

/// One little-endian bf16 element, widened exactly.
#[inline(always)]
pub fn bf16_element(b: &[u8; 2], o: &mut [f32; 1]) {
    o[0] = bf16_to_f32(u16::from_le_bytes(*b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_types_decode_by_hand() {
        let mut out = [0f32; 2];
        dequantize_f32(&[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], &mut out);
        assert_eq!(out, [1.0, -2.0]);
        dequantize_f16(&[0x00, 0x3c, 0x00, 0xb8], &mut out);
        assert_eq!(out, [1.0, -0.5]);
        dequantize_bf16(&[0x80, 0x3f, 0x40, 0x40], &mut out);
        assert_eq!(out, [1.0, 3.0]);
    }
}
