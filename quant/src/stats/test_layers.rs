//! Synthetic Linear inputs for the AWQ and SmoothQuant tests: correlated rows (shared latent
//! factors plus noise), uneven channel magnitudes and a few outlier input channels.

use crate::test_util::{gaussian, normal, rng};

/// Input channels (mod 256) that are outliers, and how much larger each is.
pub(crate) const OUTLIERS: [(usize, f32); 6] =
    [(5, 10.0), (40, 50.0), (99, 20.0), (130, 35.0), (177, 15.0), (250, 25.0)];

/// `X[rows, k]`: 32 latent factors mixed into every channel plus independent noise, channel
/// magnitudes log-normal (σ 0.5), the [`OUTLIERS`] channels multiplied by 10–50×.
pub(crate) fn outlier_inputs(seed: u64, k: usize, rows: usize) -> Vec<f32> {
    const LATENT: usize = 32;
    let mix = gaussian(seed, LATENT * k, 1.0 / (LATENT as f32).sqrt());
    let mut r = rng(seed + 1);
    let chan: Vec<f32> = (0..k)
        .map(|j| {
            let s = (0.5 * normal(&mut r)).exp();
            OUTLIERS.iter().find(|(c, _)| *c == j % 256).map_or(s, |(_, f)| f * s)
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
    x
}

/// `X Wᵀ` (`[rows, n]`) in f64.
pub(crate) fn matmul_t(x: &[f32], w: &[f32], k: usize) -> Vec<f64> {
    let mut y = Vec::with_capacity((x.len() / k) * (w.len() / k));
    for xr in x.chunks_exact(k) {
        for wr in w.chunks_exact(k) {
            y.push(xr.iter().zip(wr).map(|(a, b)| *a as f64 * *b as f64).sum());
        }
    }
    y
}

/// `||a - b||²` in f64.
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum()
}
