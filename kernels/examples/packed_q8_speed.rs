//! Times `matmul_packed` on the `cpu` backend (exact: f32, dequantized in the loop) against
//! `cpu-q8` (int8 activations: the plain AVX2 kernels, and the prepared weight where `prepare`
//! makes one: VNNI tiles on a CPU with AVX-512 VNNI, act-order permuted) for qtool's packed formats, one
//! call at a time (the best of `ITERS`, then the medians: on a machine shared with other work
//! the best is the least disturbed), the weight cycled over copies worth [`COLD_BYTES`] so that
//! it comes from memory. GB/s are weight bytes read per second: codes, f32 scales and u8 zero
//! points as `PackedWeight` holds them (for every column; `tile GB/s`: the bytes the prepared
//! weight reads, the VNNI tiles' own, which hold int2/int3 codes as nibbles), next to the machine's read bandwidth measured in the same run; and the CPU time per call
//! summed over the process's threads (Linux `schedstat`: time lost to other processes' turns
//! does not count).
//!
//! Run: `cargo run --release -p kernels --example packed_q8_speed [formats] [NxK,...] [m,...]`,
//! formats among `int2g64`, `int3g128`, `int4g128`, `int8pc` (per-channel), `int8g128`, with
//! `-asym` or `-act` (act-order) appended optionally; e.g. `... int3g128,int8pc 896x4864 1,16`.
//! `ITERS=n` changes the timed calls per case, `NO_BW=1` skips the bandwidth measurement.

use kernels::{Backend, CpuBackend, PreparedWeight, WeightView};
use quant::pack::PackedWeight;
use quant::{Granularity, IntFormat, QuantizedParts, QuantizedWeight, ScaleDtype, WeightFormat};
use std::time::Instant;

/// Bytes of weight copies cycled through: three times a 260 MiB last-level cache.
const COLD_BYTES: usize = 768 << 20;

fn iters() -> usize {
    std::env::var("ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(15)
}

/// `(label, format, act-order)` of a name like `int3g128-asym`.
fn parse_format(s: &str) -> (String, WeightFormat, bool) {
    let (base, opts) = s.split_once('-').unwrap_or((s, ""));
    let (int, gran) = base.split_at(4);
    let int = IntFormat::ALL.into_iter().find(|i| i.name() == int).unwrap_or_else(|| panic!("unknown format {s}"));
    let gran = match gran {
        "pc" => Granularity::PerChannel,
        g => Granularity::Group(g.trim_start_matches('g').parse().unwrap_or_else(|_| panic!("bad group in {s}"))),
    };
    (s.to_string(), WeightFormat::new(int, gran, !opts.contains("asym")).unwrap(), opts.contains("act"))
}

/// A weight of pseudo-random codes (and zeros), scales 0.01, act-order as GPTQ lays it out.
fn weight(format: &WeightFormat, n: usize, k: usize, act: bool, seed: usize) -> PackedWeight {
    // The columns c · 7919 mod k (7919 is prime) cut into groups.
    assert!(!act || !k.is_multiple_of(7919));
    let (ng, gs) = (format.n_groups(k), format.group_size(k));
    let max = format.int().code_max() as usize + 1;
    let g_idx = act.then(|| (0..k).map(|c| ((c * 7919 % k) / gs) as u32).collect());
    let q = QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: ScaleDtype::F32,
        n,
        k,
        codes: (0..n * k).map(|i| ((i * 131 + seed * 7) % max) as u8).collect(),
        scales: vec![0.01; n * ng],
        zeros: (!format.symmetric()).then(|| (0..n * ng).map(|i| (i % max) as u8).collect()),
        g_idx,
    })
    .unwrap();
    PackedWeight::pack(&q)
}

fn weight_bytes(w: &PackedWeight) -> usize {
    w.codes().len() * 4 + w.scales().len() * 4 + w.zeros().map_or(0, <[u8]>::len)
}

/// Nanoseconds on a CPU so far, summed over this process's threads (Linux `schedstat`).
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// (best, median, CPU seconds per call summed over threads) of `ITERS` calls after one
/// warm-up.
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
    let formats: Vec<_> =
        args.get(1).map_or("int8pc,int3g128,int4g128", String::as_str).split(',').map(parse_format).collect();
    let shapes: Vec<(usize, usize)> = args
        .get(2)
        .map_or("896x4864,4864x896,1536x8960", String::as_str)
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
    println!("read bandwidth {bw:.1} GB/s ({} threads); shape is n x k", rayon::current_num_threads());
    println!("format         shape        m   f32 ms    q8 ms  prep ms  f32/q8 f32/prep  f32 GB/s  q8 GB/s prep GB/s tile GB/s | median f32, q8, prep ms | cpu f32, q8, prep ms");
    let (f32be, q8be) = (CpuBackend::new(), CpuBackend::new().with_int8_activations(true));
    // Calls start on a rayon worker, as a model's forward does.
    rayon::scope(|_| {
        for (label, format, act) in &formats {
            for &(n, k) in &shapes {
                let first = weight(format, n, k, *act, 0);
                let bytes = weight_bytes(&first);
                // Copies in memory of their own (the same values: the speed does not depend on them).
                let copies = vec![first; COLD_BYTES.div_ceil(bytes).clamp(1, 1024)];
                let prepared: Vec<Box<dyn PreparedWeight>> =
                    copies.iter().filter_map(|w| q8be.prepare(WeightView::Packed(w)).unwrap()).collect();
                let prep_bytes = prepared.first().and_then(|p| p.bytes()).unwrap_or(bytes);
                for &m in &ms {
                    let x: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1).collect();
                    let mut y = vec![0f32; m * n];
                    let mut next = 0;
                    let mut time_plain = |be: &CpuBackend| {
                        times(|| {
                            next = (next + 1) % copies.len();
                            be.matmul_packed(&x, m, &copies[next], &mut y).unwrap();
                        })
                    };
                    let ((tf, mf, cf), (tq, mq, cq)) = (time_plain(&f32be), time_plain(&q8be));
                    let (tp, mp, cp) = if prepared.is_empty() {
                        (f64::NAN, f64::NAN, f64::NAN)
                    } else {
                        let mut next = 0;
                        times(|| {
                            next = (next + 1) % prepared.len();
                            q8be.matmul_prepared(&x, m, prepared[next].as_ref(), &mut y).unwrap();
                        })
                    };
                    let gb = |b: usize, t: f64| b as f64 / t / 1e9;
                    println!(
                        "{label:14} {n:>5}x{k:<5} {m:3} {:8.3} {:8.3} {:8.3} {:6.2}x {:7.2}x {:8.2} {:8.2} {:8.2} {:8.2} | {:7.3} {:7.3} {:7.3} | {:7.3} {:7.3} {:7.3}",
                        tf * 1e3,
                        tq * 1e3,
                        tp * 1e3,
                        tf / tq,
                        tf / tp,
                        gb(bytes, tf),
                        gb(bytes, tq),
                        gb(bytes, tp),
                        gb(prep_bytes, tp),
                        mf * 1e3,
                        mq * 1e3,
                        mp * 1e3,
                        cf * 1e3,
                        cq * 1e3,
                        cp * 1e3
                    );
                }
            }
        }
    });
}
