//! Decoders of the 32-weight GGML blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) for the kernels: the
//! codes of a block are gathered into bytes, then converted eight at a time. Layouts and
//! formulas are those of `quant::gguf::dequant` (see its per-type headers), with the same f32
//! operations in the same order, so the values are bit-identical to its decoders.

use super::lanes::{f16_at, offset_scale, scale_add, signed_scale};
use super::BlockKind;
use crate::cpu::simd::Lanes;

/// Elements 0..16 from the low nibbles of `qs`, 16..32 from the high ones.
#[inline(always)]
fn nibbles(qs: &[u8]) -> [u8; 32] {
    let mut c = [0u8; 32];
    for (j, &q) in qs[..16].iter().enumerate() {
        c[j] = q & 0x0f;
        c[j + 16] = q >> 4;
    }
    c
}

/// Nibbles plus a fifth bit per element from `qh` (bit i belongs to element i).
#[inline(always)]
fn nibbles5(qs: &[u8], qh: u32) -> [u8; 32] {
    let mut c = nibbles(qs);
    for (i, v) in c.iter_mut().enumerate() {
        *v |= (((qh >> i) & 1) as u8) << 4;
    }
    c
}

/// Q4_0: f16 d, 16 bytes of nibbles; w = d * (q - 8).
pub(crate) struct Q4_0;
/// Q4_1: f16 d, f16 m, 16 bytes of nibbles; w = d * q + m.
pub(crate) struct Q4_1;
/// Q5_0: f16 d, u32 fifth bits, 16 bytes of nibbles; w = d * (q - 16).
pub(crate) struct Q5_0;
/// Q5_1: f16 d, f16 m, u32 fifth bits, 16 bytes of nibbles; w = d * q + m.
pub(crate) struct Q5_1;
/// Q8_0: f16 d, 32 signed bytes; w = q * d.
pub(crate) struct Q8_0;

impl BlockKind for Q4_0 {
    const BS: usize = 32;
    const TS: usize = 18;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        // SAFETY: V's instruction set is present (the caller's contract).
        unsafe { offset_scale::<V>(&nibbles(&b[2..18]), 8.0, f16_at(b, 0), base, sink) }
    }
}

impl BlockKind for Q4_1 {
    const BS: usize = 32;
    const TS: usize = 20;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        // SAFETY: as above.
        unsafe { scale_add::<V>(&nibbles(&b[4..20]), f16_at(b, 0), f16_at(b, 2), base, sink) }
    }
}

impl BlockKind for Q5_0 {
    const BS: usize = 32;
    const TS: usize = 22;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        // SAFETY: as above.
        unsafe { offset_scale::<V>(&nibbles5(&b[6..22], qh), 16.0, f16_at(b, 0), base, sink) }
    }
}

impl BlockKind for Q5_1 {
    const BS: usize = 32;
    const TS: usize = 24;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        // SAFETY: as above.
        unsafe { scale_add::<V>(&nibbles5(&b[8..24], qh), f16_at(b, 0), f16_at(b, 2), base, sink) }
    }
}

impl BlockKind for Q8_0 {
    const BS: usize = 32;
    const TS: usize = 34;
    #[inline(always)]
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V)) {
        // SAFETY: as above.
        unsafe { signed_scale::<V>(&b[2..34], f16_at(b, 0), base, sink) }
    }
}
