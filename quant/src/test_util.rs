//! Seeded random data for the unit tests: Gaussian and heavy-tailed matrices, random codes.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// One standard normal sample (Box-Muller).
pub fn normal(r: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = r.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = r.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// `len` Gaussian values with standard deviation `std`.
pub fn gaussian(seed: u64, len: usize, std: f32) -> Vec<f32> {
    let mut r = rng(seed);
    (0..len).map(|_| normal(&mut r) * std).collect()
}

/// `len` Student-t values with 3 degrees of freedom (heavy tails, like real weight outliers).
pub fn heavy_tailed(seed: u64, len: usize, std: f32) -> Vec<f32> {
    let mut r = rng(seed);
    (0..len)
        .map(|_| {
            let z = normal(&mut r);
            let chi2: f32 = (0..3).map(|_| normal(&mut r).powi(2)).sum();
            z / (chi2 / 3.0).sqrt() * std
        })
        .collect()
}

/// `len` random codes in `0..=max`, covering the full range.
pub fn codes(seed: u64, len: usize, max: u8) -> Vec<u8> {
    let mut r = rng(seed);
    (0..len).map(|_| r.random_range(0..=max)).collect()
}

/// Sum of squared differences, in f64.
pub fn sq_err(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum()
}
