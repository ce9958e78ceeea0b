//! Weights made ready once for one backend. [`Backend::prepare`](crate::Backend::prepare)
//! turns a weight (a [`WeightView`]: what `matmul`, `matmul_packed` and `matmul_gguf` take) into
//! a [`PreparedWeight`] — uploaded to a GPU, or in whatever layout the backend reads fastest —
//! and [`Backend::matmul_prepared`](crate::Backend::matmul_prepared) multiplies by it on every
//! later call, without the per-call upload the plain methods do. On AVX-512 VNNI the CPU
//! prepares W8A8 weights, and `cpu-q8` also the packed weights its integer path serves (16-row
//! interleaved tiles); `cpu-q8` with AVX2 prepares act-order packed weights its integer path
//! serves (columns permuted so that groups are contiguous) on any such CPU; otherwise backends that read host weights in place (`ref`, `cpu`)
//! prepare nothing (`None`), and callers keep the plain path.
//!
//! The contract: `matmul_prepared(x, m, prepare(w)?, y)` writes exactly the bits the plain
//! method for `w` writes on the same backend (the conformance suite checks it per backend), so
//! a model may prepare its weights or not without changing a token.

use crate::backend::DenseWeight;
use crate::error::{KernelError, Result};
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;
use std::any::Any;

/// A borrowed weight `W[n, k]` in any storage a matmul takes.
#[derive(Clone, Copy, Debug)]
pub enum WeightView<'a> {
    /// Dense elements, row-major.
    Dense {
        /// The elements, `n * k`.
        w: DenseWeight<'a>,
        /// Output rows.
        n: usize,
        /// Inputs per row.
        k: usize,
    },
    /// qtool's packed layout (`n`, `k` from the weight).
    Packed(&'a PackedWeight),
    /// An int8 symmetric per-channel packed weight ([`crate::ops::w8a8_packed_supported`]) to be
    /// multiplied by int8 activations: [`Backend::matmul_w8a8_prepared`](crate::Backend::matmul_w8a8_prepared)
    /// (not `matmul_prepared`).
    W8a8(&'a PackedWeight),
    /// GGML blocks as a GGUF file stores them: `n` rows of `k / ty.block_size()` blocks.
    Gguf {
        /// Block type.
        ty: GgmlType,
        /// The bytes of all rows.
        blocks: &'a [u8],
        /// Output rows.
        n: usize,
        /// Inputs per row.
        k: usize,
    },
}

impl WeightView<'_> {
    /// `[n, k]`.
    pub fn shape(&self) -> [usize; 2] {
        match *self {
            WeightView::Dense { n, k, .. } | WeightView::Gguf { n, k, .. } => [n, k],
            WeightView::Packed(p) | WeightView::W8a8(p) => [p.n(), p.k()],
        }
    }
}

/// A weight one backend made with `prepare`; only that backend can use it.
pub trait PreparedWeight: Send + Sync {
    /// The name of the backend that made it (`wgsl`, `cuda`).
    fn backend(&self) -> &'static str;
    /// `[n, k]` of the weight it holds.
    fn shape(&self) -> [usize; 2];
    /// For the making backend to get its own type back.
    fn as_any(&self) -> &dyn Any;
    /// Bytes of weight data one product reads, when the backend's layout reads other than the
    /// source format's bytes (benchmarks divide by it); `None`: the source format's.
    fn bytes(&self) -> Option<usize> {
        None
    }
}

/// `w` as the backend `backend`'s own type `T`, or an error naming both backends.
pub fn downcast<'a, T: 'static>(backend: &'static str, w: &'a dyn PreparedWeight) -> Result<&'a T> {
    w.as_any().downcast_ref::<T>().ok_or_else(|| KernelError::Unsupported {
        op: "matmul_prepared",
        what: format!("weight prepared by the '{}' backend, used on '{backend}'", w.backend()),
    })
}

/// The int8 codes (`wq[n, k]`, codes minus 128) of a [`WeightView::W8a8`] weight, or an
/// error naming its format when it is not int8 symmetric per-channel.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub(crate) fn w8a8_codes(p: &PackedWeight) -> Result<Vec<i8>> {
    check_w8a8(p)?;
    Ok(crate::ops::w8a8_packed_codes(p))
}

/// An error naming the format of a [`WeightView::W8a8`] weight that is not int8 symmetric
/// per-channel.
pub(crate) fn check_w8a8(p: &PackedWeight) -> Result<()> {
    if !crate::ops::w8a8_packed_supported(p) {
        return Err(KernelError::Unsupported {
            op: "prepare",
            what: format!("a {} weight as W8A8 (int8 symmetric per-channel only)", p.format().label()),
        });
    }
    Ok(())
}

/// The error for a weight prepared for one activation kind used with the other's method:
/// `w8a8` says whether the weight was prepared for W8A8.
pub(crate) fn wrong_kind(w8a8: bool) -> KernelError {
    if w8a8 {
        KernelError::Unsupported {
            op: "matmul_prepared",
            what: "a weight prepared for W8A8: multiply it with matmul_w8a8_prepared".into(),
        }
    } else {
        KernelError::Unsupported {
            op: "matmul_w8a8_prepared",
            what: "a weight prepared for f32 activations: multiply it with matmul_prepared".into(),
        }
    }
}

/// GGML blocks of a `[n, k]` weight decoded to f32 `[n, k]` with `quant`'s bit-exact
/// dequantizer (the GPU backends' path for block types without a kernel of their own).
/// `blocks` must have passed [`crate::shapes::gguf_blocks`].
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub(crate) fn dequantize_gguf(ty: GgmlType, blocks: &[u8], n: usize, k: usize) -> Result<Vec<f32>> {
    let row_bytes = k / ty.block_size() * ty.type_size();
    let mut w = vec![0f32; n * k];
    for (j, row) in w.chunks_exact_mut(k.max(1)).enumerate().take(n) {
        quant::gguf::dequant::dequantize_row(ty, &blocks[j * row_bytes..(j + 1) * row_bytes], row)
            .map_err(|e| KernelError::Unsupported { op: "matmul_gguf", what: e.to_string() })?;
    }
    Ok(w)
}
