//! Row decoder for qtool's packed layout ([`PackedWeight`]): each row's codes are a dense
//! little-endian bit stream, so with groups a multiple of 8 codes every run of 8 codes is `b`
//! whole bytes (`b` = 2, 3, 4, 8) starting on a byte boundary. A run is read as one `u64` and
//! its codes shifted out; the ragged tail of a row (k not a multiple of 8) and act-order rows
//! read code by code. Each value is `(code - zero) as f32 * scale`, the operations of
//! [`PackedWeight::dequantize_row_ref`], so the decoded row is bit-identical to it.

use super::RowDecoder;
use crate::cpu::simd::Isa;
use quant::pack::PackedWeight;

// The byte view of the u32 code words below assumes little-endian words.
const _: () = assert!(cfg!(target_endian = "little"), "the packed decoder reads u32 code words as little-endian bytes");

/// The rows of one packed weight with `B`-bit codes.
struct PackedRows<'a, const B: usize> {
    w: &'a PackedWeight,
    /// The code words as bytes.
    bytes: &'a [u8],
    /// Bytes per row (whole u32 words).
    row_bytes: usize,
}

/// Code `j` of a row's byte stream (bits `j*B .. j*B + B`).
#[inline(always)]
fn code_at<const B: usize>(row: &[u8], j: usize) -> i32 {
    let (byte, bit) = (j * B / 8, j * B % 8);
    let lo = row[byte] as u32;
    let hi = row.get(byte + 1).copied().unwrap_or(0) as u32;
    (((lo | hi << 8) >> bit) & ((1 << B) - 1)) as i32
}

/// The 8 codes held by the `B` bytes `run` (code `t` at bits `t*B .. t*B + B`).
#[inline(always)]
fn codes8<const B: usize>(run: &[u8]) -> [i32; 8] {
    let mut le = [0u8; 8];
    le[..B].copy_from_slice(&run[..B]);
    let v = u64::from_le_bytes(le);
    std::array::from_fn(|t| ((v >> (t * B)) & ((1 << B) - 1)) as i32)
}

impl<const B: usize> RowDecoder for PackedRows<'_, B> {
    #[inline(always)]
    fn decode_row(&self, r: usize, out: &mut [f32]) {
        let w = self.w;
        let (k, g, ng) = (w.k(), w.group_size(), w.n_groups());
        let row = &self.bytes[r * self.row_bytes..(r + 1) * self.row_bytes];
        let scales = &w.scales()[r * ng..(r + 1) * ng];
        let zeros = w.zeros().map(|z| &z[r * ng..(r + 1) * ng]);
        let sym_zero = w.format().int().offset() as i32;
        let zero = |gi: usize| zeros.map_or(sym_zero, |z| z[gi] as i32);
        if let Some(g_idx) = w.g_idx() {
            for (j, (o, &gi)) in out.iter_mut().zip(g_idx).enumerate() {
                let gi = gi as usize;
                *o = (code_at::<B>(row, j) - zero(gi)) as f32 * scales[gi];
            }
            return;
        }
        for (gi, &s) in scales.iter().enumerate() {
            let (start, end) = (gi * g, ((gi + 1) * g).min(k));
            let z = zero(gi);
            let runs = (end - start) / 8;
            // Groups are multiples of 8 codes, so `start` is a whole number of B-byte runs.
            let first = start / 8 * B;
            for (c, o8) in out[start..start + runs * 8].chunks_exact_mut(8).enumerate() {
                let codes = codes8::<B>(&row[first + c * B..first + c * B + B]);
                for (o, q) in o8.iter_mut().zip(codes) {
                    *o = (q - z) as f32 * s;
                }
            }
            for (j, o) in out.iter_mut().enumerate().take(end).skip(start + runs * 8) {
                *o = (code_at::<B>(row, j) - z) as f32 * s;
            }
        }
    }
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` on validated shapes; `isa` must be available.
pub(crate) fn matmul(isa: Isa, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
    let bytes: &[u8] = bytemuck::cast_slice(w.codes());
    let row_bytes = w.row_words() * 4;
    let (k, n) = (w.k(), w.n());
    match w.format().bits() {
        2 => super::matmul(isa, &PackedRows::<2> { w, bytes, row_bytes }, x, m, k, n, y),
        3 => super::matmul(isa, &PackedRows::<3> { w, bytes, row_bytes }, x, m, k, n, y),
        4 => super::matmul(isa, &PackedRows::<4> { w, bytes, row_bytes }, x, m, k, n, y),
        8 => super::matmul(isa, &PackedRows::<8> { w, bytes, row_bytes }, x, m, k, n, y),
        b => unreachable!("PackedWeight with {b}-bit codes: the format table has 2, 3, 4 and 8"),
    }
}
