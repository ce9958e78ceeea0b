//! `rms_norm_ref`: RMSNorm as HF Llama/Qwen2 define it, `x / sqrt(mean(x²) + eps) * weight`.

/// Reference RMSNorm over `m` rows of `d` values; the mean of squares and the scaling are
/// computed in `f64`.
pub fn rms_norm_ref(x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) {
    for r in 0..m {
        let row = &x[r * d..(r + 1) * d];
        let mean_sq = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (mean_sq + f64::from(eps)).sqrt();
        for i in 0..d {
            out[r * d + i] = (f64::from(row[i]) * inv * f64::from(weight[i])) as f32;
        }
    }
}
