//! Tests of RTN: error ordering by bits and granularity, clip search, exactness, conventions.

use super::*;
use crate::format::{Granularity, IntFormat, IntSpec, QParams, ScaleDtype, WeightFormat};
use crate::qweight::{QuantizedParts, QuantizedWeight};
use crate::test_util::{gaussian, heavy_tailed, sq_err};

const N: usize = 48;
const K: usize = 512;

fn fmt(int: IntFormat, g: Granularity, sym: bool) -> WeightFormat {
    WeightFormat::new(int, g, sym).unwrap()
}

fn rel_err(w: &[f32], n: usize, k: usize, f: &WeightFormat, opts: &RtnOptions) -> f64 {
    let q = quantize_rtn(w, n, k, f, opts).unwrap();
    sq_err(&q.dequantize(), w) / w.iter().map(|x| (*x as f64).powi(2)).sum::<f64>()
}

fn matrices() -> [(&'static str, Vec<f32>); 2] {
    [("gaussian", gaussian(1, N * K, 0.02)), ("heavy-tailed", heavy_tailed(2, N * K, 0.02))]
}

#[test]
fn error_decreases_with_bits() {
    use IntFormat::*;
    for (what, w) in matrices() {
        for (g, sym) in
            [(Granularity::Group(128), false), (Granularity::Group(128), true), (Granularity::PerChannel, true)]
        {
            let e: Vec<f64> = [Int8, Int4, Int3, Int2]
                .iter()
                .map(|&i| rel_err(&w, N, K, &fmt(i, g, sym), &RtnOptions::default()))
                .collect();
            assert!(e[0] < e[1] && e[1] < e[2] && e[2] < e[3], "{what} {g:?} sym={sym}: {e:?}");
            assert!(e[0] < 1e-3, "{what}: int8 relative error {}", e[0]);
        }
    }
}

#[test]
fn groups_beat_per_channel() {
    for (what, w) in matrices() {
        for int in [IntFormat::Int8, IntFormat::Int4, IntFormat::Int3, IntFormat::Int2] {
            for sym in [true, false] {
                let o = RtnOptions::default();
                let pc = rel_err(&w, N, K, &fmt(int, Granularity::PerChannel, sym), &o);
                let g128 = rel_err(&w, N, K, &fmt(int, Granularity::Group(128), sym), &o);
                let g32 = rel_err(&w, N, K, &fmt(int, Granularity::Group(32), sym), &o);
                assert!(g32 < g128 && g128 < pc, "{what} {} sym={sym}: g32 {g32} g128 {g128} pc {pc}", int.name());
            }
        }
    }
}

#[test]
fn clip_search_never_increases_error() {
    let search = ClipSearch { norm: 2.0, ..ClipSearch::default() };
    for (what, w) in matrices() {
        for int in [IntFormat::Int4, IntFormat::Int3, IntFormat::Int2] {
            for sym in [true, false] {
                for dtype in [ScaleDtype::F32, ScaleDtype::Bf16] {
                    let f = fmt(int, Granularity::Group(64), sym);
                    let plain = quantize_rtn(&w, N, K, &f, &RtnOptions { scale_dtype: dtype, clip_search: None });
                    let opts = RtnOptions { scale_dtype: dtype, clip_search: Some(search) };
                    let clipped = quantize_rtn(&w, N, K, &f, &opts);
                    let (a, b) = (plain.unwrap().dequantize(), clipped.unwrap().dequantize());
                    // Group by group, in the search's own error measure.
                    for (gi, ((wg, ag), bg)) in w.chunks(64).zip(a.chunks(64)).zip(b.chunks(64)).enumerate() {
                        assert!(sq_err(bg, wg) <= sq_err(ag, wg), "{what} {} sym={sym} group {gi}", int.name());
                    }
                    if int != IntFormat::Int4 || !sym {
                        assert!(
                            sq_err(&b, &w) < sq_err(&a, &w),
                            "{what} {} sym={sym}: search found nothing",
                            int.name()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn default_clip_search_is_autogptq() {
    let s = ClipSearch::default();
    assert_eq!((s.grid, s.max_shrink, s.norm, s.steps()), (100, 0.8, 2.4, 80));
    assert!(ClipSearch { grid: 0, ..s }.validate().is_err());
    assert!(ClipSearch { max_shrink: 0.0, ..s }.validate().is_err());
}

#[test]
fn asymmetric_constant_rows_dequantize_to_the_constant() {
    // A constant row spans [min(c, 0), max(c, 0)]: both ends sit on the grid, so the only error
    // is the f32 rounding of `(hi - lo) / (2^b - 1)` times that same integer.
    let mut exact = 0;
    let mut total = 0;
    for int in [IntFormat::Int8, IntFormat::Int4, IntFormat::Int3, IntFormat::Int2] {
        for c in [1.0f32, -1.0, 0.3, -0.3, 0.017, 12.5, -1e-3, 3.0e4, 7.0, 0.1] {
            let w = vec![c; 3 * 200];
            let q =
                quantize_rtn(&w, 3, 200, &fmt(int, Granularity::Group(128), false), &RtnOptions::default()).unwrap();
            for d in q.dequantize() {
                assert!((d - c).abs() <= c.abs() * f32::EPSILON, "{} c={c}: {d}", int.name());
                exact += (d == c) as usize;
                total += 1;
            }
        }
    }
    assert!(exact * 10 >= total * 9, "only {exact} of {total} exact");
    // Zero rows are exact in every format and dtype.
    for dtype in [ScaleDtype::F32, ScaleDtype::F16, ScaleDtype::Bf16] {
        for sym in [true, false] {
            let opts = RtnOptions { scale_dtype: dtype, clip_search: None };
            let q = quantize_rtn(&[0.0; 64], 2, 32, &fmt(IntFormat::Int4, Granularity::Group(32), sym), &opts).unwrap();
            assert!(q.dequantize().iter().all(|&d| d == 0.0));
        }
    }
}

#[test]
fn symmetric_int4_matches_compressed_tensors_by_hand() {
    // amax 2 -> scale 2 / 7.5; -1/s = -3.75 -> -4; 0.5/s = 1.875 -> 2; 0.25/s = 0.9375 -> 1;
    // 2/s = 7.5 -> clamped to 7. Stored +8.
    let w = [-1.0, 0.5, 0.25, 2.0];
    let q = quantize_rtn(&w, 1, 4, &fmt(IntFormat::Int4, Granularity::PerChannel, true), &RtnOptions::default());
    let q = q.unwrap();
    assert_eq!(q.codes(), &[4, 10, 9, 15]);
    assert_eq!(q.scales(), &[2.0f32 / 7.5]);
    assert!(q.zeros().is_none());
}

#[test]
fn short_last_group_gets_its_own_scale() {
    let (n, k) = (5, 300);
    let w = heavy_tailed(3, n * k, 1.0);
    for sym in [true, false] {
        let f = fmt(IntFormat::Int4, Granularity::Group(128), sym);
        let q = quantize_rtn(&w, n, k, &f, &RtnOptions::default()).unwrap();
        assert_eq!((q.group_size(), q.n_groups()), (128, 3));
        for r in 0..n {
            let row = &w[r * k..(r + 1) * k];
            let qp = group_qparams(&row[256..], &f.spec, ScaleDtype::F32, None);
            assert_eq!(q.scales()[r * 3 + 2], qp.scale);
            assert_eq!(q.zero(r, 2), qp.zero);
            for (j, &x) in row.iter().enumerate().skip(256) {
                assert_eq!(q.codes()[r * k + j], qp.quantize(x, IntFormat::Int4));
                assert_eq!(q.group_of(j), 2);
            }
        }
    }
}

#[test]
fn codes_use_the_stored_scale() {
    let (n, k) = (7, 96);
    let w = gaussian(4, n * k, 0.05);
    for dtype in [ScaleDtype::F16, ScaleDtype::Bf16] {
        let f = fmt(IntFormat::Int3, Granularity::Group(32), false);
        let q = quantize_rtn(&w, n, k, &f, &RtnOptions { scale_dtype: dtype, clip_search: None }).unwrap();
        assert!(q.scales().iter().all(|&s| dtype.holds(s)));
        let d = q.dequantize();
        for (i, &x) in w.iter().enumerate() {
            let (r, j) = (i / k, i % k);
            let qp = QParams { scale: q.scales()[r * 3 + j / 32], zero: q.zero(r, j / 32) };
            assert_eq!(d[i], qp.fake(x, IntFormat::Int3));
        }
    }
}

#[test]
fn bad_inputs_are_rejected() {
    let f = fmt(IntFormat::Int4, Granularity::Group(32), true);
    let o = RtnOptions::default();
    assert!(quantize_rtn(&[0.0; 10], 2, 4, &f, &o).unwrap_err().to_string().contains("10 weights for shape [2, 4]"));
    let mut w = vec![0.0; 8];
    w[5] = f32::NAN;
    assert!(quantize_rtn(&w, 2, 4, &f, &o).unwrap_err().to_string().contains("weight [1, 1] is NaN"));
    let bad = WeightFormat { spec: IntSpec::symmetric(IntFormat::Int4), granularity: Granularity::Group(0) };
    assert!(quantize_rtn(&[0.0; 8], 2, 4, &bad, &o).is_err());
}

fn parts() -> QuantizedParts {
    QuantizedParts {
        format: fmt(IntFormat::Int4, Granularity::Group(8), false),
        scale_dtype: ScaleDtype::F16,
        n: 2,
        k: 12,
        codes: vec![15; 24],
        scales: vec![0.5; 4],
        zeros: Some(vec![3; 4]),
        g_idx: None,
    }
}

#[test]
fn quantized_weight_validates_its_parts() {
    QuantizedWeight::new(parts()).unwrap();
    type Edit = fn(&mut QuantizedParts);
    let cases: [(Edit, &str); 9] = [
        (|p| p.codes.push(0), "25 codes"),
        (|p| p.codes[13] = 16, "code 16 at [1, 1] exceeds 15"),
        (|p| p.scales[3] = 0.0, "scale 0 at [1, 1]"),
        (|p| p.scales[0] = 0.1, "not a positive finite f16"),
        (|p| p.zeros = None, "without zero points"),
        (|p| p.zeros.as_mut().unwrap()[2] = 16, "zero point 16 at [1, 0]"),
        (|p| p.g_idx = Some(vec![0; 11]), "g_idx has 11 entries"),
        (|p| p.g_idx = Some(vec![2; 12]), "g_idx[0] = 2 but there are 2 groups"),
        (|p| p.format.spec.symmetric = true, "zero points given for a symmetric format"),
    ];
    for (edit, want) in cases {
        let mut p = parts();
        edit(&mut p);
        let e = QuantizedWeight::new(p).unwrap_err().to_string();
        assert!(e.contains(want), "{e} / {want}");
    }
}

#[test]
fn g_idx_picks_the_scale() {
    let mut p = parts();
    p.codes = (0..24).map(|i| (i % 16) as u8).collect();
    p.scales = vec![1.0, 2.0, 0.5, 0.25];
    p.zeros = Some(vec![0, 1, 2, 3]);
    let g: Vec<u32> = (0..12).map(|j| (j % 2) as u32).collect();
    p.g_idx = Some(g.clone());
    let q = QuantizedWeight::new(p.clone()).unwrap();
    let d = q.dequantize();
    for r in 0..2 {
        for j in 0..12 {
            let gi = g[j] as usize;
            let want =
                (p.codes[r * 12 + j] as f32 - p.zeros.as_ref().unwrap()[r * 2 + gi] as f32) * p.scales[r * 2 + gi];
            assert_eq!(d[r * 12 + j], want);
        }
    }
    assert_eq!(q.clone().into_parts(), p);
    // A g_idx that is just j / group_size is dropped.
    p.g_idx = Some((0..12).map(|j| j / 8).collect());
    assert_eq!(QuantizedWeight::new(p).unwrap().g_idx(), None);
}
