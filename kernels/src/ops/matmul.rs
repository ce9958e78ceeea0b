//! `matmul_ref`: `y[m, n] = x[m, k] · W[n, k]ᵀ`, one `f64` dot product per output.

use crate::backend::DenseWeight;

/// Reference matmul. Each output is `Σ_k x[i, k] · W[j, k]` summed in `f64` in order of `k`,
/// then rounded to `f32`. Shapes must already be valid (`x.len() == m*k`, `w.len() == n*k`,
/// `y.len() == m*n`).
pub fn matmul_ref(x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) {
    for i in 0..m {
        let xi = &x[i * k..(i + 1) * k];
        for j in 0..n {
            let mut acc = 0f64;
            for (kk, &xv) in xi.iter().enumerate() {
                acc += f64::from(xv) * f64::from(w.get_f32(j * k + kk));
            }
            y[i * n + j] = acc as f32;
        }
    }
}
