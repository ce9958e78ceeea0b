//! The quantization format of a Linear weight `W[n, k]` (n = out_features, k = in_features).

use super::{Granularity, IntFormat, IntSpec};
use crate::QuantError;

/// How a weight `W[n, k]` is quantized: integer grid plus which elements share a scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightFormat {
    /// The integer grid and range mapping.
    pub spec: IntSpec,
    /// `PerChannel` (one scale per output row) or `Group(g)` (groups of `g` along k).
    pub granularity: Granularity,
}

impl WeightFormat {
    /// A validated format with the half-range symmetric convention and no fixed clipping.
    pub fn new(int: IntFormat, granularity: Granularity, symmetric: bool) -> Result<WeightFormat, QuantError> {
        let spec = if symmetric { IntSpec::symmetric(int) } else { IntSpec::asymmetric(int) };
        let f = WeightFormat { spec, granularity };
        f.validate()?;
        Ok(f)
    }

    /// Checks granularity (per-channel or a valid group size) and clip ratio.
    pub fn validate(&self) -> Result<(), QuantError> {
        match self.granularity {
            Granularity::PerChannel | Granularity::Group(_) => self.granularity.validate()?,
            other => {
                return Err(QuantError::BadFormat {
                    what: format!("weights are quantized per-channel or in groups, not {}", other.label()),
                })
            }
        }
        self.spec.validate()
    }

    /// The integer format.
    pub fn int(&self) -> IntFormat {
        self.spec.int
    }

    /// Bits per code.
    pub fn bits(&self) -> u32 {
        self.spec.int.bits()
    }

    /// Whether zero points are fixed at `2^(b-1)`.
    pub fn symmetric(&self) -> bool {
        self.spec.symmetric
    }

    /// The group size for a row of `k` elements (`k` itself when per-channel).
    pub fn group_size(&self, k: usize) -> usize {
        match self.granularity {
            Granularity::Group(g) => g as usize,
            _ => k.max(1),
        }
    }

    /// Groups per row, `ceil(k / group_size)`; the last one is shorter when `k` is not a multiple.
    pub fn n_groups(&self, k: usize) -> usize {
        k.div_ceil(self.group_size(k))
    }

    /// Short label: "int4 g128 sym", "int8 per-channel asym".
    pub fn label(&self) -> String {
        let sym = if self.spec.symmetric { "sym" } else { "asym" };
        format!("{} {} {}", self.spec.int.name(), self.granularity.label(), sym)
    }
}
