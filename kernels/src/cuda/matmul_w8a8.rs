//! W8A8 launcher (`kernels/matmul_w8a8.cu`): int8 activations `xq[m, k]` (one scale per row,
//! per-token) times int8 weights `wq[n, k]` (one scale per output channel) into `y[m, n]`,
//! exact i32 accumulation, then `(acc as f32) · x_scales[i] · w_scales[j]`: bit for bit
//! [`crate::ops::matmul_w8a8_ref`]. Rows are packed four values per 32-bit word and zero-padded
//! to [`row_words`]`(k)` words (a multiple of 16, one K step of the tensor-core kernel), for
//! both operands, so either kernel reads either buffer.
//!
//! Two kernels, chosen by [`W8a8Variant`]:
//! - [`W8a8Variant::Dp4a`]: `matmul_w8a8_dp4a`, `__dp4a` (sm_61+), one warp per weight row and
//!   up to four x rows; best for small `m` (decode).
//! - [`W8a8Variant::Mma`]: `matmul_w8a8_mma_*`, int8 tensor cores (`mma.sync.m16n8k32`, sm_80+),
//!   a block tile of [`MmaTile`] (128×128, 128×64 or 64×64 of `y`, picked by [`mma_tile_for`]),
//!   8 warps, K steps of 64 values through a 3-stage `cp.async` ring.
//!
//! [`W8a8Variant::Auto`] takes the tensor cores on sm_80+ from [`MMA_MIN_M`] rows on.
//!
//! Device-resident use (benchmarks, CUDA graphs): [`GpuW8::upload`] once per weight,
//! [`W8a8Io::upload`] per activation batch, then [`enqueue`] (launches only: no allocation,
//! no copy, no sync) and [`W8a8Io::download`]. [`run`] does all of it from host slices.

use super::buffers::{self, u32_of, yz_blocks, DriverCtx};
use super::device::{device_err, CudaDevice};
use super::sources;
use crate::error::Result;
use crate::shapes;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

const OP: &str = "matmul_w8a8";

/// x rows per warp of the dp4a kernel (`W8_R` in `matmul_w8a8.cu`).
const W8_R: usize = 4;
/// Words per K step of the mma kernels (`W8_KW`); every packed row is a multiple of this long.
pub const KW_ALIGN: usize = 16;
/// Threads per block of the mma kernels (`W8_THREADS`).
const MMA_THREADS: u32 = 256;
/// The fewest x rows for which [`W8a8Variant::Auto`] takes the tensor cores. Measured on an
/// H200 (`reports/kernels-h200.json`): dp4a wins only at m = 1 (16.9 against 26.4 µs on
/// 4096×4096); at m = 4 the tensor cores win on all six shapes (26.5 against 45.5 µs), and
/// dp4a's time grows linearly with m while the tile's stays flat.
pub const MMA_MIN_M: usize = 2;

/// Which W8A8 kernel runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum W8a8Variant {
    /// [`Self::Mma`] on sm_80+ when `m >= MMA_MIN_M`, [`Self::Dp4a`] otherwise.
    #[default]
    Auto,
    /// `matmul_w8a8_dp4a` (any device, any `m`).
    Dp4a,
    /// The int8 tensor-core kernels (sm_80+ only; an error on older devices).
    Mma,
}

/// Block tile (rows of x × weight rows) of the tensor-core kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmaTile {
    /// 128 × 128: 8 warps of 64 × 32 (4 × 4 fragments).
    T128x128,
    /// 128 × 64: 8 warps of 64 × 16 (4 × 2 fragments).
    T128x64,
    /// 64 × 64: 8 warps of 32 × 16 (2 × 2 fragments).
    T64x64,
}

impl MmaTile {
    /// Every tile, largest first.
    pub const ALL: [MmaTile; 3] = [MmaTile::T128x128, MmaTile::T128x64, MmaTile::T64x64];

    /// `(rows of x, weight rows)` per block.
    pub fn dims(self) -> (usize, usize) {
        match self {
            MmaTile::T128x128 => (128, 128),
            MmaTile::T128x64 => (128, 64),
            MmaTile::T64x64 => (64, 64),
        }
    }

    fn kernel(self) -> &'static str {
        match self {
            MmaTile::T128x128 => "matmul_w8a8_mma_128x128",
            MmaTile::T128x64 => "matmul_w8a8_mma_128x64",
            MmaTile::T64x64 => "matmul_w8a8_mma_64x64",
        }
    }

    fn blocks(self, m: usize, n: usize) -> usize {
        let (bm, bn) = self.dims();
        m.div_ceil(bm) * n.div_ceil(bn)
    }
}

/// The largest tile that still gives every one of `sm_count` SMs a block, else the smallest.
pub fn mma_tile_for(sm_count: u32, m: usize, n: usize) -> MmaTile {
    MmaTile::ALL.into_iter().find(|t| t.blocks(m, n) >= sm_count as usize).unwrap_or(MmaTile::T64x64)
}

/// Words per packed row of `k` int8 values: `ceil(k / 4)` rounded up to [`KW_ALIGN`].
pub fn row_words(k: usize) -> usize {
    k.div_ceil(4).div_ceil(KW_ALIGN) * KW_ALIGN
}

/// `rows` rows of `k` int8 values as 32-bit words (little-endian, four values each), each row
/// zero-padded to [`row_words`]`(k)` words.
pub fn pack_rows(v: &[i8], rows: usize, k: usize) -> Vec<i32> {
    let kw = row_words(k);
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

/// Int8 weights `wq[n, k]` and their per-row scales on the device (rows packed by [`pack_rows`]).
pub struct GpuW8 {
    n: usize,
    k: usize,
    wq: CudaSlice<i32>,
    scales: CudaSlice<f32>,
}

impl GpuW8 {
    /// Packs and uploads `wq[n, k]` and `w_scales[n]`.
    pub fn upload(dev: &CudaDevice, wq: &[i8], w_scales: &[f32], n: usize, k: usize) -> Result<GpuW8> {
        shapes::expect_len(OP, &format!("wq [n={n}, k={k}]"), wq.len(), n.saturating_mul(k))?;
        shapes::expect_len(OP, &format!("w_scales [n={n}]"), w_scales.len(), n)?;
        Ok(GpuW8 {
            n,
            k,
            wq: buffers::upload(dev, "wq (packed)", &pack_rows(wq, n, k))?,
            scales: buffers::upload(dev, "w_scales", w_scales)?,
        })
    }

    /// Output features (weight rows).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// One activation batch on the device: packed `xq[m, k]`, `x_scales[m]` and the output
/// `y[m, n]`.
pub struct W8a8Io {
    m: usize,
    k: usize,
    n: usize,
    xq: CudaSlice<i32>,
    scales: CudaSlice<f32>,
    y: CudaSlice<f32>,
}

impl W8a8Io {
    /// Packs and uploads `xq[m, k]` and `x_scales[m]`, and allocates a zeroed `y[m, n]` (`n`:
    /// the weight rows of the [`GpuW8`] it will be multiplied with).
    pub fn upload(dev: &CudaDevice, xq: &[i8], x_scales: &[f32], m: usize, k: usize, n: usize) -> Result<W8a8Io> {
        shapes::expect_len(OP, &format!("xq [m={m}, k={k}]"), xq.len(), m.saturating_mul(k))?;
        shapes::expect_len(OP, &format!("x_scales [m={m}]"), x_scales.len(), m)?;
        Ok(W8a8Io {
            m,
            k,
            n,
            xq: buffers::upload(dev, "xq (packed)", &pack_rows(xq, m, k))?,
            scales: buffers::upload(dev, "x_scales", x_scales)?,
            y: buffers::zeros::<f32>(dev, "y", m.saturating_mul(n))?,
        })
    }

    /// Rows of x (and y).
    pub fn m(&self) -> usize {
        self.m
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of y.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Copies `y[m, n]` into `y` (exactly `m · n` values) and waits for the stream.
    pub fn download(&self, dev: &CudaDevice, y: &mut [f32]) -> Result<()> {
        shapes::expect_len(OP, &format!("y [m={}, n={}]", self.m, self.n), y.len(), self.m * self.n)?;
        buffers::download(dev, OP, &self.y, y)
    }
}

/// The kernel `variant` resolves to on `dev` for `m` rows: `None` for dp4a, else the tile.
fn resolve(dev: &CudaDevice, variant: W8a8Variant, m: usize, n: usize) -> Result<Option<MmaTile>> {
    match variant {
        W8a8Variant::Dp4a => Ok(None),
        W8a8Variant::Auto if !mma_supported(dev) || m < MMA_MIN_M => Ok(None),
        W8a8Variant::Auto | W8a8Variant::Mma => Ok(Some(mma_tile_for(dev.sm_count, m, n))),
    }
}

/// Whether `dev` has int8 `mma.sync.m16n8k32` (compute capability 8.0 or newer).
pub fn mma_supported(dev: &CudaDevice) -> bool {
    dev.compute_capability.0 >= 8
}

/// Launches `y = x · wᵀ` on the stream with `variant` (the tile picked by [`mma_tile_for`]):
/// no allocation, no copy, no sync, so it can be captured in a CUDA graph (once each kernel's
/// module is loaded: the first launch of a kernel compiles its source).
pub fn enqueue(dev: &CudaDevice, variant: W8a8Variant, w: &GpuW8, io: &mut W8a8Io) -> Result<()> {
    match resolve(dev, variant, io.m, w.n)? {
        None => enqueue_dp4a(dev, w, io),
        Some(tile) => enqueue_mma(dev, tile, w, io),
    }
}

fn check_pair(w: &GpuW8, io: &W8a8Io) -> Result<()> {
    shapes::expect_len(OP, &format!("x row (k of the weight [n={}, k={}])", w.n, w.k), io.k, w.k)?;
    shapes::expect_len(OP, &format!("y row (n of the weight [n={}, k={}])", w.n, w.k), io.n, w.n)
}

/// `matmul_w8a8_dp4a`: grid (ceil(n / 4), min(ceil(m / 4), 65535)) of 128 threads.
fn enqueue_dp4a(dev: &CudaDevice, w: &GpuW8, io: &mut W8a8Io) -> Result<()> {
    check_pair(w, io)?;
    let (m, n) = (io.m, w.n);
    if m == 0 || n == 0 {
        return Ok(());
    }
    let f = dev.function(&sources::MATMUL_W8A8, "matmul_w8a8_dp4a")?;
    let (mu, nu, kw) = (u32_of(OP, "m", m)?, u32_of(OP, "n", n)?, u32_of(OP, "k words", row_words(w.k))?);
    let cfg = LaunchConfig {
        grid_dim: (u32_of(OP, "n / 4", n.div_ceil(4))?, yz_blocks(m, W8_R), 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&io.xq).arg(&w.wq).arg(&io.scales).arg(&w.scales).arg(&mut io.y).arg(&mu).arg(&nu).arg(&kw);
    unsafe { b.launch(cfg) }.ctx("matmul_w8a8: launching matmul_w8a8_dp4a")?;
    Ok(())
}

/// The tensor-core kernel with an explicit tile: grid (ceil(m / BM), ceil(n / BN)) of 256
/// threads, 24–48 KiB of static shared memory. Errors on devices older than sm_80.
pub fn enqueue_mma(dev: &CudaDevice, tile: MmaTile, w: &GpuW8, io: &mut W8a8Io) -> Result<()> {
    check_pair(w, io)?;
    if !mma_supported(dev) {
        return Err(device_err(format!(
            "{OP}: the int8 tensor-core kernel needs compute capability 8.0 or newer, {} has {}.{}",
            dev.name, dev.compute_capability.0, dev.compute_capability.1
        )));
    }
    let (m, n) = (io.m, w.n);
    if m == 0 || n == 0 {
        return Ok(());
    }
    let f = dev.function(&sources::MATMUL_W8A8, tile.kernel())?;
    let (mu, nu, kw) = (u32_of(OP, "m", m)?, u32_of(OP, "n", n)?, u32_of(OP, "k words", row_words(w.k))?);
    let (bm, bn) = tile.dims();
    let gy = n.div_ceil(bn);
    if gy > 65_535 {
        return Err(device_err(format!("{OP}: n = {n} needs {gy} tile columns, more than a grid's 65535")));
    }
    let cfg = LaunchConfig {
        grid_dim: (u32_of(OP, "m tiles", m.div_ceil(bm))?, gy as u32, 1),
        block_dim: (MMA_THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&io.xq).arg(&w.wq).arg(&io.scales).arg(&w.scales).arg(&mut io.y).arg(&mu).arg(&nu).arg(&kw);
    unsafe { b.launch(cfg) }.ctx(&format!("matmul_w8a8: launching {}", tile.kernel()))?;
    Ok(())
}

/// `y[m, n]` from int8 `xq[m, k]`, `wq[n, k]` and their row scales (shapes already checked):
/// upload, [`enqueue`] with `variant`, read back.
#[allow(clippy::too_many_arguments)]
pub fn run(
    dev: &CudaDevice,
    variant: W8a8Variant,
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    k: usize,
    wq: &[i8],
    w_scales: &[f32],
    n: usize,
    y: &mut [f32],
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let w = GpuW8::upload(dev, wq, w_scales, n, k)?;
    run_resident(dev, variant, xq, x_scales, m, &w, y)
}

/// `y[m, n]` from int8 `xq[m, k]` and a resident weight: upload x, [`enqueue`], read back.
pub fn run_resident(
    dev: &CudaDevice,
    variant: W8a8Variant,
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    w: &GpuW8,
    y: &mut [f32],
) -> Result<()> {
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    let mut io = W8a8Io::upload(dev, xq, x_scales, m, w.k, w.n)?;
    enqueue(dev, variant, w, &mut io)?;
    io.download(dev, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pad_to_whole_k_steps() {
        assert_eq!([0, 1, 4, 64, 65, 4099].map(row_words), [0, 16, 16, 16, 32, 1040]);
        let p = pack_rows(&[1, -1, 2, 3, 4, -128, 7, 8, 9, 10], 2, 5);
        assert_eq!(p.len(), 32);
        assert_eq!(p[..2], [i32::from_le_bytes([1, 0xff, 2, 3]), 4]);
        assert_eq!(p[16..18], [i32::from_le_bytes([0x80, 7, 8, 9]), 10]);
        assert!(p[2..16].iter().chain(&p[18..]).all(|&w| w == 0));
    }

    #[test]
    fn tile_fills_the_sms() {
        assert_eq!(mma_tile_for(132, 2048, 1536), MmaTile::T128x128);
        assert_eq!(mma_tile_for(132, 1024, 1536), MmaTile::T128x64);
        assert_eq!(mma_tile_for(132, 512, 1536), MmaTile::T64x64);
        assert_eq!(mma_tile_for(132, 16, 64), MmaTile::T64x64);
    }
}
