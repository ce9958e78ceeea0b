//! CPU dense matmul benches: `cpu_matmul_{f32,bf16}_{variant}/m{m}/{n}x{k}` for the Linear
//! shapes of SmolLM2-135M (576, 1536, 49152 vocab) and Qwen2.5-1.5B (1536, 8960), at decode
//! (`m = 1`) and prefill (`m = 64`). Throughput is the bytes of W read per call, so criterion's
//! GB/s compares directly with the machine's read bandwidth, which is measured (1 GiB, all
//! threads) and printed first together with the peak multiply-add rate.
//!
//! As in a real forward pass, where every layer's weights come from memory, each iteration
//! uses the next of enough copies of W to fill [`COLD_BYTES`] (twice a 32 MiB L3), so small
//! weights are not served from cache.
//!
//! Run: `cargo bench --bench cpu_matmul` (a few minutes; sample sizes are kept small).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::bf16;
use kernels::cpu::{bandwidth, flops};
use kernels::{Backend, CpuBackend, DenseWeight, Isa, MatmulVariant};
use std::hint::black_box;
use std::time::Duration;

/// (n, k) of the benched weights.
const SHAPES: [(usize, usize); 6] = [(576, 576), (1536, 576), (576, 1536), (49152, 576), (1536, 1536), (8960, 1536)];
/// x rows: decode and prefill.
const MS: [usize; 2] = [1, 64];
/// Bytes of W copies cycled through, so that every call reads W from memory.
const COLD_BYTES: usize = 64 << 20;

fn machine_peaks() {
    let isa = Isa::detect();
    let threads = rayon::current_num_threads();
    let bw = bandwidth::measure_read_bandwidth(1 << 30, 0).expect("bandwidth");
    let gf = flops::measure_peak_gflops(isa, 0).expect("peak flops");
    println!(
        "machine: {threads} threads, isa {}, read bandwidth {bw:.1} GB/s (1 GiB, best of 20), \
         peak {gf:.1} GFLOP/s",
        isa.name()
    );
}

/// Copies of a W of `n × k` filling [`COLD_BYTES`], in f32 and (if asked) bf16.
enum Copies {
    F32(Vec<Vec<f32>>),
    Bf16(Vec<Vec<bf16>>),
}

impl Copies {
    fn new(dtype: &str, n: usize, k: usize) -> Copies {
        let elem = if dtype == "f32" { 4 } else { 2 };
        let copies = COLD_BYTES.div_ceil(n * k * elem);
        let make = |c: usize| (0..n * k).map(move |i| (((i + c) % 13) as f32 - 6.0) * 0.01);
        match dtype {
            "f32" => Copies::F32((0..copies).map(|c| make(c).collect()).collect()),
            _ => Copies::Bf16((0..copies).map(|c| make(c).map(bf16::from_f32).collect()).collect()),
        }
    }

    fn views(&self) -> Vec<DenseWeight<'_>> {
        match self {
            Copies::F32(ws) => ws.iter().map(|w| DenseWeight::F32(w)).collect(),
            Copies::Bf16(ws) => ws.iter().map(|w| DenseWeight::BF16(w)).collect(),
        }
    }
}

fn bench(c: &mut Criterion) {
    machine_peaks();
    for dtype in ["f32", "bf16"] {
        let weights: Vec<Copies> = SHAPES.iter().map(|&(n, k)| Copies::new(dtype, n, k)).collect();
        for variant in MatmulVariant::ALL {
            let be = CpuBackend::with(variant, Isa::detect()).expect("cpu backend");
            let mut group = c.benchmark_group(format!("cpu_matmul_{dtype}_{}", variant.name()));
            group.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(600));
            for (&(n, k), copies) in SHAPES.iter().zip(&weights) {
                let ws = copies.views();
                group.throughput(Throughput::BytesDecimal((n * k * ws[0].elem_bytes()) as u64));
                for &m in &MS {
                    let x: Vec<f32> = (0..m * k).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
                    let mut y = vec![0f32; m * n];
                    let id = BenchmarkId::new(format!("m{m}"), format!("{n}x{k}"));
                    let mut next = 0;
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            next = (next + 1) % ws.len();
                            be.matmul(black_box(&x), m, k, ws[next], n, &mut y).unwrap();
                            black_box(&y);
                        })
                    });
                }
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
