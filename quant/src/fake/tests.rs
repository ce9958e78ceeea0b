//! Tests of the activation / KV reference ops.

use super::*;
use crate::format::{ActFormat, Granularity, IntFormat, IntSpec, KvFormat, ScaleDtype, SymScale, WeightFormat};
use crate::rtn::{quantize_rtn, RtnOptions};
use crate::test_util::{gaussian, heavy_tailed, sq_err};

fn max_code_sym(int: IntFormat) -> IntSpec {
    IntSpec { sym_scale: SymScale::MaxCode, ..IntSpec::symmetric(int) }
}

#[test]
fn per_token_int8_sym_is_vllm_dynamic() {
    let x = gaussian(10, 4096, 3.0);
    let spec = max_code_sym(IntFormat::Int8);
    let mut codes = vec![0; x.len()];
    let qp = quantize_row_ref(&x, &spec, &mut codes);
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert_eq!(qp.scale, amax / 127.0);
    assert!(codes.iter().all(|&c| c >= 1), "the lowest code is unused with absmax / 127");
    let mut d = vec![0.0; x.len()];
    dequantize_row_ref(&codes, &qp, &mut d);
    for (a, b) in x.iter().zip(&d) {
        assert!((a - b).abs() <= qp.scale * 0.5 * (1.0 + 1e-5));
    }
    let mut f = x.clone();
    assert_eq!(fake_quant_row_ref(&mut f, &spec), qp);
    assert_eq!(f, d);
}

#[test]
fn per_token_asym_error_is_half_a_step() {
    for int in IntFormat::ALL {
        let x: Vec<f32> = gaussian(11, 1000, 1.0).iter().map(|v| v + 0.7).collect();
        let mut f = x.clone();
        let qp = fake_quant_row_ref(&mut f, &IntSpec::asymmetric(int));
        for (a, b) in x.iter().zip(&f) {
            assert!((a - b).abs() <= qp.scale * 0.5 * (1.0 + 1e-4), "{}", int.name());
        }
    }
}

#[test]
fn clip_ratio_scales_the_range() {
    let x = heavy_tailed(12, 2048, 1.0);
    let full = row_qparams(&x, &IntSpec::asymmetric(IntFormat::Int4));
    let clipped = row_qparams(&x, &IntSpec { clip_ratio: 0.9, ..IntSpec::asymmetric(IntFormat::Int4) });
    assert!((clipped.scale - 0.9 * full.scale).abs() <= full.scale * 1e-6);
    let mut f = x.clone();
    fake_quant_row_ref(&mut f, &IntSpec { clip_ratio: 0.9, ..max_code_sym(IntFormat::Int4) });
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(f.iter().all(|v| v.abs() <= 0.9 * amax * (1.0 + 1e-6)));
}

#[test]
fn groups_follow_local_magnitude() {
    // Two heads of very different magnitude in one token row.
    let mut x = gaussian(13, 256, 0.01);
    x[128..].iter_mut().for_each(|v| *v *= 100.0);
    let spec = IntSpec::asymmetric(IntFormat::Int4);
    let (mut g, mut t) = (x.clone(), x.clone());
    fake_quant_groups_ref(&mut g, 128, &spec);
    fake_quant_row_ref(&mut t, &spec);
    assert!(sq_err(&g[..128], &x[..128]) * 100.0 < sq_err(&t[..128], &x[..128]));
    // One group spanning the row is per-token; a short last group is its own group.
    let mut one = x.clone();
    fake_quant_groups_ref(&mut one, 256, &spec);
    assert_eq!(one, t);
    let (mut ragged, mut by_hand) = (x[..200].to_vec(), x[..200].to_vec());
    fake_quant_groups_ref(&mut ragged, 128, &spec);
    fake_quant_row_ref(&mut by_hand[..128], &spec);
    fake_quant_row_ref(&mut by_hand[128..], &spec);
    assert_eq!(ragged, by_hand);
    let mut codes = vec![0; 200];
    let mut params = vec![row_qparams(&[], &spec); 2];
    quantize_groups_ref(&x[..200], 128, &spec, &mut codes, &mut params);
    assert_eq!(params[1], row_qparams(&x[128..200], &spec));
}

#[test]
fn references_agree_with_rtn() {
    // A weight row quantized per-channel / in groups by RTN equals the same row through the
    // per-token / per-group activation reference with the same spec.
    let (n, k) = (6, 320);
    let w = heavy_tailed(14, n * k, 0.3);
    for sym in [true, false] {
        for (g, gran) in [(k, Granularity::PerChannel), (64, Granularity::Group(64))] {
            let f = WeightFormat::new(IntFormat::Int3, gran, sym).unwrap();
            let d = quantize_rtn(&w, n, k, &f, &RtnOptions::default()).unwrap().dequantize();
            let mut x = w.clone();
            x.chunks_mut(k).for_each(|r| fake_quant_groups_ref(r, g, &f.spec));
            assert_eq!(x, d, "sym={sym} {gran:?}");
        }
    }
}

#[test]
fn per_channel_keys_use_calibrated_params() {
    let (tokens, ch) = (64, 32);
    let mut k = gaussian(15, tokens * ch, 1.0);
    for (i, v) in k.iter_mut().enumerate() {
        *v *= 1.0 + (i % ch) as f32; // channel c has scale ~ c + 1
    }
    let mut min = vec![f32::INFINITY; ch];
    let mut max = vec![f32::NEG_INFINITY; ch];
    for r in k.chunks(ch) {
        for c in 0..ch {
            (min[c], max[c]) = (min[c].min(r[c]), max[c].max(r[c]));
        }
    }
    let kv = KvFormat::kvquant(IntFormat::Int4);
    let params = channel_params(&min, &max, &kv.k.spec, ScaleDtype::Bf16);
    assert!(params.qparams.iter().all(|p| ScaleDtype::Bf16.holds(p.scale)));
    let mut f = k.clone();
    fake_quant_kv_ref(&mut f, ch, &kv.k, Some(&params)).unwrap();
    for (i, (a, b)) in k.iter().zip(&f).enumerate() {
        assert!((a - b).abs() <= params.qparams[i % ch].scale * 0.5 * 1.01, "{i}: {a} {b}");
    }
    // Out of the calibrated range: clamps to the grid's end.
    let mut row = max.iter().map(|m| m * 3.0 + 1.0).collect::<Vec<_>>();
    fake_quant_per_channel_ref(&mut row, &params, &kv.k.spec);
    for ((v, p), o) in row.iter().zip(&params.qparams).zip(&params.offsets) {
        assert_eq!(*v, p.dequantize(15) + o);
    }
    let mut codes = vec![0; ch];
    quantize_per_channel_ref(&k[..ch], &params, &kv.k.spec, &mut codes);
    assert!(codes.iter().all(|&c| c <= 15));
    assert!(fake_quant_kv_ref(&mut f, ch, &kv.k, None).unwrap_err().to_string().contains("32 calibrated"));
}

/// A channel whose calibrated range sits far from 0 (Qwen2.5's layer-0 key bias puts some key
/// channels near −354 with a spread of a few units) gets its grid over that range, centred on
/// its midpoint, with an error within half a step, where a grid anchored on 0 would have to reach
/// 0; a range that holds 0 keeps the usual grid (0 exact).
#[test]
fn per_channel_grid_spans_a_range_away_from_zero() {
    let (lo, hi) = (-360.0f32, -340.0f32);
    for (int, symmetric) in
        [(IntFormat::Int4, false), (IntFormat::Int3, false), (IntFormat::Int2, false), (IntFormat::Int4, true)]
    {
        let spec = if symmetric { IntSpec::symmetric(int) } else { IntSpec::asymmetric(int) };
        let p = channel_params(&[lo], &[hi], &spec, ScaleDtype::F32);
        assert_eq!(p.offsets, [-350.0]);
        // The half-range symmetric scale has the asymmetric grid's step too.
        let step = (hi - lo) / int.code_max() as f32;
        assert!((p.qparams[0].scale - step).abs() <= step * 1e-5, "{int:?} sym {symmetric}: {:?}", p);
        let anchored = spec.qparams(lo, hi, ScaleDtype::F32);
        let (mut worst, mut worst_anchored) = (0f32, 0f32);
        for i in 0..=200 {
            let x = lo + (hi - lo) * i as f32 / 200.0;
            let mut v = [x];
            fake_quant_per_channel_ref(&mut v, &p, &spec);
            worst = worst.max((v[0] - x).abs());
            worst_anchored = worst_anchored.max((anchored.fake(x, int) - x).abs());
        }
        assert!(worst <= step * 0.5 * 1.001, "{int:?} sym {symmetric}: worst error {worst}, step {step}");
        assert!(worst_anchored > 4.0 * worst, "{int:?} sym {symmetric}: anchored {worst_anchored} vs {worst}");
        // The midpoint itself is a grid point.
        let mut mid = [-350.0f32];
        fake_quant_per_channel_ref(&mut mid, &p, &spec);
        assert_eq!(mid, [-350.0], "{int:?} sym {symmetric}");
    }
    // A range holding 0: offset 0 and exactly the spec's own grid.
    let spec = IntSpec::asymmetric(IntFormat::Int3);
    let p = channel_params(&[-1.0, 0.0], &[5.0, 2.0], &spec, ScaleDtype::F32);
    assert_eq!(p.offsets, [0.0, 0.0]);
    assert_eq!(p.qparams, [spec.qparams(-1.0, 5.0, ScaleDtype::F32), spec.qparams(0.0, 2.0, ScaleDtype::F32)]);
}

#[test]
fn block_dispatch() {
    let (rows, cols) = (5, 256);
    let x = gaussian(16, rows * cols, 2.0);
    let a = ActFormat::per_token(IntFormat::Int8, false, 0.9).unwrap();
    let mut block = x.clone();
    fake_quant_act_ref(&mut block, cols, &a).unwrap();
    let mut by_row = x.clone();
    by_row.chunks_mut(cols).for_each(|r| _ = fake_quant_row_ref(r, &a.spec));
    assert_eq!(block, by_row);
    let v = KvFormat::kvquant(IntFormat::Int2).v;
    let mut block = x.clone();
    fake_quant_kv_ref(&mut block, cols, &v, None).unwrap();
    let mut by_group = x.clone();
    by_group.chunks_mut(128).for_each(|r| _ = fake_quant_row_ref(r, &v.spec));
    assert_eq!(block, by_group);
    let t = ActFormat { granularity: Granularity::PerTensor, ..a };
    let mut block = x.clone();
    fake_quant_act_ref(&mut block, cols, &t).unwrap();
    let qp = row_qparams(&x, &a.spec);
    assert!(block.iter().zip(&x).all(|(b, v)| *b == qp.fake(*v, IntFormat::Int8)));
    assert!(fake_quant_act_ref(&mut block[..100], cols, &a).is_err());
    let e = fake_quant_act_ref(&mut block, cols, &ActFormat { dynamic: false, ..a }).unwrap_err().to_string();
    assert!(e.contains("needs calibrated scales"), "{e}");
}

#[test]
fn nan_stays_visible() {
    let mut x = gaussian(17, 64, 1.0);
    x[3] = f32::NAN;
    let spec = IntSpec::asymmetric(IntFormat::Int4);
    let qp = fake_quant_row_ref(&mut x, &spec);
    assert!(qp.scale.is_finite() && x[3].is_nan());
    assert!(x.iter().enumerate().all(|(i, v)| i == 3 || v.is_finite()));
}
