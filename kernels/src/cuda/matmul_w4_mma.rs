//! Launcher of the tensor-core W4A16 kernel (`kernels/matmul_w4_mma.cu`, sm_80+): int4 codes in
//! the fragment layout of [`crate::w4_mma_layout`] (made at upload), x split into two f16 terms
//! by `w4_mma_pack_x`, then `matmul_w4_mma_<NT>` with `NT` n8 tiles of x rows per block
//! (1 up to 8 rows, 2 up to 16, else 4 per z-block of 32 rows), 4 weight tiles of 16 rows per
//! block (2 with four n8 tiles) sharing each x fragment, and split-K when the blocks are too few
//! to fill the GPU, the splits added in order by `splitk_reduce` (deterministic).

use super::buffers::{self, cfg_1d, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use crate::w4_mma_layout::{self, STEPS_PER_BLOCK, TILE_ROWS};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use quant::pack::PackedWeight;

/// Warps per block (`W4M_WARPS`).
const WARPS: usize = 4;
/// 64-column blocks a warp takes at least before the K range is split further.
const MIN_BLOCKS_PER_WARP: usize = 2;
/// The most K splits.
const MAX_SPLITS: usize = 16;

/// The weight's codes in the fragment layout, and the sizes the kernel needs.
pub struct MmaCodes {
    pub(super) codes: CudaSlice<u32>,
    /// 64-column blocks per row.
    pub(super) kb: usize,
    /// 16-column steps per group (the padded row for one group per row).
    pub(super) group_steps: usize,
}

impl MmaCodes {
    /// The layout of `w` on the device, or `None` when the kernel cannot run it (not int4, act-order,
    /// groups not whole 16-column steps, or a device before sm_80).
    pub fn upload(dev: &CudaDevice, w: &PackedWeight) -> Result<Option<MmaCodes>> {
        if !supported(dev) {
            return Ok(None);
        }
        let Some(codes) = w4_mma_layout::codes(w) else { return Ok(None) };
        Ok(Some(MmaCodes {
            codes: buffers::upload(dev, "codes (tensor-core fragment layout)", &codes)?,
            kb: w4_mma_layout::blocks(w.k()),
            group_steps: w4_mma_layout::group_steps(w),
        }))
    }
}

/// Whether the device has the f16 `mma.sync.m16n8k16` the kernel needs (sm_80+).
pub fn supported(dev: &CudaDevice) -> bool {
    dev.compute_capability.0 >= 8
}

/// n8 tiles of x rows per block for `m` rows.
pub fn tiles_for(m: usize) -> usize {
    match m {
        0..=8 => 1,
        9..=16 => 2,
        _ => 4,
    }
}

/// 16-row weight tiles per block for `m` rows (`RT` of the kernel: 4, or 2 with four n8 tiles).
fn row_tiles_for(m: usize) -> usize {
    if tiles_for(m) == 4 {
        2
    } else {
        4
    }
}

/// z-blocks of `8 · tiles_for(m)` x rows.
fn m_blocks(m: usize) -> usize {
    m.div_ceil(8 * tiles_for(m)).max(1)
}

/// Blocks along the weight's rows: `row_tiles_for(m)` 16-row tiles each.
fn row_blocks(m: usize, n: usize) -> usize {
    n.div_ceil(TILE_ROWS).div_ceil(row_tiles_for(m))
}

/// Whether `m` rows fit the grid (z-blocks at most 65535).
pub fn fits(m: usize) -> bool {
    m_blocks(m) <= 65_535
}

/// K splits: enough blocks for four per SM, each warp keeping at least
/// [`MIN_BLOCKS_PER_WARP`] 64-column blocks, at most [`MAX_SPLITS`].
pub fn splits_for(sm_count: u32, m: usize, n: usize, kb: usize) -> usize {
    let blocks = row_blocks(m, n) * m_blocks(m);
    let want = (4 * sm_count as usize).div_ceil(blocks.max(1));
    want.clamp(1, (kb / (WARPS * MIN_BLOCKS_PER_WARP)).clamp(1, MAX_SPLITS))
}

/// The device buffers of one call: x, its packed f16 terms, split partial sums, y.
pub struct MmaIo {
    pub(super) m: usize,
    pub(super) splits: usize,
    x: CudaSlice<f32>,
    xp: CudaSlice<u32>,
    partial: CudaSlice<f32>,
    pub(super) y: CudaSlice<f32>,
}

impl MmaIo {
    /// Uploads `x[m, k]` and allocates the rest for a weight of `n` rows with `mc`'s layout.
    pub fn upload(dev: &CudaDevice, mc: &MmaCodes, n: usize, x: &[f32], m: usize) -> Result<MmaIo> {
        const OP: &str = "matmul_packed (tensor cores)";
        let splits = splits_for(dev.sm_count, m, n, mc.kb);
        u32_of(OP, "splits x m x n", splits * m * n)?;
        let xp_len = m_blocks(m) * tiles_for(m) * mc.kb * STEPS_PER_BLOCK * 32 * 4;
        u32_of(OP, "packed x words", xp_len)?;
        Ok(MmaIo {
            m,
            splits,
            x: buffers::upload(dev, "x", x)?,
            xp: buffers::zeros::<u32>(dev, "x as f16 fragments", xp_len)?,
            partial: buffers::zeros::<f32>(dev, "split-K partial sums", if splits > 1 { splits * m * n } else { 1 })?,
            y: buffers::zeros::<f32>(dev, "y", m * n)?,
        })
    }
}

/// The weight the kernel multiplies by: its fragment-layout codes and the buffers and sizes it
/// shares with the other int4 kernels.
pub struct MmaWeight<'a> {
    /// Codes in the fragment layout.
    pub mc: &'a MmaCodes,
    /// f32 scales `[n, n_groups]`.
    pub scales: &'a CudaSlice<f32>,
    /// u8 zero points `[n, n_groups]` (asymmetric; else unused).
    pub zeros: &'a CudaSlice<u8>,
    /// Output features.
    pub n: usize,
    /// Input features.
    pub k: usize,
    /// Groups per row.
    pub n_groups: usize,
    /// The zero point of symmetric codes (8 for int4).
    pub zero_sym: u32,
    /// Whether `zeros` holds per-group zero points.
    pub asym: bool,
}

/// Launches pack, matmul and (split-K) reduce on the stream; no allocation, no copy, no wait.
pub fn enqueue(dev: &CudaDevice, w: &MmaWeight<'_>, io: &mut MmaIo) -> Result<()> {
    const OP: &str = "matmul_packed (tensor cores)";
    let (m, n, kb) = (io.m, w.n, w.mc.kb);
    let nt = tiles_for(m);
    let steps = kb * STEPS_PER_BLOCK;
    let total = m_blocks(m) * nt * steps * 32;
    let pack = dev.function(&sources::MATMUL_W4_MMA, "w4_mma_pack_x")?;
    let (m32, k32, steps32, total32) =
        (u32_of(OP, "m", m)?, u32_of(OP, "k", w.k)?, u32_of(OP, "steps", steps)?, u32_of(OP, "x fragments", total)?);
    let mut b = dev.stream.launch_builder(&pack);
    b.arg(&io.x).arg(&mut io.xp).arg(&m32).arg(&k32).arg(&steps32).arg(&total32);
    unsafe { b.launch(cfg_1d(total)) }.ctx("matmul_packed: launching w4_mma_pack_x")?;

    let name = match nt {
        1 => "matmul_w4_mma_1",
        2 => "matmul_w4_mma_2",
        _ => "matmul_w4_mma_4",
    };
    let f = dev.function(&sources::MATMUL_W4_MMA, name)?;
    let splits = io.splits;
    let args = [
        m32,
        u32_of(OP, "n", n)?,
        u32_of(OP, "kb", kb)?,
        u32_of(OP, "n_groups", w.n_groups.max(1))?,
        u32_of(OP, "group_steps", w.mc.group_steps)?,
        w.zero_sym,
        u32::from(w.asym),
        splits as u32,
    ];
    let cfg = LaunchConfig {
        grid_dim: (u32_of(OP, "row blocks", row_blocks(m, n))?, splits as u32, m_blocks(m) as u32),
        block_dim: ((WARPS * 32) as u32, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&io.xp).arg(&w.mc.codes).arg(w.scales).arg(w.zeros);
    if splits == 1 {
        b.arg(&mut io.y);
    } else {
        b.arg(&mut io.partial);
    }
    for a in &args {
        b.arg(a);
    }
    unsafe { b.launch(cfg) }.ctx("matmul_packed: launching the tensor-core int4 kernel")?;
    if splits == 1 {
        return Ok(());
    }
    super::matmul_packed::enqueue_splitk_reduce(dev, &io.partial, &mut io.y, splits, m * n)
}
