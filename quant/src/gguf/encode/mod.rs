//! Encoders for GGML block types: f32 values (or a [`QuantizedWeight`](crate::QuantizedWeight)
//! whose grid is exactly a block type's) to the bytes the dequantizers in [`super::dequant`]
//! read. One file per type; `blocks` runs them in parallel over whole blocks; `half` stores f16.
//!
//! Every encoder rounds its block scales to f16 *before* choosing codes, so the codes are the
//! best ones for the scale a reader decodes with. Rounding is half-to-even.

mod blocks;
mod half;
mod q4_0;
mod q4_1;
mod q4_k;
mod q8_0;

#[cfg(test)]
mod tests;

pub use q4_0::{encode_q4_0, q4_0_from_quantized};
pub use q4_1::encode_q4_1;
pub use q4_k::encode_q4_k;
pub use q8_0::{encode_q8_0, q8_0_from_quantized};

use super::types::GgmlType;
use crate::QuantError;

/// The block types [`encode`] writes from f32 values.
pub const ENCODABLE: [GgmlType; 6] =
    [GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q4K];

/// Encodes `values` (rows of whole blocks, storage order) as `ty`. `tensor` names the tensor in
/// errors: values that are not a whole number of blocks, non-finite values, or a type without an
/// encoder.
pub fn encode(ty: GgmlType, values: &[f32], tensor: &str) -> Result<Vec<u8>, QuantError> {
    let bad = |what: String| QuantError::BadTensor { tensor: tensor.to_string(), what };
    if !values.len().is_multiple_of(ty.block_size()) {
        return Err(bad(format!(
            "{} values are not a whole number of {ty} blocks of {}",
            values.len(),
            ty.block_size()
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!("value {i} is {}; GGUF blocks hold finite values only", values[i])));
    }
    Ok(match ty {
        GgmlType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        GgmlType::F16 => {
            if let Some(i) = values.iter().position(|v| v.abs() > half::F16_MAX) {
                return Err(bad(format!("value {i} = {} overflows f16; write this tensor as F32", values[i])));
            }
            values.iter().flat_map(|&v| half::f16_bytes(v)).collect()
        }
        GgmlType::Q8_0 => encode_q8_0(values),
        GgmlType::Q4_0 => encode_q4_0(values),
        GgmlType::Q4_1 => encode_q4_1(values),
        GgmlType::Q4K => encode_q4_k(values),
        other => {
            return Err(QuantError::UnsupportedType {
                tensor: tensor.to_string(),
                ty: format!("{other} (qtool encodes {})", ENCODABLE.map(|t| t.name()).join(", ")),
            })
        }
    })
}
