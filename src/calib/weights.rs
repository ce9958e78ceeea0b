//! The calibration model's weights as plain f32: every transform (AWQ, SmoothQuant, QuaRot) and
//! the quantizer read a Linear's dense f32 weight and put a new one back. The model is loaded
//! in f32 for calibration, so anything else is an error naming the tensor.

use model::linear::Linear;
use model::linear_weight::LinearWeight;
use model::weights::Tensor;

/// The dense f32 values of `w` (`what` names it in the error).
pub fn dense_f32(w: &LinearWeight, what: &str) -> anyhow::Result<Vec<f32>> {
    match w {
        LinearWeight::Dense(t) => Ok(t.to_f32_vec()),
        _ => anyhow::bail!("{what}: calibration needs dense f32 weights (the model is loaded in f32)"),
    }
}

/// Replaces `l`'s weight by the dense `[n, k]` values `v`.
pub fn set_dense(l: &mut Linear, v: Vec<f32>) {
    l.set_weight(LinearWeight::Dense(Tensor::from_f32(vec![l.n, l.k], v)));
}
