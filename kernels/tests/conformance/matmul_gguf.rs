//! GGUF matmul conformance: every block type with a decoder, random blocks (finite f16
//! scales, every other byte random), for every `m` and `(n, k)` with `k` a whole number of
//! blocks but not a multiple of 64 where the block allows it, against `matmul_gguf_ref`.

use crate::matmul::MS;
use crate::util::{check, seed, Rng};
use half::f16;
use kernels::ops::matmul_gguf_ref;
use kernels::{Backend, KernelError};
use quant::gguf::GgmlType;

/// Every type `matmul_gguf` runs.
pub const TYPES: [GgmlType; 8] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q4K,
    GgmlType::Q5K,
    GgmlType::Q6K,
];
/// (n, blocks per row).
const SHAPES: [(usize, usize); 5] = [(1, 1), (5, 3), (13, 5), (97, 19), (131, 9)];
/// Cases above this many multiply-adds skip their larger `m` in unoptimised builds.
const MAX_MACS: usize = if cfg!(debug_assertions) { 1_000_000 } else { usize::MAX };
/// Normalised-MSE bound: `f32` accumulation against `f64`.
pub const BOUND: f64 = 1e-10;

/// Byte offsets of the f16 scale fields in one block of `ty`.
pub fn f16_fields(ty: GgmlType) -> &'static [usize] {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4K | GgmlType::Q5K => &[0, 2],
        GgmlType::Q6K => &[208],
        _ => unreachable!("{ty} is not swept"),
    }
}

/// `n_blocks` random blocks of `ty`: random bytes, scales random finite f16 in ±0.05.
pub fn random_blocks(ty: GgmlType, n_blocks: usize, rng: &mut Rng) -> Vec<u8> {
    let ts = ty.type_size();
    let mut b: Vec<u8> = (0..n_blocks * ts).map(|_| rng.next_u64() as u8).collect();
    for blk in b.chunks_exact_mut(ts) {
        for &o in f16_fields(ty) {
            blk[o..o + 2].copy_from_slice(&f16::from_f32(rng.uniform(-0.05, 0.05)).to_le_bytes());
        }
    }
    b
}

pub fn sweep(be: &dyn Backend) {
    for ty in TYPES {
        let mut worst = 0f64;
        for &(n, nb) in &SHAPES {
            let k = nb * ty.block_size();
            let mut rng = Rng::new(seed(&[ty.id() as usize, n, k]));
            let w = random_blocks(ty, n * nb, &mut rng);
            for &m in &MS {
                if m > 1 && m * n * k > MAX_MACS {
                    continue;
                }
                let x = rng.vec(m * k, -1.0, 1.0);
                let mut want = vec![0f32; m * n];
                matmul_gguf_ref(&x, m, k, ty, &w, n, &mut want);
                let mut got = vec![f32::NAN; m * n];
                be.matmul_gguf(&x, m, k, ty, &w, n, &mut got).unwrap();
                let case = format!("{} matmul_gguf {ty} m={m} n={n} k={k}", be.name());
                worst = worst.max(check(&case, &got, &want, BOUND));
            }
        }
        eprintln!("{} matmul_gguf {ty}: worst nmse {worst:.2e}", be.name());
    }
}

/// Unsupported types, ragged rows and wrong lengths are errors, not panics.
pub fn shape_errors(be: &dyn Backend) {
    let w = random_blocks(GgmlType::Q4_0, 2 * 3, &mut Rng::new(2));
    let (x, mut y) = (vec![0f32; 96], vec![0f32; 2]);
    assert!(be.matmul_gguf(&x, 1, 96, GgmlType::Q4_0, &w, 2, &mut y).is_ok());
    let r = be.matmul_gguf(&x, 1, 96, GgmlType::Q2K, &w, 2, &mut y);
    assert!(matches!(r, Err(KernelError::Unsupported { op: "matmul_gguf", .. })), "{r:?}");
    let r = be.matmul_gguf(&x[..95], 1, 95, GgmlType::Q4_0, &w, 2, &mut y);
    assert!(matches!(r, Err(KernelError::Shape { op: "matmul_gguf", .. })), "{r:?}");
    let r = be.matmul_gguf(&x, 1, 96, GgmlType::Q4_0, &w[..w.len() - 1], 2, &mut y);
    assert!(matches!(r, Err(KernelError::Shape { op: "matmul_gguf", .. })), "{r:?}");
    let r = be.matmul_gguf(&x, 1, 96, GgmlType::Q4_0, &w, 2, &mut y[..1]);
    assert!(matches!(r, Err(KernelError::Shape { op: "matmul_gguf", .. })), "{r:?}");
}

/// The same packed and GGUF calls under 1, 2 and 3 rayon threads give the same bits.
pub fn deterministic(be: &dyn Backend) {
    let (n, nb, ty) = (389, 7, GgmlType::Q4K);
    let k = nb * ty.block_size();
    let mut rng = Rng::new(seed(&[n, k]));
    let w = random_blocks(ty, n * nb, &mut rng);
    let format = quant::WeightFormat::new(quant::IntFormat::Int3, quant::Granularity::Group(32), false).unwrap();
    let pw = crate::matmul_packed::rtn_weight(&format, n, 1003, &mut rng);
    for m in [1, 17, 40] {
        let x = rng.vec(m * k, -1.0, 1.0);
        let xp = rng.vec(m * 1003, -1.0, 1.0);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let (mut y, mut yp) = (vec![0f32; m * n], vec![0f32; m * n]);
            pool.install(|| {
                be.matmul_gguf(&x, m, k, ty, &w, n, &mut y).unwrap();
                be.matmul_packed(&xp, m, &pw, &mut yp).unwrap();
            });
            (y, yp)
        };
        let one = run(1);
        for t in [2, 3] {
            let other = run(t);
            let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same(&one.0, &other.0), "{} matmul_gguf m={m}: 1 vs {t} threads differ", be.name());
            assert!(same(&one.1, &other.1), "{} matmul_packed m={m}: 1 vs {t} threads differ", be.name());
        }
    }
}
