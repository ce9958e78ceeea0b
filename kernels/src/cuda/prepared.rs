//! The CUDA backend's prepared weights ([`crate::prepared`]): dense and packed weights, int8
//! W8A8 weights (as the rows `matmul_w8a8` reads) and the GGML block types with a kernel
//! (Q8_0, Q4_0) uploaded once and kept on the device; the
//! other block types decoded to f32 on the host once (what `matmul_gguf` does on every call)
//! and kept as a dense f32 weight, so the results are the plain methods' bits.

use super::matmul_gguf::GpuBlocks;
use super::matmul_w8a8::GpuW8;
use super::{CudaBackend, GpuDense, GpuPacked};
use crate::backend::DenseWeight;
use crate::error::Result;
use crate::prepared::{dequantize_gguf, w8a8_codes, PreparedWeight, WeightView};
use crate::shapes;
use std::any::Any;

/// A weight resident on the CUDA device.
pub enum CudaPrepared {
    /// Dense, or GGML blocks without a kernel decoded to f32.
    Dense(GpuDense),
    /// qtool's packed layout.
    Packed(GpuPacked),
    /// GGML blocks with a kernel.
    Blocks(GpuBlocks),
    /// An int8 weight for W8A8 (`matmul_w8a8_prepared`).
    W8a8(GpuW8),
}

impl PreparedWeight for CudaPrepared {
    fn backend(&self) -> &'static str {
        "cuda"
    }

    fn shape(&self) -> [usize; 2] {
        match self {
            CudaPrepared::Dense(d) => [d.n(), d.k()],
            CudaPrepared::Packed(p) => [p.n(), p.k()],
            CudaPrepared::Blocks(b) => [b.n(), b.k()],
            CudaPrepared::W8a8(w) => [w.n(), w.k()],
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Uploads `w` to stay on `be`'s device.
pub(super) fn prepare(be: &CudaBackend, w: WeightView<'_>) -> Result<CudaPrepared> {
    Ok(match w {
        WeightView::Dense { w, n, k } => CudaPrepared::Dense(be.upload_dense(w, n, k)?),
        WeightView::Packed(p) => CudaPrepared::Packed(be.upload_packed(p)?),
        WeightView::W8a8(p) => CudaPrepared::W8a8(be.upload_w8a8(&w8a8_codes(p)?, p.scales(), p.n(), p.k())?),
        WeightView::Gguf { ty, blocks, n, k } => {
            shapes::gguf_blocks(ty, blocks, n, k)?;
            match be.upload_blocks(ty, blocks, n, k)? {
                Some(b) => CudaPrepared::Blocks(b),
                None => {
                    let dense = dequantize_gguf(ty, blocks, n, k)?;
                    CudaPrepared::Dense(be.upload_dense(DenseWeight::F32(&dense), n, k)?)
                }
            }
        }
    })
}
