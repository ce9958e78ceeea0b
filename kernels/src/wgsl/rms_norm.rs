//! RMSNorm launcher (`rms_norm.wgsl`): one workgroup per row of `x[m, d]`.

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;

/// `out[r, i] = x[r, i] / sqrt(mean(x[r]²) + eps) * weight[i]`.
pub fn run(gpu: &Gpu, x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) -> Result<()> {
    if m == 0 || d == 0 {
        return Ok(());
    }
    let spec = ShaderSpec {
        name: "rms_norm",
        source: include_str!("shaders/rms_norm.wgsl"),
        prelude: String::new(),
        constants: vec![],
        slots: vec![Slot::Uniform, Slot::Read, Slot::Read, Slot::ReadWrite],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    gpu.checked("rms_norm", || {
        let params = buffers::uniform(gpu, &[u32_of("m", m)?, u32_of("d", d)?, eps.to_bits()]);
        let (xb, wb) = (buffers::storage_f32(gpu, "x", x), buffers::storage_f32(gpu, "weight", weight));
        let ob = buffers::output_f32(gpu, "out", m * d);
        let (gx, gy) = grid(m);
        let mut batch = Batch::new(gpu);
        batch.dispatch(&pipe, &[&params, &xb, &wb, &ob], (gx, gy, 1));
        batch.finish_read(&ob, out)
    })
}
