//! Upload and download helpers: device buffers from host slices (never empty: a zero-length
//! input becomes one default element, since the driver refuses empty allocations), zeroed
//! outputs, the read-back of an output's first `out.len()` values (which also waits for the
//! stream, so a kernel fault is reported by the op that caused it), checked `u32` shape
//! arguments, and 1-D launch configurations.

use super::device::{device_err, CudaDevice};
use crate::error::Result;
use cudarc::driver::{CudaSlice, DeviceRepr, DriverError, LaunchConfig, ValidAsZeroBits};

/// Maps a driver error to [`crate::KernelError::Device`] naming what was being done.
pub(crate) trait DriverCtx<T> {
    /// The value, or a device error `"{what}: {driver error}"`.
    fn ctx(self, what: &str) -> Result<T>;
}

impl<T> DriverCtx<T> for std::result::Result<T, DriverError> {
    fn ctx(self, what: &str) -> Result<T> {
        self.map_err(|e| device_err(format!("{what}: {e}")))
    }
}

/// A device copy of `v` (one `T::default()` when `v` is empty).
pub fn upload<T: DeviceRepr + Default>(dev: &CudaDevice, what: &str, v: &[T]) -> Result<CudaSlice<T>> {
    let r = if v.is_empty() { dev.stream.clone_htod(&[T::default()]) } else { dev.stream.clone_htod(v) };
    r.ctx(&format!("uploading {what} ({} elements)", v.len()))
}

/// A zeroed device buffer of `len` elements (at least one).
pub fn zeros<T: DeviceRepr + ValidAsZeroBits>(dev: &CudaDevice, what: &str, len: usize) -> Result<CudaSlice<T>> {
    dev.stream.alloc_zeros::<T>(len.max(1)).ctx(&format!("allocating {what} ({len} elements)"))
}

/// Copies the first `out.len()` values of `src` into `out` and waits for the stream.
pub fn download(dev: &CudaDevice, op: &str, src: &CudaSlice<f32>, out: &mut [f32]) -> Result<()> {
    if !out.is_empty() {
        if src.len() < out.len() {
            return Err(device_err(format!("{op}: output buffer holds {} values, {} wanted", src.len(), out.len())));
        }
        let view = src.slice(0..out.len());
        dev.stream.memcpy_dtoh(&view, out).ctx(&format!("{op}: reading back {} values", out.len()))?;
    }
    dev.sync(op)
}

/// `v` as the `u32` the kernels index with.
pub fn u32_of(op: &str, what: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| device_err(format!("{op}: {what} = {v} does not fit the kernels' u32 indices")))
}

/// Threads per block of the 1-D grid-stride kernels.
pub const BLOCK: u32 = 256;

/// A 1-D grid-stride launch over `total` items: `BLOCK` threads, at most 65535 · 16 blocks.
pub fn cfg_1d(total: usize) -> LaunchConfig {
    let blocks = total.div_ceil(BLOCK as usize).clamp(1, 65_535 * 16) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (BLOCK, 1, 1), shared_mem_bytes: 0 }
}

/// One block of `BLOCK` threads per row (grid-stride over rows beyond 65535 · 16).
pub fn cfg_rows(rows: usize) -> LaunchConfig {
    let blocks = rows.clamp(1, 65_535 * 16) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (BLOCK, 1, 1), shared_mem_bytes: 0 }
}

/// `ceil(v / d)` clamped to the 65535 blocks a grid's y and z dimensions allow (kernels walk
/// the rest with a grid stride).
pub fn yz_blocks(v: usize, d: usize) -> u32 {
    v.div_ceil(d).clamp(1, 65_535) as u32
}
