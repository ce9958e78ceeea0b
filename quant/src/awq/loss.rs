//! The AWQ objective: the output error of the Linears reading `X` after scaling and RTN,
//! `Σ_linears ||X Wᵀ - (X ⊘ s) Q(W ⊙ s)ᵀ||²`, computed as `||X ΔWᵀ||²` with
//! `ΔW = W - Q(W ⊙ s) ⊘ s` (column `j` divided by `s_j`; the same product, fewer cancellations).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use super::inputs::check_linear;
use crate::format::WeightFormat;
use crate::rtn::{quantize_rtn, RtnOptions};
use crate::QuantError;

/// `||X Dᵀ||²` in f64 for `X[m, k]` and `D[n, k]` (row-major; lengths must match).
pub(crate) fn output_sq_norm(x: &[f32], m: usize, d: &[f32], n: usize, k: usize) -> f64 {
    if m == 0 || n == 0 {
        return 0.0;
    }
    let mut y = Mat::<f32>::zeros(m, n);
    let xr = MatRef::from_row_major_slice(x, m, k);
    let dr = MatRef::from_row_major_slice(d, n, k);
    matmul(y.as_mut(), Accum::Replace, xr, dr.transpose(), 1.0f32, Par::rayon(0));
    (0..n).map(|c| y.col(c).iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>()).sum()
}

/// `Σ_linears ||X (W - Q(W ⊙ s) ⊘ s)ᵀ||²` on `x[m, k]`; `s = None` is plain RTN. Linears are
/// `(W[n, k], n)`.
pub fn scaled_quant_error(
    x: &[f32],
    m: usize,
    linears: &[(&[f32], usize)],
    k: usize,
    s: Option<&[f32]>,
    format: &WeightFormat,
    rtn: &RtnOptions,
) -> Result<f64, QuantError> {
    if x.len() != m * k {
        return Err(QuantError::BadInput { what: format!("{} activation values for shape [{m}, {k}]", x.len()) });
    }
    let mut total = 0.0;
    for (i, (w, n)) in linears.iter().enumerate() {
        check_linear(w, *n, k, &format!("Linear {i}"))?;
        let n = *n;
        let d: Vec<f32> = match s {
            None => {
                let q = quantize_rtn(w, n, k, format, rtn)?.dequantize();
                w.iter().zip(&q).map(|(a, b)| a - b).collect()
            }
            Some(s) => {
                let mut ws = w.to_vec();
                super::scale_columns(&mut ws, n, k, s)?;
                let q = quantize_rtn(&ws, n, k, format, rtn)?.dequantize();
                w.iter().zip(&q).enumerate().map(|(i, (a, b))| a - b / s[i % k]).collect()
            }
        };
        total += output_sq_norm(x, m, &d, n, k);
    }
    Ok(total)
}
