//! W8A8 launcher (`kernels/matmul_w8a8.cu`): int8 activations `xq[m, k]` (one scale per row,
//! per-token) times int8 weights `wq[n, k]` (one scale per output channel), rows packed four
//! values per 32-bit word (zero-padded to whole words), exact i32 accumulation with `__dp4a`;
//! bit for bit [`crate::ops::matmul_w8a8_ref`].

use super::buffers::{self, u32_of, yz_blocks, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// x rows per warp (`W8_R` in `matmul_w8a8.cu`).
const W8_R: usize = 4;

/// `rows` rows of `k` int8 values as 32-bit words (little-endian, four values each), each row
/// zero-padded to `ceil(k / 4)` words.
pub fn pack_rows(v: &[i8], rows: usize, k: usize) -> Vec<i32> {
    let kw = k.div_ceil(4);
    let mut out = vec![0i32; rows * kw];
    for (dst, src) in out.chunks_exact_mut(kw.max(1)).zip(v.chunks_exact(k.max(1))).take(rows) {
        for (word, quad) in dst.iter_mut().zip(src.chunks(4)) {
            let mut b = [0u8; 4];
            for (o, &q) in b.iter_mut().zip(quad) {
                *o = q as u8;
            }
            *word = i32::from_le_bytes(b);
        }
    }
    out
}

/// `y[m, n]` from int8 `xq[m, k]`, `wq[n, k]` and their row scales (shapes already checked).
#[allow(clippy::too_many_arguments)]
pub fn run(
    dev: &CudaDevice,
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    k: usize,
    wq: &[i8],
    w_scales: &[f32],
    n: usize,
    y: &mut [f32],
) -> Result<()> {
    const OP: &str = "matmul_w8a8";
    if m == 0 || n == 0 {
        return Ok(());
    }
    let f = dev.function(&sources::MATMUL_W8A8, "matmul_w8a8_dp4a")?;
    let (mu, nu, kw) = (u32_of(OP, "m", m)?, u32_of(OP, "n", n)?, u32_of(OP, "k words", k.div_ceil(4))?);
    let xb = buffers::upload(dev, "xq", &pack_rows(xq, m, k))?;
    let wb = buffers::upload(dev, "wq", &pack_rows(wq, n, k))?;
    let xs = buffers::upload(dev, "x_scales", x_scales)?;
    let ws = buffers::upload(dev, "w_scales", w_scales)?;
    let mut yb = buffers::zeros::<f32>(dev, "y", m * n)?;
    let cfg = LaunchConfig {
        grid_dim: (n.div_ceil(4) as u32, yz_blocks(m, W8_R), 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&xb).arg(&wb).arg(&xs).arg(&ws).arg(&mut yb).arg(&mu).arg(&nu).arg(&kw);
    unsafe { b.launch(cfg) }.ctx("matmul_w8a8: launching matmul_w8a8_dp4a")?;
    buffers::download(dev, OP, &yb, y)
}
