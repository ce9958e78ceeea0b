//! Softmax launcher (`softmax.wgsl`): one workgroup per row of `x[m, n]`, in place.

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;

/// Softmax over each of the `m` rows of `n` values of `x`, in place.
pub fn run(gpu: &Gpu, x: &mut [f32], m: usize, n: usize) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let spec = ShaderSpec {
        name: "softmax",
        source: include_str!("shaders/softmax.wgsl"),
        prelude: String::new(),
        constants: vec![],
        slots: vec![Slot::Uniform, Slot::ReadWrite],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    gpu.checked("softmax", || {
        let params = buffers::uniform(gpu, &[u32_of("m", m)?, u32_of("n", n)?]);
        let xb = buffers::storage_f32(gpu, "x", x);
        let (gx, gy) = grid(m);
        let mut batch = Batch::new(gpu);
        batch.dispatch(&pipe, &[&params, &xb], (gx, gy, 1));
        batch.finish_read(&xb, x)
    })
}
