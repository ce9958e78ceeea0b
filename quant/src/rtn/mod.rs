//! Round-to-nearest (RTN) weight quantization: per-channel or per-group min/max scales, an
//! optional per-group clip search, producing a [`QuantizedWeight`](crate::qweight::QuantizedWeight).

pub mod clip_search;
pub mod pow;
pub mod quantize;

#[cfg(test)]
mod tests;

pub use clip_search::{group_error, group_qparams, ClipSearch};
pub use quantize::{quantize_rtn, RtnOptions};
