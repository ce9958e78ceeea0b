//! The GPTQ Hessian of one Linear: `H[k, k] = 2/N Σ x xᵀ` over the `N` calibration input rows
//! `x[k]` seen so far, kept in f64 as a running average (as the reference implementations do:
//! each batch of `m` rows scales the old `H` by `N/(N+m)` and adds `2/(N+m) XᵀX`), so batches of
//! any size may be added in any number. The product `XᵀX` of one batch is formed in f32 by faer,
//! its lower triangle only (half the flops; mirrored after the f64 update), about 1.6x faster
//! than in f64 on this project's 2-core machine, and summed into `H` in f64: a relative error of
//! about 1e-6 per batch (measured on 2048 rows of 1536 features), far below GPTQ's 1% damping.

use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par};

use crate::QuantError;

/// `H[k, k] = 2/N Σ x xᵀ` (row-major, symmetric) and the sample count `N`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hessian {
    k: usize,
    h: Vec<f64>,
    nsamples: usize,
}

impl Hessian {
    /// An empty Hessian (no samples) for inputs of `k` features.
    pub fn new(k: usize) -> Hessian {
        Hessian { k, h: vec![0.0; k * k], nsamples: 0 }
    }

    /// A Hessian gathered elsewhere: `h` is `[k, k]` row-major, the average over `nsamples` rows
    /// (what `add_batch` would have produced). Must be square and symmetric in shape; its values
    /// are checked when GPTQ uses it.
    pub fn from_matrix(k: usize, h: Vec<f64>, nsamples: usize) -> Result<Hessian, QuantError> {
        if h.len() != k * k {
            return Err(QuantError::BadInput { what: format!("Hessian of {} values for k = {k}", h.len()) });
        }
        Ok(Hessian { k, h, nsamples })
    }

    /// Adds the rows of `x` (`[rows, k]` row-major f32 activations, rows = `x.len() / k`):
    /// `H <- H·N/(N+rows) + 2/(N+rows)·XᵀX`, `N <- N + rows`. An empty batch changes nothing.
    pub fn add_batch(&mut self, x: &[f32]) -> Result<(), QuantError> {
        let k = self.k;
        if k == 0 || !x.len().is_multiple_of(k) {
            return Err(QuantError::BadInput {
                what: format!("{} activation values are not whole rows of k = {k}", x.len()),
            });
        }
        let rows = x.len() / k;
        if rows == 0 {
            return Ok(());
        }
        let total = self.nsamples + rows;
        let beta = self.nsamples as f64 / total as f64;
        let alpha = 2.0 / total as f64;
        // G = XᵀX in f32, its lower triangle only (G is symmetric: half the work); then
        // H = beta·H + alpha·G in f64 on the lower triangle, mirrored to the upper.
        let xf = MatRef::from_row_major_slice(x, rows, k);
        let mut g = vec![0f32; k * k];
        triangular::matmul(
            MatMut::from_row_major_slice_mut(&mut g, k, k),
            BlockStructure::TriangularLower,
            Accum::Replace,
            xf.transpose(),
            BlockStructure::Rectangular,
            xf,
            BlockStructure::Rectangular,
            1.0f32,
            Par::rayon(0),
        );
        for i in 0..k {
            let (hr, gr) = (&mut self.h[i * k..i * k + i + 1], &g[i * k..i * k + i + 1]);
            hr.iter_mut().zip(gr).for_each(|(h, &g)| *h = beta * *h + alpha * g as f64);
        }
        mirror_lower(&mut self.h, k);
        self.nsamples = total;
        Ok(())
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Calibration rows averaged so far.
    pub fn nsamples(&self) -> usize {
        self.nsamples
    }

    /// `[k, k]` row-major.
    pub fn matrix(&self) -> &[f64] {
        &self.h
    }

    /// `H` as a faer view.
    pub fn as_mat(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.h, self.k, self.k)
    }
}

/// Copies the lower triangle of the row-major `[k, k]` matrix `h` onto its upper triangle, in
/// square tiles so that the transposed reads stay in cache.
fn mirror_lower(h: &mut [f64], k: usize) {
    const T: usize = 64;
    for bi in (0..k).step_by(T) {
        for bj in (0..=bi).step_by(T) {
            for i in bi..(bi + T).min(k) {
                for j in bj..(bj + T).min(i) {
                    h[j * k + i] = h[i * k + j];
                }
            }
        }
    }
}
