//! Packed matmul launcher (`kernels/matmul_packed.cu`): `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ`
//! for a [`PackedWeight`] (int2/3/4/8, symmetric or asymmetric, any group size, act-order),
//! uploaded struct-of-arrays (codes, f32 scales, u8 zeros, g_idx) and dequantized in the loop.
//!
//! Four W4A16 kernels side by side, chosen by [`W4Variant`]:
//! - [`W4Variant::Simple`]: `matmul_packed_simple`, one thread per output; it also runs every
//!   other bit width and every act-order weight, whatever the variant.
//! - [`W4Variant::Tuned`]: `matmul_w4_tuned` for int4 without act-order: code rows re-padded to
//!   whole 16-byte chunks (32 codes) so each lane reads them with 128-bit loads, x rows padded
//!   with zeros to the same width, [`W4_ROWS_PER_WARP`] outputs per warp for up to 4 x rows
//!   (one for decode: `matmul_w4_tuned_m1`), codes turned into floats without conversions,
//!   warp-shuffle reductions, and split-K ([`splits_for`]) when `n` is too small to fill the GPU,
//!   the splits' partial sums added in a fixed order by `splitk_reduce` (deterministic).
//! - [`W4Variant::Wide`]: `matmul_w4_wide` for one x row (decode), the tuned kernel otherwise:
//!   eight output rows per block, all loads of a chunk in flight before the arithmetic, codes
//!   turned into floats by bit tricks at three instructions per code, a block-wide reduction.
//! - [`W4Variant::Mma`] (the default): f16 tensor cores on sm_80+ for int4 without act-order
//!   whose groups are whole 16-column steps (`matmul_w4_mma`, [`super::matmul_w4_mma`]): codes
//!   pre-shuffled at upload into the mma fragment layout, x split into two f16 terms (f32
//!   accuracy), one mma per 16 × 16 weight tile for up to 8 x rows, from two x rows on; for one
//!   x row the wide kernel (faster there on an H200), and where it cannot run the tuned one.

use super::buffers::{self, cfg_1d, u32_of, yz_blocks, DriverCtx};
use super::device::CudaDevice;
use super::matmul_w4_mma::{self, MmaCodes, MmaIo, MmaWeight};
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
    Tuned,
    /// For one x row (decode) `matmul_w4_wide`: a block per 8 output rows, every code and x
    /// load of a chunk issued before any arithmetic, three instructions per code, a block-wide
    /// reduction instead of split-K; more than one x row takes the tuned kernel.
    Wide,
    /// f16 tensor cores (`matmul_w4_mma_*`, sm_80+, groups of whole 16-column steps) from two x
    /// rows on, time flat in m up to 8 rows; for one row, and where it cannot run, as
    /// [`W4Variant::Wide`].
    #[default]
    Mma,
}

/// Output rows per warp of the tuned kernel (`W4_NR` in `matmul_packed.cu`).
pub const W4_ROWS_PER_WARP: usize = 2;
/// Warps per block of the tuned kernel (`W4_WARPS`).
const W4_WARPS: usize = 4;
/// x rows per block of the tuned kernel for m > 1 (`W4_MR`).
const W4_MR: usize = 4;
/// Output rows per block of the wide kernel (`W4W_NR`).
const W4_WIDE_ROWS: usize = 8;
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
    /// The codes again in the tensor-core fragment layout (int4 eligible weights on sm_80+).
    mma: Option<Box<MmaCodes>>,
    codes: CudaSlice<u32>,
    scales: CudaSlice<f32>,
    zeros: CudaSlice<u8>,
    g_idx: CudaSlice<u32>,
}

impl GpuPacked {
    /// Uploads `w` for every kernel: [`Self::upload_for`] with the tensor-core layout.
    pub fn upload(dev: &CudaDevice, w: &PackedWeight) -> Result<GpuPacked> {
        Self::upload_for(dev, w, true)
    }

    /// Uploads `w`. Int4 weights without act-order get rows padded to 4 words (zero codes),
    /// which the simple, tuned and wide kernels read (the simple one just uses the longer
    /// stride); with `tensor_cores`, on sm_80+, eligible ones also get the tensor-core layout
    /// (twice the code bytes on the device), without it [`W4Variant::Mma`] runs as `Wide`.
    pub fn upload_for(dev: &CudaDevice, w: &PackedWeight, tensor_cores: bool) -> Result<GpuPacked> {
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
            mma: if tensor_cores { MmaCodes::upload(dev, w)?.map(Box::new) } else { None },
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

    /// Whether `variant` would run the tuned (or, for one x row, the wide) kernel on this
    /// weight: int4 without act-order.
    pub fn uses_tuned(&self, variant: W4Variant) -> bool {
        variant != W4Variant::Simple && self.tuned_layout
    }

    /// Whether `variant` runs the tensor-core kernel on this weight for `m` x rows (two or more:
    /// one row takes the wide kernel, faster there on an H200, `reports/kernels-h200.md`).
    pub fn uses_mma(&self, variant: W4Variant, m: usize) -> bool {
        variant == W4Variant::Mma && m > 1 && self.mma.is_some() && matmul_w4_mma::fits(m)
    }

    /// The kernel `variant` runs for `m` x rows: `mma`, `wide`, `tuned` or `simple`.
    pub fn kernel_for(&self, variant: W4Variant, m: usize) -> &'static str {
        if self.uses_mma(variant, m) {
            "mma"
        } else if !self.uses_tuned(variant) {
            "simple"
        } else if m == 1 && matches!(variant, W4Variant::Wide | W4Variant::Mma) {
            "wide"
        } else {
            "tuned"
        }
    }

    fn mma_weight(&self) -> Option<MmaWeight<'_>> {
        self.mma.as_ref().map(|mc| MmaWeight {
            mc,
            scales: &self.scales,
            zeros: &self.zeros,
            n: self.n,
            k: self.k,
            n_groups: self.n_groups,
            zero_sym: self.zero_sym,
            asym: self.asym,
        })
    }
}

/// x rows per block of the tuned kernel for `m` rows: 1 for decode (`matmul_w4_tuned_m1`),
/// else [`W4_MR`] (`matmul_w4_tuned`).
fn tuned_rows(m: usize) -> usize {
    if m == 1 {
        1
    } else {
        W4_MR
    }
}

/// K splits for the tuned kernel: enough blocks for two per SM, each split keeping at least
/// one 32-code chunk per lane (`chunks / 32` splits at most), at most [`MAX_SPLITS`].
pub fn splits_for(sm_count: u32, m: usize, n: usize, chunks: usize) -> usize {
    let blocks = n.div_ceil(W4_WARPS * W4_ROWS_PER_WARP) * m.div_ceil(tuned_rows(m)).min(65_535);
    let want = (2 * sm_count as usize).div_ceil(blocks.max(1));
    want.clamp(1, (chunks / 32).clamp(1, MAX_SPLITS))
}

/// The device side of one packed matmul of `m` rows against one [`GpuPacked`]: x (for the
/// tuned kernel, rows zero-padded to whole 32-code chunks: `x[m, kp]`), the split-K partial
/// sums `[splits, m, n]` and `y[m, n]`. Made once, then [`enqueue`] can run any number of
/// times with no allocation and no host copy (a benchmark captures it in a CUDA graph).
pub struct PackedIo {
    m: usize,
    n: usize,
    tuned: bool,
    /// One x row and [`W4Variant::Wide`] (or Mma where it cannot run): `matmul_w4_wide`
    /// instead of the tuned kernel.
    wide: bool,
    /// The tensor-core kernel's buffers (then `x`, `partial` and `y` are unused).
    mma: Option<MmaIo>,
    splits: usize,
    x: CudaSlice<f32>,
    partial: CudaSlice<f32>,
    y: CudaSlice<f32>,
}

impl PackedIo {
    /// Uploads `x[m, k]` for `w` and allocates the outputs, laid out for the kernel `variant`
    /// picks on `w`.
    pub fn upload(dev: &CudaDevice, variant: W4Variant, w: &GpuPacked, x: &[f32], m: usize) -> Result<PackedIo> {
        const OP: &str = "matmul_packed";
        if w.uses_mma(variant, m) {
            let mc = w.mma.as_ref().expect("uses_mma");
            let io = MmaIo::upload(dev, mc, w.n, x, m)?;
            return Ok(PackedIo {
                m,
                n: w.n,
                tuned: false,
                wide: false,
                splits: io.splits,
                mma: Some(io),
                x: buffers::zeros::<f32>(dev, "x (unused)", 1)?,
                partial: buffers::zeros::<f32>(dev, "partial (unused)", 1)?,
                y: buffers::zeros::<f32>(dev, "y (unused)", 1)?,
            });
        }
        let tuned = w.uses_tuned(variant);
        let wide = tuned && matches!(variant, W4Variant::Wide | W4Variant::Mma) && m == 1;
        let (x, splits) = if tuned {
            let chunks = w.stride / 4;
            let kp = chunks * 32;
            let splits = if wide { 1 } else { splits_for(dev.sm_count, m, w.n, chunks) };
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
            (xb, splits)
        } else {
            (buffers::upload(dev, "x", x)?, 1)
        };
        let partial_len = if splits > 1 { splits * m * w.n } else { 1 };
        Ok(PackedIo {
            m,
            n: w.n,
            tuned,
            wide,
            splits,
            mma: None,
            x,
            partial: buffers::zeros::<f32>(dev, "split-K partial sums", partial_len)?,
            y: buffers::zeros::<f32>(dev, "y", m * w.n)?,
        })
    }

    /// The K splits the tuned or tensor-core kernel runs with (1 for the simple kernel).
    pub fn splits(&self) -> usize {
        self.splits
    }

    /// Which kernel runs: `simple`, `tuned`, `wide` or `mma`.
    pub fn kernel(&self) -> &'static str {
        if self.mma.is_some() {
            "mma"
        } else if self.wide {
            "wide"
        } else if self.tuned {
            "tuned"
        } else {
            "simple"
        }
    }

    /// Copies `y` back into `out[m * n]` and waits for the stream.
    pub fn download(&self, dev: &CudaDevice, out: &mut [f32]) -> Result<()> {
        let y = self.mma.as_ref().map_or(&self.y, |io| &io.y);
        buffers::download(dev, "matmul_packed", y, out)
    }
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
    let mut io = PackedIo::upload(dev, variant, w, x, m)?;
    enqueue(dev, w, &mut io)?;
    io.download(dev, y)
}

/// Launches the kernel(s) for `io` on the stream: no allocation, no copy, no wait. `io` must
/// have been made for `w` (its shape and layout are checked).
pub fn enqueue(dev: &CudaDevice, w: &GpuPacked, io: &mut PackedIo) -> Result<()> {
    if io.n != w.n || (io.tuned && !w.tuned_layout) || (io.mma.is_some() && w.mma.is_none()) {
        return Err(super::device::device_err(format!(
            "matmul_packed: buffers made for n = {} ({}) used with a weight of n = {}",
            io.n,
            io.kernel(),
            w.n
        )));
    }
    if io.m == 0 || w.n == 0 || w.k == 0 {
        return Ok(());
    }
    if let (Some(mio), Some(mw)) = (io.mma.as_mut(), w.mma_weight()) {
        matmul_w4_mma::enqueue(dev, &mw, mio)
    } else if io.wide {
        enqueue_wide(dev, w, io)
    } else if io.tuned {
        enqueue_tuned(dev, w, io)
    } else {
        enqueue_simple(dev, w, io)
    }
}

fn enqueue_simple(dev: &CudaDevice, w: &GpuPacked, io: &mut PackedIo) -> Result<()> {
    const OP: &str = "matmul_packed";
    let f = dev.function(&sources::MATMUL_PACKED, "matmul_packed_simple")?;
    let m = io.m;
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
    let cfg = LaunchConfig {
        grid_dim: (w.n.div_ceil(128) as u32, m.clamp(1, 65_535) as u32, 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&io.x).arg(&w.codes).arg(&w.scales).arg(&w.zeros).arg(&w.g_idx).arg(&mut io.y);
    for a in &args {
        b.arg(a);
    }
    unsafe { b.launch(cfg) }.ctx("matmul_packed: launching matmul_packed_simple")?;
    Ok(())
}

fn enqueue_tuned(dev: &CudaDevice, w: &GpuPacked, io: &mut PackedIo) -> Result<()> {
    const OP: &str = "matmul_packed";
    let (m, splits) = (io.m, io.splits);
    let mr = tuned_rows(m);
    let f = dev.function(&sources::MATMUL_PACKED, if mr == 1 { "matmul_w4_tuned_m1" } else { "matmul_w4_tuned" })?;
    let chunks = w.stride / 4;
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
        grid_dim: (w.n.div_ceil(W4_WARPS * W4_ROWS_PER_WARP) as u32, splits as u32, yz_blocks(m, mr)),
        block_dim: ((W4_WARPS * 32) as u32, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&io.x).arg(&w.codes).arg(&w.scales).arg(&w.zeros);
    if splits == 1 {
        b.arg(&mut io.y);
    } else {
        b.arg(&mut io.partial);
    }
    for a in &args {
        b.arg(a);
    }
    unsafe { b.launch(cfg) }.ctx("matmul_packed: launching the tuned int4 kernel")?;
    if splits == 1 {
        return Ok(());
    }
    enqueue_splitk_reduce(dev, &io.partial, &mut io.y, splits, m * w.n)
}

/// `y[idx] = Σ_s partial[s, idx]` over `splits` in order (`splitk_reduce`), `idx < mn`: the
/// end of every split-K int4 kernel.
pub(super) fn enqueue_splitk_reduce(
    dev: &CudaDevice,
    partial: &CudaSlice<f32>,
    y: &mut CudaSlice<f32>,
    splits: usize,
    mn: usize,
) -> Result<()> {
    let reduce = dev.function(&sources::MATMUL_PACKED, "splitk_reduce")?;
    let (s32, mn32) = (u32_of("matmul_packed", "splits", splits)?, u32_of("matmul_packed", "m x n", mn)?);
    let mut b = dev.stream.launch_builder(&reduce);
    b.arg(partial).arg(y).arg(&s32).arg(&mn32);
    unsafe { b.launch(cfg_1d(mn)) }.ctx("matmul_packed: launching splitk_reduce")?;
    Ok(())
}

fn enqueue_wide(dev: &CudaDevice, w: &GpuPacked, io: &mut PackedIo) -> Result<()> {
    const OP: &str = "matmul_packed";
    let f = dev.function(&sources::MATMUL_PACKED, "matmul_w4_wide")?;
    let chunks = w.stride / 4;
    let args = [
        u32_of(OP, "n", w.n)?,
        u32_of(OP, "chunks", chunks)?,
        u32_of(OP, "n_groups", w.n_groups)?,
        u32_of(OP, "group_size", w.group_size)?,
        w.zero_sym,
        u32::from(w.asym),
    ];
    // Threads per block: the chunks rounded up to whole warps, 32 to 256.
    let threads = chunks.div_ceil(32).clamp(1, 8) * 32;
    let cfg = LaunchConfig {
        grid_dim: (u32_of(OP, "blocks", w.n.div_ceil(W4_WIDE_ROWS))?, 1, 1),
        block_dim: (threads as u32, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&io.x).arg(&w.codes).arg(&w.scales).arg(&w.zeros).arg(&mut io.y);
    for a in &args {
        b.arg(a);
    }
    unsafe { b.launch(cfg) }.ctx("matmul_packed: launching matmul_w4_wide")?;
    Ok(())
}
