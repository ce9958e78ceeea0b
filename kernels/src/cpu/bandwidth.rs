//! Memory read bandwidth, STREAM-style: sum a buffer far larger than the caches with every
//! thread, best of several passes. Benches and `qtool bench` report a kernel's GB/s as a
//! fraction of this. Passes alternate between a plain sum and one that also prefetches
//! [`PREFETCH_AHEAD`] bytes ahead in software (on some CPUs the hardware prefetcher alone does
//! not reach the memory's rate, and a kernel that prefetches would then beat a plain-sum
//! "limit"); the fastest pass of either kind counts.

use crate::error::{KernelError, Result};
use rayon::prelude::*;
use std::time::Instant;

/// Bytes each rayon task sums.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Timed passes (half plain, half prefetching); the fastest counts.
pub const PASSES: usize = 20;
/// How far ahead the prefetching passes ask for data, bytes.
pub const PREFETCH_AHEAD: usize = 1024;

/// Reads `bytes` (rounded down to whole MiB, at least 1 MiB) with `threads` threads (0: the
/// rayon default, one per core) and returns the best read rate of [`PASSES`] passes in GB/s
/// (1e9 bytes per second). Use a buffer well beyond the last-level cache (1 GiB is plenty).
/// The buffer is written first by the same threads so its pages are resident and local.
pub fn measure_read_bandwidth(bytes: usize, threads: usize) -> Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| KernelError::ThreadPool { threads, source })?;
    let chunk = CHUNK_BYTES / 8;
    let words = (bytes / CHUNK_BYTES).max(1) * chunk;
    let mut buf = vec![0u64; words];
    pool.install(|| {
        buf.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, ch)| ch.iter_mut().enumerate().for_each(|(i, v)| *v = (c + i) as u64))
    });
    let mut best = f64::INFINITY;
    for pass in 0..PASSES {
        let prefetch = pass % 2 == 1;
        let t = Instant::now();
        let s = pool.install(|| buf.par_chunks(chunk).map(|c| sum_words(c, prefetch)).reduce(|| 0, u64::wrapping_add));
        std::hint::black_box(s);
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok((words * 8) as f64 / best / 1e9)
}

/// Wrapping sum of `v`, with AVX2 when the CPU has it (the same code, compiled wider), with
/// software prefetch [`PREFETCH_AHEAD`] bytes ahead when `prefetch`.
fn sum_words(v: &[u64], prefetch: bool) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present.
        return unsafe {
            if prefetch {
                sum_words_avx2::<true>(v)
            } else {
                sum_words_avx2::<false>(v)
            }
        };
    }
    sum_words_portable::<false>(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_words_avx2<const PREFETCH: bool>(v: &[u64]) -> u64 {
    sum_words_portable::<PREFETCH>(v)
}

/// Sixteen independent running sums (two cache lines a step) so that the loop is load-bound,
/// not add-latency-bound.
#[inline(always)]
fn sum_words_portable<const PREFETCH: bool>(v: &[u64]) -> u64 {
    let mut acc = [0u64; 16];
    let chunks = v.chunks_exact(16);
    let tail = chunks.remainder();
    for c in chunks {
        #[cfg(target_arch = "x86_64")]
        if PREFETCH {
            let ahead = c.as_ptr().cast::<u8>().wrapping_add(PREFETCH_AHEAD);
            // SAFETY: SSE is part of x86_64; a prefetch never faults, even past the buffer.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64).cast());
            }
        }
        for l in 0..16 {
            acc[l] = acc[l].wrapping_add(c[l]);
        }
    }
    acc.iter().chain(tail).fold(0u64, |a, &b| a.wrapping_add(b))
}
