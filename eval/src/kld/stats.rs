//! Sample statistics used by the KLD summary, with llama.cpp's conventions: the uncertainty of a
//! mean is its standard error `sd / sqrt(n)` with the sample (n - 1) standard deviation;
//! percentiles interpolate linearly between the sorted values at `fraction * (n - 1)`; the
//! standard error of a proportion `p` over `n` trials is `sqrt(p (1 - p) / (n - 1))`.

use serde::Serialize;

/// A mean with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanSe {
    /// The mean.
    pub mean: f64,
    /// Its standard error (0 with fewer than two values).
    pub se: f64,
}

/// Mean and standard error of `xs` (two passes, so large means do not swamp the spread).
pub fn mean_se(xs: &[f64]) -> MeanSe {
    let n = xs.len();
    if n == 0 {
        return MeanSe { mean: f64::NAN, se: f64::NAN };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return MeanSe { mean, se: 0.0 };
    }
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    MeanSe { mean, se: (ss / (n - 1) as f64 / n as f64).sqrt() }
}

/// Covariance of the means of two paired samples: `cov(a, b) / n` with the (n - 1) sample
/// covariance (so that `se(mean(a - b))² = se(a)² + se(b)² - 2 · this`).
pub fn covariance_of_means(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "paired samples");
    let n = a.len();
    if n < 2 {
        return 0.0;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n as f64, b.iter().sum::<f64>() / n as f64);
    let s: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    s / (n - 1) as f64 / n as f64
}

/// Mean of `a - b` (paired) with its standard error, from the separate errors and their
/// covariance, as llama.cpp reports `ln(PPL(Q)/PPL(base))`.
pub fn paired_difference(a: &[f64], b: &[f64]) -> MeanSe {
    let (ma, mb) = (mean_se(a), mean_se(b));
    let var = ma.se * ma.se + mb.se * mb.se - 2.0 * covariance_of_means(a, b);
    MeanSe { mean: ma.mean - mb.mean, se: var.max(0.0).sqrt() }
}

/// The value at `fraction` (0..=1) of sorted `xs`, interpolating linearly between neighbours.
pub fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let at = fraction.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, w) = (at.floor() as usize, at - at.floor());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + w * (sorted[hi] - sorted[lo])
        }
    }
}

/// The median of sorted `xs` (the mean of the two middle values when `n` is even).
pub fn median(sorted: &[f64]) -> f64 {
    percentile(sorted, 0.5)
}

/// A proportion `hits / n` with its standard error.
pub fn proportion(hits: usize, n: usize) -> MeanSe {
    if n == 0 {
        return MeanSe { mean: f64::NAN, se: f64::NAN };
    }
    let p = hits as f64 / n as f64;
    let se = if n < 2 { 0.0 } else { (p * (1.0 - p) / (n - 1) as f64).sqrt() };
    MeanSe { mean: p, se }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn mean_and_standard_error_by_hand() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, sample variance 32/7.
        let m = mean_se(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!(close(m.mean, 5.0));
        assert!(close(m.se, (32.0 / 7.0 / 8.0f64).sqrt()), "{}", m.se);
        assert_eq!(mean_se(&[3.0]), MeanSe { mean: 3.0, se: 0.0 });
        assert!(mean_se(&[]).mean.is_nan());
    }

    #[test]
    fn percentiles_and_median_interpolate() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert!(close(median(&s), 2.5));
        assert!(close(median(&[1.0, 5.0, 9.0]), 5.0));
        // fraction 0.9 of 4 values: position 2.7 -> 3 + 0.7 * (4 - 3).
        assert!(close(percentile(&s, 0.9), 3.7));
        assert!(close(percentile(&s, 0.0), 1.0));
        assert!(close(percentile(&s, 1.0), 4.0));
        // 0..=100: the p-th percentile is p.
        let h: Vec<f64> = (0..=100).map(f64::from).collect();
        for p in [0.9, 0.95, 0.99] {
            assert!(close(percentile(&h, p), p * 100.0));
        }
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn proportion_error() {
        let p = proportion(3, 4);
        assert!(close(p.mean, 0.75));
        assert!(close(p.se, (0.75 * 0.25 / 3.0f64).sqrt()));
        assert_eq!(proportion(10, 10), MeanSe { mean: 1.0, se: 0.0 });
    }

    #[test]
    fn paired_difference_uses_the_covariance() {
        // b = a + 1: the difference is exactly -1 with no uncertainty, though each mean has one.
        let a = [1.0, 2.0, 4.0, 8.0];
        let b: Vec<f64> = a.iter().map(|x| x + 1.0).collect();
        let d = paired_difference(&a, &b);
        assert!(close(d.mean, -1.0));
        assert!(d.se < 1e-12, "{}", d.se);
        // Independent-looking pairs: cov by hand. a = [1, 2, 3], b = [3, 1, 2]:
        // means 2, 2; sum (a-2)(b-2) = (-1)(1) + 0 + (1)(0) = -1 -> cov = -1/2 /3.
        assert!(close(covariance_of_means(&[1.0, 2.0, 3.0], &[3.0, 1.0, 2.0]), -1.0 / 6.0));
        let d = paired_difference(&[1.0, 2.0, 3.0], &[3.0, 1.0, 2.0]);
        let var: f64 = 1.0 / 3.0 + 1.0 / 3.0 + 2.0 / 6.0;
        assert!(close(d.se, var.sqrt()));
    }
}
