//! W8A8 conformance: int8 activations (one scale per row) × int8 weights (one scale per output
//! channel), i32 sums, bit for bit against `matmul_w8a8_ref` for every `m` and `(n, k)` shapes
//! whose `k` is no multiple of 16 or 64 (ragged SIMD tails), operands over the whole int8 range
//! (−128 included, which per-token quantizers never make but the op accepts).

use crate::matmul::MS;
use crate::matmul_packed::rtn_weight;
use crate::util::{seed, Rng};
use kernels::ops::{matmul_w8a8_ref, quantize_rows_i8_ref, w8a8_packed_codes};
use kernels::{Backend, KernelError};
use quant::{Granularity, IntFormat, WeightFormat};

/// (n, k): tiny, odd, ragged against 16 and 64, one long row.
const NKS: [(usize, usize); 6] = [(1, 1), (5, 15), (13, 33), (97, 200), (131, 97), (67, 1003)];
/// Cases above this many multiply-adds skip their larger `m` in unoptimised builds.
const MAX_MACS: usize = if cfg!(debug_assertions) { 1_000_000 } else { usize::MAX };

/// Random operands: x quantized per row from uniform values (so ±127 codes), W codes over all
/// of −128..=127, positive scales.
fn operands(m: usize, n: usize, k: usize, rng: &mut Rng) -> (Vec<i8>, Vec<f32>, Vec<i8>, Vec<f32>) {
    let (xq, xs) = quantize_rows_i8_ref(&rng.vec(m * k, -3.0, 3.0), m, k);
    let wq: Vec<i8> = (0..n * k).map(|_| rng.next_u64() as i8).collect();
    let ws = rng.vec(n, 0.001, 0.02);
    (xq, xs, wq, ws)
}

fn assert_bits(case: &str, got: &[f32], want: &[f32]) {
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g.to_bits() != w.to_bits()) {
        panic!("{case}: first mismatch at {i}: got {} want {}", got[i], want[i]);
    }
}

pub fn sweep(be: &dyn Backend) {
    let mut cases = 0;
    for &(n, k) in &NKS {
        let mut rng = Rng::new(seed(&[n, k, 8]));
        for &m in &MS {
            if m > 1 && m * n * k > MAX_MACS {
                continue;
            }
            let (xq, xs, wq, ws) = operands(m, n, k, &mut rng);
            let mut want = vec![0f32; m * n];
            matmul_w8a8_ref(&xq, &xs, m, k, &wq, &ws, n, &mut want);
            let mut got = vec![f32::NAN; m * n];
            be.matmul_w8a8(&xq, &xs, m, k, &wq, &ws, n, &mut got).unwrap();
            assert_bits(&format!("{} matmul_w8a8 m={m} n={n} k={k}", be.name()), &got, &want);
            cases += 1;
        }
    }
    eprintln!("{} matmul_w8a8: {cases} cases bit-exact", be.name());
}

/// The extremes: every product −128 · −128 (each i16 pair at 32768, past i16) and mixed signs.
pub fn extremes(be: &dyn Backend) {
    let (m, n, k) = (3, 5, 67);
    for (a, b) in [(-128i8, -128i8), (-128, 127), (127, 127), (127, -128)] {
        let (xq, wq) = (vec![a; m * k], vec![b; n * k]);
        let (xs, ws) = (vec![1.0f32; m], vec![1.0f32; n]);
        let mut want = vec![0f32; m * n];
        matmul_w8a8_ref(&xq, &xs, m, k, &wq, &ws, n, &mut want);
        let mut got = vec![f32::NAN; m * n];
        be.matmul_w8a8(&xq, &xs, m, k, &wq, &ws, n, &mut got).unwrap();
        assert_eq!(want[0], f32::from(a) * f32::from(b) * k as f32);
        assert_bits(&format!("{} matmul_w8a8 all {a} x {b}", be.name()), &got, &want);
    }
}

/// Wrong lengths are errors naming the buffer, not panics.
pub fn shape_errors(be: &dyn Backend) {
    let r = be.matmul_w8a8(&[0; 6], &[1.0; 2], 2, 3, &[0; 12], &[1.0; 4], 4, &mut [0.0; 7]);
    assert!(matches!(r, Err(KernelError::Shape { op: "matmul_w8a8", .. })), "{r:?}");
    let r = be.matmul_w8a8(&[0; 6], &[1.0; 1], 2, 3, &[0; 12], &[1.0; 4], 4, &mut [0.0; 8]);
    let msg = r.expect_err("one x scale for two rows").to_string();
    assert!(msg.contains("x_scales") || msg.contains("scale"), "{msg}");
    assert!(be.matmul_w8a8(&[0; 6], &[1.0; 2], 2, 3, &[0; 12], &[1.0; 4], 4, &mut [0.0; 8]).is_ok());
}

/// The packed form: an RTN int8 per-channel weight in qtool's layout (rows padded to whole
/// words when `k` is no multiple of 4) gives the bits of `matmul_w8a8_ref` on its codes
/// minus 128; other formats are refused by name.
pub fn packed(be: &dyn Backend) {
    let format = WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true).unwrap();
    let mut cases = 0;
    for &(n, k) in &NKS {
        let mut rng = Rng::new(seed(&[n, k, 9]));
        let w = rtn_weight(&format, n, k, &mut rng);
        let wq = w8a8_packed_codes(&w);
        assert!(wq.iter().any(|&q| q != 0), "a non-trivial weight");
        for &m in &MS {
            if m > 1 && m * n * k > MAX_MACS {
                continue;
            }
            let (xq, xs) = quantize_rows_i8_ref(&rng.vec(m * k, -3.0, 3.0), m, k);
            let mut want = vec![0f32; m * n];
            matmul_w8a8_ref(&xq, &xs, m, k, &wq, w.scales(), n, &mut want);
            let mut got = vec![f32::NAN; m * n];
            be.matmul_w8a8_packed(&xq, &xs, m, &w, &mut got).unwrap();
            assert_bits(&format!("{} matmul_w8a8_packed m={m} n={n} k={k}", be.name()), &got, &want);
            cases += 1;
        }
    }
    let w4 =
        rtn_weight(&WeightFormat::new(IntFormat::Int4, Granularity::Group(32), true).unwrap(), 3, 64, &mut Rng::new(1));
    let err = be.matmul_w8a8_packed(&[0; 64], &[1.0], 1, &w4, &mut [0.0; 3]).unwrap_err();
    assert!(
        matches!(err, KernelError::Unsupported { op: "matmul_w8a8_packed", .. }) && err.to_string().contains("int4"),
        "{err}"
    );
    let w = rtn_weight(&format, 3, 64, &mut Rng::new(2));
    let err = be.matmul_w8a8_packed(&[0; 63], &[1.0], 1, &w, &mut [0.0; 3]).unwrap_err();
    assert!(err.to_string().contains("k=64"), "{err}");
    eprintln!("{} matmul_w8a8_packed: {cases} cases bit-exact", be.name());
}
