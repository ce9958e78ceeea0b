//! Peak int8 dot-product throughput, the compute limit of the int8-activation kernels: every
//! thread runs long chains of independent u8 × i8 multiply-adds into i32 from registers, no
//! memory traffic; best of several runs. On a CPU with AVX-512 VNNI the chains are `vpdpbusd`
//! on 512-bit registers (64 multiply-adds each); with AVX2 they are `vpmaddubsw`, `vpmaddwd`
//! and `vpaddd` on 256-bit registers (32 multiply-adds per triple), what the AVX2 kernels run.
//! An op is a multiply or an add (a multiply-add counts 2), as GFLOP/s counts them.

use crate::error::{KernelError, Result};
use std::time::Instant;

/// Loop iterations per thread per run.
const ITERS: usize = 10_000_000;
/// Timed runs; the fastest counts.
const RUNS: usize = 5;

/// The instruction sequence a measurement used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int8Path {
    /// AVX-512 VNNI `vpdpbusd` (zmm).
    Avx512Vnni,
    /// AVX2 `vpmaddubsw` + `vpmaddwd` + `vpaddd` (ymm).
    Avx2,
}

impl Int8Path {
    /// The best path this CPU has, if any.
    pub fn detect() -> Option<Int8Path> {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                return Some(Int8Path::Avx512Vnni);
            }
            if is_x86_feature_detected!("avx2") {
                return Some(Int8Path::Avx2);
            }
        }
        None
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Int8Path::Avx512Vnni => "AVX-512 VNNI vpdpbusd",
            Int8Path::Avx2 => "AVX2 vpmaddubsw+vpmaddwd",
        }
    }

    /// Multiply-adds one loop iteration of one thread performs.
    fn macs_per_iter(self) -> usize {
        match self {
            Int8Path::Avx512Vnni => CHAINS * 64,
            Int8Path::Avx2 => CHAINS * 32,
        }
    }
}

/// Independent accumulators per thread.
const CHAINS: usize = 10;

/// Peak int8 GOP/s (a multiply-add counts 2) on `threads` threads (0: one per core), with the
/// path used. Fails on a CPU without AVX2 or when the pool cannot be built.
pub fn measure_peak_int8_gops(threads: usize) -> Result<(f64, Int8Path)> {
    let path = Int8Path::detect().ok_or(KernelError::IsaUnavailable { isa: "avx2" })?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| KernelError::ThreadPool { threads, source })?;
    let ops = (ITERS * path.macs_per_iter() * 2 * pool.current_num_threads()) as f64;
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let t = Instant::now();
        let sums = pool.broadcast(|_| run(path));
        std::hint::black_box(sums);
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok((ops / best / 1e9, path))
}

fn run(path: Int8Path) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `path` came from `Int8Path::detect`, which checked the features each needs.
        unsafe {
            match path {
                Int8Path::Avx512Vnni => x86::vnni_loop(),
                Int8Path::Avx2 => x86::avx2_loop(),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = path;
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, ITERS};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn vnni_loop() -> i32 {
        let a = _mm512_set1_epi8(3);
        let b = _mm512_set1_epi8(std::hint::black_box(-2));
        let mut acc = [_mm512_setzero_si512(); CHAINS];
        for _ in 0..ITERS {
            for c in acc.iter_mut() {
                *c = _mm512_dpbusd_epi32(*c, a, b);
            }
        }
        acc.iter().fold(0, |s, &c| s.wrapping_add(_mm512_reduce_add_epi32(c)))
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2_loop() -> i32 {
        let a = _mm256_set1_epi8(3);
        let b = _mm256_set1_epi8(std::hint::black_box(-2));
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_si256(); CHAINS];
        for _ in 0..ITERS {
            for c in acc.iter_mut() {
                let p = _mm256_maddubs_epi16(a, b);
                *c = _mm256_add_epi32(*c, _mm256_madd_epi16(p, ones));
            }
        }
        let mut out = [0i32; 8];
        let s = acc.iter().fold(_mm256_setzero_si256(), |s, &c| _mm256_add_epi32(s, c));
        _mm256_storeu_si256(out.as_mut_ptr().cast(), s);
        out.iter().fold(0, |s, &v| s.wrapping_add(v))
    }
}
