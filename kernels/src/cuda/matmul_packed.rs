//! Packed matmul launcher (`kernels/matmul_packed.cu`): `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ`
//! for a [`PackedWeight`] (int2/3/4/8, symmetric or asymmetric, any group size, act-order),
//! uploaded struct-of-arrays (codes, f32 scales, u8 zeros, g_idx) and dequantized in the loop.
//!
//! Two W4A16 kernels side by side, chosen by [`W4Variant`]:
//! - [`W4Variant::Simple`]: `matmul_packed_simple`, one thread per output; it also runs every
//!   other bit width and every act-order weight, whatever the variant.
//! - [`W4Variant::Tuned`]: `matmul_w4_tuned` for int4 without act-order: code rows re-padded to
//!   whole 16-byte chunks (32 codes) so each lane reads them with 128-bit loads, x rows padded
//!   with zeros to the same width, [`W4_ROWS_PER_WARP`] outputs per warp for up to 4 x rows,
//!   warp-shuffle reductions, and split-K ([`splits_for`]) when `n` is too small to fill the GPU,
//!   the splits' partial sums added in a fixed order by `splitk_reduce` (deterministic).

use super::buffers::{self, cfg_1d, u32_of, yz_blocks, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use quant::pack::PackedWeight;

/// Which kernel multiplies int4 weights without act-order (every other weight always takes the
/// simple kernel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum W4Variant {
    /// One thread per output, dequantizing in the loop (`matmul_packed_simple`).
    Simple,
    /// 128-bit loads, several outputs per warp, shuffle reductions, split-K (`matmul_w4_tuned`).
    #[default]
    Tuned,
}

/// Output rows per warp of the tuned kernel (`W4_NR` in `matmul_packed.cu`).
pub const W4_ROWS_PER_WARP: usize = 2;
/// Warps per block of the tuned kernel (`W4_WARPS`).
const W4_WARPS: usize = 4;
/// x rows per block of the tuned kernel (`W4_MR`).
const W4_MR: usize = 4;
/// The most K splits the tuned kernel uses.
pub const MAX_SPLITS: usize = 32;

/// A packed weight on the device.
pub struct GpuPacked {
    n: usize,
    k: usize,
    bits: u32,
    asym: bool,
    zero_sym: u32,
    /// Words between rows of `codes` (`row_words`, or that rounded up to 4 for the tuned layout).
    stride: usize,
    n_groups: usize,
    group_size: usize,
    /// Whether columns have act-order groups (`g_idx`).
    act_order: bool,
    /// Whether `codes` rows are padded to whole 4-word chunks (int4 without act-order).
    tuned_layout: bool,
    codes: CudaSlice<u32>,
    scales: CudaSlice<f32>,
    zeros: CudaSlice<u8>,
    g_idx: CudaSlice<u32>,
}

impl GpuPacked {
    /// Uploads `w`. Int4 weights without act-order get rows padded to 4 words (zero codes),
    /// which both kernels read (the simple one just uses the longer stride).
    pub fn upload(dev: &CudaDevice, w: &PackedWeight) -> Result<GpuPacked> {
        let (n, k, rw) = (w.n(), w.k(), w.row_words());
        let bits = w.format().bits();
        let tuned_layout = bits == 4 && w.g_idx().is_none();
        let stride = if tuned_layout { rw.div_ceil(4) * 4 } else { rw };
        let codes = if stride == rw {
            buffers::upload(dev, "codes", w.codes())?
        } else {
            let mut padded = vec![0u32; n * stride];
            for (dst, src) in padded.chunks_exact_mut(stride).zip(w.codes().chunks_exact(rw.max(1))) {
                dst[..rw].copy_from_slice(src);
            }
            buffers::upload(dev, "codes (padded to 16-byte rows)", &padded)?
        };
        Ok(GpuPacked {
            n,
            k,
            bits,
            asym: w.zeros().is_some(),
            zero_sym: u32::from(w.format().int().offset()),
            stride,
            n_groups: w.n_groups(),
            group_size: w.group_size(),
            act_order: w.g_idx().is_some(),
            tuned_layout,
            codes,
            scales: buffers::upload(dev, "scales", w.scales())?,
            zeros: buffers::upload(dev, "zeros", w.zeros().unwrap_or(&[]))?,
            g_idx: buffers::upload(dev, "g_idx", w.g_idx().unwrap_or(&[]))?,
        })
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Whether `variant` would run the tuned kernel on this weight.
    pub fn uses_tuned(&self, variant: W4Variant) -> bool {
        variant == W4Variant::Tuned && self.tuned_layout
    }
}

/// K splits for the tuned kernel: enough blocks for two per SM, each split keeping at least
/// one 32-code chunk per lane (`chunks / 32` splits at most), at most [`MAX_SPLITS`].
pub fn splits_for(sm_count: u32, m: usize, n: usize, chunks: usize) -> usize {
    let blocks = n.div_ceil(W4_WARPS * W4_ROWS_PER_WARP) * m.div_ceil(W4_MR).min(65_535);
    let want = (2 * sm_count as usize).div_ceil(blocks.max(1));
    want.clamp(1, (chunks / 32).clamp(1, MAX_SPLITS))
}

/// `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` with `W` resident (shapes already checked).
pub fn run(dev: &CudaDevice, variant: W4Variant, x: &[f32], m: usize, w: &GpuPacked, y: &mut [f32]) -> Result<()> {
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    if w.k == 0 {
        y.fill(0.0);
        return Ok(());
    }
    if w.uses_tuned(variant) {
        run_tuned(dev, x, m, w, y)
    } else {
        run_simple(dev, x, m, w, y)
    }
}

fn run_simple(dev: &CudaDevice, x: &[f32], m: usize, w: &GpuPacked, y: &mut [f32]) -> Result<()> {
    const OP: &str = "matmul_packed";
    let f = dev.function(&sources::MATMUL_PACKED, "matmul_packed_simple")?;
    let args = [
        u32_of(OP, "m", m)?,
        u32_of(OP, "n", w.n)?,
        u32_of(OP, "k", w.k)?,
        w.bits,
        u32_of(OP, "row stride", w.stride)?,
        u32_of(OP, "n_groups", w.n_groups)?,
        u32_of(OP, "group_size", w.group_size)?,
        w.zero_sym,
        u32::from(w.asym),
        u32::from(w.act_order),
    ];
    let xb = buffers::upload(dev, "x", x)?;
    let mut yb = buffers::zeros::<f32>(dev, "y", m * w.n)?;
    let cfg = LaunchConfig {
        grid_dim: (w.n.div_ceil(128) as u32, m.clamp(1, 65_535) as u32, 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&xb).arg(&w.codes).arg(&w.scales).arg(&w.zeros).arg(&w.g_idx).arg(&mut yb);
    for a in &args {
        b.arg(a);
    }
    unsafe { b.launch(cfg) }.ctx("matmul_packed: launching matmul_packed_simple")?;
    buffers::download(dev, OP, &yb, y)
}

fn run_tuned(dev: &CudaDevice, x: &[f32], m: usize, w: &GpuPacked, y: &mut [f32]) -> Result<()> {
    const OP: &str = "matmul_packed";
    let f = dev.function(&sources::MATMUL_PACKED, "matmul_w4_tuned")?;
    let chunks = w.stride / 4;
    let kp = chunks * 32;
    let splits = splits_for(dev.sm_count, m, w.n, chunks);
    u32_of(OP, "splits x m x n", splits * m * w.n)?;
    let xb = if kp == w.k {
        buffers::upload(dev, "x", x)?
    } else {
        let mut padded = vec![0f32; m * kp];
        for (dst, src) in padded.chunks_exact_mut(kp).zip(x.chunks_exact(w.k)) {
            dst[..w.k].copy_from_slice(src);
        }
        buffers::upload(dev, "x (padded to whole chunks)", &padded)?
    };
    let mut out = buffers::zeros::<f32>(dev, "split-K partial sums", splits * m * w.n)?;
    let args = [
        u32_of(OP, "m", m)?,
        u32_of(OP, "n", w.n)?,
        u32_of(OP, "chunks", chunks)?,
        u32_of(OP, "n_groups", w.n_groups)?,
        u32_of(OP, "group_size", w.group_size)?,
        w.zero_sym,
        u32::from(w.asym),
        splits as u32,
    ];
    let cfg = LaunchConfig {
        grid_dim: (w.n.div_ceil(W4_WARPS * W4_ROWS_PER_WARP) as u32, splits as u32, yz_blocks(m, W4_MR)),
        block_dim: ((W4_WARPS * 32) as u32, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&xb).arg(&w.codes).arg(&w.scales).arg(&w.zeros).arg(&mut out);
    for a in &args {
        b.arg(a);
    }
    unsafe { b.launch(cfg) }.ctx("matmul_packed: launching matmul_w4_tuned")?;
    if splits == 1 {
        return buffers::download(dev, OP, &out, y);
    }
    let reduce = dev.function(&sources::MATMUL_PACKED, "splitk_reduce")?;
    let mn = u32_of(OP, "m x n", m * w.n)?;
    let s32 = splits as u32;
    let mut yb = buffers::zeros::<f32>(dev, "y", m * w.n)?;
    let mut b = dev.stream.launch_builder(&reduce);
    b.arg(&out).arg(&mut yb).arg(&s32).arg(&mn);
    unsafe { b.launch(cfg_1d(m * w.n)) }.ctx("matmul_packed: launching splitk_reduce")?;
    buffers::download(dev, OP, &yb, y)
}
