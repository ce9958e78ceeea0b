//! SwiGLU gate launcher (`silu_mul.wgsl`): one thread per element.

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;

/// `out[i] = silu(gate[i]) * up[i]`.
pub fn run(gpu: &Gpu, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()> {
    if gate.is_empty() {
        return Ok(());
    }
    let spec = ShaderSpec {
        name: "silu_mul",
        source: include_str!("shaders/silu_mul.wgsl"),
        prelude: String::new(),
        constants: vec![],
        slots: vec![Slot::Uniform, Slot::Read, Slot::Read, Slot::ReadWrite],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    gpu.checked("silu_mul", || {
        let params = buffers::uniform(gpu, &[u32_of("len", gate.len())?]);
        let (gb, ub) = (buffers::storage_f32(gpu, "gate", gate), buffers::storage_f32(gpu, "up", up));
        let ob = buffers::output_f32(gpu, "out", gate.len());
        let (gx, gy) = grid(gate.len().div_ceil(256));
        let mut batch = Batch::new(gpu);
        batch.dispatch(&pipe, &[&params, &gb, &ub, &ob], (gx, gy, 1));
        batch.finish_read(&ob, out)
    })
}
