//! KV-cache fake quantization: K and V rows (`[tokens, kv_heads * head_dim]`) are
//! quantize-dequantized as they are written to the cache, with `quant`'s scalar reference op;
//! packed KV storage and kernels come later.
//!
//! Keys in the study's KVQuant format are per-channel with static scales calibrated before
//! RoPE. Without calibration qtool uses the RTN fallback: the key's integer spec (bits,
//! asymmetric, clip) per token in groups of 128 along the row, applied to the keys as cached
//! (after RoPE) — the rule of the study's QuaRot-KV and FlatQuant code (`k_groupsize`, per-token
//! groups), without their rotation. The calibrated pre-RoPE per-channel path is a later issue.
//! Per-tensor formats would couple the tokens of a batch and are refused.

use crate::error::{ModelError, Result};
use quant::fake::fake_quant_kv_ref;
use quant::format::{Granularity, KvFormat, KvTensorFormat};

/// Group size of the per-channel RTN fallback.
pub const FALLBACK_GROUP: u32 = 128;

/// The formats K and V are fake-quantized with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KvQuant {
    /// The format asked for.
    pub format: KvFormat,
    /// What keys get (the per-channel fallback applied).
    pub k: KvTensorFormat,
    /// What values get.
    pub v: KvTensorFormat,
}

fn run_time(t: KvTensorFormat, which: &str) -> Result<KvTensorFormat> {
    match t.granularity {
        Granularity::PerChannel => Ok(KvTensorFormat { granularity: Granularity::Group(FALLBACK_GROUP), ..t }),
        Granularity::PerTensor => Err(ModelError::Request(format!(
            "KV cache {which}: per-tensor quantization ({}) is not supported at run time; use per-token or groups",
            t.label()
        ))),
        _ => Ok(t),
    }
}

impl KvQuant {
    /// The run-time formats for `format`.
    pub fn new(format: KvFormat) -> Result<Self> {
        format.validate()?;
        Ok(KvQuant { format, k: run_time(format.k, "keys")?, v: run_time(format.v, "values")? })
    }

    /// Fake-quantizes `k` and `v` (`[tokens, kv_dim]` each) in place.
    pub fn apply(&self, k: &mut [f32], v: &mut [f32], kv_dim: usize) -> Result<()> {
        fake_quant_kv_ref(k, kv_dim, &self.k, None)?;
        fake_quant_kv_ref(v, kv_dim, &self.v, None)?;
        Ok(())
    }
}
