//! GGUF matmul launcher (`kernels/matmul_gguf.cu`): `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ`
//! for a weight stored as GGML blocks. Q8_0 and Q4_0 run on the device straight from the
//! GGUF bytes (one warp per output row); Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K have no CUDA
//! kernel yet: their rows are dequantized to f32 on the host with `quant`'s bit-exact decoder
//! and multiplied by the dense kernel (correct, but the weight crosses the bus as f32).

use super::buffers::{self, u32_of, yz_blocks, DriverCtx};
use super::device::CudaDevice;
use super::matmul::{self, DenseVariant, GpuDense};
use super::sources;
use crate::backend::DenseWeight;
use crate::error::Result;
use crate::prepared::dequantize_gguf;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use quant::gguf::GgmlType;

/// The block types with a CUDA kernel (the others are dequantized on the host).
pub const DEVICE_TYPES: [GgmlType; 2] = [GgmlType::Q8_0, GgmlType::Q4_0];

/// x rows per warp (`GG_R` in `matmul_gguf.cu`).
const GG_R: usize = 4;

/// GGML blocks of a type with a CUDA kernel ([`DEVICE_TYPES`]), resident on the device.
pub struct GpuBlocks {
    ty: GgmlType,
    n: usize,
    k: usize,
    bytes: CudaSlice<u8>,
}

impl GpuBlocks {
    /// Uploads the blocks of a `[n, k]` weight (shapes validated) whose type has a kernel, or
    /// `None` for the types that are decoded on the host.
    pub fn upload(dev: &CudaDevice, ty: GgmlType, blocks: &[u8], n: usize, k: usize) -> Result<Option<GpuBlocks>> {
        if !DEVICE_TYPES.contains(&ty) {
            return Ok(None);
        }
        Ok(Some(GpuBlocks { ty, n, k, bytes: buffers::upload(dev, "blocks", blocks)? }))
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

/// `y[m, n]` for GGML blocks of type `ty` (shapes and type already validated).
#[allow(clippy::too_many_arguments)]
pub fn run(
    dev: &CudaDevice,
    dense: DenseVariant,
    x: &[f32],
    m: usize,
    k: usize,
    ty: GgmlType,
    blocks: &[u8],
    n: usize,
    y: &mut [f32],
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        y.fill(0.0);
        return Ok(());
    }
    match GpuBlocks::upload(dev, ty, blocks, n, k)? {
        Some(w) => run_resident(dev, x, m, &w, y),
        None => {
            let w = dequantize_gguf(ty, blocks, n, k)?;
            let gw = GpuDense::upload(dev, DenseWeight::F32(&w), n, k)?;
            matmul::run(dev, dense, x, m, &gw, y)
        }
    }
}

/// `y[m, n]` for resident blocks (`x`, `y` lengths validated).
pub fn run_resident(dev: &CudaDevice, x: &[f32], m: usize, w: &GpuBlocks, y: &mut [f32]) -> Result<()> {
    const OP: &str = "matmul_gguf";
    let (n, k) = (w.n, w.k);
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        y.fill(0.0);
        return Ok(());
    }
    let name = match w.ty {
        GgmlType::Q8_0 => "matmul_gguf_q8_0",
        _ => "matmul_gguf_q4_0",
    };
    let f = dev.function(&sources::MATMUL_GGUF, name)?;
    let (mu, nu, ku) = (u32_of(OP, "m", m)?, u32_of(OP, "n", n)?, u32_of(OP, "k", k)?);
    let xb = buffers::upload(dev, "x", x)?;
    let mut yb = buffers::zeros::<f32>(dev, "y", m * n)?;
    let cfg = LaunchConfig {
        grid_dim: (n.div_ceil(4) as u32, yz_blocks(m, GG_R), 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&xb).arg(&w.bytes).arg(&mut yb).arg(&mu).arg(&nu).arg(&ku);
    unsafe { b.launch(cfg) }.ctx(&format!("{OP}: launching {name}"))?;
    buffers::download(dev, OP, &yb, y)
}
