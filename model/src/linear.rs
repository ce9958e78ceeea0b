//! `Linear`: y[m, n] = x[m, k] · W[n, k]ᵀ (+ b[n]). One type for every projection so the f32/bf16
//! baseline and later packed schemes run the same model code.

use crate::error::{ModelError, Result};
use crate::weights::{Tensor, WeightMap};
use kernels::Backend;

/// A dense linear layer.
pub struct Linear {
    /// W[n, k].
    pub weight: Tensor,
    /// b[n], if the layer has a bias.
    pub bias: Option<Vec<f32>>,
    /// Output features n.
    pub n: usize,
    /// Input features k.
    pub k: usize,
}

impl Linear {
    /// Takes `{prefix}.weight` (shape `[n, k]`) and, when `bias`, `{prefix}.bias` (`[n]`) from `w`.
    pub fn take(w: &mut WeightMap, prefix: &str, n: usize, k: usize, bias: bool) -> Result<Self> {
        let weight = take_tensor(w, &format!("{prefix}.weight"), &[n, k])?;
        let bias = if bias { Some(take_tensor(w, &format!("{prefix}.bias"), &[n])?.to_f32_vec()) } else { None };
        Ok(Linear { weight, bias, n, k })
    }

    /// y[m, n] = x[m, k] · Wᵀ + b.
    pub fn forward(&self, backend: &dyn Backend, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
        backend.matmul(x, m, self.k, self.weight.dense(), self.n, y)?;
        if let Some(b) = &self.bias {
            for row in y.chunks_exact_mut(self.n) {
                for (v, bb) in row.iter_mut().zip(b) {
                    *v += bb;
                }
            }
        }
        Ok(())
    }
}

/// Removes `name` from `w`, checking its shape.
pub fn take_tensor(w: &mut WeightMap, name: &str, shape: &[usize]) -> Result<Tensor> {
    let t = w
        .remove(name)
        .ok_or_else(|| ModelError::Tensor { tensor: name.into(), what: "missing from the checkpoint".into() })?;
    if t.shape != shape {
        return Err(ModelError::Tensor {
            tensor: name.into(),
            what: format!("shape {:?}, expected {:?}", t.shape, shape),
        });
    }
    Ok(t)
}
