//! `Linear`: `y[m, n] = act(x)[m, k] · W[n, k]ᵀ (+ b[n])`. One type for every projection, whatever
//! its weight storage ([`LinearWeight`]: dense, qtool-packed or GGML blocks), so the f32/bf16
//! baseline and every quantized scheme run the same model code. `act` is an optional dynamic
//! activation quantization (W8A8, W4A8, W4A4): the input rows are quantize-dequantized
//! (fake-quantized, per token) before the matmul, with the scalar reference op of `quant`.
//!
//! W8A8 proper — int8 symmetric per-channel weights with dynamic int8 symmetric per-token
//! activations (compressed-tensors `int-quantized`, vLLM's W8A8) — runs in integers: each x
//! row is quantized with `quant`'s own quantizer (the codes the fake-quant path would use) and
//! [`Backend::matmul_w8a8_packed`] sums `q_x · q_w` exactly in i32, then scales by `s_x · s_w`,
//! as vLLM's int8 kernels do. Other activation formats (W4A8, W4A4, groups) run as fake-quant
//! of x followed by the dequantizing matmul: each output is `Σ (q_x s_x)(q_w s_w)` summed in
//! f32, equal to the integer form up to f32 rounding.

use crate::error::{ModelError, Result};
use crate::linear_weight::LinearWeight;
use crate::load::Checkpoint;
use crate::prepared::PreparedSlot;
use crate::weights::{Tensor, WeightMap};
use kernels::Backend;
use quant::fake::{fake_quant_act_ref, quantize_row_ref};
use quant::{ActFormat, Granularity, IntFormat};

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

    /// Prepares the weight on `backend` (uploads it once to a GPU; nothing on the CPU); an
    /// integer W8A8 Linear ([`Self::is_integer_w8a8`]) as an int8 weight for
    /// [`Backend::matmul_w8a8_prepared`].
    pub fn prepare(&mut self, backend: &dyn Backend) -> Result<()> {
        self.prepared = if self.is_integer_w8a8() {
            PreparedSlot::prepare_w8a8(backend, &self.weight)?
        } else {
            PreparedSlot::prepare(backend, &self.weight)?
        };
        Ok(())
    }

    /// Whether this Linear runs in integers: int8 symmetric per-channel weight
    /// ([`kernels::ops::w8a8_packed_supported`]) and dynamic int8 symmetric per-token activations.
    pub fn is_integer_w8a8(&self) -> bool {
        let act = self.act.as_ref().is_some_and(|a| {
            a.dynamic && a.granularity == Granularity::PerToken && a.spec.int == IntFormat::Int8 && a.spec.symmetric
        });
        act && matches!(&self.weight, LinearWeight::Packed(p) if kernels::ops::w8a8_packed_supported(p))
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
        if let (true, Some(act), LinearWeight::Packed(w)) = (self.is_integer_w8a8(), &self.act, &self.weight) {
            let (xq, xs) = quantize_rows_i8(x, self.k, act);
            match self.prepared.as_ref().and_then(|p| p.get(&self.weight)) {
                Some(p) => backend.matmul_w8a8_prepared(&xq, &xs, m, p, y)?,
                None => backend.matmul_w8a8_packed(&xq, &xs, m, w, y)?,
            }
            self.add_bias(y);
            return Ok(());
        }
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
        self.add_bias(y);
        Ok(())
    }

    fn add_bias(&self, y: &mut [f32]) {
        if let Some(b) = &self.bias {
            for row in y.chunks_exact_mut(self.n) {
                for (v, bb) in row.iter_mut().zip(b) {
                    *v += bb;
                }
            }
        }
    }
}

/// `x[m, k]` quantized per row with `act` (int8, symmetric: codes `q + 128`, zero point 128)
/// by `quant`'s quantizer: signed codes `xq[m, k]` and one scale per row.
fn quantize_rows_i8(x: &[f32], k: usize, act: &ActFormat) -> (Vec<i8>, Vec<f32>) {
    let mut xq = vec![0i8; x.len()];
    let mut scales = Vec::with_capacity(x.len() / k.max(1));
    let mut codes = vec![0u8; k];
    for (row, q) in x.chunks_exact(k.max(1)).zip(xq.chunks_exact_mut(k.max(1))) {
        let qp = quantize_row_ref(row, &act.spec, &mut codes);
        debug_assert_eq!(qp.zero, 128, "symmetric int8 has zero point 128");
        for (o, &c) in q.iter_mut().zip(&codes) {
            *o = (c ^ 0x80) as i8;
        }
        scales.push(qp.scale);
    }
    (xq, scales)
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
