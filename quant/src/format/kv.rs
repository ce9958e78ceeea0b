//! The quantization format of the KV cache. K and V are seen per layer as
//! `[tokens, n_kv_heads * head_dim]`; a `Group(g)` with `g = head_dim` is one group per head per
//! token.

use super::{Granularity, IntFormat, IntSpec};
use crate::QuantError;

/// How one of K or V is quantized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KvTensorFormat {
    /// The integer grid and range mapping.
    pub spec: IntSpec,
    /// `PerChannel` (static per-feature scales, calibrated; KVQuant keys), `PerToken`,
    /// `Group(g)` (per token, groups of `g` features) or `PerTensor`.
    pub granularity: Granularity,
}

/// How the KV cache is quantized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KvFormat {
    /// Keys.
    pub k: KvTensorFormat,
    /// Values.
    pub v: KvTensorFormat,
}

impl KvTensorFormat {
    /// Checks granularity and clip ratio.
    pub fn validate(&self) -> Result<(), QuantError> {
        self.granularity.validate()?;
        self.spec.validate()
    }

    /// Short label: "int4 per-channel asym".
    pub fn label(&self) -> String {
        let sym = if self.spec.symmetric { "sym" } else { "asym" };
        let clip = if self.spec.clip_ratio < 1.0 { format!(" clip {}", self.spec.clip_ratio) } else { String::new() };
        format!("{} {} {sym}{clip}", self.spec.int.name(), self.granularity.label())
    }
}

impl KvFormat {
    /// The study's KVQuant-style cache (the `kv8`/`kv4`/`kv3`/`kv2` presets): keys asymmetric
    /// per-channel with static calibrated scales (taken before RoPE), values asymmetric per token
    /// in groups of 128, no clipping.
    pub fn kvquant(int: IntFormat) -> KvFormat {
        KvFormat {
            k: KvTensorFormat { spec: IntSpec::asymmetric(int), granularity: Granularity::PerChannel },
            v: KvTensorFormat { spec: IntSpec::asymmetric(int), granularity: Granularity::Group(128) },
        }
    }

    /// The study's QuaRot-KV cache (after a per-head Hadamard rotation): keys and values both
    /// asymmetric per token in groups of 128, clip ratio 0.95.
    pub fn quarot(int: IntFormat) -> KvFormat {
        let t = KvTensorFormat {
            spec: IntSpec { clip_ratio: 0.95, ..IntSpec::asymmetric(int) },
            granularity: Granularity::Group(128),
        };
        KvFormat { k: t, v: t }
    }

    /// Checks both halves.
    pub fn validate(&self) -> Result<(), QuantError> {
        self.k.validate()?;
        self.v.validate()
    }

    /// Bits of the keys (the name `kvN` uses these).
    pub fn bits(&self) -> u32 {
        self.k.spec.int.bits()
    }
}
