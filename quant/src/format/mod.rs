//! Number formats: the integer format table, granularities, scale storage types, the scalar
//! range-to-grid mapping, and the per-tensor formats of weights, activations and the KV cache.

pub mod act;
pub mod granularity;
pub mod int_format;
pub mod int_spec;
pub mod kv;
pub mod scale_dtype;
pub mod weight;

#[cfg(test)]
mod tests;

pub use act::ActFormat;
pub use granularity::{Granularity, GROUP_MULTIPLE};
pub use int_format::{IntFormat, IntFormatInfo, INT_FORMATS};
pub use int_spec::{IntSpec, QParams, SymScale};
pub use kv::{KvFormat, KvTensorFormat};
pub use scale_dtype::ScaleDtype;
pub use weight::WeightFormat;
