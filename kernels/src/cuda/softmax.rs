//! `softmax` launcher (`kernels/softmax.cu`): softmax in place over each row of `x[m, n]`,
//! one block of 256 threads per row (max, sum of exponentials, scale).

use super::buffers::{self, cfg_rows, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use cudarc::driver::PushKernelArg;

/// Row-wise softmax of `x[m, n]` in place (shape already validated).
pub fn run(dev: &CudaDevice, x: &mut [f32], m: usize, n: usize) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let f = dev.function(&sources::SOFTMAX, "softmax_f32")?;
    let (mu, nu) = (u32_of("softmax", "m", m)?, u32_of("softmax", "n", n)?);
    u32_of("softmax", "m x n", m * n)?;
    let mut xb = buffers::upload(dev, "x", x)?;
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut xb).arg(&mu).arg(&nu);
    unsafe { b.launch(cfg_rows(m)) }.ctx("softmax: launching softmax_f32")?;
    buffers::download(dev, "softmax", &xb, x)
}
