//! `Linear`: `y[m, n] = act(x)[m, k] · W[n, k]ᵀ (+ b[n])`. One type for every projection, whatever
//! its weight storage ([`LinearWeight`]: dense, qtool-packed or GGML blocks), so the f32/bf16
//! baseline and every quantized scheme run the same model code. `act` is an optional dynamic
//! activation quantization (W8A8, W4A8, W4A4): the input rows are quantize-dequantized
//! (fake-quantized, per token) before the matmul, with the scalar reference op of `quant`.
//!
//! W8A8 (compressed-tensors `int-quantized`) therefore runs as fake-quant of x followed by the
//! dequantizing matmul over the int8 weights, not as integer dot products: each output is
//! `Σ (q_x s_x)(q_w s_w)` summed in f32, which equals the integer form `s_x s_w Σ q_x q_w` up to
//! f32 rounding (an i8×i8→i32 kernel is a later issue).

use crate::error::{ModelError, Result};
use crate::linear_weight::LinearWeight;
use crate::load::Checkpoint;
use crate::prepared::PreparedSlot;
use crate::weights::{Tensor, WeightMap};
use kernels::Backend;
use quant::fake::fake_quant_act_ref;
use quant::ActFormat;

/// A linear layer.
pub struct Linear {
    /// W[n, k].
    pub weight: LinearWeight,
    /// `b[n]`, if the layer has a bias.
    pub bias: Option<Vec<f32>>,
    /// Output features n.
    pub n: usize,
    /// Input features k.
    pub k: usize,
    /// Dynamic quantization of the input rows, if any.
    pub act: Option<ActFormat>,
    /// The weight as the backend prepared it (see [`crate::prepared`]).
    prepared: Option<PreparedSlot>,
}

impl Linear {
    /// A Linear over `weight` (`n`, `k` from its shape), without activation quantization.
    pub fn new(weight: LinearWeight, bias: Option<Vec<f32>>) -> Self {
        let [n, k] = weight.shape();
        Linear { weight, bias, n, k, act: None, prepared: None }
    }

    /// Takes `{prefix}.weight` (`[n, k]`, packed or dense), its bias `{prefix}.bias` (`[n]`) when
    /// `bias`, and the activation format the checkpoint sets for `prefix`. A bias the
    /// architecture does not have is dropped when it is all zeros (GPTQ writers store them) and
    /// an error otherwise.
    pub fn take(ck: &mut Checkpoint, prefix: &str, n: usize, k: usize, bias: bool) -> Result<Self> {
        let weight = take_weight(ck, &format!("{prefix}.weight"), [n, k])?;
        let bias_name = format!("{prefix}.bias");
        let bias = if bias {
            Some(take_tensor(&mut ck.weights, &bias_name, &[n])?.to_f32_vec())
        } else {
            if let Some(b) = ck.weights.remove(&bias_name) {
                if b.to_f32_vec().iter().any(|&v| v != 0.0) {
                    return Err(ModelError::Tensor {
                        tensor: bias_name,
                        what: "a non-zero bias on a projection the architecture has no bias for".into(),
                    });
                }
            }
            None
        };
        let act = ck.quant.act.remove(prefix);
        Ok(Linear { weight, bias, n, k, act, prepared: None })
    }

    /// Replaces the weight (same `[n, k]`), dropping what the backend prepared of the old one.
    pub fn set_weight(&mut self, weight: LinearWeight) {
        debug_assert_eq!(weight.shape(), [self.n, self.k]);
        self.weight = weight;
        self.prepared = None;
    }

    /// Prepares the weight on `backend` (uploads it once to a GPU; nothing on the CPU).
    pub fn prepare(&mut self, backend: &dyn Backend) -> Result<()> {
        self.prepared = PreparedSlot::prepare(backend, &self.weight)?;
        Ok(())
    }

    /// Drops what the backend prepared (the plain path runs until [`Self::prepare`]).
    pub fn unprepare(&mut self) {
        self.prepared = None;
    }

    /// [`Self::unprepare`], returning the Linear (for iterators handing out `&mut Linear`).
    pub(crate) fn unprepared(&mut self) -> &mut Self {
        self.unprepare();
        self
    }

    /// y[m, n] = act(x) · Wᵀ + b.
    pub fn forward(&self, backend: &dyn Backend, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
        let quantized;
        let x = match &self.act {
            Some(a) => {
                let mut q = x.to_vec();
                fake_quant_act_ref(&mut q, self.k, a)?;
                quantized = q;
                &quantized[..]
            }
            None => x,
        };
        self.weight.matmul_with(backend, self.prepared.as_ref(), x, m, y)?;
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

/// Removes the weight `name` (`[n, k]`) from the checkpoint: the Linear weight the loader built
/// (packed) if there is one, else the dense tensor.
pub fn take_weight(ck: &mut Checkpoint, name: &str, shape: [usize; 2]) -> Result<LinearWeight> {
    if let Some(w) = ck.linears.remove(name) {
        if w.shape() != shape {
            return Err(ModelError::Tensor {
                tensor: name.into(),
                what: format!("shape {:?} ({}), expected {shape:?}", w.shape(), w.label()),
            });
        }
        return Ok(w);
    }
    Ok(LinearWeight::Dense(take_tensor(&mut ck.weights, name, &shape)?))
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
