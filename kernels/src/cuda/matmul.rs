//! Dense matmul launcher (`kernels/matmul.cu`): `y[m, n] = x[m, k] · W[n, k]ᵀ` with `W` in f32,
//! bf16 or f16 (16-bit weights travel as their bit patterns and are widened exactly in the
//! kernel). [`DenseVariant`] picks the kernel: a warp-per-row GEMV for small `m` (decode) or a
//! 64 × 64 shared-memory tiled GEMM. Weights can stay on the device ([`GpuDense`]).

use super::buffers::{self, u32_of, yz_blocks, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::backend::DenseWeight;
use crate::error::Result;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Which dense kernel runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DenseVariant {
    /// GEMV when `m <= GEMV_MAX_M`, tiled otherwise.
    #[default]
    Auto,
    /// Always the warp-per-row GEMV (`matmul_gemv_*`).
    Gemv,
    /// Always the tiled GEMM (`matmul_tiled_*`).
    Tiled,
}

/// The largest `m` [`DenseVariant::Auto`] sends to the GEMV kernel.
pub const GEMV_MAX_M: usize = 8;
/// x rows per GEMV block (`GEMV_R` in `matmul.cu`).
const GEMV_R: usize = 4;
/// Output tile of the tiled kernel (`TM`, `TN` in `matmul.cu`).
const TILE: usize = 64;

/// A dense weight on the device.
pub struct GpuDense {
    n: usize,
    k: usize,
    data: DenseData,
}

enum DenseData {
    F32(CudaSlice<f32>),
    Bf16(CudaSlice<u16>),
    F16(CudaSlice<u16>),
}

impl GpuDense {
    /// Uploads `w` (`n * k` elements, already checked).
    pub fn upload(dev: &CudaDevice, w: DenseWeight<'_>, n: usize, k: usize) -> Result<GpuDense> {
        let data = match w {
            DenseWeight::F32(v) => DenseData::F32(buffers::upload(dev, "W (f32)", v)?),
            DenseWeight::BF16(v) => {
                DenseData::Bf16(buffers::upload(dev, "W (bf16)", bytemuck::cast_slice::<_, u16>(v))?)
            }
            DenseWeight::F16(v) => DenseData::F16(buffers::upload(dev, "W (f16)", bytemuck::cast_slice::<_, u16>(v))?),
        };
        Ok(GpuDense { n, k, data })
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// The device side of one dense matmul of `m` rows: `x[m, k]` and `y[m, n]`, made once so
/// [`enqueue`] can run with no allocation and no host copy.
pub struct DenseIo {
    m: usize,
    n: usize,
    x: CudaSlice<f32>,
    y: CudaSlice<f32>,
}

impl DenseIo {
    /// Uploads `x[m, k]` and allocates `y[m, n]` for `w`.
    pub fn upload(dev: &CudaDevice, w: &GpuDense, x: &[f32], m: usize) -> Result<DenseIo> {
        Ok(DenseIo { m, n: w.n, x: buffers::upload(dev, "x", x)?, y: buffers::zeros::<f32>(dev, "y", m * w.n)? })
    }

    /// Copies `y` back into `out[m * n]` and waits for the stream.
    pub fn download(&self, dev: &CudaDevice, out: &mut [f32]) -> Result<()> {
        buffers::download(dev, "matmul", &self.y, out)
    }
}

/// `y[m, n] = x[m, k] · W[n, k]ᵀ` with `W` resident (shapes already checked).
pub fn run(dev: &CudaDevice, variant: DenseVariant, x: &[f32], m: usize, w: &GpuDense, y: &mut [f32]) -> Result<()> {
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    if w.k == 0 {
        y.fill(0.0);
        return Ok(());
    }
    let mut io = DenseIo::upload(dev, w, x, m)?;
    enqueue(dev, variant, w, &mut io)?;
    io.download(dev, y)
}

/// Launches the dense kernel for `io` on the stream: no allocation, no copy, no wait.
pub fn enqueue(dev: &CudaDevice, variant: DenseVariant, w: &GpuDense, io: &mut DenseIo) -> Result<()> {
    const OP: &str = "matmul";
    let (m, n, k) = (io.m, w.n, w.k);
    if io.n != n {
        return Err(super::device::device_err(format!(
            "{OP}: buffers made for n = {} used with a weight of n = {n}",
            io.n
        )));
    }
    if m == 0 || n == 0 || k == 0 {
        return Ok(());
    }
    let (mu, nu, ku) = (u32_of(OP, "m", m)?, u32_of(OP, "n", n)?, u32_of(OP, "k", k)?);
    let gemv = match variant {
        DenseVariant::Auto => m <= GEMV_MAX_M,
        DenseVariant::Gemv => true,
        DenseVariant::Tiled => false,
    };
    let suffix = match w.data {
        DenseData::F32(_) => "f32",
        DenseData::Bf16(_) => "bf16",
        DenseData::F16(_) => "f16",
    };
    let name = format!("matmul_{}_{suffix}", if gemv { "gemv" } else { "tiled" });
    let f = dev.function(&sources::MATMUL, &name)?;
    let cfg = if gemv {
        if m.div_ceil(GEMV_R) > 65_535 {
            return Err(super::device::device_err(format!("{OP}: m = {m} is too many rows for the GEMV kernel")));
        }
        LaunchConfig {
            grid_dim: (n.div_ceil(4) as u32, yz_blocks(m, GEMV_R), 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        }
    } else {
        if m.div_ceil(TILE) > 65_535 {
            return Err(super::device::device_err(format!("{OP}: m = {m} is too many rows for the tiled kernel")));
        }
        LaunchConfig {
            grid_dim: (n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        }
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&io.x);
    match &w.data {
        DenseData::F32(s) => b.arg(s),
        DenseData::Bf16(s) | DenseData::F16(s) => b.arg(s),
    };
    b.arg(&mut io.y).arg(&mu).arg(&nu).arg(&ku);
    unsafe { b.launch(cfg) }.ctx(&format!("{OP}: launching {name}"))?;
    Ok(())
}
