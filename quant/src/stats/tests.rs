//! Tests of [`ChannelStats`]: exact statistics, batch-independent evenly spaced sampling, and
//! refusal of malformed batches.

use super::*;
use crate::test_util::gaussian;
use crate::QuantError;

#[test]
fn statistics_are_exact_and_sample_is_evenly_spaced() {
    let (k, rows) = (8, 1000);
    let x = gaussian(3, rows * k, 2.0);
    let mut whole = ChannelStats::new(k, 100);
    whole.add(&x).unwrap();
    let mut split = ChannelStats::new(k, 100);
    let mut start = 0;
    for m in [1, 0, 37, 400, 562] {
        split.add(&x[start * k..(start + m) * k]).unwrap();
        start += m;
    }
    assert_eq!(whole, split, "statistics depend on how rows were batched");
    assert_eq!(whole.rows(), rows);
    for j in 0..k {
        let mean = (0..rows).map(|r| x[r * k + j].abs() as f64).sum::<f64>() / rows as f64;
        let max = (0..rows).map(|r| x[r * k + j].abs()).fold(0.0f32, f32::max);
        assert!((whole.mean_abs()[j] as f64 - mean).abs() <= 1e-6 * mean);
        assert_eq!(whole.abs_max()[j], max);
    }
    // 1000 rows, max 100: stride 16, rows 0, 16, ..., 992 (63 rows).
    let (s, n) = whole.sample_rows();
    assert_eq!(n, 63);
    for (p, row) in s.chunks(k).enumerate() {
        assert_eq!(row, &x[p * 16 * k..(p * 16 + 1) * k]);
    }
}

#[test]
fn bad_batches_are_refused_and_change_nothing() {
    let mut st = ChannelStats::new(4, 10);
    st.add(&[1.0; 8]).unwrap();
    let before = st.clone();
    assert!(matches!(st.add(&[1.0; 7]), Err(QuantError::BadInput { .. })));
    assert!(matches!(st.add(&[1.0, 2.0, f32::NAN, 0.0]), Err(QuantError::BadInput { .. })));
    assert!(matches!(st.add(&[f32::INFINITY, 2.0, 0.0, 0.0]), Err(QuantError::BadInput { .. })));
    assert_eq!(st, before);
    assert!(ChannelStats::new(0, 10).add(&[]).is_err());
    assert!(ChannelStats::new(4, 10).check_usable(4).is_err(), "no rows");
    assert!(st.check_usable(5).is_err(), "wrong k");
    assert!(st.divided_by(&[1.0, 0.0, 1.0, 1.0]).is_err());
    assert!(st.divided_by(&[1.0; 3]).is_err());
}

#[test]
fn divided_by_matches_adding_divided_rows() {
    let (k, rows) = (6, 50);
    let x = gaussian(4, rows * k, 1.0);
    let s: Vec<f32> = (0..k).map(|j| 0.5 + j as f32 * 0.25).collect();
    let xs: Vec<f32> = x.iter().enumerate().map(|(i, v)| v / s[i % k]).collect();
    let mut a = ChannelStats::new(k, 16);
    a.add(&x).unwrap();
    let a = a.divided_by(&s).unwrap();
    let mut b = ChannelStats::new(k, 16);
    b.add(&xs).unwrap();
    assert_eq!(a.sample_rows(), b.sample_rows());
    assert_eq!(a.abs_max(), b.abs_max());
    for (p, q) in a.mean_abs().iter().zip(b.mean_abs()) {
        assert!((p - q).abs() <= 1e-6 * q);
    }
}
