//! Q8_0 encoder: blocks of 32 weights stored as an f16 scale `d` and 32 signed bytes `q`, read
//! back as `q * d`.
//!
//! - From f32 ([`encode_q8_0`]): `d = f16(max|x| / 127)`, `q = round(x / d)` (llama.cpp's
//!   convention; the scale is rounded first, codes are clamped to -128..=127).
//! - From a [`QuantizedWeight`] ([`q8_0_from_quantized`]): an int8 symmetric weight in groups of
//!   32 with f16-exact scales is exactly Q8_0 (`q = code - 128`, `d = scale`), so the GGUF
//!   decodes bit for bit to `QuantizedWeight::dequantize`.

use super::blocks::encode_blocks;
use super::half::{f16_bytes, round_f16};
use crate::format::IntFormat;
use crate::qweight::QuantizedWeight;
use crate::QuantError;

/// Encodes `values` (a multiple of 32) as Q8_0 blocks.
pub fn encode_q8_0(values: &[f32]) -> Vec<u8> {
    encode_blocks::<32, 34, _>(values, encode_block)
}

fn encode_block(x: &[f32; 32], out: &mut [u8; 34]) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = round_f16(amax / 127.0);
    out[..2].copy_from_slice(&f16_bytes(d));
    for (o, &v) in out[2..].iter_mut().zip(x) {
        let q = if d == 0.0 { 0.0 } else { (v / d).round_ties_even().clamp(-128.0, 127.0) };
        *o = (q as i8) as u8;
    }
}

/// The Q8_0 bytes of `q` (`[n, k]`, row-major blocks): int8, symmetric, groups of 32, no
/// act-order, every scale exact in f16. Anything else is [`QuantError::Unrepresentable`].
pub fn q8_0_from_quantized(q: &QuantizedWeight) -> Result<Vec<u8>, QuantError> {
    super::q4_0::check_block_grid(q, IntFormat::Int8, "GGUF Q8_0")?;
    let (k, ng) = (q.k(), q.n_groups());
    let mut out = Vec::with_capacity(q.n() * ng * 34);
    for (codes, scales) in q.codes().chunks(k).zip(q.scales().chunks(ng)) {
        for (block, &d) in codes.chunks(32).zip(scales) {
            out.extend_from_slice(&f16_bytes(d));
            out.extend(block.iter().map(|&c| (c as i16 - 128) as i8 as u8));
        }
    }
    Ok(out)
}
