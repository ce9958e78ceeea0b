//! Row decoder for qtool's packed layout ([`PackedWeight`]): each row's codes are a dense
//! little-endian bit stream, so with groups a multiple of 8 codes every run of 8 codes is `b`
//! whole bytes (`b` = 2, 3, 4, 8) starting on a byte boundary. A run is read as one `u64` and
//! its codes shifted out; the ragged tail of a row (k not a multiple of 8) and act-order rows
//! read code by code. Each value is `(code - zero) as f32 * scale` (computed as `(code as f32 -
//! zero as f32) * scale`, exact subtraction), the operations of
//! [`PackedWeight::dequantize_row_ref`], so the decoded row is bit-identical to it.

use super::lanes::offset_scale;
use super::{RowDecoder, SPAN};
use crate::cpu::simd::{Isa, Lanes};
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

/// Unpacks the codes held by `bytes` (a whole number of `B`-byte runs of 8 codes, code `t` of
/// a run at bits `t*B .. t*B + B`) into `out` (8 per run).
#[inline(always)]
fn unpack<const B: usize>(bytes: &[u8], out: &mut [u8]) {
    match B {
        4 => {
            for (o, &b) in out.chunks_exact_mut(2).zip(bytes) {
                o[0] = b & 0x0f;
                o[1] = b >> 4;
            }
        }
        2 => {
            for (o, &b) in out.chunks_exact_mut(4).zip(bytes) {
                for (t, v) in o.iter_mut().enumerate() {
                    *v = (b >> (2 * t)) & 0x03;
                }
            }
        }
        _ => {
            for (o, run) in out.chunks_exact_mut(8).zip(bytes.chunks_exact(B)) {
                let mut le = [0u8; 8];
                le[..B].copy_from_slice(run);
                let v = u64::from_le_bytes(le);
                for (t, c) in o.iter_mut().enumerate() {
                    *c = ((v >> (t * B)) & ((1 << B) - 1)) as u8;
                }
            }
        }
    }
}

impl<const B: usize> PackedRows<'_, B> {
    /// Value `j` of row `r`, scalar (act-order rows and the ragged tail).
    #[inline(always)]
    fn value(&self, r: usize, j: usize) -> f32 {
        let w = self.w;
        let ng = w.n_groups();
        let gi = w.g_idx().map_or(j / w.group_size(), |g| g[j] as usize);
        let z = w.zeros().map_or(w.format().int().offset(), |z| z[r * ng + gi]) as i32;
        let row = &self.bytes[r * self.row_bytes..(r + 1) * self.row_bytes];
        (code_at::<B>(row, j) - z) as f32 * w.scales()[r * ng + gi]
    }
}

impl<const B: usize> RowDecoder for PackedRows<'_, B> {
    #[inline(always)]
    unsafe fn chunks<V: Lanes>(&self, r: usize, start: usize, end: usize, sink: &mut impl FnMut(usize, V)) {
        let w = self.w;
        let (g, ng) = (w.group_size(), w.n_groups());
        if w.g_idx().is_some() {
            for c in (start..end).step_by(8) {
                let v: [f32; 8] = std::array::from_fn(|t| self.value(r, c + t));
                // SAFETY: eight readable floats; V's instruction set is present.
                sink(c, unsafe { V::load(v.as_ptr()) });
            }
            return;
        }
        let row = &self.bytes[r * self.row_bytes..(r + 1) * self.row_bytes];
        let scales = &w.scales()[r * ng..(r + 1) * ng];
        let zeros = w.zeros().map(|z| &z[r * ng..(r + 1) * ng]);
        let sym_zero = w.format().int().offset();
        let mut e = start;
        while e < end {
            // Groups are multiples of 8 codes and `start`, `end` multiples of 8, so every run
            // of 8 codes is B whole bytes at byte e * B / 8; pieces of at most SPAN codes stay
            // inside one group.
            let gi = e / g;
            let stop = ((gi + 1) * g).min(end).min(e + SPAN);
            let z = zeros.map_or(sym_zero, |z| z[gi]) as f32;
            let bytes = &row[e / 8 * B..stop / 8 * B];
            // SAFETY (both arms): V's instruction set is present (the caller's contract).
            if B == 8 {
                unsafe { offset_scale::<V>(bytes, z, scales[gi], e, sink) };
            } else {
                let mut codes = [0u8; SPAN];
                unpack::<B>(bytes, &mut codes[..stop - e]);
                unsafe { offset_scale::<V>(&codes[..stop - e], z, scales[gi], e, sink) };
            }
            e = stop;
        }
    }

    #[inline(always)]
    fn tail(&self, r: usize, out: &mut [f32]) {
        let k8 = self.w.k() / 8 * 8;
        for (t, o) in out.iter_mut().enumerate() {
            *o = self.value(r, k8 + t);
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
