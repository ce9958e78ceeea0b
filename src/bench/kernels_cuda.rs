//! `qtool bench kernels --backend cuda`: device-side kernel times of the CUDA backend (feature
//! `cuda`): dense bf16, packed W4/W8/W3 in every int4 kernel (simple, tuned, wide, tensor-core),
//! W8A8 on dp4a and on tensor cores.
//! Weights, inputs and outputs stay on the GPU; each case's launches are captured in a
//! CUDA graph and timed with events ([`kernels::cuda::bench::time_enqueued`]), cycling through
//! enough weight copies to exceed four times L2, so a row is what one layer's matmul costs in
//! a decode step, not what a host round trip costs. The bandwidth ceiling is a device-to-device
//! copy measured in the same run; each row's `frac_copy_bw` is its weight bytes per second
//! over that copy's bytes (read + written) per second.

use super::kernels::{packed_bytes, packed_weight, KernelBenchConfig, KernelRow};
use super::kernels_report::DeviceCeilings;
use kernels::cuda::bench::{copy_bandwidth, rotation, time_enqueued};
use kernels::cuda::{
    matmul, matmul_packed, matmul_w8a8, CudaBackend, DenseIo, DenseVariant, GpuDense, GpuPacked, GpuW8, PackedIo,
    W4Variant, W8a8Io, W8a8Variant,
};
use kernels::DenseWeight;
use quant::pack::PackedWeight;
use quant::{Granularity, IntFormat, WeightFormat};
use std::time::Instant;

/// Weight copies cycled through at most (each copy of a large weight already exceeds L2).
const MAX_COPIES: usize = 16;
/// A timed sample aims at this many seconds of GPU work (replays of one captured graph).
const SAMPLE_S: f64 = 2e-3;

/// The packed formats timed, with the int4 kernel variants that apply.
fn formats() -> anyhow::Result<Vec<(&'static str, WeightFormat, Vec<W4Variant>)>> {
    use W4Variant::{Mma, Simple, Tuned, Wide};
    Ok(vec![
        ("w4_g128", WeightFormat::new(IntFormat::Int4, Granularity::Group(128), true)?, vec![Simple, Tuned, Wide, Mma]),
        ("w4_g128_asym", WeightFormat::new(IntFormat::Int4, Granularity::Group(128), false)?, vec![Tuned, Wide, Mma]),
        ("w8_perchannel", WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true)?, vec![Simple]),
        ("w3_g128_asym", WeightFormat::new(IntFormat::Int3, Granularity::Group(128), false)?, vec![Simple]),
    ])
}

/// Times `enqueue(i)` (the i-th launch, cycling `copies` inputs): a probe launch sizes the
/// replayed graph to about [`SAMPLE_S`] of work and at least one pass over the copies.
fn time_case(
    dev: &kernels::cuda::CudaDevice,
    copies: usize,
    samples: usize,
    mut enqueue: impl FnMut(usize) -> kernels::Result<()>,
) -> anyhow::Result<f64> {
    enqueue(0)?;
    dev.sync("benchmark probe")?;
    let t0 = Instant::now();
    enqueue(0)?;
    dev.sync("benchmark probe")?;
    let probe = t0.elapsed().as_secs_f64().max(1e-6);
    let reps = ((SAMPLE_S / probe).ceil() as usize).clamp(1, 64).max(copies);
    Ok(time_enqueued(dev, reps, samples, enqueue)?.per_launch_s)
}

fn row(name: String, m: usize, n: usize, k: usize, s: f64, bytes: usize, copy_gbps: f64) -> KernelRow {
    let gbps = bytes as f64 / s / 1e9;
    KernelRow {
        name,
        m,
        n,
        k,
        median_s: s,
        weight_bytes: bytes,
        gbps,
        gflops: 2.0 * (m * n * k) as f64 / s / 1e9,
        frac_copy_bw: Some(gbps / copy_gbps),
    }
}

/// The CUDA device and the ceilings measured on it, ready to time shapes.
pub struct CudaBench {
    be: CudaBackend,
    /// The device and its copy bandwidth.
    pub ceilings: DeviceCeilings,
}

impl CudaBench {
    /// Opens the device and measures the copy bandwidth (1 GiB, median of 10).
    pub fn new(progress: &dyn Fn(&str)) -> anyhow::Result<CudaBench> {
        let be = CudaBackend::new()?;
        let dev = be.device();
        let l2 = kernels::cuda::bench::l2_bytes(dev);
        let copy_gbps = copy_bandwidth(dev, 1 << 30, 10)?;
        let ceilings = DeviceCeilings {
            device: format!(
                "{} (sm_{}{}, {} SMs, {} MB L2)",
                dev.name,
                dev.compute_capability.0,
                dev.compute_capability.1,
                dev.sm_count,
                l2 >> 20
            ),
            l2_bytes: l2,
            copy_gbps,
        };
        progress(&format!("{}: device-to-device copy {copy_gbps:.0} GB/s (read + written)", ceilings.device));
        Ok(CudaBench { be, ceilings })
    }

    /// Every case of one `n x k` shape at each batch of `cfg.ms`; `progress` gets one line per
    /// case (failures too: a failed case is reported and skipped, the others still run).
    pub fn shape(
        &self,
        cfg: &KernelBenchConfig,
        n: usize,
        k: usize,
        progress: &dyn Fn(&str),
    ) -> anyhow::Result<Vec<KernelRow>> {
        let be = &self.be;
        let dev = be.device();
        let copy_gbps = self.ceilings.copy_gbps;
        let samples = cfg.iters.max(3);
        let mut rows = Vec::new();
        let mut push = |r: KernelRow| {
            progress(&format!(
                "{} m={} {}x{}: {:.2} us, {:.0} GB/s ({:.0}% of copy), {:.2} TFLOP/s",
                r.name,
                r.m,
                r.n,
                r.k,
                r.median_s * 1e6,
                r.gbps,
                100.0 * r.frac_copy_bw.unwrap_or(0.0),
                r.gflops / 1e3
            ));
            rows.push(r);
        };
        let w32: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01).collect();
        let w16: Vec<half::bf16> = w32.iter().map(|&v| half::bf16::from_f32(v)).collect();
        drop(w32);
        let dense_bytes = n * k * 2;
        let copies = rotation(dev, dense_bytes, MAX_COPIES);
        let dense: Vec<GpuDense> =
            (0..copies).map(|_| be.upload_dense(DenseWeight::BF16(&w16), n, k)).collect::<Result<_, _>>()?;
        drop(w16);
        let mut packed: Vec<(&str, PackedWeight, Vec<W4Variant>, Vec<GpuPacked>)> = Vec::new();
        for (label, format, variants) in formats()? {
            let pw = packed_weight(&format, n, k)?;
            let copies = rotation(dev, packed_bytes(&pw), MAX_COPIES);
            let gpu = (0..copies).map(|_| be.upload_packed(&pw)).collect::<Result<Vec<_>, _>>()?;
            packed.push((label, pw, variants, gpu));
        }
        // W8A8: int8 weights with per-channel scales, copies rotated like the others.
        let wq: Vec<i8> = (0..n * k).map(|i| ((i * 37 % 255) as i32 - 127) as i8).collect();
        let ws: Vec<f32> = (0..n).map(|j| 0.001 + (j % 17) as f32 * 1e-4).collect();
        let w8_bytes = n * k + n * 4;
        let w8: Vec<GpuW8> = (0..rotation(dev, w8_bytes, MAX_COPIES))
            .map(|_| GpuW8::upload(dev, &wq, &ws, n, k))
            .collect::<Result<_, _>>()?;
        drop(wq);
        let mut w8_variants = vec![("dp4a", W8a8Variant::Dp4a)];
        if matmul_w8a8::mma_supported(dev) {
            w8_variants.push(("mma", W8a8Variant::Mma));
        }
        for &m in &cfg.ms {
            let x: Vec<f32> = (0..m * k).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
            // Dense bf16 (the GEMV kernel up to m = 8, the tiled one above).
            let name = format!("cuda_matmul_bf16_{}", if m <= matmul::GEMV_MAX_M { "gemv" } else { "tiled" });
            let timed = (|| {
                let mut ios = dense.iter().map(|w| DenseIo::upload(dev, w, &x, m)).collect::<Result<Vec<_>, _>>()?;
                time_case(dev, dense.len(), samples, |i| {
                    let c = i % dense.len();
                    matmul::enqueue(dev, DenseVariant::Auto, &dense[c], &mut ios[c])
                })
            })();
            match timed {
                Ok(s) => push(row(name, m, n, k, s, dense_bytes, copy_gbps)),
                Err(e) => progress(&format!("{name} m={m} {n}x{k}: FAILED: {e:#}")),
            }
            let (xq, xs) = kernels::ops::quantize_rows_i8_ref(&x, m, k);
            for &(label, variant) in &w8_variants {
                if variant == W8a8Variant::Dp4a && m > 64 {
                    continue; // the dp4a kernel is for decode; tensor cores take large m
                }
                let name = format!("cuda_matmul_w8a8_{label}");
                let timed = (|| {
                    let mut ios =
                        w8.iter().map(|_| W8a8Io::upload(dev, &xq, &xs, m, k, n)).collect::<Result<Vec<_>, _>>()?;
                    time_case(dev, w8.len(), samples, |i| {
                        let c = i % w8.len();
                        matmul_w8a8::enqueue(dev, variant, &w8[c], &mut ios[c])
                    })
                })();
                match timed {
                    Ok(s) => push(row(name, m, n, k, s, w8_bytes, copy_gbps)),
                    Err(e) => progress(&format!("{name} m={m} {n}x{k}: FAILED: {e:#}")),
                }
            }
            for (label, pw, variants, gpu) in &packed {
                let mut timed_kernels = Vec::new();
                for &variant in variants {
                    // Each kernel once per format and m (Wide is Tuned past one row, and Mma is
                    // Wide or Tuned where it cannot run).
                    let kernel = gpu[0].kernel_for(variant, m);
                    if timed_kernels.contains(&kernel) {
                        continue;
                    }
                    timed_kernels.push(kernel);
                    // The one-thread-per-output kernels are the decode reference: past m = 16
                    // they take seconds per shape and say nothing new.
                    if kernel == "simple" && m > 16 {
                        continue;
                    }
                    let name = format!("cuda_matmul_packed_{label}_{kernel}");
                    let timed = (|| {
                        let mut ios = gpu
                            .iter()
                            .map(|w| PackedIo::upload(dev, variant, w, &x, m))
                            .collect::<Result<Vec<_>, _>>()?;
                        let splits = ios[0].splits();
                        let s = time_case(dev, gpu.len(), samples, |i| {
                            let c = i % gpu.len();
                            matmul_packed::enqueue(dev, &gpu[c], &mut ios[c])
                        })?;
                        anyhow::Ok((s, splits))
                    })();
                    match timed {
                        Ok((s, splits)) => {
                            let name = if splits > 1 { format!("{name}_splitk{splits}") } else { name };
                            push(row(name, m, n, k, s, packed_bytes(pw), copy_gbps));
                        }
                        Err(e) => progress(&format!("{name} m={m} {n}x{k}: FAILED: {e:#}")),
                    }
                }
            }
        }
        Ok(rows)
    }
}
