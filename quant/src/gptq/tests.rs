//! Tests of GPTQ on synthetic layers: it beats RTN on the layer's output error, equals RTN when
//! `H = I`, does not depend on the block size, reports the objective it minimises, handles dead
//! inputs and act-order, and names the layer when the Hessian cannot be inverted.

use super::*;
use crate::format::{Granularity, IntFormat, ScaleDtype, WeightFormat};
use crate::rtn::{quantize_rtn, ClipSearch, RtnOptions};
use crate::test_util::{gaussian, heavy_tailed, normal, rng};
use crate::QuantError;

/// A Linear `W[n, k]` and calibration inputs `X[rows, k]`.
pub(super) struct Layer {
    pub n: usize,
    pub k: usize,
    pub rows: usize,
    pub w: Vec<f32>,
    pub x: Vec<f32>,
}

/// Correlated inputs (32 shared latent factors plus independent noise), uneven channel scales,
/// four outlier input channels ×20; heavy-tailed weights.
fn synthetic_layer(seed: u64, n: usize, k: usize, rows: usize) -> Layer {
    const LATENT: usize = 32;
    let mix = gaussian(seed, LATENT * k, 1.0 / (LATENT as f32).sqrt());
    let mut r = rng(seed + 1);
    let chan: Vec<f32> = (0..k)
        .map(|j| {
            let s = (0.5 * normal(&mut r)).exp();
            if [3, 77, 150, 201].contains(&(j % 256)) {
                20.0 * s
            } else {
                s
            }
        })
        .collect();
    let mut x = Vec::with_capacity(rows * k);
    for _ in 0..rows {
        let z: Vec<f32> = (0..LATENT).map(|_| normal(&mut r)).collect();
        for j in 0..k {
            let shared: f32 = (0..LATENT).map(|l| z[l] * mix[l * k + j]).sum();
            x.push((shared + 0.5 * normal(&mut r)) * chan[j]);
        }
    }
    Layer { n, k, rows, w: heavy_tailed(seed + 2, n * k, 0.02), x }
}

/// The layer's Hessian, added in two uneven batches.
pub(super) fn hessian_of(l: &Layer) -> Hessian {
    let mut h = Hessian::new(l.k);
    let split = (l.rows / 3) * l.k;
    h.add_batch(&l.x[..split]).unwrap();
    h.add_batch(&l.x[split..]).unwrap();
    h
}

/// `||X Wᵀ - X Qᵀ||²` in f64.
pub(super) fn layer_error(l: &Layer, q: &[f32]) -> f64 {
    let d: Vec<f64> = l.w.iter().zip(q).map(|(a, b)| *a as f64 - *b as f64).collect();
    let mut total = 0.0;
    for xr in l.x.chunks(l.k) {
        for dr in d.chunks(l.k) {
            let y: f64 = xr.iter().zip(dr).map(|(a, b)| *a as f64 * b).sum();
            total += y * y;
        }
    }
    total
}

fn fmt(int: IntFormat, g: Granularity, sym: bool) -> WeightFormat {
    WeightFormat::new(int, g, sym).unwrap()
}

fn codes_agree(a: &[u8], b: &[u8]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

#[test]
fn gptq_beats_rtn_on_synthetic_layers() {
    use Granularity::*;
    use IntFormat::*;
    let l = synthetic_layer(11, 128, 256, 1024);
    let h = hessian_of(&l);
    let base = layer_error(&l, &vec![0.0; l.w.len()]);
    let formats = [
        fmt(Int4, Group(128), true),
        fmt(Int4, Group(128), false),
        fmt(Int3, Group(128), false),
        fmt(Int8, PerChannel, true),
        fmt(Int4, Group(32), false),
    ];
    for f in formats {
        let rtn = quantize_rtn(&l.w, l.n, l.k, &f, &RtnOptions::default()).unwrap();
        let rtn_err = layer_error(&l, &rtn.dequantize());
        for (act_order, static_groups) in [(false, false), (true, false), (true, true)] {
            let opts = GptqOptions { act_order, static_groups, ..GptqOptions::default() };
            let r = quantize_gptq(&l.w, l.n, l.k, &h, &f, &opts).unwrap();
            let err = layer_error(&l, &r.weight.dequantize());
            println!(
                "{:<22} act_order={act_order:<5} static={static_groups:<5} |XWᵀ-XQᵀ|²/|XWᵀ|²: RTN {:.3e}  GPTQ {:.3e}  \
                 (GPTQ/RTN {:.3})",
                f.label(),
                rtn_err / base,
                err / base,
                err / rtn_err
            );
            assert!(err < rtn_err, "{}: GPTQ {err} not below RTN {rtn_err}", f.label());
        }
    }
}

#[test]
fn identity_hessian_gives_rtn_exactly() {
    use Granularity::*;
    use IntFormat::*;
    let (n, k) = (32, 320);
    let w = heavy_tailed(5, n * k, 0.02);
    let eye: Vec<f64> = (0..k * k).map(|i| if i / k == i % k { 1.0 } else { 0.0 }).collect();
    let h = Hessian::from_matrix(k, eye, 1).unwrap();
    let cases = [
        (fmt(Int4, Group(128), true), ScaleDtype::F32, None),
        (fmt(Int3, Group(64), false), ScaleDtype::F16, None),
        (fmt(Int8, PerChannel, true), ScaleDtype::Bf16, None),
        (fmt(Int4, Group(32), false), ScaleDtype::F16, Some(ClipSearch::default())),
    ];
    for (f, scale_dtype, clip_search) in cases {
        let rtn = quantize_rtn(&w, n, k, &f, &RtnOptions { scale_dtype, clip_search }).unwrap();
        for act_order in [false, true] {
            let opts = GptqOptions { act_order, scale_dtype, clip_search, ..GptqOptions::default() };
            let r = quantize_gptq(&w, n, k, &h, &f, &opts).unwrap();
            assert_eq!(r.weight, rtn, "{} act_order={act_order}", f.label());
        }
    }
}

#[test]
fn result_does_not_depend_on_block_size() {
    use Granularity::*;
    use IntFormat::*;
    let l = synthetic_layer(21, 48, 384, 768);
    let h = hessian_of(&l);
    for f in [fmt(Int4, Group(32), false), fmt(Int4, Group(96), true), fmt(Int3, PerChannel, false)] {
        for act_order in [false, true] {
            let run = |block_size| {
                let opts = GptqOptions { act_order, block_size, ..GptqOptions::default() };
                quantize_gptq(&l.w, l.n, l.k, &h, &f, &opts).unwrap()
            };
            let a = run(128);
            for b in [1, 48, 1000] {
                let r = run(b);
                let agree = codes_agree(a.weight.codes(), r.weight.codes());
                assert!(agree >= 0.999, "{} block {b}: {agree}", f.label());
                assert!((a.loss - r.loss).abs() <= 1e-6 * a.loss, "{} block {b}: {} vs {}", f.label(), a.loss, r.loss);
            }
        }
    }
}

#[test]
fn loss_is_half_the_damped_quadratic_form() {
    let l = synthetic_layer(31, 64, 256, 512);
    let h = hessian_of(&l);
    let f = fmt(IntFormat::Int4, Granularity::Group(64), false);
    for act_order in [false, true] {
        let opts = GptqOptions { act_order, ..GptqOptions::default() };
        let r = quantize_gptq(&l.w, l.n, l.k, &h, &f, &opts).unwrap();
        let (k, hm) = (l.k, h.matrix());
        let lambda = r.damp_used * (0..k).map(|i| hm[i * k + i]).sum::<f64>() / k as f64;
        let q = r.weight.dequantize();
        let mut expect = 0.0;
        for (wr, qr) in l.w.chunks(k).zip(q.chunks(k)) {
            let d: Vec<f64> = wr.iter().zip(qr).map(|(a, b)| *a as f64 - *b as f64).collect();
            for i in 0..k {
                let hd: f64 = (0..k).map(|j| hm[i * k + j] * d[j]).sum::<f64>() + lambda * d[i];
                expect += 0.5 * d[i] * hd;
            }
        }
        println!("act_order={act_order}: loss {:.6e}, ½ΣΔ(H+λI)Δᵀ {expect:.6e}", r.loss);
        assert!((r.loss - expect).abs() <= 1e-6 * expect, "{} vs {expect}", r.loss);
    }
}

#[test]
fn hessian_running_average_matches_one_pass() {
    let (k, rows) = (24, 64);
    let x = gaussian(41, rows * k, 1.5);
    let mut h = Hessian::new(k);
    let mut start = 0;
    for m in [3, 10, 0, 51] {
        h.add_batch(&x[start * k..(start + m) * k]).unwrap();
        start += m;
    }
    assert_eq!(h.nsamples(), rows);
    for i in 0..k {
        for j in 0..k {
            let direct: f64 =
                (0..rows).map(|r| x[r * k + i] as f64 * x[r * k + j] as f64).sum::<f64>() * 2.0 / rows as f64;
            let got = h.matrix()[i * k + j];
            // Each batch's XᵀX is an f32 product (see hessian.rs): ~1e-7 relative per batch.
            assert!((got - direct).abs() <= 1e-6 * (1.0 + direct.abs()), "[{i}, {j}] {got} vs {direct}");
        }
    }
    assert!(h.add_batch(&x[..k + 1]).is_err());
}

#[test]
fn dead_inputs_are_zeroed() {
    let mut l = synthetic_layer(51, 16, 128, 256);
    for row in l.x.chunks_mut(l.k) {
        row[5] = 0.0;
        row[90] = 0.0;
    }
    let h = hessian_of(&l);
    for sym in [true, false] {
        let f = fmt(IntFormat::Int4, Granularity::Group(64), sym);
        let r = quantize_gptq(&l.w, l.n, l.k, &h, &f, &GptqOptions::default()).unwrap();
        let q = r.weight.dequantize();
        for row in q.chunks(l.k) {
            assert_eq!((row[5], row[90]), (0.0, 0.0));
        }
    }
}

#[test]
fn act_order_records_g_idx() {
    // diag(H) = 1 + j: act-order sweeps k-1 .. 0.
    let (n, k, g) = (8, 64, 16);
    let diag: Vec<f64> = (0..k * k).map(|i| if i / k == i % k { 1.0 + (i / k) as f64 } else { 0.0 }).collect();
    let h = Hessian::from_matrix(k, diag, 1).unwrap();
    let l = Layer { n, k, rows: 0, w: gaussian(62, n * k, 0.02), x: Vec::new() };
    let f = fmt(IntFormat::Int4, Granularity::Group(g as u32), false);
    let opts = GptqOptions { act_order: true, ..GptqOptions::default() };
    let r = quantize_gptq(&l.w, n, k, &h, &f, &opts).unwrap();
    let expect: Vec<u32> = (0..k).map(|j| ((k - 1 - j) / g) as u32).collect();
    assert_eq!(r.weight.g_idx(), Some(&expect[..]));
    let opts = GptqOptions { act_order: true, static_groups: true, ..GptqOptions::default() };
    let r = quantize_gptq(&l.w, n, k, &h, &f, &opts).unwrap();
    assert_eq!(r.weight.g_idx(), None);
}

fn gptq_error(h: Hessian, k: usize, opts: &GptqOptions) -> String {
    let w = gaussian(71, 4 * k, 0.02);
    let f = fmt(IntFormat::Int4, Granularity::PerChannel, true);
    match quantize_gptq(&w, 4, k, &h, &f, opts) {
        Err(e @ QuantError::Gptq { .. }) => e.to_string(),
        other => panic!("expected a GPTQ error, got {other:?}"),
    }
}

#[test]
fn non_positive_definite_hessian_is_a_clear_error() {
    let layer = "model.layers.3.mlp.down_proj".to_string();
    let opts = GptqOptions { layer: layer.clone(), ..GptqOptions::default() };
    let k = 8;
    // Blocks [[1, 3], [3, 1]]: eigenvalue -2, more than the largest damping (1.0 × mean 1) fixes.
    let h: Vec<f64> = (0..k * k)
        .map(|i| {
            let (a, b) = (i / k, i % k);
            if a == b {
                1.0
            } else if a / 2 == b / 2 {
                3.0
            } else {
                0.0
            }
        })
        .collect();
    let msg = gptq_error(Hessian::from_matrix(k, h.clone(), 100).unwrap(), k, &opts);
    println!("{msg}");
    assert!(msg.contains(&layer) && msg.contains("not positive definite") && msg.contains("after 2 retries"), "{msg}");

    let mut nan = h;
    nan[k + 2] = f64::NAN;
    let msg = gptq_error(Hessian::from_matrix(k, nan, 100).unwrap(), k, &opts);
    println!("{msg}");
    assert!(msg.contains(&layer) && msg.contains("NaN"), "{msg}");

    let msg = gptq_error(Hessian::new(k), k, &opts);
    assert!(msg.contains(&layer) && msg.contains("no samples"), "{msg}");
    let msg = gptq_error(Hessian::from_matrix(4, vec![1.0; 16], 1).unwrap(), k, &opts);
    assert!(msg.contains(&layer) && msg.contains("k = 8"), "{msg}");
}

#[test]
fn damping_retries_rescue_a_slightly_indefinite_hessian() {
    // Rank 16 < k = 64, shifted down by 5% of its mean diagonal: damp 0.01 fails, 0.1 works.
    let k = 64;
    let x = gaussian(81, 16 * k, 1.0);
    let mut h = Hessian::new(k);
    h.add_batch(&x).unwrap();
    let mut m = h.matrix().to_vec();
    let mean = (0..k).map(|i| m[i * k + i]).sum::<f64>() / k as f64;
    (0..k).for_each(|i| m[i * k + i] -= 0.05 * mean);
    let h = Hessian::from_matrix(k, m, 16).unwrap();
    let w = gaussian(82, 4 * k, 0.02);
    let f = fmt(IntFormat::Int4, Granularity::Group(32), true);
    let r = quantize_gptq(&w, 4, k, &h, &f, &GptqOptions::default()).unwrap();
    assert!((r.damp_used - 0.1).abs() < 1e-12, "{}", r.damp_used);
    let none = GptqOptions { max_damp_retries: 0, layer: "q_proj".into(), ..GptqOptions::default() };
    assert!(gptq_error(h, k, &none).contains("not positive definite"));
}

/// Timing on a mid-sized layer (not run by default): `cargo test -p quant --release
/// gptq_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn gptq_timing_2048x2048() {
    let (n, k, rows) = (2048, 2048, 2048);
    let x = gaussian(91, rows * k, 1.0);
    let w = heavy_tailed(92, n * k, 0.02);
    let t = std::time::Instant::now();
    let mut h = Hessian::new(k);
    for batch in x.chunks(512 * k) {
        h.add_batch(batch).unwrap();
    }
    let t_h = t.elapsed();
    let f = fmt(IntFormat::Int4, Granularity::Group(128), true);
    for act_order in [false, true] {
        let t = std::time::Instant::now();
        let opts = GptqOptions { act_order, ..GptqOptions::default() };
        quantize_gptq(&w, n, k, &h, &f, &opts).unwrap();
        println!(
            "[{n}, {k}] int4 g128, act_order={act_order}: Hessian of {rows} rows {t_h:.2?}, GPTQ {:.2?} on {} threads",
            t.elapsed(),
            rayon::current_num_threads()
        );
    }
}

#[test]
fn act_order_output_packs_as_a_gptq_checkpoint() {
    use crate::pack::gptq::{pack_gptq, unpack_gptq, GptqVersion};
    let l = synthetic_layer(101, 64, 256, 512);
    let h = hessian_of(&l);
    for sym in [true, false] {
        let f = fmt(IntFormat::Int4, Granularity::Group(64), sym);
        let opts = GptqOptions { act_order: true, scale_dtype: ScaleDtype::F16, ..GptqOptions::default() };
        let q = quantize_gptq(&l.w, l.n, l.k, &h, &f, &opts).unwrap().weight;
        assert!(q.g_idx().is_some());
        let packed = pack_gptq(&q, GptqVersion::V2).unwrap();
        assert_eq!(unpack_gptq(&packed, &f, ScaleDtype::F16, GptqVersion::V2).unwrap(), q);
    }
}
