//! What a checkpoint asks of the model at run time beyond its weights: dynamic activation
//! quantization of some Linears' inputs (compressed-tensors `input_activations`, qtool
//! fake-quant schemes) and KV-cache quantization (qtool fake-quant schemes with `kvN`).

use quant::{ActFormat, KvFormat};
use std::collections::HashMap;

/// Run-time quantization a checkpoint asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuantPlan {
    /// How the checkpoint stores its Linears, one line (`dense`, `GGUF blocks`,
    /// `compressed-tensors pack-quantized int4 g128 sym`, ...).
    pub description: String,
    /// Input quantization by Linear prefix (`model.layers.0.mlp.up_proj`).
    pub act: HashMap<String, ActFormat>,
    /// KV-cache quantization.
    pub kv: Option<KvFormat>,
    /// QuaRot's online rotations, when the weights were rotated for them.
    pub rotation: Option<crate::rotation::RotationPlan>,
}

impl QuantPlan {
    /// Nothing quantized at run time; `description` says how the weights are stored.
    pub fn none(description: &str) -> Self {
        QuantPlan { description: description.into(), ..Default::default() }
    }
}
