//! The quantization format of the activations entering a Linear, `X[tokens, k]`.

use super::{Granularity, IntFormat, IntSpec, SymScale};
use crate::QuantError;

/// How Linear inputs are quantized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActFormat {
    /// The integer grid and range mapping.
    pub spec: IntSpec,
    /// `PerToken` (one scale per row), `Group(g)` (per token, groups of `g` features) or
    /// `PerTensor`.
    pub granularity: Granularity,
    /// Scales computed from each input at run time (true) or calibrated once (false).
    pub dynamic: bool,
}

impl ActFormat {
    /// Dynamic per-token quantization: symmetric uses `absmax / (2^(b-1) - 1)` (vLLM's
    /// `dynamic_scaled_int8_quant`), asymmetric min/max.
    pub fn per_token(int: IntFormat, symmetric: bool, clip_ratio: f32) -> Result<ActFormat, QuantError> {
        let spec = IntSpec { int, symmetric, sym_scale: SymScale::MaxCode, clip_ratio };
        let f = ActFormat { spec, granularity: Granularity::PerToken, dynamic: true };
        f.validate()?;
        Ok(f)
    }

    /// Checks granularity and clip ratio.
    pub fn validate(&self) -> Result<(), QuantError> {
        match self.granularity {
            Granularity::PerToken | Granularity::Group(_) | Granularity::PerTensor => self.granularity.validate()?,
            Granularity::PerChannel => {
                return Err(QuantError::BadFormat {
                    what: "activations are quantized per-token, per token group or per-tensor, not per-channel".into(),
                })
            }
        }
        self.spec.validate()
    }

    /// Short label: "int8 per-token sym dynamic".
    pub fn label(&self) -> String {
        let sym = if self.spec.symmetric { "sym" } else { "asym" };
        let dynamic = if self.dynamic { "dynamic" } else { "static" };
        let clip = if self.spec.clip_ratio < 1.0 { format!(" clip {}", self.spec.clip_ratio) } else { String::new() };
        format!("{} {} {sym} {dynamic}{clip}", self.spec.int.name(), self.granularity.label())
    }
}
