//! `rms_norm` launcher (`kernels/rms_norm.cu`): `x[m, d]` normalised per row by its RMS and
//! scaled by `weight[d]`; one block of 256 threads per row.

use super::buffers::{self, cfg_rows, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use cudarc::driver::PushKernelArg;

/// RMSNorm of the `m` rows of `x[m, d]` into `out[m, d]` (shapes already validated).
pub fn run(dev: &CudaDevice, x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) -> Result<()> {
    if m == 0 || d == 0 {
        return Ok(());
    }
    let f = dev.function(&sources::RMS_NORM, "rms_norm_f32")?;
    let (mu, du) = (u32_of("rms_norm", "m", m)?, u32_of("rms_norm", "d", d)?);
    u32_of("rms_norm", "m x d", m * d)?;
    let xb = buffers::upload(dev, "x", x)?;
    let wb = buffers::upload(dev, "weight", weight)?;
    let mut ob = buffers::zeros::<f32>(dev, "out", m * d)?;
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&xb).arg(&wb).arg(&mut ob).arg(&mu).arg(&du).arg(&eps);
    unsafe { b.launch(cfg_rows(m)) }.ctx("rms_norm: launching rms_norm_f32")?;
    buffers::download(dev, "rms_norm", &ob, out)
}
