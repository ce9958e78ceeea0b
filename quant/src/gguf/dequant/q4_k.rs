//! Q4_K: super-blocks of 256 weights in eight sub-blocks of 32. Layout: f16 `d`, f16 `dmin`, 12
//! bytes of 6-bit scales/minimums (see `k_scales`), 128 bytes of nibbles. Byte group g (32 bytes)
//! holds sub-block 2g in its low nibbles and 2g+1 in its high nibbles. Weight =
//! (d * sc) * q - (dmin * m), with each product and the difference rounded to f32, in that order.

use super::blocks::for_each_block;
use super::half_bits::f16_at;
use super::k_scales::unpack_scales_mins;

/// Decodes whole Q4_K blocks (144 bytes -> 256 values).
pub fn dequantize_q4_k(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<256, 144, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 144], out: &mut [f32; 256]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let (sc, mn) = unpack_scales_mins(b[4..16].try_into().unwrap());
    let qs = &b[16..];
    for (s, sub) in out.chunks_exact_mut(32).enumerate() {
        let ds = d * sc[s] as f32;
        let dm = dmin * mn[s] as f32;
        let shift = 4 * (s % 2);
        for (o, &q) in sub.iter_mut().zip(&qs[32 * (s / 2)..32 * (s / 2) + 32]) {
            *o = ds * ((q >> shift) & 0x0f) as f32 - dm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_blocks() {
        // d = 1, dmin = 0.5; every scale 2 and minimum 4 (bytes 0..8 = 2 / 4, bytes 8..12 =
        // 0x42); byte l of group g: low nibble (l % 16), high nibble 15.
        let mut b = [0u8; 144];
        b[..2].copy_from_slice(&0x3c00u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x3800u16.to_le_bytes());
        b[4..8].fill(2);
        b[8..12].fill(4);
        b[12..16].fill(0x42);
        for (l, q) in b[16..].iter_mut().enumerate() {
            *q = (l % 16) as u8 | 0xf0;
        }
        let mut out = [0f32; 256];
        dequantize_q4_k(&b, &mut out);
        for (i, &v) in out.iter().enumerate() {
            let (s, l) = (i / 32, i % 32);
            let q = if s % 2 == 0 { (l % 16) as f32 } else { 15.0 };
            assert_eq!(v, 2.0 * q - 2.0, "element {i}");
        }
    }

    #[test]
    fn sub_block_scales_are_independent() {
        // Only sub-block 5 gets a scale (6: low nibble of scale byte 8 + 1, block byte 13) and
        // sub-block 1 a minimum (3: scale byte 4 + 1, block byte 9); all quants are 1.
        let mut b = [0u8; 144];
        b[..2].copy_from_slice(&0x3c00u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x3c00u16.to_le_bytes());
        b[13] = 6;
        b[9] = 3;
        b[16..].fill(0x11);
        let mut out = [0f32; 256];
        dequantize_q4_k(&b, &mut out);
        for (i, &v) in out.iter().enumerate() {
            let expect = match i / 32 {
                5 => 6.0,
                1 => -3.0,
                _ => 0.0,
            };
            assert_eq!(v, expect, "element {i}");
        }
    }
}
