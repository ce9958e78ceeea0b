//! RoPE launcher (`rope.wgsl`): the host gathers each row's `cos`/`sin` from the
//! [`RopeTable`] into `[m, 2, head_dim/2]`; one thread per rotated pair.

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;
use crate::ops::RopeTable;

/// Rotary embedding in place on `x[m, n_heads * head_dim]`.
pub fn run(
    gpu: &Gpu,
    x: &mut [f32],
    m: usize,
    n_heads: usize,
    head_dim: usize,
    positions: &[usize],
    table: &RopeTable,
) -> Result<()> {
    let pairs = m * n_heads * head_dim / 2;
    if pairs == 0 {
        return Ok(());
    }
    let spec = ShaderSpec {
        name: "rope",
        source: include_str!("shaders/rope.wgsl"),
        prelude: String::new(),
        constants: vec![],
        slots: vec![Slot::Uniform, Slot::ReadWrite, Slot::Read],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    let mut cs = Vec::with_capacity(m * head_dim);
    for &pos in positions {
        cs.extend_from_slice(table.cos_row(pos));
        cs.extend_from_slice(table.sin_row(pos));
    }
    gpu.checked("rope", || {
        let params =
            buffers::uniform(gpu, &[u32_of("m", m)?, u32_of("n_heads", n_heads)?, u32_of("head_dim", head_dim)?]);
        let (xb, cb) = (buffers::storage_f32(gpu, "x", x), buffers::storage_f32(gpu, "cos_sin", &cs));
        let (gx, gy) = grid(pairs.div_ceil(256));
        let mut batch = Batch::new(gpu);
        batch.dispatch(&pipe, &[&params, &xb, &cb], (gx, gy, 1));
        batch.finish_read(&xb, x)
    })
}
