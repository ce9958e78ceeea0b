//! Packed matmul launcher (W8A16, W4A16, W3A16, W2A16): a [`PackedWeight`] is uploaded
//! struct-of-arrays (codes, scales, zeros, g_idx in separate buffers, split by rows to fit one
//! binding) and dequantized in the loop. Scales exact in f16 or bf16 travel as 16-bit values
//! (half the bytes of the f32 the host keeps): read as `array<f16>` when the adapter offers
//! `shader-f16`, else unpacked from `u32` words.
//!
//! Two kernels, chosen by the backend's [`DenseVariant`]: `matmul_packed_gemv.wgsl` (8 weight
//! rows per workgroup, 32 threads each reading 16 consecutive bytes per step, row sums by
//! `subgroupAdd` when the adapter offers subgroups) for decode,
//! `m <= GEMV_MAX_M` under `Auto`, at 2, 4 or 8 bits without act-order; and
//! `matmul_packed.wgsl` (one workgroup per weight row) for every other case, and for
//! everything under `Tiled`.

use super::buffers::{self, grid, row_chunks, u32_of, Batch};
use super::device::Gpu;
use super::matmul::{DenseVariant, GEMV_MAX_M};
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;
use quant::pack::PackedWeight;
use quant::ScaleDtype;
use std::ops::Range;

/// How the group scales are stored on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScaleKind {
    F32,
    F16,
    Bf16,
}

/// One row chunk of a packed weight on the device.
struct Chunk {
    rows: Range<usize>,
    codes: wgpu::Buffer,
    scales: wgpu::Buffer,
    zeros: wgpu::Buffer,
}

/// A packed weight resident on the device.
pub struct GpuPacked {
    n: usize,
    k: usize,
    bits: u32,
    asym: bool,
    zero_sym: u32,
    row_words: usize,
    n_groups: usize,
    group_size: usize,
    scale_kind: ScaleKind,
    g_idx: Option<wgpu::Buffer>,
    dummy: wgpu::Buffer,
    chunks: Vec<Chunk>,
}

impl GpuPacked {
    /// Uploads `w`, split by rows to fit `max_binding`.
    pub fn upload(gpu: &Gpu, w: &PackedWeight, max_binding: u64) -> Result<GpuPacked> {
        let (n, k, ng, rw) = (w.n(), w.k(), w.n_groups(), w.row_words());
        let scale_kind = match w.scale_dtype() {
            ScaleDtype::F32 => ScaleKind::F32,
            ScaleDtype::F16 => ScaleKind::F16,
            ScaleDtype::Bf16 => ScaleKind::Bf16,
        };
        let scale_bytes = if scale_kind == ScaleKind::F32 { 4 } else { 2 };
        let ranges = row_chunks(n, &[rw * 4, ng * scale_bytes, ng], max_binding)?;
        let mut chunks = Vec::with_capacity(ranges.len());
        for r in ranges {
            let codes = buffers::storage(gpu, "codes", bytemuck::cast_slice(&w.codes()[r.start * rw..r.end * rw]));
            let s = &w.scales()[r.start * ng..r.end * ng];
            let scales = match scale_kind {
                ScaleKind::F32 => buffers::storage_f32(gpu, "scales", s),
                ScaleKind::F16 => {
                    let h: Vec<half::f16> = s.iter().map(|&v| half::f16::from_f32(v)).collect();
                    buffers::storage(gpu, "scales", bytemuck::cast_slice(&h))
                }
                ScaleKind::Bf16 => {
                    let h: Vec<half::bf16> = s.iter().map(|&v| half::bf16::from_f32(v)).collect();
                    buffers::storage(gpu, "scales", bytemuck::cast_slice(&h))
                }
            };
            let zeros = match w.zeros() {
                Some(z) => buffers::storage(gpu, "zeros", &z[r.start * ng..r.end * ng]),
                None => buffers::storage(gpu, "zeros", &[]),
            };
            chunks.push(Chunk { rows: r, codes, scales, zeros });
        }
        let g_idx = w.g_idx().map(|g| buffers::storage(gpu, "g_idx", bytemuck::cast_slice(g)));
        Ok(GpuPacked {
            n,
            k,
            bits: w.format().bits(),
            asym: w.zeros().is_some(),
            zero_sym: u32::from(w.format().int().offset()),
            row_words: rw,
            n_groups: ng,
            group_size: w.group_size(),
            scale_kind,
            g_idx,
            dummy: buffers::storage(gpu, "unused", &[]),
            chunks,
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

    /// How many bindings the weight was split into.
    pub fn n_chunks(&self) -> usize {
        self.chunks.len()
    }
}

fn scale_prelude(gpu: &Gpu, kind: ScaleKind) -> &'static str {
    match kind {
        ScaleKind::F32 => include_str!("shaders/scales_f32.wgsl"),
        ScaleKind::F16 if gpu.shader_f16 => include_str!("shaders/scales_f16_native.wgsl"),
        ScaleKind::F16 => include_str!("shaders/scales_f16_unpack.wgsl"),
        ScaleKind::Bf16 => include_str!("shaders/scales_bf16.wgsl"),
    }
}

/// Weight rows per workgroup of `matmul_packed_gemv.wgsl`.
const GEMV_ROWS: usize = 8;

/// Which kernel runs `w` for `m` x rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    /// `matmul_packed_gemv.wgsl`.
    Gemv,
    /// `matmul_packed.wgsl`.
    RowPerWorkgroup,
}

/// What the backend lets the launcher choose from.
#[derive(Clone, Copy, Debug)]
pub struct Choice {
    /// The backend's variant.
    pub variant: DenseVariant,
    /// Subgroup operations allowed (the adapter offers them and the backend did not opt out).
    pub subgroups: bool,
}

fn kernel(variant: DenseVariant, w: &GpuPacked, m: usize) -> Kernel {
    let fits = w.g_idx.is_none() && matches!(w.bits, 2 | 4 | 8);
    let wanted = match variant {
        DenseVariant::Auto => m <= GEMV_MAX_M,
        DenseVariant::Gemv => true,
        DenseVariant::Tiled => false,
    };
    if fits && wanted {
        Kernel::Gemv
    } else {
        Kernel::RowPerWorkgroup
    }
}

/// Workgroups (x, y) for a chunk of `rows` weight rows.
fn chunk_grid(kernel: Kernel, rows: usize) -> (u32, u32) {
    match kernel {
        Kernel::Gemv => grid(rows.div_ceil(GEMV_ROWS)),
        Kernel::RowPerWorkgroup => grid(rows),
    }
}

/// `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` with `W` already resident.
pub fn run(gpu: &Gpu, choice: Choice, x: &[f32], m: usize, w: &GpuPacked, y: &mut [f32]) -> Result<()> {
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    let kernel = kernel(choice.variant, w, m);
    let pipe = pipeline(gpu, w, kernel, choice.subgroups)?;
    gpu.checked("matmul_packed", || {
        let xb = buffers::storage_f32(gpu, "x", x);
        let yb = buffers::output_f32(gpu, "y", m * w.n);
        let params = params(gpu, w, m)?;
        let g_idx = w.g_idx.as_ref().unwrap_or(&w.dummy);
        let mut batch = Batch::new(gpu);
        for (c, pb) in w.chunks.iter().zip(&params) {
            let (gx, gy) = chunk_grid(kernel, c.rows.len());
            batch.dispatch(
                &pipe,
                &[pb, &xb, &c.codes, &c.scales, &c.zeros, g_idx, &yb],
                (gx, gy, m.div_ceil(4) as u32),
            );
        }
        batch.finish_read(&yb, y)
    })
}

/// The pipeline of `kernel` for `w`'s bit width, zero points, act-order and scale dtype; the
/// GEMV's entry point with subgroup builtins when `subgroups` and the adapter has them.
fn pipeline(
    gpu: &Gpu,
    w: &GpuPacked,
    kernel: Kernel,
    subgroups: bool,
) -> Result<std::sync::Arc<super::pipelines::Pipeline>> {
    // The scale prelude first: it may hold `enable f16;`, which must precede every declaration.
    let common = format!("{}{}", scale_prelude(gpu, w.scale_kind), include_str!("shaders/packed_common.wgsl"));
    let (name, source, prelude) = match kernel {
        Kernel::Gemv if subgroups && gpu.subgroups => (
            "matmul_packed_gemv",
            include_str!("shaders/matmul_packed_gemv.wgsl"),
            format!("{common}{}", include_str!("shaders/gemv_entry_subgroups.wgsl")),
        ),
        Kernel::Gemv => (
            "matmul_packed_gemv",
            include_str!("shaders/matmul_packed_gemv.wgsl"),
            format!("{common}{}", include_str!("shaders/gemv_entry_plain.wgsl")),
        ),
        Kernel::RowPerWorkgroup => ("matmul_packed", include_str!("shaders/matmul_packed.wgsl"), common),
    };
    let mut constants = vec![("BITS", f64::from(w.bits)), ("ASYM", f64::from(u8::from(w.asym)))];
    if kernel == Kernel::RowPerWorkgroup {
        constants.push(("ACT_ORDER", f64::from(u8::from(w.g_idx.is_some()))));
    }
    let spec = ShaderSpec {
        name,
        source,
        prelude,
        constants,
        slots: vec![Slot::Uniform, Slot::Read, Slot::Read, Slot::Read, Slot::Read, Slot::Read, Slot::ReadWrite],
    };
    gpu.pipelines.get(&gpu.device, &spec)
}

/// One uniform block per row chunk of `w`, for `m` x rows:
/// `{m, rows of the chunk, k, n, first row, row_words, n_groups, group_size, zero_sym}`.
fn params(gpu: &Gpu, w: &GpuPacked, m: usize) -> Result<Vec<wgpu::Buffer>> {
    let (mu, ku, nu) = (u32_of("m", m)?, u32_of("k", w.k)?, u32_of("n", w.n)?);
    let (rw, ng, gs) = (u32_of("row_words", w.row_words)?, u32_of("n_groups", w.n_groups)?, w.group_size as u32);
    Ok(w.chunks
        .iter()
        .map(|c| buffers::uniform(gpu, &[mu, c.rows.len() as u32, ku, nu, c.rows.start as u32, rw, ng, gs, w.zero_sym]))
        .collect())
}

/// GPU seconds per matmul: `reps` dispatches (cycling through `ws`, copies of one weight, so
/// they do not hit in cache) recorded into one timed compute pass
/// ([`super::gpu_timer::time_pass`]), divided by `reps`; `None` without timestamp queries.
/// Bind groups are made before the pass, so only the GPU's work is timed.
pub fn gpu_seconds(
    gpu: &Gpu,
    choice: Choice,
    x: &[f32],
    m: usize,
    ws: &[GpuPacked],
    reps: usize,
) -> Result<Option<f64>> {
    let Some(w) = ws.first() else { return Ok(None) };
    if m == 0 || w.n == 0 || !gpu.timestamps {
        return Ok(None);
    }
    let kernel = kernel(choice.variant, w, m);
    let pipe = pipeline(gpu, w, kernel, choice.subgroups)?;
    gpu.checked("matmul_packed (timed)", || {
        let xb = buffers::storage_f32(gpu, "x", x);
        let yb = buffers::output_f32(gpu, "y", m * w.n);
        let mut binds = Vec::with_capacity(ws.len());
        for w in ws {
            let g_idx = w.g_idx.as_ref().unwrap_or(&w.dummy);
            let per_chunk: Vec<(wgpu::BindGroup, (u32, u32))> = w
                .chunks
                .iter()
                .zip(params(gpu, w, m)?)
                .map(|(c, pb)| {
                    let entries: Vec<wgpu::BindGroupEntry> = [&pb, &xb, &c.codes, &c.scales, &c.zeros, g_idx, &yb]
                        .iter()
                        .enumerate()
                        .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
                        .collect();
                    let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: None,
                        layout: &pipe.layout,
                        entries: &entries,
                    });
                    (bind, chunk_grid(kernel, c.rows.len()))
                })
                .collect();
            binds.push(per_chunk);
        }
        let z = m.div_ceil(4) as u32;
        let t = super::gpu_timer::time_pass(gpu, |pass| {
            pass.set_pipeline(&pipe.pipeline);
            for rep in 0..reps.max(1) {
                for (bind, (gx, gy)) in &binds[rep % binds.len()] {
                    pass.set_bind_group(0, bind, &[]);
                    pass.dispatch_workgroups(*gx, *gy, z);
                }
            }
        })?;
        Ok(t.map(|s| s / reps.max(1) as f64))
    })
}
