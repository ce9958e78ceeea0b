//! Row decoder for GGML block types: row `r` of W is bytes `r * row_bytes .. (r + 1) *
//! row_bytes` (whole blocks), decoded block by block with the lane decoders of
//! [`super::blocks_32`] and [`super::blocks_k`], monomorphised per type.

use super::blocks_32::{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0};
use super::blocks_k::{Q4K, Q5K, Q6K};
use super::{BlockKind, RowDecoder};
use crate::cpu::simd::{Isa, Lanes};
use quant::gguf::GgmlType;
use std::marker::PhantomData;

/// The rows of one GGML tensor of block kind `K`.
struct GgufRows<'a, K> {
    blocks: &'a [u8],
    row_bytes: usize,
    kind: PhantomData<K>,
}

impl<K: BlockKind + Sync> RowDecoder for GgufRows<'_, K> {
    #[inline(always)]
    unsafe fn chunks<V: Lanes>(&self, r: usize, start: usize, end: usize, sink: &mut impl FnMut(usize, V)) {
        // `start` and `end` are multiples of the block size (SPAN is, and so is k).
        let row = &self.blocks[r * self.row_bytes..(r + 1) * self.row_bytes];
        for b in start / K::BS..end / K::BS {
            // SAFETY: V's instruction set is present (the caller's contract).
            unsafe { K::decode::<V>(&row[b * K::TS..(b + 1) * K::TS], b * K::BS, sink) };
        }
    }

    /// Rows are whole blocks of 32 or 256 values: no tail.
    #[inline(always)]
    fn tail(&self, _r: usize, _out: &mut [f32]) {}
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` on validated shapes and a type with a decoder (see
/// [`crate::shapes::matmul_gguf`]); `isa` must be available.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(isa: Isa, x: &[f32], m: usize, k: usize, ty: GgmlType, blocks: &[u8], n: usize, y: &mut [f32]) {
    fn go<K: BlockKind + Sync>(isa: Isa, x: &[f32], m: usize, k: usize, blocks: &[u8], n: usize, y: &mut [f32]) {
        let dec = GgufRows::<K> { blocks, row_bytes: k / K::BS * K::TS, kind: PhantomData };
        super::matmul(isa, &dec, x, m, k, n, y)
    }
    match ty {
        GgmlType::Q4_0 => go::<Q4_0>(isa, x, m, k, blocks, n, y),
        GgmlType::Q4_1 => go::<Q4_1>(isa, x, m, k, blocks, n, y),
        GgmlType::Q5_0 => go::<Q5_0>(isa, x, m, k, blocks, n, y),
        GgmlType::Q5_1 => go::<Q5_1>(isa, x, m, k, blocks, n, y),
        GgmlType::Q8_0 => go::<Q8_0>(isa, x, m, k, blocks, n, y),
        GgmlType::Q4K => go::<Q4K>(isa, x, m, k, blocks, n, y),
        GgmlType::Q5K => go::<Q5K>(isa, x, m, k, blocks, n, y),
        GgmlType::Q6K => go::<Q6K>(isa, x, m, k, blocks, n, y),
        _ => unreachable!("matmul_gguf: {ty} passed validation without a decoder"),
    }
}
