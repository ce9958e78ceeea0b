//! `qtool bench kernels`: median time of the matmul variants of one backend (dense f32/bf16,
//! qtool's packed W8/W4/W3 layout; on the CPU backends also GGML blocks Q4_0, Q5_0, Q8_0, Q4_K,
//! Q6_K, which `cpu-q8` runs with int8 activations) on a few Linear shapes at decode and
//! prefill batch, with the weight bytes read per call as GB/s (packed and GGML weights cycled
//! over 256 MiB of copies, so they come from memory, not from the caches). Host backends that repack weights at load
//! (the CPU on AVX-512 VNNI: W8A8, and int4 with `cpu-q8`) add a `prepared` row per such case. For the `wgsl*` backends two rows per case: the
//! `Backend` call (uploads W and x, reads y back: what the model pays today) and `resident`
//! (W uploaded once, x up and y back each call); packed formats add `gpu`, the GPU time of one
//! dispatch from timestamp queries around many dispatches in one compute pass (weights cycled
//! over 256 MiB of copies), where the adapter offers timestamps. On lavapipe (a CPU Vulkan driver) the WGSL
//! numbers say nothing about a GPU; they only show the path runs.

use kernels::{Backend, DenseWeight};
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;
use quant::{quantize_rtn, Granularity, IntFormat, RtnOptions, ScaleDtype, WeightFormat};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// One measured case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KernelRow {
    /// `{backend}_{op}_{format}_{variant}`.
    pub name: String,
    /// Batch rows.
    pub m: usize,
    /// Output features.
    pub n: usize,
    /// Input features.
    pub k: usize,
    /// Median seconds per call.
    pub median_s: f64,
    /// Weight bytes read per call.
    pub weight_bytes: usize,
    /// `weight_bytes / median_s`, GB/s.
    pub gbps: f64,
    /// `2 m n k / median_s`, GFLOP/s.
    pub gflops: f64,
    /// `gbps` over the device-to-device copy bandwidth of the same run (CUDA rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frac_copy_bw: Option<f64>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct KernelBenchConfig {
    /// Backend name (see `kernels::backend_by_name`).
    pub backend: String,
    /// (n, k) shapes.
    pub shapes: Vec<(usize, usize)>,
    /// Batch sizes.
    pub ms: Vec<usize>,
    /// Timed calls per case (after one warm-up).
    pub iters: usize,
}

/// Named shape sets (`n x k`): `small` (SmolLM2-135M's 576/1536), `qwen-1.5b`, `llama-7b`,
/// `standard` (llama-7b's three, Qwen-1.5B's MLP pair and 70B-class 28672x8192); or an explicit
/// comma-separated list such as `4096x4096,8960x1536`.
pub fn shape_preset(name: &str) -> Option<Vec<(usize, usize)>> {
    Some(match name {
        "small" => vec![(576, 576), (1536, 576), (576, 1536)],
        "qwen-1.5b" => vec![(1536, 1536), (8960, 1536), (1536, 8960)],
        "llama-7b" => vec![(4096, 4096), (11008, 4096), (4096, 11008)],
        "standard" => vec![(4096, 4096), (11008, 4096), (4096, 11008), (8960, 1536), (1536, 8960), (28672, 8192)],
        list => list
            .split(',')
            .map(|nk| {
                let (n, k) = nk.trim().split_once('x')?;
                let (n, k) = (n.parse().ok()?, k.parse().ok()?);
                (n > 0 && k > 0).then_some((n, k))
            })
            .collect::<Option<Vec<_>>>()?,
    })
}

fn median_time(iters: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?;
    let mut t = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

/// Bytes of a packed weight as the plain `matmul_packed` reads it: codes, f32 scales, u8 zeros.
pub(crate) fn packed_bytes(pw: &PackedWeight) -> usize {
    pw.codes().len() * 4 + pw.scales().len() * 4 + pw.zeros().map_or(0, <[u8]>::len)
}

/// How many copies of a `bytes`-byte weight to cycle through so that together they exceed
/// the caches (256 MiB; at least 1, at most 32).
fn rotation_copies(bytes: usize) -> usize {
    (256usize << 20).div_ceil(bytes.max(1)).clamp(1, 32)
}

/// A deterministic, non-constant `n x k` weight quantized with `format` and packed, its scales
/// f16 as GPTQ checkpoints store them (a backend that keeps them as f16 reads 2 bytes a scale).
pub(crate) fn packed_weight(format: &WeightFormat, n: usize, k: usize) -> anyhow::Result<PackedWeight> {
    let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01).collect();
    let opts = RtnOptions { scale_dtype: ScaleDtype::F16, ..RtnOptions::default() };
    Ok(PackedWeight::pack(&quantize_rtn(&w, n, k, format, &opts)?))
}

/// The GGML block types the CPU backends are timed on (`matmul_gguf`).
const GGUF_TYPES: [GgmlType; 5] = [GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4K, GgmlType::Q6K];

/// Deterministic, non-constant GGML blocks of an `n x k` weight of `ty`; every block's f16
/// scale fields (`d`, and `m` / `dmin` where the type has them) hold 0.01.
fn gguf_blocks(ty: GgmlType, n: usize, k: usize) -> Vec<u8> {
    let ts = ty.type_size();
    let mut b: Vec<u8> = (0..n * k / ty.block_size() * ts).map(|i| ((i * 131) % 251) as u8).collect();
    let fields: &[usize] = match ty {
        GgmlType::Q6K => &[208],
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        _ => &[0, 2],
    };
    for blk in b.chunks_exact_mut(ts) {
        for &o in fields {
            blk[o..o + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
        }
    }
    b
}

/// Runs every case; `progress` gets one line per finished case. A host-parallel backend (the
/// CPU) runs them on a rayon worker, as `Model::forward` runs a decode step, so each call's
/// parallel loop starts inside the pool rather than paying the hand-off from the main thread.
pub fn run(cfg: &KernelBenchConfig, progress: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Vec<KernelRow>> {
    let be = kernels::backend_by_name(&cfg.backend)?;
    if be.host_parallel() {
        rayon::scope(|_| run_cases(cfg, be.as_ref(), progress))
    } else {
        run_cases(cfg, be.as_ref(), progress)
    }
}

fn run_cases(cfg: &KernelBenchConfig, be: &dyn Backend, progress: &dyn Fn(&str)) -> anyhow::Result<Vec<KernelRow>> {
    let formats = [
        ("w8_perchannel", WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true)?),
        ("w4_g128", WeightFormat::new(IntFormat::Int4, Granularity::Group(128), true)?),
        ("w3_g128_asym", WeightFormat::new(IntFormat::Int3, Granularity::Group(128), false)?),
    ];
    let mut rows = Vec::new();
    let mut push = |name: String, m: usize, n: usize, k: usize, s: f64, bytes: usize| {
        let row = KernelRow {
            name,
            m,
            n,
            k,
            median_s: s,
            weight_bytes: bytes,
            gbps: bytes as f64 / s / 1e9,
            gflops: 2.0 * (m * n * k) as f64 / s / 1e9,
            frac_copy_bw: None,
        };
        progress(&format!("{} m={m} {n}x{k}: {:.3} ms, {:.2} GB/s", row.name, s * 1e3, row.gbps));
        rows.push(row);
    };
    for &(n, k) in &cfg.shapes {
        let w32: Vec<f32> = (0..n * k).map(|i| ((i % 13) as f32 - 6.0) * 0.01).collect();
        let w16: Vec<half::bf16> = w32.iter().map(|&v| half::bf16::from_f32(v)).collect();
        let w8: Vec<i8> = (0..n * k).map(|i| (i * 37 % 255) as i8).collect();
        let w8s: Vec<Vec<i8>> = (0..rotation_copies(w8.len())).map(|_| w8.clone()).collect();
        let pws: Vec<(&str, PackedWeight)> =
            formats.iter().map(|(l, f)| Ok((*l, packed_weight(f, n, k)?))).collect::<anyhow::Result<_>>()?;
        for &m in &cfg.ms {
            let x: Vec<f32> = (0..m * k).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
            let mut y = vec![0f32; m * n];
            let b = be.name();
            for (label, w) in [("f32", DenseWeight::F32(&w32)), ("bf16", DenseWeight::BF16(&w16))] {
                let s = median_time(cfg.iters, || Ok(be.matmul(&x, m, k, w, n, &mut y)?))?;
                push(format!("{b}_matmul_{label}_call"), m, n, k, s, n * k * w.elem_bytes());
            }
            for (label, pw) in &pws {
                let bytes = packed_bytes(pw);
                // Copies cycled so that together they exceed the caches (256 MiB): the row is
                // read from memory, not from L3.
                let copies: Vec<PackedWeight> = (0..rotation_copies(bytes)).map(|_| pw.clone()).collect();
                let mut next = 0;
                let s = median_time(cfg.iters, || {
                    next = (next + 1) % copies.len();
                    Ok(be.matmul_packed(&x, m, &copies[next], &mut y)?)
                })?;
                push(format!("{b}_matmul_packed_{label}_call"), m, n, k, s, bytes);
                // A host backend that repacks weights at load (`cpu-q8` with AVX-512 VNNI):
                // `prepared`, the prepared copies cycled likewise.
                if !b.starts_with("wgsl") {
                    if let Some(first) = be.prepare(kernels::WeightView::Packed(pw))? {
                        let mut prepared = vec![first];
                        for c in &copies[1..] {
                            prepared.extend(be.prepare(kernels::WeightView::Packed(c))?);
                        }
                        let mut next = 0;
                        let s = median_time(cfg.iters, || {
                            next = (next + 1) % prepared.len();
                            Ok(be.matmul_prepared(&x, m, prepared[next].as_ref(), &mut y)?)
                        })?;
                        // The bytes the prepared layout reads (f16 scales: fewer than `bytes`).
                        let read = prepared[0].bytes().unwrap_or(bytes);
                        push(format!("{b}_matmul_packed_{label}_prepared"), m, n, k, s, read);
                    }
                }
            }
            // GGML blocks on the CPU backends (`cpu-q8`: int8 activations), copies cycled.
            if be.host_parallel() {
                for ty in GGUF_TYPES.into_iter().filter(|t| k.is_multiple_of(t.block_size())) {
                    let bytes = n * k / ty.block_size() * ty.type_size();
                    let base = gguf_blocks(ty, n, k);
                    let copies: Vec<Vec<u8>> = (0..rotation_copies(bytes)).map(|_| base.clone()).collect();
                    let mut next = 0;
                    let s = median_time(cfg.iters, || {
                        next = (next + 1) % copies.len();
                        Ok(be.matmul_gguf(&x, m, k, ty, &copies[next], n, &mut y)?)
                    })?;
                    push(format!("{b}_matmul_gguf_{}_call", ty.name().to_lowercase()), m, n, k, s, bytes);
                }
            }
            // W8A8: int8 weights with per-channel scales, x quantized per token beforehand (the
            // quantization is not timed); copies cycled over 256 MiB as above.
            let (xq, xs) = kernels::ops::quantize_rows_i8_ref(&x, m, k);
            let ws = vec![0.01f32; n];
            let mut next = 0;
            let s = median_time(cfg.iters, || {
                next = (next + 1) % w8s.len();
                Ok(be.matmul_w8a8(&xq, &xs, m, k, &w8s[next], &ws, n, &mut y)?)
            })?;
            push(format!("{b}_matmul_w8a8_call"), m, n, k, s, n * k + 4 * n);
            // The same product on a W8A8 weight the backend prepared (the CPU on AVX-512 VNNI:
            // 16-row interleaved tiles), the int8 per-channel packed weight, copies cycled.
            let w8p = &pws[0].1;
            if !b.starts_with("wgsl") {
                if let Some(first) = be.prepare(kernels::WeightView::W8a8(w8p))? {
                    let mut prepared = vec![first];
                    for _ in 1..rotation_copies(n * k) {
                        prepared.extend(be.prepare(kernels::WeightView::W8a8(w8p))?);
                    }
                    let mut next = 0;
                    let s = median_time(cfg.iters, || {
                        next = (next + 1) % prepared.len();
                        Ok(be.matmul_w8a8_prepared(&xq, &xs, m, prepared[next].as_ref(), &mut y)?)
                    })?;
                    push(format!("{b}_matmul_w8a8_prepared"), m, n, k, s, n * k + 4 * n);
                }
            }
            #[cfg(feature = "wgpu")]
            if let Some(variant) = wgsl_variant(&cfg.backend) {
                let wb = kernels::WgslBackend::with_variant(variant)?;
                let gw = wb.upload_dense(DenseWeight::F32(&w32), n, k)?;
                let s = median_time(cfg.iters, || Ok(wb.matmul_resident(&x, m, &gw, &mut y)?))?;
                push("wgsl_matmul_f32_resident".to_string(), m, n, k, s, n * k * 4);
                for (label, pw) in &pws {
                    let bytes = packed_bytes(pw);
                    // Copies of the weight that together exceed any GPU's L2 (256 MiB).
                    let copies = rotation_copies(bytes);
                    let gps = (0..copies).map(|_| wb.upload_packed(pw)).collect::<Result<Vec<_>, _>>()?;
                    let s = median_time(cfg.iters, || Ok(wb.matmul_packed_resident(&x, m, &gps[0], &mut y)?))?;
                    push(format!("wgsl_matmul_packed_{label}_resident"), m, n, k, s, bytes);
                    // GPU time per dispatch from timestamp queries (when the adapter has them):
                    // the median over iters of one timed pass of `reps` dispatches each.
                    let reps = (2 * copies).max(16);
                    let mut times = Vec::new();
                    for _ in 0..cfg.iters.max(1) {
                        if let Some(t) = wb.matmul_packed_gpu_seconds(&x, m, &gps, reps)? {
                            times.push(t);
                        }
                    }
                    if !times.is_empty() {
                        times.sort_by(f64::total_cmp);
                        let t = times[times.len() / 2].max(1e-12);
                        push(format!("wgsl_matmul_packed_{label}_gpu"), m, n, k, t, bytes);
                    }
                }
            }
        }
    }
    Ok(rows)
}

#[cfg(feature = "wgpu")]
fn wgsl_variant(backend: &str) -> Option<kernels::wgsl::DenseVariant> {
    use kernels::wgsl::DenseVariant;
    match backend {
        "wgsl" => Some(DenseVariant::Auto),
        "wgsl-gemv" => Some(DenseVariant::Gemv),
        "wgsl-tiled" => Some(DenseVariant::Tiled),
        _ => None,
    }
}

/// The adapter description when `backend` is a WGSL backend built in.
pub fn device_of(backend: &str) -> Option<String> {
    #[cfg(feature = "wgpu")]
    if backend.starts_with("wgsl") {
        return kernels::wgsl::Gpu::shared().ok().map(|g| g.description.clone());
    }
    let _ = backend;
    None
}

#[cfg(test)]
mod tests {
    use super::shape_preset;

    #[test]
    fn shape_sets_and_lists() {
        assert_eq!(shape_preset("standard").unwrap().len(), 6);
        assert_eq!(shape_preset("4096x4096, 8960x1536"), Some(vec![(4096, 4096), (8960, 1536)]));
        assert_eq!(shape_preset("4096x0"), None);
        assert_eq!(shape_preset("big"), None);
    }
}
