//! Q5_K: super-blocks of 256 weights in eight sub-blocks of 32. Layout: f16 `d`, f16 `dmin`, 12
//! bytes of 6-bit scales/minimums (see `k_scales`), 32 bytes `qh` (bit s of byte l is the fifth
//! bit of element l of sub-block s), 128 bytes of nibbles arranged as in Q4_K. Weight =
//! (d * sc) * q - (dmin * m), rounded to f32 after each operation.

use super::blocks::for_each_block;
use super::half_bits::f16_at;
use super::k_scales::unpack_scales_mins;

/// Decodes whole Q5_K blocks (176 bytes -> 256 values).
pub fn dequantize_q5_k(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<256, 176, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 176], out: &mut [f32; 256]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let (sc, mn) = unpack_scales_mins(b[4..16].try_into().unwrap());
    let qh = &b[16..48];
    let qs = &b[48..];
    for (s, sub) in out.chunks_exact_mut(32).enumerate() {
        let ds = d * sc[s] as f32;
        let dm = dmin * mn[s] as f32;
        let shift = 4 * (s % 2);
        let ql = &qs[32 * (s / 2)..32 * (s / 2) + 32];
        for ((o, &l), &h) in sub.iter_mut().zip(ql).zip(qh) {
            let q = ((l >> shift) & 0x0f) | (((h >> s) & 1) << 4);
            *o = ds * q as f32 - dm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_blocks() {
        // d = 0.5, dmin = 1; scales 2, minimums 1 everywhere; all nibbles 3; qh byte l has bit
        // s set when l == s (so element s of sub-block s gets q = 19).
        let mut b = [0u8; 176];
        b[..2].copy_from_slice(&0x3800u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x3c00u16.to_le_bytes());
        b[4..8].fill(2);
        b[8..12].fill(1);
        b[12..16].fill(0x12);
        for s in 0..8 {
            b[16 + s] = 1 << s;
        }
        b[48..].fill(0x33);
        let mut out = [0f32; 256];
        dequantize_q5_k(&b, &mut out);
        for (i, &v) in out.iter().enumerate() {
            let (s, l) = (i / 32, i % 32);
            let q = if s == l { 19.0 } else { 3.0 };
            assert_eq!(v, 1.0 * q - 1.0, "element {i}");
        }
    }
}
