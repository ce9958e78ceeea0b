//! The GPTQ checkpoint layout (AutoGPTQ / GPTQModel, loaded by vLLM and transformers).
//!
//! Per Linear with `W[n, k]`, `b` bits, `G = ceil(k / g)` groups:
//! - `qweight` int32 `[ceil(k * b / 32), n]`: column `c` is the bit stream
//!   ([`super::bitstream`]) of output row `c`'s codes along the input dimension (4-bit: input
//!   `8r + j` in bits `4j..4j+4` of word `r`; 3-bit codes straddle words);
//! - `qzeros` int32 `[G, ceil(n * b / 32)]`: row `g` is the bit stream of the zero points of
//!   group `g` along the output dimension; "gptq" (v1) stores `zero - 1` (a loader adds 1 back;
//!   symmetric 4-bit stores 7s, `0x77777777`), so a zero point of 0 cannot be stored;
//!   "gptq_v2" stores the zero itself;
//! - `scales` `[G, n]` (written as f16); `g_idx` int32 `[k]` (`j / g` without act-order).
//!
//! AutoGPTQ sizes `qweight` and `qzeros` as `k / 32 * b` and `n / 32 * b` words, so its loader
//! wants `k` and `n` multiples of 32; other shapes are padded with zero bits here (see
//! [`GptqPacked::exact_shapes`]).
//!
//! Source facts: AutoGPTQ `nn_modules/qlinear/qlinear_cuda_old.py` (`__init__`, `pack`).

use super::bitstream;
use super::compressed_tensors::non_negative;
use crate::format::{ScaleDtype, WeightFormat};
use crate::qweight::{QuantizedParts, QuantizedWeight};
use crate::QuantError;

/// Which zero-point convention `qzeros` follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GptqVersion {
    /// `checkpoint_format: "gptq"`: stores `zero - 1`.
    V1,
    /// `checkpoint_format: "gptq_v2"`: stores `zero`.
    V2,
}

impl GptqVersion {
    fn stored(self, zero: u8) -> Option<u8> {
        match self {
            GptqVersion::V1 => zero.checked_sub(1),
            GptqVersion::V2 => Some(zero),
        }
    }
}

/// The tensors of one GPTQ Linear (row-major, shapes in the fields' docs).
#[derive(Clone, Debug, PartialEq)]
pub struct GptqPacked {
    /// Output features.
    pub n: usize,
    /// Input features.
    pub k: usize,
    /// `[ceil(k * b / 32), n]`.
    pub qweight: Vec<i32>,
    /// `[n_groups, ceil(n * b / 32)]`.
    pub qzeros: Vec<i32>,
    /// `[n_groups, n]`, exact in the scale dtype.
    pub scales: Vec<f32>,
    /// `[k]` group of each input column.
    pub g_idx: Vec<i32>,
}

impl GptqPacked {
    /// Whether no padding words were needed (`k * b` and `n * b` multiples of 32), i.e. the
    /// shapes are exactly what AutoGPTQ computes for this layer.
    pub fn exact_shapes(&self, bits: u32) -> bool {
        (self.k * bits as usize).is_multiple_of(32) && (self.n * bits as usize).is_multiple_of(32)
    }
}

/// Packs a quantized weight into GPTQ tensors.
pub fn pack_gptq(q: &QuantizedWeight, version: GptqVersion) -> Result<GptqPacked, QuantError> {
    let (n, k, bits, ng) = (q.n(), q.k(), q.format().bits(), q.n_groups());
    let rows = bitstream::words_for(k, bits);
    let mut qweight = vec![0i32; rows * n];
    let mut col = vec![0u32; rows];
    for (c, codes) in q.codes().chunks(k).enumerate() {
        bitstream::pack_into(codes.iter().copied(), bits, &mut col);
        for (w, &v) in col.iter().enumerate() {
            qweight[w * n + c] = v as i32;
        }
    }
    let zcols = bitstream::words_for(n, bits);
    let mut qzeros = vec![0i32; ng * zcols];
    let mut stored = Vec::with_capacity(n);
    let mut row = vec![0u32; zcols];
    for gi in 0..ng {
        stored.clear();
        for r in 0..n {
            let z = q.zero(r, gi);
            stored.push(version.stored(z).ok_or_else(|| QuantError::Unrepresentable {
                layout: "GPTQ v1",
                what: format!("zero point 0 at output {r}, group {gi} (v1 stores zero - 1; use gptq_v2)"),
            })?);
        }
        bitstream::pack_into(stored.iter().copied(), bits, &mut row);
        for (w, &v) in row.iter().enumerate() {
            qzeros[gi * zcols + w] = v as i32;
        }
    }
    let mut scales = vec![0f32; ng * n];
    for r in 0..n {
        for gi in 0..ng {
            scales[gi * n + r] = q.scales()[r * ng + gi];
        }
    }
    let g_idx = (0..k).map(|j| q.group_of(j) as i32).collect();
    Ok(GptqPacked { n, k, qweight, qzeros, scales, g_idx })
}

/// Reads GPTQ tensors back, given the format (bits, group size, sym) and scale dtype. A
/// `g_idx` equal to `j / g` becomes `None`; a symmetric format requires every zero at `2^(b-1)`.
pub fn unpack_gptq(
    p: &GptqPacked,
    format: &WeightFormat,
    dtype: ScaleDtype,
    version: GptqVersion,
) -> Result<QuantizedWeight, QuantError> {
    let bad = |what: String| QuantError::BadQuantized { what };
    let (n, k, bits, ng) = (p.n, p.k, format.bits(), format.n_groups(p.k));
    let (rows, zcols) = (bitstream::words_for(k, bits), bitstream::words_for(n, bits));
    if p.qweight.len() != rows * n || p.qzeros.len() != ng * zcols || p.scales.len() != ng * n || p.g_idx.len() != k {
        return Err(bad(format!(
            "GPTQ tensors of {}, {}, {}, {} elements do not match qweight [{rows}, {n}], qzeros [{ng}, {zcols}], \
             scales [{ng}, {n}], g_idx [{k}]",
            p.qweight.len(),
            p.qzeros.len(),
            p.scales.len(),
            p.g_idx.len()
        )));
    }
    let mut codes = vec![0u8; n * k];
    let mut col = vec![0u32; rows];
    for c in 0..n {
        for (w, v) in col.iter_mut().enumerate() {
            *v = p.qweight[w * n + c] as u32;
        }
        for (j, code) in codes[c * k..(c + 1) * k].iter_mut().enumerate() {
            *code = bitstream::get(&col, bits, j);
        }
    }
    let max = format.int().code_max();
    let mut zeros = vec![0u8; n * ng];
    for gi in 0..ng {
        let row: Vec<u32> = p.qzeros[gi * zcols..(gi + 1) * zcols].iter().map(|&w| w as u32).collect();
        for r in 0..n {
            let s = bitstream::get(&row, bits, r);
            let z = if version == GptqVersion::V1 { s as u16 + 1 } else { s as u16 };
            if z > max as u16 {
                return Err(bad(format!("qzeros at group {gi}, output {r} gives zero point {z}, above {max}")));
            }
            zeros[r * ng + gi] = z as u8;
        }
    }
    if format.symmetric() {
        let off = format.int().offset();
        if let Some(i) = zeros.iter().position(|&z| z != off) {
            return Err(bad(format!(
                "symmetric GPTQ weight has zero point {} at output {}, group {} (expected {off})",
                zeros[i],
                i / ng,
                i % ng
            )));
        }
    }
    let mut scales = vec![0f32; n * ng];
    for r in 0..n {
        for gi in 0..ng {
            scales[r * ng + gi] = p.scales[gi * n + r];
        }
    }
    let g = format.group_size(k);
    let g_idx = non_negative(&p.g_idx, "g_idx")?;
    let act_order = g_idx.iter().enumerate().any(|(j, &v)| v as usize != j / g);
    QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: dtype,
        n,
        k,
        codes,
        scales,
        zeros: (!format.symmetric()).then_some(zeros),
        g_idx: act_order.then_some(g_idx),
    })
}
