//! WGSL-only conformance: W8A8 (both integer dot products) bit for bit against
//! `matmul_w8a8_ref`, weights split over many bindings (a lowered binding limit), and
//! resident weights reused across calls. Absent adapter: failure unless `QTOOL_SKIP_WGSL=1`.

use crate::matmul::{Dtype, Weight, MS};
use crate::util::{check, seed, Rng};
use kernels::ops::{matmul_packed_ref, matmul_ref, matmul_w8a8_ref, quantize_rows_i8_ref};
use kernels::wgsl::matmul_w8a8::{self, W8a8Variant};
use kernels::wgsl::DenseVariant;
use kernels::{Backend, KernelError, WgslBackend};
use quant::{Granularity, IntFormat, WeightFormat};

fn backend(variant: DenseVariant) -> Option<WgslBackend> {
    let be = match WgslBackend::with_variant(variant) {
        Ok(be) => be,
        Err(e) if crate::util::skip_wgsl() => {
            eprintln!("SKIP wgsl: {e} (QTOOL_SKIP_WGSL=1)");
            return None;
        }
        Err(e) => panic!("wgsl: no device: {e}\n(on a machine without Vulkan set QTOOL_SKIP_WGSL=1)"),
    };
    eprintln!(
        "wgsl adapter: {} (shader-f16: {}, subgroups: {})",
        be.gpu().description,
        be.gpu().shader_f16,
        be.gpu().subgroups
    );
    Some(be)
}

#[test]
fn w8a8_bit_exact() {
    let Some(be) = backend(DenseVariant::Auto) else { return };
    for &(n, k) in &[(1usize, 1usize), (5, 7), (13, 131), (97, 200), (131, 97), (67, 1003), (200, 1536)] {
        for &m in &MS {
            let mut rng = Rng::new(seed(&[88, m, n, k]));
            let (xq, xs) = quantize_rows_i8_ref(&rng.vec(m * k, -1.0, 1.0), m, k);
            let wq: Vec<i8> = (0..n * k).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
            let ws = rng.vec(n, 0.001, 0.01);
            let mut want = vec![0f32; m * n];
            matmul_w8a8_ref(&xq, &xs, m, k, &wq, &ws, n, &mut want);
            for variant in [W8a8Variant::Auto, W8a8Variant::Bytewise] {
                let mut got = vec![f32::NAN; m * n];
                matmul_w8a8::run(be.gpu(), variant, &xq, &xs, m, k, &wq, &ws, n, &mut got).unwrap();
                let bad = got.iter().zip(&want).position(|(a, b)| a.to_bits() != b.to_bits());
                assert!(bad.is_none(), "w8a8 {variant:?} m={m} n={n} k={k}: first difference at {bad:?}");
            }
        }
    }
    let r = be.matmul_w8a8(&[0; 6], &[1.0; 2], 2, 3, &[0; 12], &[1.0; 4], 4, &mut [0.0; 7]);
    assert!(matches!(r, Err(KernelError::Shape { op: "matmul_w8a8", .. })), "{r:?}");
}

#[test]
fn split_bindings() {
    for variant in [DenseVariant::Gemv, DenseVariant::Tiled] {
        let Some(be) = backend(variant) else { return };
        let be = be.with_max_binding(4096);
        for dtype in [Dtype::F32, Dtype::Bf16, Dtype::F16] {
            let (n, k) = (131, 97);
            for m in [1, 17] {
                let mut rng = Rng::new(seed(&[99, m, dtype as usize]));
                let x = rng.vec(m * k, -1.0, 1.0);
                let w = Weight::random(dtype, n * k, &mut rng);
                let gw = be.upload_dense(w.view(), n, k).unwrap();
                assert!(gw.n_chunks() > 1, "{n}x{k} {dtype:?} should need several 4 KiB bindings");
                let mut want = vec![0f32; m * n];
                matmul_ref(&x, m, k, w.view(), n, &mut want);
                let mut got = vec![f32::NAN; m * n];
                be.matmul(&x, m, k, w.view(), n, &mut got).unwrap();
                check(&format!("wgsl {variant:?} split matmul {dtype:?} m={m}"), &got, &want, 1e-10);
            }
        }
        let format = WeightFormat::new(IntFormat::Int3, Granularity::Group(40), false).unwrap();
        let mut rng = Rng::new(5);
        let w = crate::matmul_packed::rtn_weight(&format, 97, 1003, &mut rng);
        assert!(be.upload_packed(&w).unwrap().n_chunks() > 1);
        let x = rng.vec(3 * 1003, -1.0, 1.0);
        let mut want = vec![0f32; 3 * 97];
        matmul_packed_ref(&x, 3, &w, &mut want);
        let mut got = vec![f32::NAN; 3 * 97];
        be.matmul_packed(&x, 3, &w, &mut got).unwrap();
        check("wgsl split matmul_packed", &got, &want, 1e-10);
    }
}

#[test]
fn resident_weights_reused() {
    let Some(be) = backend(DenseVariant::Auto) else { return };
    let format = WeightFormat::new(IntFormat::Int4, Granularity::Group(32), true).unwrap();
    let mut rng = Rng::new(6);
    let w = crate::matmul_packed::rtn_weight(&format, 200, 576, &mut rng);
    let gw = be.upload_packed(&w).unwrap();
    for m in [1, 3, 64] {
        let x = rng.vec(m * 576, -1.0, 1.0);
        let mut want = vec![0f32; m * 200];
        matmul_packed_ref(&x, m, &w, &mut want);
        let mut got = vec![f32::NAN; m * 200];
        be.matmul_packed_resident(&x, m, &gw, &mut got).unwrap();
        check(&format!("wgsl resident matmul_packed m={m}"), &got, &want, 1e-10);
    }
    let r = be.matmul_packed_resident(&[0.0; 10], 1, &gw, &mut [0.0; 200]);
    assert!(matches!(r, Err(KernelError::Shape { .. })), "{r:?}");
}

/// The benchmark's GPU timer: with timestamp queries the time of a pass of dispatches is
/// positive, finite and grows with the number of dispatches; without them it says `None`.
#[test]
fn gpu_timer_measures_dispatches() {
    let Some(be) = backend(DenseVariant::Auto) else { return };
    let mut rng = Rng::new(seed(&[91]));
    let format = WeightFormat::new(IntFormat::Int4, Granularity::Group(128), true).unwrap();
    let w = crate::matmul_packed::rtn_weight(&format, 512, 1024, &mut rng);
    let gw = [be.upload_packed(&w).unwrap()];
    let x = rng.vec(1024, -1.0, 1.0);
    let one = be.matmul_packed_gpu_seconds(&x, 1, &gw, 1).unwrap();
    let many = be.matmul_packed_gpu_seconds(&x, 1, &gw, 64).unwrap();
    if !be.gpu().timestamps {
        assert!(one.is_none() && many.is_none(), "no timestamp queries, yet a time");
        return;
    }
    let (one, many) = (one.unwrap(), many.unwrap());
    // `many` is per dispatch of a 64-dispatch pass: the pass took 64 * many seconds.
    assert!(one.is_finite() && one > 0.0 && many.is_finite() && many > 0.0, "{one} {many}");
    assert!(64.0 * many > one, "a pass of 64 dispatches ({}) should outlast one of 1 ({one})", 64.0 * many);
}

/// The packed decode GEMV both ways: with subgroup sums where the adapter offers subgroups
/// (lavapipe does), and with the workgroup-memory tree it falls back to.
#[test]
fn packed_gemv_with_and_without_subgroups() {
    let Some(be) = backend(DenseVariant::Gemv) else { return };
    eprintln!("subgroups offered: {}", be.gpu().subgroups);
    crate::matmul_packed::sweep(&be);
    crate::matmul_packed::sweep(&be.without_subgroups());
}
