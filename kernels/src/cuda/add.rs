//! `add` launcher (`kernels/add.cu`): `x[i] += y[i]` in place, one thread per element
//! (grid-stride); `x` is uploaded, updated on the device and read back.

use super::buffers::{self, cfg_1d, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use cudarc::driver::PushKernelArg;

/// `x += y` (lengths already validated).
pub fn run(dev: &CudaDevice, x: &mut [f32], y: &[f32]) -> Result<()> {
    if x.is_empty() {
        return Ok(());
    }
    let f = dev.function(&sources::ADD, "add_f32")?;
    let n = u32_of("add", "length", x.len())?;
    let mut xb = buffers::upload(dev, "x", x)?;
    let yb = buffers::upload(dev, "y", y)?;
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut xb).arg(&yb).arg(&n);
    unsafe { b.launch(cfg_1d(x.len())) }.ctx("add: launching add_f32")?;
    buffers::download(dev, "add", &xb, x)
}
