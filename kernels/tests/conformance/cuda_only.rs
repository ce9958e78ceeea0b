//! CUDA-only conformance (feature `cuda`): W8A8 bit for bit against `matmul_w8a8_ref`, both
//! kernels (`__dp4a` and, on sm_80+, int8 tensor cores with every block tile) on ragged and
//! model-sized shapes, and resident weights reused across activation batches; both int4
//! kernels (simple and tuned, the tuned one with and without split-K, sym and asym, groups of
//! 32/40/128 and per-channel, ragged `k`) against `matmul_packed_ref` and bit-identical across
//! repeated calls; both dense kernels on one shape; resident weights reused. SKIP without a
//! CUDA device unless `QTOOL_REQUIRE` contains `cuda`.

use crate::matmul::{Dtype, Weight, MS};
use crate::util::{check, required, seed, Rng};
use kernels::cuda::matmul_packed::splits_for;
use kernels::cuda::matmul_w4_mma;
use kernels::cuda::matmul_w8a8::{self, MmaTile};
use kernels::cuda::{DenseVariant, GpuW8, W4Variant, W8a8Io, W8a8Variant};
use kernels::ops::{matmul_packed_ref, matmul_ref, matmul_w8a8_ref, quantize_rows_i8_ref};
use kernels::{Backend, CudaBackend, KernelError};
use quant::{Granularity, IntFormat, WeightFormat};

fn backend() -> Option<CudaBackend> {
    match CudaBackend::new() {
        Ok(be) => {
            let d = be.device();
            eprintln!(
                "cuda device: {} (sm_{}{}, {} SMs)",
                d.name, d.compute_capability.0, d.compute_capability.1, d.sm_count
            );
            Some(be)
        }
        Err(e) if required("cuda") => panic!("cuda: required by QTOOL_REQUIRE but unavailable: {e}"),
        Err(e) => {
            eprintln!("SKIP cuda: {e}");
            None
        }
    }
}

/// Random int8 operands of `matmul_w8a8` (activations quantized per row, weights in ±127).
fn w8a8_case(m: usize, n: usize, k: usize, rng: &mut Rng) -> (Vec<i8>, Vec<f32>, Vec<i8>, Vec<f32>) {
    let (xq, xs) = quantize_rows_i8_ref(&rng.vec(m * k, -1.0, 1.0), m, k);
    let wq: Vec<i8> = (0..n * k).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
    let ws = rng.vec(n, 0.001, 0.01);
    (xq, xs, wq, ws)
}

fn assert_bits(case: &str, got: &[f32], want: &[f32]) {
    let bad = got.iter().zip(want).position(|(a, b)| a.to_bits() != b.to_bits());
    assert!(
        bad.is_none(),
        "{case}: first difference at {bad:?}: {:?} vs {:?}",
        bad.map(|i| got[i]),
        bad.map(|i| want[i])
    );
}

#[test]
fn w8a8_bit_exact() {
    let Some(be) = backend() else { return };
    let mma = matmul_w8a8::mma_supported(be.device());
    let variants: &[W8a8Variant] = if mma {
        &[W8a8Variant::Auto, W8a8Variant::Dp4a, W8a8Variant::Mma]
    } else {
        &[W8a8Variant::Auto, W8a8Variant::Dp4a]
    };
    let small = [(1usize, 1usize), (5, 7), (13, 131), (97, 200), (131, 97), (67, 1003), (200, 1536)];
    let large = [(130usize, 1000usize), (257, 4099), (1024, 1536)];
    let cases = small
        .iter()
        .flat_map(|&nk| MS.iter().map(move |&m| (m, nk)))
        .chain(large.iter().flat_map(|&nk| [1usize, 17, 64, 200, 513].into_iter().map(move |m| (m, nk))));
    for (m, (n, k)) in cases {
        let mut rng = Rng::new(seed(&[88, m, n, k]));
        let (xq, xs, wq, ws) = w8a8_case(m, n, k, &mut rng);
        let mut want = vec![0f32; m * n];
        matmul_w8a8_ref(&xq, &xs, m, k, &wq, &ws, n, &mut want);
        for &variant in variants {
            let mut got = vec![f32::NAN; m * n];
            be.matmul_w8a8_with(variant, &xq, &xs, m, k, &wq, &ws, n, &mut got).unwrap();
            assert_bits(&format!("cuda w8a8 {variant:?} m={m} n={n} k={k}"), &got, &want);
        }
    }
    if !mma {
        eprintln!("SKIP cuda w8a8 Mma: needs sm_80+");
        let r = be.matmul_w8a8_with(W8a8Variant::Mma, &[0; 3], &[1.0], 1, 3, &[0; 3], &[1.0], 1, &mut [0.0]);
        assert!(matches!(r, Err(KernelError::Device { .. })), "{r:?}");
    }
    let r = be.matmul_w8a8(&[0; 6], &[1.0; 2], 2, 3, &[0; 12], &[1.0; 4], 4, &mut [0.0; 7]);
    assert!(matches!(r, Err(KernelError::Shape { op: "matmul_w8a8", .. })), "{r:?}");
}

#[test]
fn w8a8_mma_every_tile() {
    let Some(be) = backend() else { return };
    let dev = be.device();
    if !matmul_w8a8::mma_supported(dev) {
        eprintln!("SKIP cuda w8a8 mma tiles: needs sm_80+");
        return;
    }
    // Ragged in every dimension against each tile: partial row and column tiles, k not a
    // multiple of the 64-value K step (or of 4), one K step, many.
    for &(m, n, k) in
        &[(1usize, 1usize, 1usize), (129, 65, 3), (200, 257, 4099), (513, 1024, 1536), (64, 128, 64), (300, 500, 77)]
    {
        let mut rng = Rng::new(seed(&[89, m, n, k]));
        let (xq, xs, wq, ws) = w8a8_case(m, n, k, &mut rng);
        let mut want = vec![0f32; m * n];
        matmul_w8a8_ref(&xq, &xs, m, k, &wq, &ws, n, &mut want);
        let w = GpuW8::upload(dev, &wq, &ws, n, k).unwrap();
        for tile in MmaTile::ALL {
            let mut io = W8a8Io::upload(dev, &xq, &xs, m, k, n).unwrap();
            matmul_w8a8::enqueue_mma(dev, tile, &w, &mut io).unwrap();
            let mut got = vec![f32::NAN; m * n];
            io.download(dev, &mut got).unwrap();
            assert_bits(&format!("cuda w8a8 mma {tile:?} m={m} n={n} k={k}"), &got, &want);
        }
    }
    // Extreme operands: products of ±127 and -128, sums near -2.1e7, past 2^24 (so `acc as f32`
    // rounds).
    let (m, n, k) = (70, 40, 3001);
    let xq: Vec<i8> = (0..m * k).map(|i| if (i / k + i % k) % 7 == 0 { -128 } else { 127 }).collect();
    let wq: Vec<i8> = (0..n * k).map(|i| if (i / k + i % k) % 5 == 0 { 127 } else { -128 }).collect();
    let (xs, ws) = (vec![0.5f32; m], vec![0.25f32; n]);
    let mut want = vec![0f32; m * n];
    matmul_w8a8_ref(&xq, &xs, m, k, &wq, &ws, n, &mut want);
    for variant in [W8a8Variant::Dp4a, W8a8Variant::Mma] {
        let mut got = vec![f32::NAN; m * n];
        be.matmul_w8a8_with(variant, &xq, &xs, m, k, &wq, &ws, n, &mut got).unwrap();
        assert_bits(&format!("cuda w8a8 {variant:?} extremes"), &got, &want);
    }
}

#[test]
fn w8a8_resident_weights_reused() {
    let Some(be) = backend() else { return };
    let dev = be.device();
    let (n, k) = (384usize, 1000usize);
    let mut rng = Rng::new(seed(&[90, n, k]));
    let (_, _, wq, ws) = w8a8_case(0, n, k, &mut rng);
    let w = GpuW8::upload(dev, &wq, &ws, n, k).unwrap();
    assert_eq!((w.n(), w.k()), (n, k));
    let mut variants = vec![W8a8Variant::Auto, W8a8Variant::Dp4a];
    if matmul_w8a8::mma_supported(dev) {
        variants.push(W8a8Variant::Mma);
    }
    for m in [3usize, 150] {
        let (xq, xs, _, _) = w8a8_case(m, 0, k, &mut rng);
        let mut want = vec![0f32; m * n];
        matmul_w8a8_ref(&xq, &xs, m, k, &wq, &ws, n, &mut want);
        let mut io = W8a8Io::upload(dev, &xq, &xs, m, k, n).unwrap();
        for &variant in &variants {
            // Twice on the same buffers: enqueue overwrites y, nothing accumulates.
            for _ in 0..2 {
                matmul_w8a8::enqueue(dev, variant, &w, &mut io).unwrap();
            }
            let mut got = vec![f32::NAN; m * n];
            io.download(dev, &mut got).unwrap();
            assert_bits(&format!("cuda resident w8a8 {variant:?} m={m}"), &got, &want);
        }
    }
    let mut io = W8a8Io::upload(dev, &[0; 999], &[1.0], 1, 999, n).unwrap();
    let r = matmul_w8a8::enqueue(dev, W8a8Variant::Auto, &w, &mut io);
    assert!(matches!(r, Err(KernelError::Shape { .. })), "{r:?}");
}

#[test]
fn int4_kernels_side_by_side() {
    let Some(be) = backend() else { return };
    let sms = be.device().sm_count;
    // (n, k): ragged k, model-sized k with small n (split-K), a wide layer.
    let shapes = [(5usize, 7usize), (13, 131), (67, 1003), (8, 8960), (64, 4864), (576, 576), (1536, 896)];
    let grans = [Granularity::Group(32), Granularity::Group(40), Granularity::Group(128), Granularity::PerChannel];
    let mut split_seen = false;
    let mut mma_split_seen = false;
    let mma = matmul_w4_mma::supported(be.device());
    for symmetric in [true, false] {
        for gran in grans {
            let format = WeightFormat::new(IntFormat::Int4, gran, symmetric).unwrap();
            for &(n, k) in &shapes {
                let mut rng = Rng::new(seed(&[44, symmetric as usize, n, k]));
                let w = crate::matmul_packed::rtn_weight(&format, n, k, &mut rng);
                let gw = be.upload_packed(&w).unwrap();
                assert!(gw.uses_tuned(W4Variant::Tuned) && gw.uses_tuned(W4Variant::Wide));
                assert!(!gw.uses_tuned(W4Variant::Simple));
                // Groups of 40 columns straddle the tensor-core kernel's 16-column steps (unless
                // one group covers the row); one x row takes the wide kernel.
                let mma_eligible = mma && kernels::w4_mma_layout::eligible(&w);
                assert_eq!(mma_eligible, mma && (gran != Granularity::Group(40) || k <= 40));
                for m in [1usize, 3, 9, 17] {
                    split_seen |= splits_for(sms, m, n, k.div_ceil(32)) > 1;
                    assert_eq!(gw.uses_mma(W4Variant::Mma, m), mma_eligible && m > 1, "n={n} k={k} {gran:?} m={m}");
                    mma_split_seen |= mma_eligible && matmul_w4_mma::splits_for(sms, m, n, k.div_ceil(64)) > 1;
                    let x = rng.vec(m * k, -1.0, 1.0);
                    let mut want = vec![0f32; m * n];
                    matmul_packed_ref(&x, m, &w, &mut want);
                    for variant in [W4Variant::Simple, W4Variant::Tuned, W4Variant::Wide, W4Variant::Mma] {
                        let mut got = vec![f32::NAN; m * n];
                        be.matmul_packed_resident_with(variant, &x, m, &gw, &mut got).unwrap();
                        let case = format!("cuda {variant:?} {} m={m} n={n} k={k}", format.label());
                        check(&case, &got, &want, 1e-10);
                        let mut again = vec![f32::NAN; m * n];
                        be.matmul_packed_resident_with(variant, &x, m, &gw, &mut again).unwrap();
                        assert!(
                            got.iter().zip(&again).all(|(a, b)| a.to_bits() == b.to_bits()),
                            "{case}: not deterministic"
                        );
                    }
                }
            }
        }
    }
    assert!(split_seen, "the sweep should exercise split-K");
    assert!(mma_split_seen || !mma, "the sweep should exercise the tensor-core kernel's split-K");
}

#[test]
fn dense_variants() {
    let Some(be) = backend() else { return };
    for variant in [DenseVariant::Gemv, DenseVariant::Tiled] {
        let be = be.clone().with_dense_variant(variant);
        for dtype in [Dtype::F32, Dtype::Bf16, Dtype::F16] {
            let (n, k) = (131, 1003);
            for m in [1, 5, 17, 70] {
                let mut rng = Rng::new(seed(&[77, m, dtype as usize]));
                let x = rng.vec(m * k, -1.0, 1.0);
                let w = Weight::random(dtype, n * k, &mut rng);
                let mut want = vec![0f32; m * n];
                matmul_ref(&x, m, k, w.view(), n, &mut want);
                let mut got = vec![f32::NAN; m * n];
                be.matmul(&x, m, k, w.view(), n, &mut got).unwrap();
                check(&format!("cuda {variant:?} matmul {dtype:?} m={m}"), &got, &want, 1e-10);
            }
        }
    }
}

#[test]
fn resident_weights_reused() {
    let Some(be) = backend() else { return };
    let format = WeightFormat::new(IntFormat::Int3, Granularity::Group(32), true).unwrap();
    let mut rng = Rng::new(6);
    let w = crate::matmul_packed::rtn_weight(&format, 200, 576, &mut rng);
    let gw = be.upload_packed(&w).unwrap();
    assert!(!gw.uses_tuned(W4Variant::Tuned), "int3 takes the simple kernel");
    for m in [1, 3, 64] {
        let x = rng.vec(m * 576, -1.0, 1.0);
        let mut want = vec![0f32; m * 200];
        matmul_packed_ref(&x, m, &w, &mut want);
        let mut got = vec![f32::NAN; m * 200];
        be.matmul_packed_resident(&x, m, &gw, &mut got).unwrap();
        check(&format!("cuda resident matmul_packed m={m}"), &got, &want, 1e-10);
    }
    let r = be.matmul_packed_resident(&[0.0; 10], 1, &gw, &mut [0.0; 200]);
    assert!(matches!(r, Err(KernelError::Shape { .. })), "{r:?}");
}

#[test]
fn name_is_cuda() {
    let Some(be) = backend() else { return };
    assert_eq!(be.name(), "cuda");
}
