//! Residual add launcher (`add.wgsl`): one thread per element, in place.

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;

/// `x[i] += y[i]`.
pub fn run(gpu: &Gpu, x: &mut [f32], y: &[f32]) -> Result<()> {
    if x.is_empty() {
        return Ok(());
    }
    let spec = ShaderSpec {
        name: "add",
        source: include_str!("shaders/add.wgsl"),
        prelude: String::new(),
        constants: vec![],
        slots: vec![Slot::Uniform, Slot::ReadWrite, Slot::Read],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    gpu.checked("add", || {
        let params = buffers::uniform(gpu, &[u32_of("len", x.len())?]);
        let (xb, yb) = (buffers::storage_f32(gpu, "x", x), buffers::storage_f32(gpu, "y", y));
        let (gx, gy) = grid(x.len().div_ceil(256));
        let mut batch = Batch::new(gpu);
        batch.dispatch(&pipe, &[&params, &xb, &yb], (gx, gy, 1));
        batch.finish_read(&xb, x)
    })
}
