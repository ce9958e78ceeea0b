//! `softmax_ref`: numerically stable softmax over each row, in place.

/// Reference softmax of each of the `m` rows of `n` values: subtract the row's maximum,
/// exponentiate and normalise in `f64`. `-inf` entries become 0.
pub fn softmax_ref(x: &mut [f32], m: usize, n: usize) {
    for r in 0..m {
        let row = &mut x[r * n..(r + 1) * n];
        let max = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(f64::from(v)));
        let exps: Vec<f64> = row.iter().map(|&v| (f64::from(v) - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        for (o, e) in row.iter_mut().zip(&exps) {
            *o = (e / sum) as f32;
        }
    }
}
