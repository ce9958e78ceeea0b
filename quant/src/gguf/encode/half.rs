//! f16 storage helpers for the encoders: round to nearest even and get the little-endian bytes.

/// The largest finite f16.
pub const F16_MAX: f32 = 65504.0;

/// `x` rounded to the nearest f16 (ties to even), as f32.
#[inline]
pub fn round_f16(x: f32) -> f32 {
    ::half::f16::from_f32(x).to_f32()
}

/// Little-endian bytes of `x` rounded to f16.
#[inline]
pub fn f16_bytes(x: f32) -> [u8; 2] {
    ::half::f16::from_f32(x).to_le_bytes()
}
