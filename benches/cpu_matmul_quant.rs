//! CPU quantized matmul benches (dequantize in the loop): `cpu_matmul_gguf_{type}/m{m}/{n}x{k}`
//! for GGML block types and `cpu_matmul_packed_{format}/m{m}/{n}x{k}` for qtool's packed layout,
//! on the Linear shapes of SmolLM2-135M (576, 1536, 49152 vocab), at decode (`m = 1`) and
//! prefill (`m = 64`), beside the dense f32 GEMV of the same shape for scale. Throughput is the
//! bytes of W read per call (blocks, or codes + scales + zeros). The int4 packed formats also
//! run with int8 activations (`cpu_matmul_packed_{format}_q8`, the `cpu-q8` backend:
//! [`CpuBackend::with_int8_activations`]). Each iteration uses the next
//! of enough copies of W to fill [`COLD_BYTES`], so small weights are not served from cache.
//!
//! Run: `cargo bench --bench cpu_matmul_quant`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kernels::{Backend, CpuBackend, DenseWeight};
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;
use quant::{quantize_rtn, Granularity, IntFormat, RtnOptions, WeightFormat};
use std::hint::black_box;
use std::time::Duration;

/// (n, k) of the benched weights.
const SHAPES: [(usize, usize); 4] = [(576, 576), (1536, 576), (576, 1536), (49152, 576)];
/// x rows: decode and prefill.
const MS: [usize; 2] = [1, 64];
/// Bytes of W copies cycled through, so that every call reads W from memory.
const COLD_BYTES: usize = 64 << 20;

/// Deterministic bytes; every block's leading f16 fields get a small finite scale.
fn gguf_blocks(ty: GgmlType, n: usize, k: usize, seed: usize) -> Vec<u8> {
    let ts = ty.type_size();
    let mut b: Vec<u8> = (0..n * k / ty.block_size() * ts).map(|i| ((i * 131 + seed * 7) % 251) as u8).collect();
    let fields: &[usize] = if ty == GgmlType::Q6K { &[208] } else { &[0, 2] };
    for blk in b.chunks_exact_mut(ts) {
        for &o in fields {
            blk[o..o + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
        }
    }
    b
}

fn bench(c: &mut Criterion) {
    let be = CpuBackend::new();
    let x_for = |m: usize, k: usize| -> Vec<f32> { (0..m * k).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect() };
    for ty in [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4K, GgmlType::Q6K] {
        let mut group = c.benchmark_group(format!("cpu_matmul_gguf_{}", ty.name().to_lowercase()));
        group.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(600));
        for &(n, k) in &SHAPES {
            if !k.is_multiple_of(ty.block_size()) {
                continue;
            }
            let bytes = n * k / ty.block_size() * ty.type_size();
            let copies: Vec<Vec<u8>> = (0..COLD_BYTES.div_ceil(bytes)).map(|s| gguf_blocks(ty, n, k, s)).collect();
            group.throughput(Throughput::BytesDecimal(bytes as u64));
            for &m in &MS {
                let (x, mut y) = (x_for(m, k), vec![0f32; m * n]);
                let mut next = 0;
                group.bench_function(BenchmarkId::new(format!("m{m}"), format!("{n}x{k}")), |b| {
                    b.iter(|| {
                        next = (next + 1) % copies.len();
                        be.matmul_gguf(black_box(&x), m, k, ty, &copies[next], n, &mut y).unwrap();
                    })
                });
            }
        }
        group.finish();
    }
    let formats = [
        ("int4_g128_sym", WeightFormat::new(IntFormat::Int4, Granularity::Group(128), true).unwrap()),
        ("int4_g128_asym", WeightFormat::new(IntFormat::Int4, Granularity::Group(128), false).unwrap()),
        ("int8_pc_sym", WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true).unwrap()),
        ("int3_g128_asym", WeightFormat::new(IntFormat::Int3, Granularity::Group(128), false).unwrap()),
    ];
    let be_q8 = CpuBackend::new().with_int8_activations(true);
    let runs = formats.iter().flat_map(|(label, format)| {
        let q8 = (format.bits() == 4).then(|| (format!("{label}_q8"), *format, &be_q8));
        std::iter::once((label.to_string(), *format, &be)).chain(q8)
    });
    for (label, format, be) in runs {
        let mut group = c.benchmark_group(format!("cpu_matmul_packed_{label}"));
        group.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(600));
        for &(n, k) in &SHAPES[..3] {
            let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01).collect();
            let q = quantize_rtn(&w, n, k, &format, &RtnOptions::default()).unwrap();
            let p = PackedWeight::pack(&q);
            let bytes = 4 * (p.codes().len() + p.scales().len()) + p.zeros().map_or(0, <[u8]>::len);
            let copies: Vec<PackedWeight> = (0..COLD_BYTES.div_ceil(bytes)).map(|_| p.clone()).collect();
            group.throughput(Throughput::BytesDecimal(bytes as u64));
            for &m in &MS {
                let (x, mut y) = (x_for(m, k), vec![0f32; m * n]);
                let mut next = 0;
                group.bench_function(BenchmarkId::new(format!("m{m}"), format!("{n}x{k}")), |b| {
                    b.iter(|| {
                        next = (next + 1) % copies.len();
                        be.matmul_packed(black_box(&x), m, &copies[next], &mut y).unwrap();
                    })
                });
            }
        }
        group.finish();
    }
    let mut group = c.benchmark_group("cpu_matmul_f32_default");
    group.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(600));
    for &(n, k) in &SHAPES {
        let copies: Vec<Vec<f32>> = (0..COLD_BYTES.div_ceil(n * k * 4))
            .map(|s| (0..n * k).map(|i| ((i + s) % 13) as f32 * 0.01).collect())
            .collect();
        group.throughput(Throughput::BytesDecimal((n * k * 4) as u64));
        let (x, mut y) = (x_for(1, k), vec![0f32; n]);
        let mut next = 0;
        group.bench_function(BenchmarkId::new("m1", format!("{n}x{k}")), |b| {
            b.iter(|| {
                next = (next + 1) % copies.len();
                be.matmul(black_box(&x), 1, k, DenseWeight::F32(&copies[next]), n, &mut y).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
