//! Row decoder for GGML block types: row `r` of W is bytes `r * row_bytes .. (r + 1) *
//! row_bytes` (whole blocks), decoded block by block with `quant`'s bit-exact single-block
//! decoders, monomorphised per type so that each decoder inlines into the kernel.

use super::RowDecoder;
use crate::cpu::simd::Isa;
use quant::gguf::dequant::{block, decode_blocks};
use quant::gguf::GgmlType;

/// The rows of one GGML tensor with block decoder `F` (`BS` values from `TS` bytes).
struct GgufRows<'a, const BS: usize, const TS: usize, F> {
    blocks: &'a [u8],
    row_bytes: usize,
    decode: F,
}

impl<const BS: usize, const TS: usize, F> RowDecoder for GgufRows<'_, BS, TS, F>
where
    F: Fn(&[u8; TS], &mut [f32; BS]) + Sync,
{
    #[inline(always)]
    fn decode_row(&self, r: usize, out: &mut [f32]) {
        decode_blocks(&self.blocks[r * self.row_bytes..(r + 1) * self.row_bytes], out, &self.decode);
    }
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` on validated shapes and a type with a decoder (see
/// [`crate::shapes::matmul_gguf`]); `isa` must be available.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(isa: Isa, x: &[f32], m: usize, k: usize, ty: GgmlType, blocks: &[u8], n: usize, y: &mut [f32]) {
    let row_bytes = k / ty.block_size() * ty.type_size();
    macro_rules! run {
        ($bs:literal, $ts:literal, $decode:path) => {{
            let dec = GgufRows::<$bs, $ts, _> { blocks, row_bytes, decode: $decode };
            super::matmul(isa, &dec, x, m, k, n, y)
        }};
    }
    match ty {
        GgmlType::Q4_0 => run!(32, 18, block::q4_0),
        GgmlType::Q4_1 => run!(32, 20, block::q4_1),
        GgmlType::Q5_0 => run!(32, 22, block::q5_0),
        GgmlType::Q5_1 => run!(32, 24, block::q5_1),
        GgmlType::Q8_0 => run!(32, 34, block::q8_0),
        GgmlType::Q4K => run!(256, 144, block::q4_k),
        GgmlType::Q5K => run!(256, 176, block::q5_k),
        GgmlType::Q6K => run!(256, 210, block::q6_k),
        _ => unreachable!("matmul_gguf: {ty} passed validation without a decoder"),
    }
}
