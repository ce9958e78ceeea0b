//! compressed-tensors layouts (what llm-compressor writes and vLLM / transformers load).
//!
//! "pack-quantized", per Linear with `W[n, k]`, `b` bits, `G` groups per row:
//! - `weight_packed` int32 `[n, ceil(k * b / 32)]`: each row's codes as a dense bit stream
//!   ([`super::bitstream`]); the stored code is the signed code plus `2^(b-1)`, which is exactly
//!   qtool's unsigned code;
//! - `weight_scale` `[n, G]` (written in the model's dtype);
//! - `weight_zero_point` int32 `[ceil(n * b / 32), G]`, asymmetric only: each column of zero
//!   points (signed zp + `2^(b-1)` = qtool's unsigned zero) packed as a bit stream along dim 0;
//! - `weight_shape` `[n, k]`; `weight_g_idx` `[k]` with group act-order only.
//!
//! compressed-tensors refuses a group size that does not divide `k` when `k >= g` (its
//! dequantizer infers `g = k / G`), so such weights are [`QuantError::Unrepresentable`] here.
//!
//! "int-quantized" (W8A8): `weight` int8 `[n, k]` holding the signed codes, `weight_scale`
//! `[n, G]`, `weight_zero_point` int8 `[n, G]` (signed) when asymmetric.
//!
//! Source facts: compressed-tensors 0.18 `compressors/pack_quantized/{base,helpers}.py`,
//! `quantization/lifecycle/forward_helpers.py` (`_process_group`).

use super::bitstream;
use crate::format::{ScaleDtype, WeightFormat};
use crate::qweight::{QuantizedParts, QuantizedWeight};
use crate::QuantError;

const PACKED: &str = "compressed-tensors pack-quantized";
const INT: &str = "compressed-tensors int-quantized";

/// The tensors of one Linear in "pack-quantized" format (row-major, shapes in the fields' docs).
#[derive(Clone, Debug, PartialEq)]
pub struct CtPackQuantized {
    /// `[n, k]`, written as `weight_shape`.
    pub weight_shape: [usize; 2],
    /// `[n, packed_cols]` with `packed_cols = ceil(k * b / 32)`.
    pub weight_packed: Vec<i32>,
    /// `[n, n_groups]`, exact in the weight's scale dtype.
    pub weight_scale: Vec<f32>,
    /// `[ceil(n * b / 32), n_groups]`, asymmetric only.
    pub weight_zero_point: Option<Vec<i32>>,
    /// `[k]`, act-order only.
    pub weight_g_idx: Option<Vec<i32>>,
}

/// The tensors of one Linear in "int-quantized" format (8-bit, unpacked, signed).
#[derive(Clone, Debug, PartialEq)]
pub struct CtIntQuantized {
    /// `[n, k]`.
    pub weight_shape: [usize; 2],
    /// `[n, k]` signed codes.
    pub weight: Vec<i8>,
    /// `[n, n_groups]`.
    pub weight_scale: Vec<f32>,
    /// `[n, n_groups]` signed zero points, asymmetric only.
    pub weight_zero_point: Option<Vec<i8>>,
}

fn check_groups(q: &QuantizedWeight, layout: &'static str) -> Result<(), QuantError> {
    let (k, g) = (q.k(), q.group_size());
    if k >= g && !k.is_multiple_of(g) {
        return Err(QuantError::Unrepresentable {
            layout,
            what: format!("group size {g} does not divide in_features {k}"),
        });
    }
    Ok(())
}

fn to_i32(words: Vec<u32>) -> Vec<i32> {
    words.into_iter().map(|w| w as i32).collect()
}

/// Packs a quantized weight into "pack-quantized" tensors.
pub fn pack_ct(q: &QuantizedWeight) -> Result<CtPackQuantized, QuantError> {
    check_groups(q, PACKED)?;
    let (n, k, bits, ng) = (q.n(), q.k(), q.format().bits(), q.n_groups());
    let cols = bitstream::words_for(k, bits);
    let mut packed = vec![0u32; n * cols];
    for (dst, src) in packed.chunks_mut(cols).zip(q.codes().chunks(k)) {
        bitstream::pack_into(src.iter().copied(), bits, dst);
    }
    let zero_point = q.zeros().map(|z| {
        let rows = bitstream::words_for(n, bits);
        let mut out = vec![0u32; rows * ng];
        let mut col = vec![0u32; rows];
        for gi in 0..ng {
            bitstream::pack_into((0..n).map(|r| z[r * ng + gi]), bits, &mut col);
            for (w, &v) in col.iter().enumerate() {
                out[w * ng + gi] = v;
            }
        }
        to_i32(out)
    });
    Ok(CtPackQuantized {
        weight_shape: [n, k],
        weight_packed: to_i32(packed),
        weight_scale: q.scales().to_vec(),
        weight_zero_point: zero_point,
        weight_g_idx: q.g_idx().map(|g| g.iter().map(|&v| v as i32).collect()),
    })
}

/// Reads "pack-quantized" tensors back, given the format and scale dtype from the config.
pub fn unpack_ct(p: &CtPackQuantized, format: &WeightFormat, dtype: ScaleDtype) -> Result<QuantizedWeight, QuantError> {
    let [n, k] = p.weight_shape;
    let (bits, ng) = (format.bits(), format.n_groups(k));
    let cols = bitstream::words_for(k, bits);
    if p.weight_packed.len() != n * cols {
        return Err(QuantError::BadQuantized {
            what: format!("weight_packed has {} words, expected [{n}, {cols}]", p.weight_packed.len()),
        });
    }
    let words: Vec<u32> = p.weight_packed.iter().map(|&w| w as u32).collect();
    let codes = words.chunks(cols).flat_map(|row| bitstream::unpack(row, bits, k)).collect();
    let zeros = match &p.weight_zero_point {
        None => None,
        Some(zp) => {
            let rows = bitstream::words_for(n, bits);
            if zp.len() != rows * ng {
                return Err(QuantError::BadQuantized {
                    what: format!("weight_zero_point has {} words, expected [{rows}, {ng}]", zp.len()),
                });
            }
            let mut z = vec![0u8; n * ng];
            for gi in 0..ng {
                let col: Vec<u32> = (0..rows).map(|w| zp[w * ng + gi] as u32).collect();
                for (r, v) in bitstream::unpack(&col, bits, n).into_iter().enumerate() {
                    z[r * ng + gi] = v;
                }
            }
            Some(z)
        }
    };
    let g_idx = match &p.weight_g_idx {
        None => None,
        Some(g) => Some(non_negative(g, "weight_g_idx")?),
    };
    QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: dtype,
        n,
        k,
        codes,
        scales: p.weight_scale.clone(),
        zeros,
        g_idx,
    })
}

pub(crate) fn non_negative(g: &[i32], what: &str) -> Result<Vec<u32>, QuantError> {
    g.iter()
        .enumerate()
        .map(|(j, &v)| {
            u32::try_from(v).map_err(|_| QuantError::BadQuantized { what: format!("{what}[{j}] = {v} is negative") })
        })
        .collect()
}

/// The "int-quantized" tensors of an 8-bit weight (signed code = stored code - 128).
pub fn int_quantized_ct(q: &QuantizedWeight) -> Result<CtIntQuantized, QuantError> {
    check_groups(q, INT)?;
    if q.format().bits() != 8 || q.g_idx().is_some() {
        return Err(QuantError::Unrepresentable {
            layout: INT,
            what: format!("holds 8-bit weights without act-order, not {}", q.format().label()),
        });
    }
    let signed = |v: &u8| (*v as i16 - 128) as i8;
    Ok(CtIntQuantized {
        weight_shape: [q.n(), q.k()],
        weight: q.codes().iter().map(signed).collect(),
        weight_scale: q.scales().to_vec(),
        weight_zero_point: q.zeros().map(|z| z.iter().map(signed).collect()),
    })
}

/// Reads "int-quantized" tensors back.
pub fn from_int_quantized_ct(
    p: &CtIntQuantized,
    format: &WeightFormat,
    dtype: ScaleDtype,
) -> Result<QuantizedWeight, QuantError> {
    if format.bits() != 8 {
        return Err(QuantError::BadFormat { what: format!("{INT} holds 8-bit weights, not {}", format.label()) });
    }
    let unsigned = |v: &i8| (*v as i16 + 128) as u8;
    let [n, k] = p.weight_shape;
    QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: dtype,
        n,
        k,
        codes: p.weight.iter().map(unsigned).collect(),
        scales: p.weight_scale.clone(),
        zeros: p.weight_zero_point.as_ref().map(|z| z.iter().map(unsigned).collect()),
        g_idx: None,
    })
}
