//! Bit-exact 16-bit float widening, as numpy does it: `float16 -> float32` keeps a NaN's payload
//! (a signalling NaN stays signalling, unlike the F16C instruction and the `half` crate's
//! fallback, which both set the quiet bit) and `bfloat16 -> float32` is a plain 16-bit shift.

/// Widens IEEE binary16 bits to f32 exactly; NaN payloads are kept as they are.
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = (h >> 10) & 0x1f;
    let man = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if man == 0 => sign,
        // Subnormal: man * 2^-24 is exact in f32 (and normal there).
        0 => sign | (man as f32 * f32::from_bits(0x3380_0000)).to_bits(),
        0x1f => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp as u32 + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// Widens bfloat16 bits to f32 (the high half of the f32 bits); NaN payloads are kept.
#[inline]
pub fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// The little-endian f16 at `bytes[at..at + 2]`, widened.
#[inline]
pub fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_matches_half_on_every_non_nan_and_keeps_nan_payloads() {
        for h in 0..=u16::MAX {
            let ours = f16_to_f32(h);
            let reference = half::f16::from_bits(h).to_f32();
            if reference.is_nan() {
                assert!(ours.is_nan(), "{h:#06x}");
                let expect = ((h as u32 & 0x8000) << 16) | 0x7f80_0000 | ((h as u32 & 0x3ff) << 13);
                assert_eq!(ours.to_bits(), expect, "{h:#06x}: payload must survive unchanged");
            } else {
                assert_eq!(ours.to_bits(), reference.to_bits(), "{h:#06x}");
            }
        }
        // A signalling NaN stays signalling (quiet bit 22 clear).
        assert_eq!(f16_to_f32(0x7c01).to_bits(), 0x7f80_2000);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }

    #[test]
    fn bf16_is_a_shift() {
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc000), -2.0);
        assert_eq!(bf16_to_f32(0x7f81).to_bits(), 0x7f81_0000);
    }
}
