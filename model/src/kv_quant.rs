//! KV-cache fake quantization: K and V rows (`[tokens, kv_heads * head_dim]`) are
//! quantize-dequantized as they are written to the cache, with `quant`'s scalar reference op;
//! the backend's `attention` op (`kernels::kv`) reads the cache as stored (f32, or f16 with
//! `--kv-cache-dtype f16`, which rounds the dequantized values once more); storing the codes
//! themselves (int8/int4 KV storage, which the op already reads) is the next step.
//!
//! Keys in the study's KVQuant format are per-channel with static scales calibrated before
//! RoPE. With calibration (`k_min`/`k_max` per layer and channel, from `qtool quantize --calib`,
//! stored as `model.layers.{i}.self_attn.k_cache_min/max`) keys are quantized that way: each
//! channel with its own calibrated range, shifted by a static per-channel offset (0 when the
//! range holds 0, else its midpoint, so a channel far from 0 keeps its grid on its own range;
//! `quant::fake::per_channel`), before RoPE, so the rotation is applied to the dequantized keys
//! (KVQuant's pre-RoPE quantization). Without calibration qtool uses the RTN fallback: the key's
//! integer spec (bits, asymmetric, clip) per token in groups of 128 along the row, applied to
//! the keys as cached (after RoPE) — the rule of the study's QuaRot-KV and FlatQuant code
//! (`k_groupsize`, per-token groups), without their rotation. Per-tensor formats would couple
//! the tokens of a batch and are refused.

use crate::error::{ModelError, Result};
use quant::fake::{channel_params, fake_quant_kv_ref, ChannelParams};
use quant::format::{Granularity, KvFormat, KvTensorFormat, ScaleDtype};

/// Group size of the per-channel RTN fallback.
pub const FALLBACK_GROUP: u32 = 128;

/// The calibrated range of one layer's pre-RoPE keys, per channel (`[Hkv·hd]` each).
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRange {
    /// Smallest value seen per channel.
    pub min: Vec<f32>,
    /// Largest value seen per channel.
    pub max: Vec<f32>,
}

/// The formats K and V are fake-quantized with.
#[derive(Clone, Debug, PartialEq)]
pub struct KvQuant {
    /// The format asked for.
    pub format: KvFormat,
    /// What keys get after RoPE when they are not calibrated (the per-channel fallback applied).
    pub k: KvTensorFormat,
    /// What values get.
    pub v: KvTensorFormat,
    /// Calibrated per-channel key parameters per layer, applied before RoPE.
    pub k_channels: Option<Vec<ChannelParams>>,
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
    /// The run-time formats for `format`, without calibration (per-channel keys fall back).
    pub fn new(format: KvFormat) -> Result<Self> {
        format.validate()?;
        Ok(KvQuant { format, k: run_time(format.k, "keys")?, v: run_time(format.v, "values")?, k_channels: None })
    }

    /// With calibrated pre-RoPE key ranges, one per layer: per-channel key formats use them;
    /// other key formats ignore them.
    pub fn calibrated(format: KvFormat, ranges: &[KeyRange], kv_dim: usize) -> Result<Self> {
        let mut q = KvQuant::new(format)?;
        if format.k.granularity != Granularity::PerChannel {
            return Ok(q);
        }
        let mut per_layer = Vec::with_capacity(ranges.len());
        for (i, r) in ranges.iter().enumerate() {
            if r.min.len() != kv_dim || r.max.len() != kv_dim {
                return Err(ModelError::Tensor {
                    tensor: format!("model.layers.{i}.self_attn.k_cache_min/max"),
                    what: format!("{} / {} channels, expected {kv_dim}", r.min.len(), r.max.len()),
                });
            }
            if let Some(c) =
                (0..kv_dim).find(|&c| !(r.min[c].is_finite() && r.max[c].is_finite() && r.min[c] <= r.max[c]))
            {
                return Err(ModelError::Tensor {
                    tensor: format!("model.layers.{i}.self_attn.k_cache_min/max"),
                    what: format!("channel {c}: range [{}, {}] is not a finite min <= max", r.min[c], r.max[c]),
                });
            }
            per_layer.push(channel_params(&r.min, &r.max, &format.k.spec, ScaleDtype::F32));
        }
        q.k_channels = Some(per_layer);
        Ok(q)
    }

    /// Whether keys are quantized before RoPE (calibrated per-channel).
    pub fn keys_before_rope(&self) -> bool {
        self.k_channels.is_some()
    }

    /// Fake-quantizes the pre-RoPE keys `k` (`[tokens, kv_dim]`) of `layer` with their
    /// calibrated channel parameters; nothing without calibration.
    pub fn apply_keys_before_rope(&self, layer: usize, k: &mut [f32], kv_dim: usize) -> Result<()> {
        let Some(params) = &self.k_channels else { return Ok(()) };
        let p = params.get(layer).ok_or_else(|| {
            ModelError::Request(format!("no calibrated key range for layer {layer} ({} layers)", params.len()))
        })?;
        fake_quant_kv_ref(k, kv_dim, &self.format.k, Some(p))?;
        Ok(())
    }

    /// Fake-quantizes `k` (unless calibrated keys were done before RoPE) and `v` (`[tokens,
    /// kv_dim]` each, after RoPE) in place.
    pub fn apply(&self, k: &mut [f32], v: &mut [f32], kv_dim: usize) -> Result<()> {
        if self.k_channels.is_none() {
            fake_quant_kv_ref(k, kv_dim, &self.k, None)?;
        }
        fake_quant_kv_ref(v, kv_dim, &self.v, None)?;
        Ok(())
    }
}

/// Names of the tensors that hold layer `i`'s calibrated key range.
pub fn key_range_names(i: usize) -> [String; 2] {
    [format!("model.layers.{i}.self_attn.k_cache_min"), format!("model.layers.{i}.self_attn.k_cache_max")]
}
