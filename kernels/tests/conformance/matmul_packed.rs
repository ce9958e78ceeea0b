//! Packed matmul conformance: qtool's packed layout at int2/3/4/8, symmetric and asymmetric,
//! groups of 32 and 40 and per-channel, act-order, for every `m` and `(n, k)` shapes whose `k` is
//! not a multiple of 64 or of the group size (ragged last group), against `matmul_packed_ref`.

use crate::matmul::MS;
use crate::util::{check, seed, Rng};
use kernels::ops::matmul_packed_ref;
use kernels::{Backend, KernelError};
use quant::pack::PackedWeight;
use quant::{
    quantize_rtn, Granularity, IntFormat, QuantizedParts, QuantizedWeight, RtnOptions, ScaleDtype, WeightFormat,
};

/// (n, k): tiny, odd, ragged against every group size, one long row.
pub const NKS: [(usize, usize); 6] = [(1, 8), (5, 7), (13, 131), (97, 200), (131, 97), (67, 1003)];
/// Granularities swept (40 is a multiple of 8 that divides no power of two).
pub const GRANULARITIES: [Granularity; 3] = [Granularity::Group(32), Granularity::Group(40), Granularity::PerChannel];
/// Cases above this many multiply-adds skip their larger `m` in unoptimised builds.
const MAX_MACS: usize = if cfg!(debug_assertions) { 1_000_000 } else { usize::MAX };
/// Normalised-MSE bound: `f32` accumulation against `f64`.
pub const BOUND: f64 = 1e-10;

/// An RTN-quantized random weight.
pub fn rtn_weight(format: &WeightFormat, n: usize, k: usize, rng: &mut Rng) -> PackedWeight {
    let w = rng.vec(n * k, -1.0, 1.0);
    PackedWeight::pack(&quantize_rtn(&w, n, k, format, &RtnOptions::default()).unwrap())
}

/// A random act-order weight: every column in a random group, random codes, scales and zeros.
pub fn act_order_weight(format: &WeightFormat, n: usize, k: usize, rng: &mut Rng) -> PackedWeight {
    let ng = format.n_groups(k);
    let max = format.int().code_max() as usize + 1;
    let q = QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: ScaleDtype::F32,
        n,
        k,
        codes: (0..n * k).map(|_| rng.below(max) as u8).collect(),
        scales: (0..n * ng).map(|_| rng.uniform(0.01, 0.1)).collect(),
        zeros: (!format.symmetric()).then(|| (0..n * ng).map(|_| rng.below(max) as u8).collect()),
        g_idx: Some((0..k).map(|_| rng.below(ng) as u32).collect()),
    })
    .unwrap();
    PackedWeight::pack(&q)
}

fn run_case(be: &dyn Backend, w: &PackedWeight, m: usize, rng: &mut Rng) -> f64 {
    let x = rng.vec(m * w.k(), -1.0, 1.0);
    let mut want = vec![0f32; m * w.n()];
    matmul_packed_ref(&x, m, w, &mut want);
    let mut got = vec![f32::NAN; m * w.n()];
    be.matmul_packed(&x, m, w, &mut got).unwrap();
    let case = format!("{} matmul_packed {} m={m} n={} k={}", be.name(), w.format().label(), w.n(), w.k());
    check(&case, &got, &want, BOUND)
}

pub fn sweep(be: &dyn Backend) {
    let mut worst = 0f64;
    for int in IntFormat::ALL {
        for symmetric in [true, false] {
            for gran in GRANULARITIES {
                let format = WeightFormat::new(int, gran, symmetric).unwrap();
                for &(n, k) in &NKS {
                    let mut rng = Rng::new(seed(&[int.bits() as usize, symmetric as usize, n, k]));
                    let w = rtn_weight(&format, n, k, &mut rng);
                    for &m in &MS {
                        if m > 1 && m * n * k > MAX_MACS {
                            continue;
                        }
                        worst = worst.max(run_case(be, &w, m, &mut rng));
                    }
                }
            }
        }
    }
    eprintln!("{} matmul_packed: worst nmse {worst:.2e}", be.name());
}

pub fn act_order(be: &dyn Backend) {
    for int in IntFormat::ALL {
        for symmetric in [true, false] {
            let format = WeightFormat::new(int, Granularity::Group(32), symmetric).unwrap();
            for &(n, k) in &NKS[2..] {
                let mut rng = Rng::new(seed(&[7, int.bits() as usize, symmetric as usize, n, k]));
                let w = act_order_weight(&format, n, k, &mut rng);
                for m in [1, 3, 17] {
                    run_case(be, &w, m, &mut rng);
                }
            }
        }
    }
}

/// Scales exact in f16 and bf16 (the dtypes checkpoints store), which GPU backends upload as
/// 16-bit values, at int4 and int3, symmetric and asymmetric, groups of 32 and 40.
pub fn scale_dtypes(be: &dyn Backend) {
    for scale_dtype in [ScaleDtype::F16, ScaleDtype::Bf16] {
        for (int, symmetric) in [(IntFormat::Int4, true), (IntFormat::Int3, false), (IntFormat::Int8, false)] {
            for gran in [Granularity::Group(32), Granularity::Group(40)] {
                let format = WeightFormat::new(int, gran, symmetric).unwrap();
                for &(n, k) in &NKS[1..] {
                    let mut rng = Rng::new(seed(&[11, scale_dtype as usize, int.bits() as usize, n, k]));
                    let w = rng.vec(n * k, -1.0, 1.0);
                    let opts = RtnOptions { scale_dtype, ..RtnOptions::default() };
                    let w = PackedWeight::pack(&quantize_rtn(&w, n, k, &format, &opts).unwrap());
                    for m in [1, 5] {
                        run_case(be, &w, m, &mut rng);
                    }
                }
            }
        }
    }
}

/// Wrong x or y lengths are shape errors.
pub fn shape_errors(be: &dyn Backend) {
    let format = WeightFormat::new(IntFormat::Int4, Granularity::Group(32), true).unwrap();
    let w = rtn_weight(&format, 5, 40, &mut Rng::new(1));
    let (x, mut y) = (vec![0f32; 2 * 40], vec![0f32; 2 * 5]);
    assert!(be.matmul_packed(&x, 2, &w, &mut y).is_ok());
    for (m, xl, yl) in [(3, 80, 10), (2, 79, 10), (2, 80, 11)] {
        let (x, mut y) = (vec![0f32; xl], vec![0f32; yl]);
        let r = be.matmul_packed(&x, m, &w, &mut y);
        assert!(matches!(r, Err(KernelError::Shape { op: "matmul_packed", .. })), "m={m} x={xl} y={yl}: {r:?}");
    }
}
