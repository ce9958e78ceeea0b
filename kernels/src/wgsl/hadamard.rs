//! Hadamard rotation launcher: `hadamard_local.wgsl` (butterfly strides below 2048 in
//! workgroup memory, one workgroup per 2048-value tile of `x[rows, n]`), one
//! `hadamard_stage.wgsl` dispatch per larger stride (global memory), then
//! `hadamard_mix.wgsl` (the dense `m × m` base mix and the `1/sqrt(n)` scale, one thread per
//! output), all in one batch; `x` is read back from the mix's output.

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;
use crate::hadamard::Hadamard;

/// Values per workgroup tile of `hadamard_local.wgsl` (its `TILE`).
const TILE: usize = 2048;

fn spec(name: &'static str, source: &'static str, slots: Vec<Slot>) -> ShaderSpec {
    ShaderSpec { name, source, prelude: String::new(), constants: vec![], slots }
}

/// `x ← H · x` for each of the `rows` rows of `x[rows, n]`.
pub fn run(gpu: &Gpu, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()> {
    let (n, m, pp) = (h.n(), h.base_order(), h.pow2());
    let total = rows * n;
    if total == 0 {
        return Ok(());
    }
    let rw = || vec![Slot::Uniform, Slot::ReadWrite];
    let local =
        gpu.pipelines.get(&gpu.device, &spec("hadamard_local", include_str!("shaders/hadamard_local.wgsl"), rw()))?;
    let stage =
        gpu.pipelines.get(&gpu.device, &spec("hadamard_stage", include_str!("shaders/hadamard_stage.wgsl"), rw()))?;
    let mix = gpu.pipelines.get(
        &gpu.device,
        &spec(
            "hadamard_mix",
            include_str!("shaders/hadamard_mix.wgsl"),
            vec![Slot::Uniform, Slot::Read, Slot::Read, Slot::ReadWrite],
        ),
    )?;
    let base: Vec<f32> = h.base_matrix().iter().map(|&s| f32::from(s)).collect();
    gpu.checked("hadamard", || {
        let total32 = u32_of("rows x n", total)?;
        let xb = buffers::storage_f32(gpu, "x", x);
        let mut batch = Batch::new(gpu);
        // Uniform blocks must outlive the batch's recording.
        let mut params = Vec::new();
        let span = pp.min(TILE);
        if span > 1 {
            params.push(buffers::uniform(gpu, &[total32, span as u32]));
            let (gx, gy) = grid(total.div_ceil(TILE));
            batch.dispatch(&local, &[params.last().unwrap(), &xb], (gx, gy, 1));
        }
        let mut stride = span;
        while stride < pp {
            params.push(buffers::uniform(gpu, &[total32, u32_of("stride", stride)?]));
            let (gx, gy) = grid((total / 2).div_ceil(256));
            batch.dispatch(&stage, &[params.last().unwrap(), &xb], (gx, gy, 1));
            stride *= 2;
        }
        let mp = buffers::uniform(
            gpu,
            &[u32_of("rows", rows)?, u32_of("n", n)?, m as u32, u32_of("P", pp)?, h.scale().to_bits()],
        );
        let bb = buffers::storage_f32(gpu, "base", &base);
        let ob = buffers::output_f32(gpu, "out", total);
        let (gx, gy) = grid(total.div_ceil(256));
        batch.dispatch(&mix, &[&mp, &xb, &bb, &ob], (gx, gy, 1));
        batch.finish_read(&ob, x)
    })
}
