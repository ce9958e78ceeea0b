//! Q6_K: super-blocks of 256 weights in sixteen sub-blocks of 16. Layout: 128 bytes `ql` (low
//! nibbles), 64 bytes `qh` (high two bits), 16 signed 8-bit scales, f16 `d`. The 256 weights are
//! two halves of 128; in half g, run k (0..4) of 32 weights takes its low nibbles from
//! ql[64g + 32(k % 2) + l] (low nibble for k < 2, high for k >= 2) and its high bits from bits
//! 2k..2k+2 of qh[32g + l]. Weight = (d * scale[i / 16]) * (q - 32), each product rounded to f32.

use super::blocks::for_each_block;
use super::half_bits::f16_at;

/// Decodes whole Q6_K blocks (210 bytes -> 256 values).
pub fn dequantize_q6_k(bytes: &[u8], out: &mut [f32]) {
    for_each_block::<256, 210, _>(bytes, out, decode_block);
}

#[inline]
pub(crate) fn decode_block(b: &[u8; 210], out: &mut [f32; 256]) {
    let d = f16_at(b, 208);
    let ql = &b[..128];
    let qh = &b[128..192];
    let scales = &b[192..208];
    for (r, run) in out.chunks_exact_mut(32).enumerate() {
        let (g, k) = (r / 4, r % 4);
        let lo = &ql[64 * g + 32 * (k % 2)..][..32];
        let hi = &qh[32 * g..][..32];
        let lo_shift = 4 * (k / 2);
        let hi_shift = 2 * k;
        for (half, o16) in run.chunks_exact_mut(16).enumerate() {
            let sc = d * (scales[2 * r + half] as i8) as f32;
            let base = 16 * half;
            for (i, o) in o16.iter_mut().enumerate() {
                let q = ((lo[base + i] >> lo_shift) & 0x0f) | (((hi[base + i] >> hi_shift) & 0x03) << 4);
                *o = sc * (q as i8 - 32) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(d: u16) -> [u8; 210] {
        let mut b = [0u8; 210];
        b[208..].copy_from_slice(&d.to_le_bytes());
        b
    }

    #[test]
    fn hand_made_blocks() {
        // d = 1, all scales 1, ql = qh = 0 -> q = 0 - 32 everywhere.
        let mut b = block(0x3c00);
        b[192..208].fill(1);
        let mut out = [0f32; 256];
        dequantize_q6_k(&b, &mut out);
        assert!(out.iter().all(|&v| v == -32.0));

        // Scale i = i - 8 (signed), q = 33 everywhere (low nibble 1, high bits 0b10).
        b[..128].fill(0x11);
        b[128..192].fill(0b1010_1010);
        for i in 0..16 {
            b[192 + i] = (i as i8 - 8) as u8;
        }
        dequantize_q6_k(&b, &mut out);
        for (i, &v) in out.iter().enumerate() {
            assert_eq!(v, (i / 16) as f32 - 8.0, "element {i}");
        }
    }

    #[test]
    fn element_placement() {
        // Mark one weight per run r of 32: q = 63 at element 32r + r, all others q = 32 (so 0
        // after the offset). Byte positions follow the layout in the module header.
        let mut b = block(0x3c00);
        b[192..208].fill(1);
        b[128..192].fill(0b1010_1010); // high bits 2 in every run
        for r in 0..8 {
            let (g, k) = (r / 4, r % 4);
            b[64 * g + 32 * (k % 2) + r] |= 0x0f << (4 * (k / 2));
            b[128 + 32 * g + r] |= 0b11 << (2 * k);
        }
        let mut out = [0f32; 256];
        dequantize_q6_k(&b, &mut out);
        for (i, &v) in out.iter().enumerate() {
            let expect = if i % 32 == i / 32 { 31.0 } else { 0.0 };
            assert_eq!(v, expect, "element {i}");
        }
    }
}
