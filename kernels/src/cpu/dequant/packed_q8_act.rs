//! The `cpu-q8` path for act-order packed weights whose groups are a permutation of contiguous
//! groups ([`act_order_perm`], GPTQ's `desc_act`): `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ`
//! computed as `x'[m, k] · W'[n, k]ᵀ` with `x' = x[:, P]` and `W' = W[:, P]`, where `W'` has
//! its groups contiguous (no `g_idx`) and takes the ordinary int8 kernels (AVX2
//! `packed_q8`, or `packed_q8_vnni` tiles on AVX-512 VNNI): exactly the math of
//! [`matmul_packed_q8_ref`], which permutes the same way.
//!
//! [`ActOrder`] is the prepared form ([`Backend::prepare`](crate::Backend::prepare)): `P` and
//! `W'` made once at load, so a call only gathers x (`m · k` floats). The plain
//! `matmul_packed` on such a weight builds `W'` on every call (a full unpack and repack of the
//! codes), for the same bits, several times slower than the f32 path: models prepare.

use super::packed_q8_vnni::{self, Interleaved16};
use crate::cpu::simd::Isa;
use crate::ops::{act_order_perm, gather_columns, matmul_packed_q8_ref};
use crate::prepared::PreparedWeight;
use quant::pack::PackedWeight;
use quant::QuantizedWeight;
use rayon::prelude::*;
use std::any::Any;

/// An act-order weight made ready for the int8 path: the column order `perm[k]` and the
/// permuted weight (or 16-row VNNI tiles of it when the CPU has AVX-512 VNNI).
pub(crate) struct ActOrder {
    perm: Vec<u32>,
    w: PackedWeight,
    tiles: Option<Interleaved16>,
}

impl PreparedWeight for ActOrder {
    fn backend(&self) -> &'static str {
        "cpu-q8"
    }
    fn shape(&self) -> [usize; 2] {
        [self.w.n(), self.w.k()]
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn bytes(&self) -> Option<usize> {
        self.tiles.as_ref().and_then(PreparedWeight::bytes)
    }
}

impl ActOrder {
    /// Prepares `w`, which must have a `g_idx` [`act_order_perm`] accepts and otherwise be
    /// [`q8_supported`](crate::ops::q8_supported); `vnni`: make VNNI tiles (the caller checked
    /// that the CPU has AVX-512 VNNI).
    pub(crate) fn new(w: &PackedWeight, vnni: bool) -> ActOrder {
        let perm = act_order_perm(w).expect("ActOrder of a weight without contiguous act-order groups");
        let w = permuted(w, &perm);
        let tiles = (vnni && packed_q8_vnni::served(&w)).then(|| Interleaved16::new(&w));
        ActOrder { perm, w, tiles }
    }
}

/// `W[:, perm]` with its groups in order: the codes of every row permuted (rows in parallel),
/// scales and zeros as they are (group `g` holds positions `g · group_size ..` now), no `g_idx`.
fn permuted(w: &PackedWeight, perm: &[u32]) -> PackedWeight {
    let k = w.k();
    let mut parts = w.unpack().into_parts();
    let src = std::mem::take(&mut parts.codes);
    let mut codes = vec![0u8; src.len()];
    codes.par_chunks_mut(k).zip(src.par_chunks(k)).for_each(|(o, row)| {
        for (o, &c) in o.iter_mut().zip(perm) {
            *o = row[c as usize];
        }
    });
    parts.codes = codes;
    parts.g_idx = None;
    PackedWeight::pack(&QuantizedWeight::new(parts).expect("a permutation of a valid weight is valid"))
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` for a prepared act-order weight, on validated shapes.
pub(crate) fn matmul(isa: Isa, x: &[f32], m: usize, a: &ActOrder, y: &mut [f32]) {
    let xg = gather_columns(x, m, &a.perm);
    match &a.tiles {
        Some(t) => packed_q8_vnni::matmul(&xg, m, t, y),
        None => super::packed_q8::matmul(isa, &xg, m, &a.w, y),
    }
}

/// The plain call on an act-order weight (see the module doc): the reference without AVX2,
/// else `W'` built for this call and the AVX2 kernel.
pub(crate) fn matmul_plain(isa: Isa, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
    if isa != Isa::Avx2Fma {
        return matmul_packed_q8_ref(x, m, w, y);
    }
    matmul(isa, x, m, &ActOrder::new(w, false), y);
}
