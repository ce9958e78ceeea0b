//! Peak multiply-add throughput: every thread runs long chains of independent eight-lane
//! multiply-adds (fused on AVX2) from registers, no memory traffic; best of several runs.

use super::simd::{self, Isa, Lanes, LanesFn};
use crate::error::{KernelError, Result};
use std::time::Instant;

/// Loop iterations per thread per run (12 independent vector multiply-adds each).
const ITERS: usize = 20_000_000;
/// Independent accumulators (enough to cover FMA latency × throughput on current cores).
const CHAINS: usize = 12;
/// Timed runs; the fastest counts.
const RUNS: usize = 5;

struct FmaLoop {
    out: *mut f32,
}

impl LanesFn for FmaLoop {
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    unsafe fn call<V: Lanes>(self) {
        // SAFETY: the loads read the local arrays below; `out` points at a live f32.
        unsafe {
            let a = V::load([1.000_000_1f32; 8].as_ptr());
            let b = V::load([1e-7f32; 8].as_ptr());
            let mut acc = [V::zero(); CHAINS];
            for _ in 0..ITERS {
                for c in 0..CHAINS {
                    acc[c] = acc[c].mul_add(a, b);
                }
            }
            let mut s = 0f32;
            for c in acc {
                s += c.hsum();
            }
            *self.out = s;
        }
    }
}

/// Peak `f32` GFLOP/s (a multiply-add counts 2) with `isa` on `threads` threads (0: one per
/// core). Fails if the CPU lacks `isa` or the pool cannot be built.
pub fn measure_peak_gflops(isa: Isa, threads: usize) -> Result<f64> {
    if !isa.is_available() {
        return Err(KernelError::IsaUnavailable { isa: isa.name() });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| KernelError::ThreadPool { threads, source })?;
    let flops = (ITERS * CHAINS * 8 * 2 * pool.current_num_threads()) as f64;
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let t = Instant::now();
        let sums = pool.broadcast(|_| {
            let mut s = 0f32;
            // SAFETY: `isa` is available (checked above); `out` points at `s`.
            unsafe { simd::run(isa, FmaLoop { out: &mut s }) };
            s
        });
        std::hint::black_box(sums);
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(flops / best / 1e9)
}
