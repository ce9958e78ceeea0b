//! `matmul_packed_ref`: `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for a weight in qtool's packed
//! kernel layout ([`PackedWeight`]: int2/3/4/8 codes as a bit stream per row, f32 scales and u8
//! zero points per (row, group), optional act-order `g_idx`).

use quant::pack::PackedWeight;

/// Reference packed matmul: each W row is dequantized with [`PackedWeight::dequantize_row_ref`]
/// (`(code - zero) * scale`, one f32 multiply), then every output is an `f64` dot product in
/// order of `k`, rounded to `f32`. Shapes must already be valid (`x.len() == m * w.k()`,
/// `y.len() == m * w.n()`).
pub fn matmul_packed_ref(x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
    let (n, k) = (w.n(), w.k());
    let mut row = vec![0f32; k];
    for j in 0..n {
        w.dequantize_row_ref(j, &mut row);
        for i in 0..m {
            let acc: f64 = x[i * k..(i + 1) * k].iter().zip(&row).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            y[i * n + j] = acc as f32;
        }
    }
}
