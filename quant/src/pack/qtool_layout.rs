//! qtool's own in-memory layout for its CPU/GPU kernels, struct of arrays:
//! - `codes` u32 `[n, row_words]`, `row_words = ceil(k * b / 32)`: each output row's codes as a
//!   dense little-endian bit stream ([`super::bitstream`]), rows padded to whole words. Read as
//!   bytes: 8-bit is one code per byte; 4-bit two per byte, low nibble first; 2-bit four per
//!   byte, lowest bits first; 3-bit eight codes per 3 bytes (a 24-bit little-endian value with
//!   code `i` at bits `3i..3i+3`). Group sizes are multiples of 8, so every group starts on a
//!   byte boundary (on a word boundary too when `g * b` is a multiple of 32, e.g. g = 32, 64,
//!   128). The bytes of a row are the same as a compressed-tensors `weight_packed` row.
//! - `scales` f32 `[n, n_groups]` (exact in `scale_dtype`), `zeros` u8 `[n, n_groups]` for
//!   asymmetric formats (symmetric: `2^(b-1)`), `g_idx` u32 `[k]` with act-order only.
//!
//! `W[r, j] = (code(r, j) - zero(r, G_j)) * scale(r, G_j)` with `G_j = g_idx[j]` or `j / g`.

use super::bitstream;
use crate::format::{ScaleDtype, WeightFormat};
use crate::qweight::{QuantizedParts, QuantizedWeight};

/// A quantized weight packed for qtool's kernels; built only from a valid [`QuantizedWeight`].
#[derive(Clone, Debug, PartialEq)]
pub struct PackedWeight {
    format: WeightFormat,
    scale_dtype: ScaleDtype,
    n: usize,
    k: usize,
    row_words: usize,
    codes: Vec<u32>,
    scales: Vec<f32>,
    zeros: Option<Vec<u8>>,
    g_idx: Option<Vec<u32>>,
}

impl PackedWeight {
    /// Packs `q`.
    pub fn pack(q: &QuantizedWeight) -> PackedWeight {
        let (n, k, bits) = (q.n(), q.k(), q.format().bits());
        let row_words = bitstream::words_for(k, bits);
        let mut codes = vec![0u32; n * row_words];
        for (dst, src) in codes.chunks_mut(row_words).zip(q.codes().chunks(k)) {
            bitstream::pack_into(src.iter().copied(), bits, dst);
        }
        PackedWeight {
            format: *q.format(),
            scale_dtype: q.scale_dtype(),
            n,
            k,
            row_words,
            codes,
            scales: q.scales().to_vec(),
            zeros: q.zeros().map(<[u8]>::to_vec),
            g_idx: q.g_idx().map(<[u32]>::to_vec),
        }
    }

    /// Unpacks back to the [`QuantizedWeight`] it was packed from.
    pub fn unpack(&self) -> QuantizedWeight {
        let bits = self.format.bits();
        let codes = self.codes.chunks(self.row_words).flat_map(|row| bitstream::unpack(row, bits, self.k)).collect();
        QuantizedWeight::new(QuantizedParts {
            format: self.format,
            scale_dtype: self.scale_dtype,
            n: self.n,
            k: self.k,
            codes,
            scales: self.scales.clone(),
            zeros: self.zeros.clone(),
            g_idx: self.g_idx.clone(),
        })
        .expect("a PackedWeight holds the parts of a valid QuantizedWeight")
    }

    /// The format.
    pub fn format(&self) -> &WeightFormat {
        &self.format
    }

    /// The dtype the scales are exact in.
    pub fn scale_dtype(&self) -> ScaleDtype {
        self.scale_dtype
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Group size (`k` when per-channel).
    pub fn group_size(&self) -> usize {
        self.format.group_size(self.k)
    }

    /// Groups per row.
    pub fn n_groups(&self) -> usize {
        self.format.n_groups(self.k)
    }

    /// Words per packed row, `ceil(k * b / 32)`.
    pub fn row_words(&self) -> usize {
        self.row_words
    }

    /// `[n, row_words]` packed codes.
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// `[n, n_groups]` scales.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// `[n, n_groups]` zero points (asymmetric only).
    pub fn zeros(&self) -> Option<&[u8]> {
        self.zeros.as_deref()
    }

    /// `[k]` act-order group indices, if any.
    pub fn g_idx(&self) -> Option<&[u32]> {
        self.g_idx.as_deref()
    }

    /// Code `(row, col)`, read from the packed words (the scalar reference for kernels).
    #[inline]
    pub fn code_ref(&self, row: usize, col: usize) -> u8 {
        bitstream::get(&self.codes[row * self.row_words..(row + 1) * self.row_words], self.format.bits(), col)
    }

    /// Dequantizes output row `row` into `out[k]` (the scalar reference for kernels).
    pub fn dequantize_row_ref(&self, row: usize, out: &mut [f32]) {
        assert_eq!(out.len(), self.k, "dequantize_row_ref: out must hold k values");
        let (g, ng) = (self.group_size(), self.n_groups());
        for (j, o) in out.iter_mut().enumerate() {
            let gi = self.g_idx.as_ref().map_or(j / g, |x| x[j] as usize);
            let z = self.zeros.as_ref().map_or(self.format.int().offset(), |z| z[row * ng + gi]);
            *o = (self.code_ref(row, j) as i32 - z as i32) as f32 * self.scales[row * ng + gi];
        }
    }
}
