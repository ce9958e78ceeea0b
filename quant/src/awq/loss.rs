//! The AWQ objective: the output error of the Linears reading `X` after scaling and RTN,
//! `Σ_linears ||X Wᵀ - (X ⊘ s) Q(W ⊙ s)ᵀ||²`, computed as `||X ΔWᵀ||²` with
//! `ΔW = W - Q(W ⊙ s) ⊘ s` (column `j` divided by `s_j`; the same product, fewer cancellations).
//!
//! [`LossRows`] holds the rows in the cheaper of two forms: `X[m, k]` itself, or when `k < m` its
//! Gram matrix `G = XᵀX[k, k]`, with `||X ΔWᵀ||² = Σ_rows (ΔW G ⊙ ΔW)` (`n k²` multiply-adds
//! instead of `m n k`; for Qwen2.5-1.5B's q/k/v and gate/up inputs, k = 1536 against 4096 rows).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use super::inputs::check_linear;
use crate::format::WeightFormat;
use crate::rtn::{quantize_rtn, RtnOptions};
use crate::QuantError;

/// The calibration rows a loss is measured on.
pub enum LossRows<'a> {
    /// `X[m, k]` row-major.
    Rows {
        /// `[m, k]` row-major.
        x: &'a [f32],
        /// Rows.
        m: usize,
    },
    /// `G = XᵀX[k, k]` (f32, symmetric).
    Gram {
        /// `[k, k]` row-major.
        g: Vec<f32>,
    },
}

impl<'a> LossRows<'a> {
    /// `x[m, k]` (checked), as the Gram matrix when that is cheaper (`k < m`).
    pub fn new(x: &'a [f32], m: usize, k: usize) -> Result<LossRows<'a>, QuantError> {
        if x.len() != m * k {
            return Err(QuantError::BadInput { what: format!("{} activation values for shape [{m}, {k}]", x.len()) });
        }
        if k == 0 || k >= m {
            return Ok(LossRows::Rows { x, m });
        }
        let mut g = vec![0f32; k * k];
        let xr = MatRef::from_row_major_slice(x, m, k);
        matmul(
            faer::MatMut::from_row_major_slice_mut(&mut g, k, k),
            Accum::Replace,
            xr.transpose(),
            xr,
            1.0f32,
            Par::rayon(0),
        );
        Ok(LossRows::Gram { g })
    }

    /// `||X Dᵀ||²` in f64 for `D[n, k]` row-major.
    pub fn output_sq_norm(&self, d: &[f32], n: usize, k: usize) -> f64 {
        match self {
            LossRows::Rows { x, m } => output_sq_norm(x, *m, d, n, k),
            LossRows::Gram { g } => {
                if n == 0 || k == 0 {
                    return 0.0;
                }
                // Y = D G; Σ Y ⊙ D.
                let mut y = Mat::<f32>::zeros(n, k);
                let dr = MatRef::from_row_major_slice(d, n, k);
                let gr = MatRef::from_row_major_slice(g, k, k);
                matmul(y.as_mut(), Accum::Replace, dr, gr, 1.0f32, Par::rayon(0));
                (0..k)
                    .map(|c| y.col(c).iter().zip(dr.col(c).iter()).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>())
                    .sum()
            }
        }
    }
}

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
    scaled_quant_error_on(&LossRows::new(x, m, k)?, linears, k, s, format, rtn)
}

/// [`scaled_quant_error`] on rows already in their [`LossRows`] form (the grid search builds it
/// once for all its candidates).
pub fn scaled_quant_error_on(
    rows: &LossRows<'_>,
    linears: &[(&[f32], usize)],
    k: usize,
    s: Option<&[f32]>,
    format: &WeightFormat,
    rtn: &RtnOptions,
) -> Result<f64, QuantError> {
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
        total += rows.output_sq_norm(&d, n, k);
    }
    Ok(total)
}
