//! Q4_0 encoder: blocks of 32 weights stored as an f16 scale `d` and 16 bytes of nibbles (byte
//! `j` holds element `j` in its low nibble and element `j + 16` in its high nibble), read back
//! as `d * (q - 8)`.
//!
//! - From f32 ([`encode_q4_0`]): `d = f16(m / -8)` where `m` is the element of largest
//!   magnitude, so `m` itself maps exactly to code 0 (llama.cpp's convention; `d` may be
//!   negative), `q = clamp(round(x / d) + 8, 0, 15)`.
//! - From a [`QuantizedWeight`] ([`q4_0_from_quantized`]): an int4 symmetric weight in groups of
//!   32 with f16-exact scales is exactly Q4_0 (`q = code`, `d = scale`).

use super::blocks::encode_blocks;
use super::half::{f16_bytes, round_f16};
use crate::format::IntFormat;
use crate::qweight::QuantizedWeight;
use crate::QuantError;

/// Encodes `values` (a multiple of 32) as Q4_0 blocks.
pub fn encode_q4_0(values: &[f32]) -> Vec<u8> {
    encode_blocks::<32, 18, _>(values, encode_block)
}

fn encode_block(x: &[f32; 32], out: &mut [u8; 18]) {
    let m = x.iter().fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
    let d = round_f16(m / -8.0);
    let code = |v: f32| if d == 0.0 { 8 } else { ((v / d).round_ties_even() + 8.0).clamp(0.0, 15.0) as u8 };
    out[..2].copy_from_slice(&f16_bytes(d));
    for j in 0..16 {
        out[2 + j] = code(x[j]) | (code(x[j + 16]) << 4);
    }
}

/// Checks that `q` is `int` symmetric in groups of 32 along whole rows, without act-order,
/// with every scale exact in f16: the grid of Q8_0 / Q4_0.
pub(super) fn check_block_grid(q: &QuantizedWeight, int: IntFormat, layout: &'static str) -> Result<(), QuantError> {
    let f = q.format();
    let bad = |what: String| Err(QuantError::Unrepresentable { layout, what });
    if f.int() != int || !f.symmetric() {
        return bad(format!("holds {} symmetric weights, not {}", int.name(), f.label()));
    }
    if q.group_size() != 32 || !q.k().is_multiple_of(32) {
        return bad(format!(
            "blocks are 32 weights along a row; got group size {} with in_features {}",
            q.group_size(),
            q.k()
        ));
    }
    if q.g_idx().is_some() {
        return bad("act-order (g_idx) has no GGUF block form".into());
    }
    if let Some(i) = q.scales().iter().position(|&s| round_f16(s) != s) {
        return bad(format!("scale {} at index {i} is not exact in f16 (quantize with f16 scales)", q.scales()[i]));
    }
    Ok(())
}

/// The Q4_0 bytes of `q` (`[n, k]`, row-major blocks): int4, symmetric, groups of 32, no
/// act-order, every scale exact in f16. Anything else is [`QuantError::Unrepresentable`].
pub fn q4_0_from_quantized(q: &QuantizedWeight) -> Result<Vec<u8>, QuantError> {
    check_block_grid(q, IntFormat::Int4, "GGUF Q4_0")?;
    let (k, ng) = (q.k(), q.n_groups());
    let mut out = Vec::with_capacity(q.n() * ng * 18);
    for (codes, scales) in q.codes().chunks(k).zip(q.scales().chunks(ng)) {
        for (block, &d) in codes.chunks(32).zip(scales) {
            out.extend_from_slice(&f16_bytes(d));
            out.extend((0..16).map(|j| block[j] | (block[j + 16] << 4)));
        }
    }
    Ok(out)
}
