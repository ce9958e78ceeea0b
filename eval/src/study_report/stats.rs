//! The statistics of the study report, small and exact enough to be checked by hand:
//!
//! - [`wilson`]: the Wilson score interval of a proportion (one seed: k of n items right);
//! - [`t_quantile`] and [`t_interval`]: Student's t interval of a mean over seeds (ddof 1);
//! - [`mcnemar_exact`]: the exact (binomial) two-sided McNemar p-value on the discordant pairs;
//! - [`bootstrap`]: a paired percentile bootstrap over items (clusters), fixed seed, for the
//!   accuracy difference and the output-length ratio against the base.
//!
//! Expected values in the tests come from scipy/statsmodels (`scripts/fixtures/study_stats.py`,
//! its output in `scripts/fixtures/study_stats.out`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The 97.5% point of the standard normal (two-sided 95%).
pub const Z_975: f64 = 1.959_963_984_540_054;

/// Resamples of the bootstrap intervals.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// Seed of the bootstrap intervals (fixed, so a report is reproducible).
pub const BOOTSTRAP_SEED: u64 = 2504_04823;

/// The Wilson score interval (95%) of `k` successes in `n` trials, as fractions; `(0, 1)` when
/// `n` is 0.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p, z2) = (n as f64, k as f64 / n as f64, Z_975 * Z_975);
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z_975 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = C[1..].iter().enumerate().fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// The continued fraction of the regularized incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    d = if d.abs() < TINY { TINY } else { d };
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        for aa in [m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))] {
            d = 1.0 + aa * d;
            d = if d.abs() < TINY { TINY } else { d };
            c = 1.0 + aa / c;
            c = if c.abs() < TINY { TINY } else { c };
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The CDF of Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (0 < p < 1), by bisection on
/// [`t_cdf`].
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    let (mut lo, mut hi) = (-1e6, 1e6);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The 95% t interval of the mean of `xs` (ddof 1); `None` for fewer than two values.
pub fn t_interval(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let half = t_quantile(0.975, n - 1.0) * sd / n.sqrt();
    Some((mean - half, mean + half))
}

/// The exact two-sided McNemar p-value: `b` pairs right only in the first, `c` right only in the
/// second; under the null each discordant pair goes either way with probability 1/2, so
/// p = min(1, 2 · P(Binomial(b + c, 1/2) <= min(b, c))). No discordant pair: 1.
pub fn mcnemar_exact(b: usize, c: usize) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    // Sum C(n, i) / 2^n for i <= min(b, c), in logs (n can be in the thousands).
    let ln_choose = |i: usize| ln_gamma(n as f64 + 1.0) - ln_gamma(i as f64 + 1.0) - ln_gamma((n - i) as f64 + 1.0);
    let ln_half = (0.5f64).ln() * n as f64;
    let tail: f64 = (0..=b.min(c)).map(|i| (ln_choose(i) + ln_half).exp()).sum();
    (2.0 * tail).min(1.0)
}

/// The `q` quantile of sorted `xs` with linear interpolation between order statistics (numpy's
/// default).
pub fn quantile_sorted(xs: &[f64], q: f64) -> f64 {
    match xs.len() {
        0 => f64::NAN,
        1 => xs[0],
        n => {
            let pos = q * (n - 1) as f64;
            let (i, frac) = (pos.floor() as usize, pos - pos.floor());
            if i + 1 >= n {
                xs[n - 1]
            } else {
                xs[i] + frac * (xs[i + 1] - xs[i])
            }
        }
    }
}

/// One item of a paired comparison, over its seeds: sums of the quantity in the base and in the
/// configuration, and how many (seed) answers went into each sum.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairedItem {
    /// Sum over seeds in the base (right answers, or generated tokens).
    pub base: f64,
    /// Sum over seeds in the configuration.
    pub other: f64,
    /// Answers summed.
    pub count: f64,
}

/// What a bootstrap estimates from resampled items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairedStatistic {
    /// Mean of `other` minus mean of `base` (accuracy difference).
    Difference,
    /// Sum of `other` over sum of `base` (length ratio); NaN when the base sums to 0.
    Ratio,
}

impl PairedStatistic {
    fn of(self, base: f64, other: f64, count: f64) -> f64 {
        match self {
            PairedStatistic::Difference => (other - base) / count,
            PairedStatistic::Ratio => other / base,
        }
    }

    /// The statistic on the items as they are.
    pub fn estimate(self, items: &[PairedItem]) -> f64 {
        let (b, o, n) = items.iter().fold((0.0, 0.0, 0.0), |(b, o, n), it| (b + it.base, o + it.other, n + it.count));
        self.of(b, o, n)
    }
}

/// The 95% percentile bootstrap interval of `stat` over `items` resampled with replacement
/// (each resample draws as many items as there are, every seed of an item together), with
/// `resamples` draws from ChaCha8 seeded by `seed`. `None` without items; resamples where the
/// statistic is undefined (a ratio over zero) are left out.
pub fn bootstrap(items: &[PairedItem], stat: PairedStatistic, resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if items.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = items.len();
    let mut values = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let (mut b, mut o, mut c) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let it = &items[rng.random_range(0..n)];
            b += it.base;
            o += it.other;
            c += it.count;
        }
        let v = stat.of(b, o, c);
        if v.is_finite() {
            values.push(v);
        }
    }
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some((quantile_sorted(&values, 0.025), quantile_sorted(&values, 0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // Expected values: scripts/fixtures/study_stats.py (scipy 1.x, statsmodels 0.14), printed
    // into scripts/fixtures/study_stats.out.

    #[test]
    fn mcnemar_exact_matches_statsmodels() {
        for (b, c, want) in [
            (10, 2, 0.038574218750),
            (2, 10, 0.038574218750),
            (5, 5, 1.0),
            (0, 6, 0.031250000000),
            (1, 20, 0.000020980835),
            (0, 0, 1.0),
            (30, 45, 0.105342268875),
            (600, 640, 0.268059502702),
        ] {
            let p = mcnemar_exact(b, c);
            assert!(close(p, want, 1e-9 + 1e-7 * want), "b={b} c={c}: {p} vs {want}");
        }
        assert!(close(mcnemar_exact(600, 640), mcnemar_exact(640, 600), 1e-12), "symmetric");
    }

    #[test]
    fn wilson_matches_statsmodels() {
        for (k, n, lo, hi) in [
            (7, 10, 0.396778, 0.892209),
            (0, 3, 0.0, 0.561497),
            (3, 3, 0.438503, 1.0),
            (50, 100, 0.403832, 0.596168),
            (1, 1319, 0.000134, 0.004282),
        ] {
            let (a, b) = wilson(k, n);
            assert!(close(a, lo, 1e-6) && close(b, hi, 1e-6), "{k}/{n}: ({a}, {b}) vs ({lo}, {hi})");
        }
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn t_quantiles_match_scipy() {
        for (df, want) in [(1.0, 12.706204736), (2.0, 4.302652730), (4.0, 2.776445105), (10.0, 2.228138852)] {
            let t = t_quantile(0.975, df);
            assert!(close(t, want, 1e-8), "df {df}: {t} vs {want}");
        }
        assert!(close(t_cdf(1.5, 3.0), 0.884708, 1e-6));
        assert!(close(t_cdf(-1.5, 3.0), 1.0 - 0.884708, 1e-6));
    }

    #[test]
    fn t_interval_over_seeds_matches_scipy() {
        let (lo, hi) = t_interval(&[0.5, 0.6, 0.7]).unwrap();
        assert!(close(lo, 0.351586, 1e-6) && close(hi, 0.848414, 1e-6), "({lo}, {hi})");
        let (lo, hi) = t_interval(&[0.25, 0.25]).unwrap();
        assert!(close(lo, 0.25, 1e-12) && close(hi, 0.25, 1e-12), "no spread, no width");
        assert!(t_interval(&[0.5]).is_none());
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert!(close(quantile_sorted(&xs, 0.025), 1.075, 1e-12));
        assert!(close(quantile_sorted(&xs, 0.975), 3.925, 1e-12));
        assert!(close(quantile_sorted(&xs, 0.5), 2.5, 1e-12));
    }

    /// 200 items, one seed: base right on 120, the configuration right on 100 of them plus 10
    /// of the base's wrong ones: difference -0.05.
    fn accuracy_pairs() -> Vec<PairedItem> {
        (0..200)
            .map(|i| {
                let base = (i < 120) as u8 as f64;
                let other = (i < 100 || (120..130).contains(&i)) as u8 as f64;
                PairedItem { base, other, count: 1.0 }
            })
            .collect()
    }

    #[test]
    fn paired_bootstrap_of_a_difference_agrees_with_scipy() {
        let items = accuracy_pairs();
        assert!(close(PairedStatistic::Difference.estimate(&items), -0.05, 1e-12));
        let (lo, hi) = bootstrap(&items, PairedStatistic::Difference, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        // scipy.stats.bootstrap(percentile, 10k) on the same differences: (-0.105, 0.005);
        // another RNG moves the ends by a resample's step (0.005).
        assert!(close(lo, -0.105, 0.0101) && close(hi, 0.005, 0.0101), "({lo}, {hi})");
        // Fixed seed: the same interval every time.
        assert_eq!(bootstrap(&items, PairedStatistic::Difference, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED), Some((lo, hi)));
    }

    #[test]
    fn paired_bootstrap_of_identical_runs_is_a_point() {
        let items: Vec<PairedItem> =
            (0..30).map(|i| PairedItem { base: (i % 3) as f64, other: (i % 3) as f64, count: 2.0 }).collect();
        assert_eq!(bootstrap(&items, PairedStatistic::Difference, 500, 1), Some((0.0, 0.0)));
        let items: Vec<PairedItem> =
            (1..31).map(|i| PairedItem { base: i as f64, other: 2.0 * i as f64, count: 1.0 }).collect();
        let (lo, hi) = bootstrap(&items, PairedStatistic::Ratio, 500, 1).unwrap();
        assert!(close(lo, 2.0, 1e-12) && close(hi, 2.0, 1e-12));
        assert!(bootstrap(&[], PairedStatistic::Ratio, 500, 1).is_none());
        let zero = [PairedItem { base: 0.0, other: 3.0, count: 1.0 }];
        assert!(bootstrap(&zero, PairedStatistic::Ratio, 50, 1).is_none(), "a ratio over 0 tokens is undefined");
    }

    #[test]
    fn length_ratio_bootstrap_agrees_with_scipy() {
        // Base lengths 100..=199, the configuration 1.2x each plus (i mod 7) tokens.
        let items: Vec<PairedItem> = (0..100)
            .map(|i| {
                let b = 100.0 + i as f64;
                PairedItem { base: b, other: 1.2 * b + (i % 7) as f64, count: 1.0 }
            })
            .collect();
        let est = PairedStatistic::Ratio.estimate(&items);
        assert!(close(est, 1.219_732, 1e-6), "{est}");
        let (lo, hi) = bootstrap(&items, PairedStatistic::Ratio, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        // scipy.stats.bootstrap(percentile, 10k, paired ratio of sums): (1.2170, 1.2225).
        assert!(close(lo, 1.2170, 0.0008) && close(hi, 1.2225, 0.0008), "({lo}, {hi})");
    }
}
