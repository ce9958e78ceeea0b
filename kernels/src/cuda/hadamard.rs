//! `hadamard` launcher (`kernels/hadamard.cu`), the CPU backend's algorithm on the device: the
//! fast Walsh–Hadamard transform of every run of `P = 2^p` values (`hadamard_fwht_local` for the
//! strides below 2048 in shared memory, then one `hadamard_fwht_stage` launch per larger
//! stride), then `hadamard_mix` (the dense `m × m` ±1 base mix and the `1/sqrt(n)` scale) into
//! a second buffer, which is read back into `x[rows, n]`.

use super::buffers::{self, cfg_1d, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use crate::hadamard::Hadamard;
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// Values per shared-memory tile of `hadamard_fwht_local` (its `HAD_TILE`).
const TILE: usize = 2048;

/// `x ← H · x` for each of the `rows` rows of `x[rows, n]` (shape already validated).
pub fn run(dev: &CudaDevice, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()> {
    const OP: &str = "hadamard";
    let (n, m, pp) = (h.n(), h.base_order(), h.pow2());
    let total = rows * n;
    if total == 0 {
        return Ok(());
    }
    let local = dev.function(&sources::HADAMARD, "hadamard_fwht_local")?;
    let stage = dev.function(&sources::HADAMARD, "hadamard_fwht_stage")?;
    let mix = dev.function(&sources::HADAMARD, "hadamard_mix")?;
    let total32 = u32_of(OP, "rows x n", total)?;
    let mut xb = buffers::upload(dev, "x", x)?;
    let span = pp.min(TILE);
    if span > 1 {
        let span32 = span as u32;
        let tiles = total.div_ceil(TILE).clamp(1, 65_535 * 16) as u32;
        let cfg = LaunchConfig { grid_dim: (tiles, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        let mut b = dev.stream.launch_builder(&local);
        b.arg(&mut xb).arg(&total32).arg(&span32);
        unsafe { b.launch(cfg) }.ctx("hadamard: launching hadamard_fwht_local")?;
    }
    let mut stride = span;
    while stride < pp {
        let h32 = u32_of(OP, "stride", stride)?;
        let mut b = dev.stream.launch_builder(&stage);
        b.arg(&mut xb).arg(&total32).arg(&h32);
        unsafe { b.launch(cfg_1d(total / 2)) }.ctx("hadamard: launching hadamard_fwht_stage")?;
        stride *= 2;
    }
    let base: Vec<f32> = h.base_matrix().iter().map(|&s| f32::from(s)).collect();
    let bb = buffers::upload(dev, "base matrix", &base)?;
    let mut ob = buffers::zeros::<f32>(dev, "out", total)?;
    let (rows32, n32, m32, pp32) =
        (u32_of(OP, "rows", rows)?, u32_of(OP, "n", n)?, u32_of(OP, "m", m)?, u32_of(OP, "P", pp)?);
    let scale = h.scale();
    let mut b = dev.stream.launch_builder(&mix);
    b.arg(&xb).arg(&bb).arg(&mut ob).arg(&rows32).arg(&n32).arg(&m32).arg(&pp32).arg(&scale);
    unsafe { b.launch(cfg_1d(total)) }.ctx("hadamard: launching hadamard_mix")?;
    buffers::download(dev, OP, &ob, x)
}
