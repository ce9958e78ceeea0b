//! The WGSL backend's prepared weights ([`crate::prepared`]): dense and packed weights, and
//! int8 W8A8 weights (as the rows `matmul_w8a8` reads), uploaded once and kept on the device;
//! GGML blocks decoded to f32 on the host once (what
//! `matmul_gguf` does on every call) and kept as a dense f32 weight, so the results are the
//! plain methods' bits.

use super::matmul_w8a8::GpuW8a8;
use super::{GpuDense, GpuPacked, WgslBackend};
use crate::backend::DenseWeight;
use crate::error::Result;
use crate::prepared::{dequantize_gguf, w8a8_codes, PreparedWeight, WeightView};
use crate::shapes;
use std::any::Any;

/// A weight resident on the WGSL device.
pub enum WgslPrepared {
    /// Dense, or GGML blocks decoded to f32.
    Dense(GpuDense),
    /// qtool's packed layout.
    Packed(GpuPacked),
    /// An int8 weight for W8A8 (`matmul_w8a8_prepared`).
    W8a8(GpuW8a8),
}

impl PreparedWeight for WgslPrepared {
    fn backend(&self) -> &'static str {
        "wgsl"
    }

    fn shape(&self) -> [usize; 2] {
        match self {
            WgslPrepared::Dense(d) => [d.n(), d.k()],
            WgslPrepared::Packed(p) => [p.n(), p.k()],
            WgslPrepared::W8a8(w) => [w.n(), w.k()],
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
        WeightView::W8a8(p) => {
            let wq = w8a8_codes(p)?;
            be.fits("matmul_w8a8", wq.len())?;
            WgslPrepared::W8a8(GpuW8a8::upload(&be.gpu, &wq, p.scales(), p.n(), p.k())?)
        }
        WeightView::Gguf { ty, blocks, n, k } => {
            shapes::gguf_blocks(ty, blocks, n, k)?;
            let dense = dequantize_gguf(ty, blocks, n, k)?;
            WgslPrepared::Dense(be.upload_dense(DenseWeight::F32(&dense), n, k)?)
        }
    })
}
