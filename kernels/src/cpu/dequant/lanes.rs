//! What every decoder ends in: bytes of codes converted to `f32` lanes eight at a time, an
//! element-wise map (offset, scale, minimum) applied with each operation rounded as the scalar
//! references round it (unfused), and each chunk handed to a sink with its element offset (a
//! kernel stores it into a buffer or panel). Also the f16 scale reader the block decoders share.

use crate::cpu::simd::Lanes;
use quant::gguf::dequant::f16_to_f32;

/// Converts `codes` (a multiple of 8 bytes; `i8` when `signed`, else `u8`) eight at a time,
/// maps each chunk with `f` and sinks it at offset `base + 8c`.
///
/// # Safety
/// `V`'s instruction set must be present.
#[inline(always)]
unsafe fn convert<V: Lanes>(
    codes: &[u8],
    signed: bool,
    base: usize,
    sink: &mut impl FnMut(usize, V),
    f: impl Fn(V) -> V,
) {
    for (c, c8) in codes.chunks_exact(8).enumerate() {
        // SAFETY: each chunk holds eight bytes; the caller vouches for V.
        let v = unsafe {
            if signed {
                V::load_i8(c8.as_ptr().cast())
            } else {
                V::load_u8(c8.as_ptr())
            }
        };
        sink(base + 8 * c, f(v));
    }
}

/// Sinks `(codes[i] - off) * scale`; the subtraction is exact for byte codes and integer
/// offsets, so this equals the references' `scale * (q - off) as f32`.
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
    // SAFETY: the caller vouches for V.
    unsafe {
        let (o, s) = (V::splat(off), V::splat(scale));
        convert(codes, false, base, sink, |v: V| v.sub(o).mul(s));
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
    // SAFETY: the caller vouches for V.
    unsafe {
        let (s, m) = (V::splat(scale), V::splat(min));
        convert(codes, false, base, sink, |v: V| v.mul(s).add(m));
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
    // SAFETY: the caller vouches for V.
    unsafe {
        let (s, m) = (V::splat(scale), V::splat(min));
        convert(codes, false, base, sink, |v: V| v.mul(s).sub(m));
    }
}

/// Sinks `codes[i] as i8 * scale` (Q8_0).
///
/// # Safety
/// As [`offset_scale`].
#[inline(always)]
pub(crate) unsafe fn signed_scale<V: Lanes>(codes: &[u8], scale: f32, base: usize, sink: &mut impl FnMut(usize, V)) {
    // SAFETY: the caller vouches for V.
    unsafe {
        let s = V::splat(scale);
        convert(codes, true, base, sink, |v: V| v.mul(s));
    }
}

/// The little-endian f16 at `b[at..at + 2]`, widened exactly (normal numbers by bit moves,
/// the rest by `quant`'s converter, which keeps NaN payloads as the references do).
#[inline(always)]
pub(crate) fn f16_at(b: &[u8], at: usize) -> f32 {
    let h = u16::from_le_bytes([b[at], b[at + 1]]);
    let e = h & 0x7c00;
    if e != 0 && e != 0x7c00 {
        f32::from_bits(((h as u32 & 0x8000) << 16) | (((h as u32 & 0x7fff) << 13) + 0x3800_0000))
    } else {
        f16_to_f32(h)
    }
}
