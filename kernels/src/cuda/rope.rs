//! `rope` launcher (`kernels/rope.cu`): the host gathers each row's `cos`/`sin` from the
//! [`RopeTable`] into `[m, 2, head_dim/2]` (as the WGSL backend does); one thread per rotated
//! pair, in place on `x[m, n_heads * head_dim]`.

use super::buffers::{self, cfg_1d, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use crate::ops::RopeTable;
use cudarc::driver::PushKernelArg;

/// Rotary embedding in place (shapes and positions already validated).
pub fn run(
    dev: &CudaDevice,
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
    let f = dev.function(&sources::ROPE, "rope_f32")?;
    let mut cs = Vec::with_capacity(m * head_dim);
    for &pos in positions {
        cs.extend_from_slice(table.cos_row(pos));
        cs.extend_from_slice(table.sin_row(pos));
    }
    let (mu, hu, du) =
        (u32_of("rope", "m", m)?, u32_of("rope", "n_heads", n_heads)?, u32_of("rope", "head_dim", head_dim)?);
    let mut xb = buffers::upload(dev, "x", x)?;
    let cb = buffers::upload(dev, "cos_sin", &cs)?;
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut xb).arg(&cb).arg(&mu).arg(&hu).arg(&du);
    unsafe { b.launch(cfg_1d(pairs)) }.ctx("rope: launching rope_f32")?;
    buffers::download(dev, "rope", &xb, x)
}
