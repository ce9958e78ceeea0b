//! Which elements share one scale (and zero point).
//!
//! Every tensor is seen as rows: a weight `W[n, k]` has one row per output channel; an activation
//! or KV tensor `[tokens, features]` has one row per token.

use crate::QuantError;

/// Which elements share one scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// One scale for the whole tensor.
    PerTensor,
    /// Weights: one scale per output channel (row of `W[n, k]`, the same as one group of `k`).
    /// Activations / KV: one static scale per feature column, shared by all tokens (KVQuant's
    /// per-channel keys).
    PerChannel,
    /// One scale per row per group of this many consecutive elements along the row (the input
    /// dimension for weights, the feature dimension for a token). A row whose length is not a
    /// multiple of the group size ends with one shorter group.
    Group(u32),
    /// Activations / KV: one scale per row (token), computed from that row at run time.
    PerToken,
}

/// Group sizes must be positive multiples of this, so that every group starts on a byte
/// boundary in every packed layout (8 codes of 2, 3, 4 or 8 bits are 2, 3, 4 or 8 bytes).
pub const GROUP_MULTIPLE: u32 = 8;

impl Granularity {
    /// The group size of `Group(g)`, else `None`.
    pub fn group(self) -> Option<u32> {
        match self {
            Granularity::Group(g) => Some(g),
            _ => None,
        }
    }

    /// Short label used in scheme names and descriptions: "per-tensor", "per-channel", "g128",
    /// "per-token".
    pub fn label(self) -> String {
        match self {
            Granularity::PerTensor => "per-tensor".into(),
            Granularity::PerChannel => "per-channel".into(),
            Granularity::Group(g) => format!("g{g}"),
            Granularity::PerToken => "per-token".into(),
        }
    }

    /// Checks a `Group` size: positive and a multiple of [`GROUP_MULTIPLE`].
    pub fn validate(self) -> Result<(), QuantError> {
        if let Granularity::Group(g) = self {
            if g == 0 || !g.is_multiple_of(GROUP_MULTIPLE) {
                return Err(QuantError::BadFormat {
                    what: format!(
                        "group size must be a positive multiple of {GROUP_MULTIPLE} (32, 64, 128, ...), got {g}"
                    ),
                });
            }
        }
        Ok(())
    }
}
