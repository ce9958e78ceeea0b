//! Tests of AWQ on synthetic layers whose input has outlier channels: the scales keep the
//! product, beat RTN on held-out rows, the clip search never loses on its own objective, and bad
//! input is refused with an error.

use super::loss::scaled_quant_error;
use super::search::candidate_scales;
use super::*;
use crate::format::{Granularity, IntFormat, WeightFormat};
use crate::rtn::{quantize_rtn, RtnOptions};
use crate::stats::test_layers::{matmul_t, outlier_inputs, sq_dist};
use crate::stats::ChannelStats;
use crate::test_util::heavy_tailed;
use crate::QuantError;

/// Three Linears (`q`, `k`, `v`-like, n = 256, 128, 128) reading one input of `k` features;
/// `calib` rows go into the statistics (sample of at most 512 rows), `held` more rows are kept
/// apart for evaluation.
struct Block {
    k: usize,
    ws: Vec<(Vec<f32>, usize)>,
    stats: ChannelStats,
    held: Vec<f32>,
}

fn block(seed: u64, k: usize, calib: usize, held: usize) -> Block {
    let x = outlier_inputs(seed, k, calib + held);
    let mut stats = ChannelStats::new(k, 512);
    // Two uneven batches.
    stats.add(&x[..(calib / 3) * k]).unwrap();
    stats.add(&x[(calib / 3) * k..calib * k]).unwrap();
    let ws = [256, 128, 128]
        .iter()
        .enumerate()
        .map(|(i, &n)| (heavy_tailed(seed + 10 + i as u64, n * k, 0.02), n))
        .collect();
    Block { k, ws, stats, held: x[calib * k..].to_vec() }
}

impl Block {
    fn linears(&self) -> Vec<(&[f32], usize)> {
        self.ws.iter().map(|(w, n)| (w.as_slice(), *n)).collect()
    }
}

fn fmt(int: IntFormat, g: Granularity, sym: bool) -> WeightFormat {
    WeightFormat::new(int, g, sym).unwrap()
}

/// `Σ_linears ||X Wᵀ - (X ⊘ s) Qᵀ||²` and `Σ ||X Wᵀ||²` on `x`, with `qs[i]` the quantized
/// (scaled) weight of Linear `i`, computed directly in f64.
fn output_error(b: &Block, x: &[f32], s: &[f32], qs: &[Vec<f32>]) -> (f64, f64) {
    let mut xs = x.to_vec();
    divide(&mut xs, s).unwrap();
    let (mut err, mut base) = (0.0, 0.0);
    for ((w, _), q) in b.ws.iter().zip(qs) {
        let y = matmul_t(x, w, b.k);
        err += sq_dist(&y, &matmul_t(&xs, q, b.k));
        base += y.iter().map(|v| v * v).sum::<f64>();
    }
    (err, base)
}

/// RTN of every Linear after scaling by `s` (and clipping with the scaled statistics if `clip`).
fn quantized(b: &Block, s: &[f32], f: &WeightFormat, clip: bool) -> Vec<Vec<f32>> {
    let scaled = b.stats.divided_by(s).unwrap();
    b.ws.iter()
        .map(|(w, n)| {
            let mut ws = w.clone();
            scale_columns(&mut ws, *n, b.k, s).unwrap();
            if clip {
                ws = clip_search(&scaled, &ws, *n, b.k, f, &AwqOptions::default()).unwrap();
            }
            quantize_rtn(&ws, *n, b.k, f, &RtnOptions::default()).unwrap().dequantize()
        })
        .collect()
}

#[test]
fn scales_keep_the_product() {
    let b = block(1, 512, 1024, 64);
    let f = fmt(IntFormat::Int4, Granularity::Group(128), false);
    let r = search_scales(&b.stats, &b.linears(), b.k, &f, &AwqOptions::default()).unwrap();
    assert!(r.scales.iter().all(|v| v.is_finite() && *v > 0.0));
    let spread = r.scales.iter().fold(0f32, |a, v| a.max(*v)) / r.scales.iter().fold(f32::MAX, |a, v| a.min(*v));
    println!("α = {:?}, max/min scale {spread:.1}", r.ratio);
    assert!(spread > 2.0, "the outlier layer should get non-trivial scales, max/min {spread}");
    let (x, _) = b.stats.sample_rows();
    let unquantized: Vec<Vec<f32>> =
        b.ws.iter()
            .map(|(w, n)| {
                let mut ws = w.clone();
                scale_columns(&mut ws, *n, b.k, &r.scales).unwrap();
                ws
            })
            .collect();
    let (err, base) = output_error(&b, x, &r.scales, &unquantized);
    println!("(X ⊘ s)(W ⊙ s)ᵀ vs X Wᵀ: relative {:.2e}", (err / base).sqrt());
    assert!((err / base).sqrt() <= 1e-5, "relative {}", (err / base).sqrt());
}

#[test]
fn search_reports_its_candidates() {
    let b = block(2, 256, 512, 0);
    let f = fmt(IntFormat::Int4, Granularity::Group(64), true);
    for duo_scaling in [true, false] {
        let opts = AwqOptions { duo_scaling, grid: 10, ..AwqOptions::default() };
        let r = search_scales(&b.stats, &b.linears(), b.k, &f, &opts).unwrap();
        assert_eq!(r.losses.len(), 10);
        let min = r.losses.iter().copied().fold(r.unit_loss, f64::min);
        assert_eq!(r.loss, min);
        assert!(r.loss <= r.unit_loss);
        match r.ratio {
            Some(a) => {
                assert_eq!(r.losses[(a * 10.0).round() as usize], r.loss);
                let wm = opts.duo_scaling.then(|| super::weight_mean::weight_mean(&b.linears(), b.k, &f));
                let s = candidate_scales(&b.stats.mean_abs(), wm.as_deref(), a);
                assert_eq!(s, r.scales);
            }
            None => assert!(r.scales.iter().all(|v| *v == 1.0)),
        }
        // The reported loss is the objective of the returned scales.
        let (x, m) = b.stats.sample_rows();
        let again = scaled_quant_error(x, m, &b.linears(), b.k, Some(&r.scales), &f, &RtnOptions::default()).unwrap();
        assert!((again - r.loss).abs() <= 1e-9 * r.loss, "{again} vs {}", r.loss);
        println!("duo_scaling={duo_scaling}: α = {:?}, loss {:.4e}, RTN {:.4e}", r.ratio, r.loss, r.unit_loss);
    }
}

#[test]
fn awq_beats_rtn_on_held_out_rows() {
    use Granularity::Group;
    use IntFormat::*;
    let b = block(3, 512, 1024, 1024);
    let ones = vec![1.0f32; b.k];
    for f in [fmt(Int4, Group(128), false), fmt(Int3, Group(128), false)] {
        let r = search_scales(&b.stats, &b.linears(), b.k, &f, &AwqOptions::default()).unwrap();
        let (rtn, base) = output_error(&b, &b.held, &ones, &quantized(&b, &ones, &f, false));
        let q_awq = quantized(&b, &r.scales, &f, false);
        let q_clip = quantized(&b, &r.scales, &f, true);
        let (awq, _) = output_error(&b, &b.held, &r.scales, &q_awq);
        let (awq_clip, _) = output_error(&b, &b.held, &r.scales, &q_clip);
        let (sample, _) = b.stats.sample_rows();
        let (s_awq, s_base) = output_error(&b, sample, &r.scales, &q_awq);
        let (s_clip, _) = output_error(&b, sample, &r.scales, &q_clip);
        println!(
            "{:<16} α = {:?}  held-out |XWᵀ - X̂Q̂ᵀ|²/|XWᵀ|²: RTN {:.4e}  AWQ {:.4e} (AWQ/RTN {:.3})  AWQ+clip {:.4e} \
             (/RTN {:.3});  on the sample: AWQ {:.4e}  AWQ+clip {:.4e}",
            f.label(),
            r.ratio,
            rtn / base,
            awq / base,
            awq / rtn,
            awq_clip / base,
            awq_clip / rtn,
            s_awq / s_base,
            s_clip / s_base,
        );
        assert!(awq < rtn, "{}: AWQ {awq} not below RTN {rtn}", f.label());
        assert!(s_clip <= s_awq, "{}: AWQ+clip {s_clip} above AWQ {s_awq} on the sample", f.label());
    }
}

/// AutoAWQ's clip objective summed over rows and groups: `Σ_i Σ_g Σ_t (x_{t,g} · (w_{i,g} - q_{i,g}))²`.
fn group_objective(x: &[f32], w: &[f32], q: &[f32], k: usize, g: usize) -> f64 {
    let mut total = 0.0;
    for (wr, qr) in w.chunks(k).zip(q.chunks(k)) {
        for start in (0..k).step_by(g) {
            let end = (start + g).min(k);
            for t in x.chunks(k) {
                let y: f64 = (start..end).map(|j| t[j] as f64 * (wr[j] as f64 - qr[j] as f64)).sum();
                total += y * y;
            }
        }
    }
    total
}

#[test]
fn clip_search_never_loses_on_sampled_tokens() {
    use Granularity::*;
    use IntFormat::*;
    let b = block(4, 256, 600, 0);
    let (x, _) = b.stats.sample_rows();
    let (w, n) = (&b.ws[0].0, b.ws[0].1);
    for f in [fmt(Int4, Group(128), false), fmt(Int3, Group(64), true), fmt(Int4, PerChannel, false)] {
        let g = f.group_size(b.k);
        let clipped =
            clip_search(&b.stats, w, n, b.k, &f, &AwqOptions { clip_tokens: 1024, ..AwqOptions::default() }).unwrap();
        let changed = clipped.iter().zip(w).filter(|(a, b)| a != b).count();
        let q_plain = quantize_rtn(w, n, b.k, &f, &RtnOptions::default()).unwrap().dequantize();
        let q_clip = quantize_rtn(&clipped, n, b.k, &f, &RtnOptions::default()).unwrap().dequantize();
        let plain = group_objective(x, w, &q_plain, b.k, g);
        let clip = group_objective(x, w, &q_clip, b.k, g);
        let full_plain = sq_dist(&matmul_t(x, w, b.k), &matmul_t(x, &q_plain, b.k));
        let full_clip = sq_dist(&matmul_t(x, w, b.k), &matmul_t(x, &q_clip, b.k));
        println!(
            "{:<22} {changed} weights clamped; per-group objective: no clip {plain:.4e}, clip {clip:.4e}; output \
             error: no clip {full_plain:.4e}, clip {full_clip:.4e}",
            f.label()
        );
        assert!(clip <= plain * (1.0 + 1e-9), "{}: {clip} > {plain}", f.label());
        assert!(changed > 0, "{}: nothing clipped", f.label());
        // Clamping only: every value keeps its sign and does not grow.
        assert!(clipped.iter().zip(w).all(|(c, v)| c.abs() <= v.abs() && (c * v >= 0.0)));
    }
}

fn bad<T>(r: Result<T, QuantError>) -> bool {
    matches!(r, Err(QuantError::BadInput { .. } | QuantError::BadFormat { .. }))
}

#[test]
fn bad_input_is_an_error() {
    let f = fmt(IntFormat::Int4, Granularity::Group(128), false);
    let o = AwqOptions::default();
    let k = 256;
    let w = heavy_tailed(7, 16 * k, 0.02);
    let mut stats = ChannelStats::new(k, 64);
    stats.add(&outlier_inputs(8, k, 32)).unwrap();

    assert!(bad(search_scales(&ChannelStats::new(k, 64), &[(&w, 16)], k, &f, &o)), "empty stats");
    assert!(bad(clip_search(&ChannelStats::new(k, 64), &w, 16, k, &f, &o)), "empty stats");
    assert!(bad(search_scales(&stats, &[(&w, 16)], 128, &f, &o)), "stats for another k");
    assert!(bad(search_scales(&stats, &[(&w, 15)], k, &f, &o)), "wrong n");
    assert!(bad(search_scales(&stats, &[(&w[..100], 16)], k, &f, &o)), "short W");
    assert!(bad(search_scales(&stats, &[], k, &f, &o)), "no Linears");
    assert!(bad(clip_search(&stats, &w, 16, 128, &f, &o)), "mismatched k");
    let mut nan = w.clone();
    nan[300] = f32::NAN;
    assert!(bad(search_scales(&stats, &[(&w, 16), (&nan, 16)], k, &f, &o)), "NaN weight");
    assert!(bad(clip_search(&stats, &nan, 16, k, &f, &o)), "NaN weight");
    assert!(bad(search_scales(&stats, &[(&w, 16)], k, &f, &AwqOptions { grid: 0, ..o })), "grid 0");
    assert!(bad(clip_search(&stats, &w, 16, k, &f, &AwqOptions { clip_max_shrink: f32::NAN, ..o })), "NaN shrink");
    assert!(stats.add(&[f32::NAN; 256]).is_err(), "NaN activation");
    let (x, m) = stats.sample_rows();
    let rtn = RtnOptions::default();
    assert!(bad(scaled_quant_error(&x[..k + 1], m, &[(&w, 16)], k, None, &f, &rtn)), "X not [m, k]");
    assert!(bad(scaled_quant_error(x, m, &[(&w, 17)], k, None, &f, &rtn)), "wrong n");

    let mut v = vec![1.0f32; 2 * k];
    assert!(bad(scale_columns(&mut v, 2, k, &vec![1.0; k - 1])), "short scales");
    assert!(bad(scale_columns(&mut v, 3, k, &vec![1.0; k])), "wrong n");
    let mut s = vec![1.0f32; k];
    s[3] = 0.0;
    assert!(bad(divide(&mut v, &s)), "zero scale");
    s[3] = f32::NAN;
    assert!(bad(divide_rows(&mut v, k, 2, &s)), "NaN scale");
    assert!(bad(divide(&mut v[..k + 1], &vec![1.0; k])), "not whole rows");
}

#[test]
fn gram_form_of_the_loss_equals_the_row_form() {
    use super::loss::{output_sq_norm, LossRows};
    // k < m: the Gram form; inputs with outlier channels (the hard case for cancellation).
    let (m, k, n) = (300, 96, 40);
    let x = outlier_inputs(7, m, k);
    let d = heavy_tailed(8, n * k, 0.01);
    let rows = LossRows::new(&x, m, k).unwrap();
    assert!(matches!(rows, LossRows::Gram { .. }));
    let (gram, direct) = (rows.output_sq_norm(&d, n, k), output_sq_norm(&x, m, &d, n, k));
    assert!((gram - direct).abs() <= 1e-5 * direct, "Gram {gram} against rows {direct}");
    // k >= m keeps the rows.
    assert!(matches!(LossRows::new(&x[..k * 50], 50, k).unwrap(), LossRows::Rows { .. }));
    assert!(LossRows::new(&x[..k + 1], 1, k).is_err(), "X not [m, k]");
}
