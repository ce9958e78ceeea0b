//! Tests of SmoothQuant: the scales follow the formula, keep the product, and lower W8A8 output
//! error on a layer with activation outlier channels; bad input is an error.

use super::*;
use crate::awq::{divide, scale_columns};
use crate::fake::fake_quant_row_ref;
use crate::format::{Granularity, IntFormat, IntSpec, SymScale, WeightFormat};
use crate::rtn::{quantize_rtn, RtnOptions};
use crate::stats::test_layers::{matmul_t, outlier_inputs, sq_dist};
use crate::stats::ChannelStats;
use crate::test_util::heavy_tailed;
use crate::QuantError;

#[test]
fn scales_follow_the_formula() {
    let k = 4;
    let act = [8.0f32, 0.0, 1.0, 2.0];
    let w1 = [0.5f32, 1.0, 0.0, -0.25, /* row 2 */ -2.0, 0.1, 0.0, 0.125];
    let w2 = [0.25f32, 0.0, 0.0, 1.0];
    let s = smooth_scales(&act, &[(&w1, 2), (&w2, 1)], k, 0.5).unwrap();
    // Channel 0: sqrt(8) / sqrt(2); 1: no activation; 2: no weight; 3: sqrt(2) / sqrt(1).
    let expect = [2.0f32, 1.0, 1.0, 2f32.sqrt()];
    for (a, b) in s.iter().zip(expect) {
        assert!((a - b).abs() <= 1e-6 * b, "{s:?} vs {expect:?}");
    }
    // alpha 0: 1 / w_max, floored at 1e-5 only for huge weights; alpha 1: act max.
    let s0 = smooth_scales(&act, &[(&w1, 2), (&w2, 1)], k, 0.0).unwrap();
    assert!((s0[0] - 0.5).abs() < 1e-6 && (s0[3] - 1.0).abs() < 1e-6);
    let s1 = smooth_scales(&act, &[(&w1, 2), (&w2, 1)], k, 1.0).unwrap();
    assert_eq!((s1[0], s1[3]), (8.0, 2.0));
}

/// `X ⊘ s` quantized per token (int8 symmetric, `absmax / 127`), `W ⊙ s` per output channel (int8
/// symmetric); returns `||X Wᵀ - X̂ Ŵᵀ||² / ||X Wᵀ||²` on `x`.
fn w8a8_error(x: &[f32], w: &[f32], n: usize, k: usize, s: &[f32]) -> f64 {
    let mut xs = x.to_vec();
    divide(&mut xs, s).unwrap();
    let spec = IntSpec { sym_scale: SymScale::MaxCode, ..IntSpec::symmetric(IntFormat::Int8) };
    xs.chunks_mut(k).for_each(|row| {
        fake_quant_row_ref(row, &spec);
    });
    let mut ws = w.to_vec();
    scale_columns(&mut ws, n, k, s).unwrap();
    let f = WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true).unwrap();
    let wq = quantize_rtn(&ws, n, k, &f, &RtnOptions::default()).unwrap().dequantize();
    let y = matmul_t(x, w, k);
    sq_dist(&y, &matmul_t(&xs, &wq, k)) / y.iter().map(|v| v * v).sum::<f64>()
}

#[test]
fn smoothing_lowers_w8a8_error_with_activation_outliers() {
    let (k, n, calib, held) = (512, 256, 512, 512);
    let x = outlier_inputs(21, k, calib + held);
    let mut stats = ChannelStats::new(k, 64);
    stats.add(&x[..calib * k]).unwrap();
    let w = heavy_tailed(22, n * k, 0.02);
    let w2 = heavy_tailed(23, 128 * k, 0.02);
    let held = &x[calib * k..];
    let none = w8a8_error(held, &w, n, k, &vec![1.0; k]);
    let mut errs = Vec::new();
    for alpha in [0.5, DEFAULT_ALPHA] {
        let s = smooth_scales(stats.abs_max(), &[(&w, n), (&w2, 128)], k, alpha).unwrap();
        // The product is unchanged before quantization.
        let mut xs = held.to_vec();
        divide(&mut xs, &s).unwrap();
        let mut ws = w.clone();
        scale_columns(&mut ws, n, k, &s).unwrap();
        let y = matmul_t(held, &w, k);
        let rel = (sq_dist(&y, &matmul_t(&xs, &ws, k)) / y.iter().map(|v| v * v).sum::<f64>()).sqrt();
        assert!(rel <= 1e-5, "alpha {alpha}: smoothing changed the product by {rel}");
        errs.push((alpha, w8a8_error(held, &w, n, k, &s)));
    }
    println!(
        "W8A8 (int8 per-channel sym weights, int8 per-token sym activations) held-out |XWᵀ - X̂Ŵᵀ|²/|XWᵀ|²: no \
         smoothing {none:.4e}, {}",
        errs.iter().map(|(a, e)| format!("α={a}: {e:.4e} (/none {:.3})", e / none)).collect::<Vec<_>>().join(", ")
    );
    let (_, e85) = errs[1];
    assert!(e85 < none, "SmoothQuant α=0.85 {e85} not below no smoothing {none}");
}

#[test]
fn bad_input_is_an_error() {
    let k = 8;
    let w = vec![0.5f32; 2 * k];
    let act = vec![1.0f32; k];
    let bad = |r: Result<Vec<f32>, QuantError>| matches!(r, Err(QuantError::BadInput { .. }));
    assert!(bad(smooth_scales(&act, &[(&w, 2)], k, 1.5)));
    assert!(bad(smooth_scales(&act, &[(&w, 2)], k, f32::NAN)));
    assert!(bad(smooth_scales(&act[..7], &[(&w, 2)], k, 0.5)));
    assert!(bad(smooth_scales(&act, &[(&w, 3)], k, 0.5)));
    assert!(bad(smooth_scales(&act, &[], k, 0.5)));
    assert!(bad(smooth_scales(&[], &[], 0, 0.5)));
    let mut nan = act.clone();
    nan[2] = f32::NAN;
    assert!(bad(smooth_scales(&nan, &[(&w, 2)], k, 0.5)));
    let mut wn = w.clone();
    wn[9] = f32::INFINITY;
    assert!(bad(smooth_scales(&act, &[(&wn, 2)], k, 0.5)));
}
