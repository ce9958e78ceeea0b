//! Dequantizers for GGML block types, matching the `gguf` PyPI package's numpy reference
//! (`gguf/quants.py`) bit for bit. One file per type family.

use super::types::GgmlType;
use crate::QuantError;

/// Decodes `bytes` (whole blocks of `ty`) into `out` (one f32 per element).
/// Errors: `UnsupportedType` for types without a dequantizer, `BadTensor` when the lengths
/// disagree. The tensor name in those errors is filled in by the caller.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    let expect = ty.bytes_for(out.len() as u64);
    if expect != Some(bytes.len() as u64) {
        return Err(QuantError::BadTensor {
            tensor: String::new(),
            what: format!(
                "{} elements of {ty} need {expect:?} bytes, got {}",
                out.len(),
                bytes.len()
            ),
        });
    }
    match ty {
        GgmlType::F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes(c.try_into().unwrap());
            }
        }
        GgmlType::F16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes(c.try_into().unwrap()).to_f32();
            }
        }
        GgmlType::BF16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::bf16::from_le_bytes(c.try_into().unwrap()).to_f32();
            }
        }
        _ => {
            return Err(QuantError::UnsupportedType {
                tensor: String::new(),
                ty: ty.name().to_string(),
            })
        }
    }
    Ok(())
}
