//! Dense matmul launcher, `y[m, n] = x[m, k] · W[n, k]ᵀ` (`matmul_gemv.wgsl` for small `m`,
//! `matmul_tiled.wgsl` otherwise). W is uploaded as f32, bf16 or f16 words and widened in the
//! shader; it is split by rows into chunks that each fit one storage binding.

use super::buffers::{self, grid, row_chunks, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::backend::DenseWeight;
use crate::error::Result;

/// Which matmul kernel runs: the dense one here, and likewise the packed one
/// ([`super::matmul_packed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseVariant {
    /// `gemv` when `m <= GEMV_MAX_M`, else `tiled`.
    Auto,
    /// One workgroup per W row, 4 x rows at a time (`matmul_gemv.wgsl`); packed weights:
    /// `matmul_packed_gemv.wgsl` whenever it covers the format.
    Gemv,
    /// 64 x 64 output tiles (`matmul_tiled.wgsl`); packed weights: always the one-workgroup-
    /// per-row `matmul_packed.wgsl`.
    Tiled,
}

/// Largest `m` the automatic choice sends to the GEMV kernel.
pub const GEMV_MAX_M: usize = 8;

/// A dense weight resident on the device: its row chunks.
pub struct GpuDense {
    n: usize,
    k: usize,
    dtype: u32,
    chunks: Vec<(std::ops::Range<usize>, wgpu::Buffer)>,
}

impl GpuDense {
    /// Uploads `w` (`[n, k]`), split by rows to fit `max_binding`.
    pub fn upload(gpu: &Gpu, w: DenseWeight<'_>, n: usize, k: usize, max_binding: u64) -> Result<GpuDense> {
        let eb = w.elem_bytes();
        let ranges = row_chunks(n, &[k * eb], max_binding)?;
        let mut chunks = Vec::with_capacity(ranges.len());
        for r in ranges {
            let (a, b) = (r.start * k, r.end * k);
            let bytes: &[u8] = match w {
                DenseWeight::F32(v) => bytemuck::cast_slice(&v[a..b]),
                DenseWeight::BF16(v) => bytemuck::cast_slice(&v[a..b]),
                DenseWeight::F16(v) => bytemuck::cast_slice(&v[a..b]),
            };
            chunks.push((r, buffers::storage(gpu, "W", bytes)));
        }
        let dtype = match w {
            DenseWeight::F32(_) => 0,
            DenseWeight::BF16(_) => 1,
            DenseWeight::F16(_) => 2,
        };
        Ok(GpuDense { n, k, dtype, chunks })
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// How many bindings the weight was split into.
    pub fn n_chunks(&self) -> usize {
        self.chunks.len()
    }
}

/// `y[m, n] = x[m, k] · W[n, k]ᵀ` with `W` already resident.
pub fn run(gpu: &Gpu, variant: DenseVariant, x: &[f32], m: usize, w: &GpuDense, y: &mut [f32]) -> Result<()> {
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    let gemv = match variant {
        DenseVariant::Auto => m <= GEMV_MAX_M,
        DenseVariant::Gemv => true,
        DenseVariant::Tiled => false,
    };
    let spec = ShaderSpec {
        name: if gemv { "matmul_gemv" } else { "matmul_tiled" },
        source: if gemv { include_str!("shaders/matmul_gemv.wgsl") } else { include_str!("shaders/matmul_tiled.wgsl") },
        prelude: String::new(),
        constants: vec![("DTYPE", f64::from(w.dtype))],
        slots: vec![Slot::Uniform, Slot::Read, Slot::Read, Slot::ReadWrite],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    gpu.checked("matmul", || {
        let xb = buffers::storage_f32(gpu, "x", x);
        let yb = buffers::output_f32(gpu, "y", m * w.n);
        let (mu, ku, nu) = (u32_of("m", m)?, u32_of("k", w.k)?, u32_of("n", w.n)?);
        let mut batch = Batch::new(gpu);
        let params: Vec<wgpu::Buffer> = w
            .chunks
            .iter()
            .map(|(r, _)| buffers::uniform(gpu, &[mu, r.len() as u32, ku, nu, r.start as u32]))
            .collect();
        for ((r, wb), pb) in w.chunks.iter().zip(&params) {
            let groups = if gemv {
                let (gx, gy) = grid(r.len());
                (gx, gy, m.div_ceil(4) as u32)
            } else {
                (r.len().div_ceil(64) as u32, m.div_ceil(64) as u32, 1)
            };
            batch.dispatch(&pipe, &[pb, &xb, wb, &yb], groups);
        }
        batch.finish_read(&yb, y)
    })
}
