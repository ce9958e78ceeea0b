//! Activation observers: a hook the decoder layer calls with the input rows of its Linears, so
//! calibration (GPTQ Hessians, AWQ statistics) can see what each projection multiplies without
//! the model knowing any algorithm. Linears that read the same rows share one call:
//!
//! ```text
//! AttnIn   h = rms_norm(x)·input_layernorm          [T, d]      -> q_proj, k_proj, v_proj
//! AttnOut  attention output                          [T, H·hd]   -> o_proj
//! MlpIn    h = rms_norm(x)·post_attention_layernorm  [T, d]      -> gate_proj, up_proj
//! MlpDown  silu(gate) ⊙ up                           [T, f]      -> down_proj
//! ```
//!
//! The rows are the Linear's input before any activation fake-quantization it applies.

use crate::error::Result;

/// Which Linear input of a decoder layer an observation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinearInput {
    /// Input of q/k/v_proj `[T, d]`.
    AttnIn,
    /// Input of o_proj `[T, H·hd]`.
    AttnOut,
    /// Input of gate/up_proj `[T, d]`.
    MlpIn,
    /// Input of down_proj `[T, f]`.
    MlpDown,
}

impl LinearInput {
    /// All four, in the order the layer computes them.
    pub const ALL: [LinearInput; 4] =
        [LinearInput::AttnIn, LinearInput::AttnOut, LinearInput::MlpIn, LinearInput::MlpDown];

    /// The projections (HF module suffixes under `model.layers.{i}.`) that read this input.
    pub fn modules(self) -> &'static [&'static str] {
        match self {
            LinearInput::AttnIn => &["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
            LinearInput::AttnOut => &["self_attn.o_proj"],
            LinearInput::MlpIn => &["mlp.gate_proj", "mlp.up_proj"],
            LinearInput::MlpDown => &["mlp.down_proj"],
        }
    }
}

/// Receives a layer's Linear inputs during a forward.
pub trait LayerObserver {
    /// `x` holds `rows` rows of the input `site` (`x.len() / rows` features each).
    fn observe(&mut self, site: LinearInput, x: &[f32], rows: usize) -> Result<()>;

    /// `k` holds `rows` rows of the layer's keys before RoPE (and before any KV quantization),
    /// `[rows, Hkv·hd]` (KV-cache calibration). Ignored unless overridden.
    fn observe_keys(&mut self, _k: &[f32], _rows: usize) -> Result<()> {
        Ok(())
    }
}
