//! The inverse Hessian GPTQ sweeps with: `U[k, k]`, upper triangular, `Uᵀ U = (H + λI)⁻¹`
//! with `λ = damp × mean(diag H)`: the matrix the reference computes as
//! `cholesky(cholesky_inverse(cholesky(H)), upper=True)`, here from one Cholesky factor of `H` in
//! reversed order and one triangular inverse (see the body; 2.5× fewer flops, and no explicit
//! inverse). Row `j` of `U` from the diagonal on is exactly what quantizing column `j` needs once
//! columns `< j` are fixed: `d = U[j, j]`, and the error is spread with `U[j, j..]`.
//!
//! If a factorization fails (the damped `H` is not positive definite) the damping is raised ×10
//! and tried again, up to `max_damp_retries` times; then a [`QuantError::Gptq`] says so.

use faer::linalg::triangular_inverse::invert_upper_triangular;
use faer::{Mat, MatMut, Par, Side};

use super::options::GptqOptions;
use crate::QuantError;

/// `U` (`[k, k]` row-major, zero below the diagonal) and the damp fraction that worked. `h` is
/// `[k, k]` row-major and symmetric, its dead columns already fixed (no zero diagonal).
pub fn inverse_cholesky_upper(
    h: &[f64],
    k: usize,
    nsamples: usize,
    opts: &GptqOptions,
) -> Result<(Vec<f64>, f64), QuantError> {
    let mean = (0..k).map(|i| h[i * k + i]).sum::<f64>() / k as f64;
    let mut damp = opts.damp_percent;
    for attempt in 0..=opts.max_damp_retries {
        if attempt > 0 {
            damp *= 10.0;
        }
        let lambda = damp * mean;
        // With J the order reversal, A = H + λI and J A J = L Lᵀ: A = V Vᵀ for the upper
        // triangular V = J L J, so A⁻¹ = (V⁻¹)ᵀ V⁻¹ and U = V⁻¹ = J L⁻¹ J. One Cholesky and one
        // triangular inverse (2k³/3 flops), where Cholesky, inverse and a second Cholesky take
        // about 5k³/3.
        let rev = k - 1;
        // (J A J)[i, j] = A[rev - j, rev - i] by symmetry: each column reads one row of `h`.
        let a = Mat::<f64>::from_fn(k, k, |i, j| h[(rev - j) * k + (rev - i)] + if i == j { lambda } else { 0.0 });
        let Ok(llt) = a.llt(Side::Lower) else { continue };
        drop(a);
        // (Lᵀ)⁻¹ = (L⁻¹)ᵀ in column-major order is L⁻¹ in row-major order, and reversing that
        // buffer applies J on both sides: it is U, row-major, zero below the diagonal.
        let mut u = vec![0.0f64; k * k];
        invert_upper_triangular(MatMut::from_column_major_slice_mut(&mut u, k, k), llt.L().transpose(), Par::rayon(0));
        drop(llt);
        u.reverse();
        if (0..k).all(|i| u[i * k + i] > 0.0) && u.iter().all(|v| v.is_finite()) {
            return Ok((u, damp));
        }
    }
    Err(opts.error(format!(
        "the Hessian ({k}×{k}, {nsamples} samples, mean diagonal {mean:.3e}) is not positive definite even with \
         damping {damp} × mean diagonal after {} retries (×10 each from damp_percent {}); the calibration inputs \
         are too few or degenerate for this layer: add samples or raise damp_percent",
        opts.max_damp_retries, opts.damp_percent
    )))
}
