//! `silu_mul` launcher (`kernels/silu_mul.cu`): `out[i] = silu(gate[i]) * up[i]`, one thread
//! per element (grid-stride).

use super::buffers::{self, cfg_1d, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use cudarc::driver::PushKernelArg;

/// SwiGLU's gate over three slices of one length (already validated).
pub fn run(dev: &CudaDevice, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()> {
    if gate.is_empty() {
        return Ok(());
    }
    let f = dev.function(&sources::SILU_MUL, "silu_mul_f32")?;
    let n = u32_of("silu_mul", "length", gate.len())?;
    let gb = buffers::upload(dev, "gate", gate)?;
    let ub = buffers::upload(dev, "up", up)?;
    let mut ob = buffers::zeros::<f32>(dev, "out", gate.len())?;
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&gb).arg(&ub).arg(&mut ob).arg(&n);
    unsafe { b.launch(cfg_1d(gate.len())) }.ctx("silu_mul: launching silu_mul_f32")?;
    buffers::download(dev, "silu_mul", &ob, out)
}
