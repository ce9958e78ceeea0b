//! The WGSL backend's prepared weights ([`crate::prepared`]): dense and packed weights
//! uploaded once and kept on the device; GGML blocks decoded to f32 on the host once (what
//! `matmul_gguf` does on every call) and kept as a dense f32 weight, so the results are the
//! plain methods' bits.

use super::{GpuDense, GpuPacked, WgslBackend};
use crate::backend::DenseWeight;
use crate::error::Result;
use crate::prepared::{dequantize_gguf, PreparedWeight, WeightView};
use crate::shapes;
use std::any::Any;

/// A weight resident on the WGSL device.
pub enum WgslPrepared {
    /// Dense, or GGML blocks decoded to f32.
    Dense(GpuDense),
    /// qtool's packed layout.
    Packed(GpuPacked),
}

impl PreparedWeight for WgslPrepared {
    fn backend(&self) -> &'static str {
        "wgsl"
    }

    fn shape(&self) -> [usize; 2] {
        match self {
            WgslPrepared::Dense(d) => [d.n(), d.k()],
            WgslPrepared::Packed(p) => [p.n(), p.k()],
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Uploads `w` to stay on `be`'s device.
pub(super) fn prepare(be: &WgslBackend, w: WeightView<'_>) -> Result<WgslPrepared> {
    Ok(match w {
        WeightView::Dense { w, n, k } => WgslPrepared::Dense(be.upload_dense(w, n, k)?),
        WeightView::Packed(p) => WgslPrepared::Packed(be.upload_packed(p)?),
        WeightView::Gguf { ty, blocks, n, k } => {
            shapes::gguf_blocks(ty, blocks, n, k)?;
            let dense = dequantize_gguf(ty, blocks, n, k)?;
            WgslPrepared::Dense(be.upload_dense(DenseWeight::F32(&dense), n, k)?)
        }
    })
}
