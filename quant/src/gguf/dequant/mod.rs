//! Dequantizers for GGML block types, matching the `gguf` PyPI package's numpy reference
//! (`gguf/quants.py`, checked against 0.19.0) bit for bit: the same f16 widening, the same f32
//! operations in the same order. One file per type (or small family); `blocks` runs them in
//! parallel over runs of whole blocks.

mod blocks;
mod half_bits;
pub(crate) mod k_scales;
mod plain;
mod q4_0;
mod q4_1;
mod q4_k;
mod q5_0;
mod q5_1;
mod q5_k;
mod q6_k;
mod q8_0;
mod row;

use super::types::GgmlType;
use crate::QuantError;

pub use half_bits::{bf16_to_f32, f16_to_f32};
pub use k_scales::unpack_scales_mins;
pub use row::{dequantize_row, is_block_quantized};

/// Whether `dequantize` can decode `ty`.
pub fn is_supported(ty: GgmlType) -> bool {
    use GgmlType::*;
    matches!(ty, F32 | F16 | BF16 | Q8_0 | Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q4K | Q5K | Q6K)
}

/// Decodes `bytes` (whole blocks of `ty`) into `out` (one f32 per element, in storage order).
/// Errors: `UnsupportedType` for types without a dequantizer, `BadTensor` when the lengths
/// disagree. The tensor name in those errors is filled in by the caller.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    check_lengths(ty, bytes, out.len())?;
    match ty {
        GgmlType::F32 => plain::dequantize_f32(bytes, out),
        GgmlType::F16 => plain::dequantize_f16(bytes, out),
        GgmlType::BF16 => plain::dequantize_bf16(bytes, out),
        GgmlType::Q8_0 => q8_0::dequantize_q8_0(bytes, out),
        GgmlType::Q4_0 => q4_0::dequantize_q4_0(bytes, out),
        GgmlType::Q4_1 => q4_1::dequantize_q4_1(bytes, out),
        GgmlType::Q5_0 => q5_0::dequantize_q5_0(bytes, out),
        GgmlType::Q5_1 => q5_1::dequantize_q5_1(bytes, out),
        GgmlType::Q4K => q4_k::dequantize_q4_k(bytes, out),
        GgmlType::Q5K => q5_k::dequantize_q5_k(bytes, out),
        GgmlType::Q6K => q6_k::dequantize_q6_k(bytes, out),
        _ => return Err(QuantError::UnsupportedType { tensor: String::new(), ty: ty.name().to_string() }),
    }
    Ok(())
}

/// Checks that `bytes` are exactly the whole blocks of `n` elements of `ty`.
pub(crate) fn check_lengths(ty: GgmlType, bytes: &[u8], n: usize) -> Result<(), QuantError> {
    let expect = ty.bytes_for(n as u64);
    if expect != Some(bytes.len() as u64) {
        let need = match expect {
            Some(b) => format!("need {b} bytes"),
            None => format!("are not a whole number of {}-element blocks", ty.block_size()),
        };
        return Err(QuantError::BadTensor {
            tensor: String::new(),
            what: format!("{} elements of {ty} {need}, got {} bytes", n, bytes.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
