//! The inverse Hessian GPTQ sweeps with: `U[k, k]`, upper triangular, `Uᵀ U = (H + λI)⁻¹`
//! with `λ = damp × mean(diag H)` (the reference's `cholesky(cholesky_inverse(cholesky(H)),
//! upper=True)`). Row `j` of `U` from the diagonal on is exactly what quantizing column `j`
//! needs once columns `< j` are fixed: `d = U[j, j]`, and the error is spread with `U[j, j..]`.
//!
//! If a factorization fails (the damped `H` is not positive definite) the damping is raised ×10
//! and tried again, up to `max_damp_retries` times; then a [`QuantError::Gptq`] says so.

use faer::{Mat, Side};

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
        // Scoped so that at most two k×k temporaries are alive at once.
        let hinv = {
            let hd = Mat::<f64>::from_fn(k, k, |i, j| h[i * k + j] + if i == j { lambda } else { 0.0 });
            let Ok(llt) = hd.llt(Side::Lower) else { continue };
            drop(hd);
            // (H + λI)⁻¹ = L⁻ᵀ L⁻¹
            faer::linalg::solvers::DenseSolveCore::inverse(&llt)
        };
        // Its lower factor M, (H + λI)⁻¹ = M Mᵀ, and U = Mᵀ.
        let Ok(llt2) = hinv.llt(Side::Lower) else { continue };
        drop(hinv);
        let m = llt2.L();
        let mut u = vec![0.0f64; k * k];
        for i in 0..k {
            for j in i..k {
                u[i * k + j] = m[(j, i)];
            }
        }
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
