//! The eight-at-a-time conversions every decoder ends in: bytes of codes to `f32` lanes with an
//! offset and a scale, each operation rounded as the scalar references round it (unfused). Each
//! chunk of eight values is handed to a sink with its element offset (a kernel stores it into a
//! panel or multiplies it into its accumulators straight away).

use crate::cpu::simd::Lanes;

/// Sinks `(codes[i] - off) * scale` eight at a time (offsets `base + 8c`); the subtraction is
/// exact for byte codes and integer offsets, so this equals the references'
/// `scale * (q - off) as f32`. `codes.len()` is a multiple of 8.
///
/// # Safety
/// `V`'s instruction set must be present.
#[inline(always)]
pub(crate) unsafe fn offset_scale<V: Lanes>(
    codes: &[u8],
    off: f32,
    scale: f32,
    base: usize,
    sink: &mut impl FnMut(usize, V),
) {
    // SAFETY (whole body): each chunk holds eight bytes.
    unsafe {
        let (o, s) = (V::splat(off), V::splat(scale));
        for (c, c8) in codes.chunks_exact(8).enumerate() {
            sink(base + 8 * c, V::load_u8(c8.as_ptr()).sub(o).mul(s));
        }
    }
}

/// Sinks `codes[i] * scale + min`, multiply and add rounded separately (Q4_1, Q5_1).
///
/// # Safety
/// As [`offset_scale`].
#[inline(always)]
pub(crate) unsafe fn scale_add<V: Lanes>(
    codes: &[u8],
    scale: f32,
    min: f32,
    base: usize,
    sink: &mut impl FnMut(usize, V),
) {
    // SAFETY (whole body): each chunk holds eight bytes.
    unsafe {
        let (s, m) = (V::splat(scale), V::splat(min));
        for (c, c8) in codes.chunks_exact(8).enumerate() {
            sink(base + 8 * c, V::load_u8(c8.as_ptr()).mul(s).add(m));
        }
    }
}

/// Sinks `codes[i] * scale - min`, multiply and subtract rounded separately (Q4_K, Q5_K).
///
/// # Safety
/// As [`offset_scale`].
#[inline(always)]
pub(crate) unsafe fn scale_sub<V: Lanes>(
    codes: &[u8],
    scale: f32,
    min: f32,
    base: usize,
    sink: &mut impl FnMut(usize, V),
) {
    // SAFETY (whole body): each chunk holds eight bytes.
    unsafe {
        let (s, m) = (V::splat(scale), V::splat(min));
        for (c, c8) in codes.chunks_exact(8).enumerate() {
            sink(base + 8 * c, V::load_u8(c8.as_ptr()).mul(s).sub(m));
        }
    }
}

/// Sinks `codes[i] as i8 * scale` (Q8_0).
///
/// # Safety
/// As [`offset_scale`].
#[inline(always)]
pub(crate) unsafe fn signed_scale<V: Lanes>(codes: &[u8], scale: f32, base: usize, sink: &mut impl FnMut(usize, V)) {
    // SAFETY (whole body): each chunk holds eight bytes.
    unsafe {
        let s = V::splat(scale);
        for (c, c8) in codes.chunks_exact(8).enumerate() {
            sink(base + 8 * c, V::load_i8(c8.as_ptr().cast()).mul(s));
        }
    }
}
