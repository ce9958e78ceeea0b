//! Matmul conformance: a seeded sweep of `m × n × k` for every weight type against
//! `matmul_ref`, plus thread-count determinism and shape errors.

use crate::util::{check, seed, Rng};
use half::{bf16, f16};
use kernels::ops::matmul_ref;
use kernels::{Backend, DenseWeight, KernelError};

/// The weight types tested.
#[derive(Clone, Copy, Debug)]
pub enum Dtype {
    F32,
    Bf16,
    F16,
}

/// x rows.
pub const MS: [usize; 6] = [1, 2, 3, 8, 17, 64];
/// (n, k): tiny, odd, model-sized (Qwen2.5 576/1536/8960) and not multiples of 8 or 64.
pub const NKS: [(usize, usize); 12] = [
    (1, 1),
    (5, 7),
    (8, 8),
    (13, 64),
    (97, 131),
    (131, 97),
    (64, 576),
    (576, 576),
    (200, 1536),
    (1536, 576),
    (37, 8960),
    (151, 1003),
];
/// Cases above this many multiply-adds skip their larger `m` (unoptimised builds get a
/// lighter sweep; `cargo test --release` runs all of it).
const MAX_MACS: usize = if cfg!(debug_assertions) { 2_000_000 } else { 60_000_000 };
/// Normalised-MSE bound: `f32` accumulation against `f64`.
pub const BOUND: f64 = 1e-10;

/// Holds a weight of one type.
pub enum Weight {
    F32(Vec<f32>),
    Bf16(Vec<bf16>),
    F16(Vec<f16>),
}

impl Weight {
    pub fn random(dtype: Dtype, len: usize, rng: &mut Rng) -> Weight {
        let v = rng.vec(len, -1.0, 1.0);
        match dtype {
            Dtype::F32 => Weight::F32(v),
            Dtype::Bf16 => Weight::Bf16(v.into_iter().map(bf16::from_f32).collect()),
            Dtype::F16 => Weight::F16(v.into_iter().map(f16::from_f32).collect()),
        }
    }

    pub fn view(&self) -> DenseWeight<'_> {
        match self {
            Weight::F32(w) => DenseWeight::F32(w),
            Weight::Bf16(w) => DenseWeight::BF16(w),
            Weight::F16(w) => DenseWeight::F16(w),
        }
    }
}

pub fn sweep(be: &dyn Backend, dtype: Dtype) {
    let mut worst = 0f64;
    for &(n, k) in &NKS {
        for &m in &MS {
            if m > 1 && m * n * k > MAX_MACS {
                continue;
            }
            let mut rng = Rng::new(seed(&[m, n, k, dtype as usize]));
            let x = rng.vec(m * k, -1.0, 1.0);
            let w = Weight::random(dtype, n * k, &mut rng);
            let mut want = vec![0f32; m * n];
            matmul_ref(&x, m, k, w.view(), n, &mut want);
            let mut got = vec![f32::NAN; m * n];
            be.matmul(&x, m, k, w.view(), n, &mut got).unwrap();
            let case = format!("{} matmul {dtype:?} m={m} n={n} k={k}", be.name());
            worst = worst.max(check(&case, &got, &want, BOUND));
        }
    }
    eprintln!("{} matmul {dtype:?}: worst nmse {worst:.2e}", be.name());
}

/// The same call under 1, 2 and 3 rayon threads gives the same bits.
pub fn deterministic(be: &dyn Backend) {
    for m in [1, 17, 40] {
        deterministic_at(be, m);
    }
}

fn deterministic_at(be: &dyn Backend, m: usize) {
    let (n, k) = (389, 1003);
    let mut rng = Rng::new(seed(&[m, n, k]));
    let x = rng.vec(m * k, -1.0, 1.0);
    let w = Weight::random(Dtype::Bf16, n * k, &mut rng);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut y = vec![0f32; m * n];
        pool.install(|| be.matmul(&x, m, k, w.view(), n, &mut y)).unwrap();
        y
    };
    let one = run(1);
    for t in [2, 3] {
        let other = run(t);
        let diff = one.iter().zip(&other).position(|(a, b)| a.to_bits() != b.to_bits());
        assert!(diff.is_none(), "{} m={m}: 1 vs {t} threads differ at {diff:?}", be.name());
    }
}

/// Wrong lengths are errors, not panics.
pub fn shape_errors(be: &dyn Backend) {
    let (x, w, mut y) = (vec![0f32; 6], vec![0f32; 12], vec![0f32; 8]);
    let ok = be.matmul(&x, 2, 3, DenseWeight::F32(&w), 4, &mut y);
    assert!(ok.is_ok(), "{ok:?}");
    let cases: [(usize, usize, usize, usize); 3] = [(3, 3, 4, 8), (2, 3, 5, 8), (2, 3, 4, 9)];
    for (m, k, n, ylen) in cases {
        let mut y = vec![0f32; ylen];
        let r = be.matmul(&x, m, k, DenseWeight::F32(&w), n, &mut y);
        assert!(matches!(r, Err(KernelError::Shape { op: "matmul", .. })), "m={m} k={k} n={n} y={ylen}: {r:?}");
    }
}
