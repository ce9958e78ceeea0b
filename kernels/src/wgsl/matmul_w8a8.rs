//! W8A8 launcher (`matmul_w8a8.wgsl`): int8 rows packed four per `u32` word (rows padded to
//! whole words), i32 accumulation with `dot4I8Packed` or byte-wise products.

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;

/// Which integer dot product the shader uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W8a8Variant {
    /// `dot4I8Packed` (hardware where the device has it, naga's polyfill elsewhere).
    Auto,
    /// Four sign-extended byte products per word.
    Bytewise,
}

/// `rows` rows of `k` int8 values as `u32` words, each row zero-padded to `ceil(k / 4)` words.
pub fn pack_rows(v: &[i8], rows: usize, k: usize) -> Vec<u8> {
    let kp = k.div_ceil(4) * 4;
    let mut out = vec![0u8; rows * kp];
    for r in 0..rows {
        out[r * kp..r * kp + k].copy_from_slice(bytemuck::cast_slice(&v[r * k..(r + 1) * k]));
    }
    out
}

/// An int8 weight `wq[n, k]` and its per-row scales kept on the device (rows packed as
/// [`pack_rows`] does).
pub struct GpuW8a8 {
    n: usize,
    k: usize,
    wq: wgpu::Buffer,
    scales: wgpu::Buffer,
}

impl GpuW8a8 {
    /// Uploads `wq[n, k]` and `w_scales[n]` (lengths checked by the caller).
    pub fn upload(gpu: &Gpu, wq: &[i8], w_scales: &[f32], n: usize, k: usize) -> Result<GpuW8a8> {
        gpu.checked("matmul_w8a8 weight upload", || {
            Ok(GpuW8a8 {
                n,
                k,
                wq: buffers::storage(gpu, "wq", &pack_rows(wq, n, k)),
                scales: buffers::storage_f32(gpu, "w_scales", w_scales),
            })
        })
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// `y[m, n]` from int8 `xq[m, k]`, `wq[n, k]` and their row scales, the weight uploaded for
/// this call.
#[allow(clippy::too_many_arguments)]
pub fn run(
    gpu: &Gpu,
    variant: W8a8Variant,
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    k: usize,
    wq: &[i8],
    w_scales: &[f32],
    n: usize,
    y: &mut [f32],
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let w = GpuW8a8::upload(gpu, wq, w_scales, n, k)?;
    run_resident(gpu, variant, xq, x_scales, m, &w, y)
}

/// `y[m, n]` from int8 `xq[m, k]` and a resident weight.
pub fn run_resident(
    gpu: &Gpu,
    variant: W8a8Variant,
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    w: &GpuW8a8,
    y: &mut [f32],
) -> Result<()> {
    let (n, k) = (w.n, w.k);
    if m == 0 || n == 0 {
        return Ok(());
    }
    let spec = ShaderSpec {
        name: "matmul_w8a8",
        source: include_str!("shaders/matmul_w8a8.wgsl"),
        prelude: String::new(),
        constants: vec![("DOT4", if variant == W8a8Variant::Auto { 1.0 } else { 0.0 })],
        slots: vec![Slot::Uniform, Slot::Read, Slot::Read, Slot::Read, Slot::Read, Slot::ReadWrite],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    gpu.checked("matmul_w8a8", || {
        let params = buffers::uniform(gpu, &[u32_of("m", m)?, u32_of("n", n)?, u32_of("k words", k.div_ceil(4))?]);
        let xb = buffers::storage(gpu, "xq", &pack_rows(xq, m, k));
        let xs = buffers::storage_f32(gpu, "x_scales", x_scales);
        let yb = buffers::output_f32(gpu, "y", m * n);
        let (gx, gy) = grid(n);
        let mut batch = Batch::new(gpu);
        batch.dispatch(&pipe, &[&params, &xb, &w.wq, &xs, &w.scales, &yb], (gx, gy, m.div_ceil(4) as u32));
        batch.finish_read(&yb, y)
    })
}
