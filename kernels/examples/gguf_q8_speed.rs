//! Times `matmul_gguf` on the `cpu` backend (f32, dequantized in the loop) against `cpu-q8`
//! (int8 activations) for GGML block types, one call at a time (the best of `ITERS`: on a
//! machine shared with other work the best is the least disturbed; the medians follow), with the
//! weight cycled over copies worth [`COLD_BYTES`] so that it comes from memory. Prints GB/s of
//! weight bytes read and the machine's read bandwidth measured in the same run, and the CPU time
//! per call summed over the process's threads (Linux `schedstat`: time on a CPU, so time lost
//! to other processes' turns does not count).
//!
//! Run: `cargo run --release -p kernels --example gguf_q8_speed [types] [NxK,...] [m,...]`, e.g.
//! `... Q4_K,Q6_K 1536x1536,8960x1536 1,16,64`. `ITERS=n` changes the timed calls per case,
//! `NO_BW=1` skips the bandwidth measurement (for profiling), `VNNI=0` runs the plain AVX2
//! kernels where the CPU has AVX-512 VNNI.

use kernels::{Backend, CpuBackend};
use quant::gguf::GgmlType;
use std::time::Instant;

/// Bytes of weight copies cycled through.
const COLD_BYTES: usize = 768 << 20;
/// Timed calls per case (after one warm-up), unless `ITERS` says otherwise.
fn iters() -> usize {
    std::env::var("ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(21)
}

fn blocks(ty: GgmlType, n: usize, k: usize, seed: usize) -> Vec<u8> {
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

/// Nanoseconds on a CPU so far, summed over this process's threads.
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// (best, median, CPU seconds per call) of `ITERS` calls after one warm-up.
fn times(mut f: impl FnMut()) -> (f64, f64, f64) {
    f();
    let iters = iters();
    let c0 = cpu_ns();
    for _ in 0..iters {
        f();
    }
    let cpu = (cpu_ns() - c0) as f64 * 1e-9 / iters as f64;
    let mut t: Vec<f64> = (0..iters)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[0], t[iters / 2], cpu)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let types: Vec<GgmlType> = args
        .get(1)
        .map_or("Q4_K,Q6_K,Q5_0,Q8_0", String::as_str)
        .split(',')
        .map(|s| {
            *[
                GgmlType::Q4_0,
                GgmlType::Q4_1,
                GgmlType::Q5_0,
                GgmlType::Q5_1,
                GgmlType::Q8_0,
                GgmlType::Q4K,
                GgmlType::Q5K,
                GgmlType::Q6K,
            ]
            .iter()
            .find(|t| t.name() == s)
            .unwrap_or_else(|| panic!("unknown type {s}"))
        })
        .collect();
    let shapes: Vec<(usize, usize)> = args
        .get(2)
        .map_or("1536x1536,8960x1536,1536x8960", String::as_str)
        .split(',')
        .map(|s| {
            let (n, k) = s.split_once('x').unwrap();
            (n.parse().unwrap(), k.parse().unwrap())
        })
        .collect();
    let ms: Vec<usize> = args.get(3).map_or("1,16,64", String::as_str).split(',').map(|s| s.parse().unwrap()).collect();
    let bw = if std::env::var("NO_BW").is_ok() {
        f64::NAN
    } else {
        kernels::cpu::bandwidth::measure_read_bandwidth(1 << 30, 0).unwrap()
    };
    println!("read bandwidth {bw:.1} GB/s ({} threads)", rayon::current_num_threads());
    println!("type  shape        m   f32 ms    q8 ms   f32/q8  f32 GB/s  q8 GB/s  q8 %bw  q8 us/row | median f32, q8 ms | cpu f32, q8 ms");
    let vnni = std::env::var("VNNI").map_or(true, |v| v != "0");
    let (f32be, q8be) = (CpuBackend::new(), CpuBackend::new().with_int8_activations(true).with_vnni(vnni));
    // Calls start on a rayon worker, as a model's forward does.
    rayon::scope(|_| {
        for &ty in &types {
            for &(n, k) in &shapes {
                let bytes = n * k / ty.block_size() * ty.type_size();
                let copies: Vec<Vec<u8>> =
                    (0..COLD_BYTES.div_ceil(bytes).clamp(1, 64)).map(|s| blocks(ty, n, k, s)).collect();
                for &m in &ms {
                    let x: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1).collect();
                    let mut y = vec![0f32; m * n];
                    let mut time = |be: &CpuBackend| {
                        let mut next = 0;
                        times(|| {
                            next = (next + 1) % copies.len();
                            be.matmul_gguf(&x, m, k, ty, &copies[next], n, &mut y).unwrap();
                        })
                    };
                    let ((tf, mf, cf), (tq, mq, cq)) = (time(&f32be), time(&q8be));
                    let gb = |t: f64| bytes as f64 / t / 1e9;
                    println!(
                        "{:5} {:>5}x{:<5} {m:3} {:8.3} {:8.3} {:7.2}x {:8.2} {:8.2} {:6.0}% {:9.1} | {:8.3} {:8.3} | {:8.3} {:8.3}",
                        ty.name(),
                        n,
                        k,
                        tf * 1e3,
                        tq * 1e3,
                        tf / tq,
                        gb(tf),
                        gb(tq),
                        100.0 * gb(tq) / bw,
                        tq * 1e6 / m as f64,
                        mf * 1e3,
                        mq * 1e3,
                        cf * 1e3,
                        cq * 1e3
                    );
                }
            }
        }
    });
}
