//! The CUDA backend's prepared weights ([`crate::prepared`]): dense and packed weights and
//! the GGML block types with a kernel (Q8_0, Q4_0) uploaded once and kept on the device; the
//! other block types decoded to f32 on the host once (what `matmul_gguf` does on every call)
//! and kept as a dense f32 weight, so the results are the plain methods' bits.

use super::matmul_gguf::GpuBlocks;
use super::{CudaBackend, GpuDense, GpuPacked};
use crate::backend::DenseWeight;
use crate::error::Result;
use crate::prepared::{dequantize_gguf, PreparedWeight, WeightView};
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
        WeightView::W8a8(_) => {
            return Err(crate::KernelError::Unsupported {
                op: "prepare",
                what: "a W8A8 weight on the cuda backend (it multiplies W8A8 weights from the host)".into(),
            })
        }
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
