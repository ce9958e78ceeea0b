//! `quant`: number formats and their block layouts, checkpoint containers (GGUF), packing,
//! checkpoint writers and quantizers. This crate knows formats and algorithms; it never runs a model.
#![warn(missing_docs)]

pub mod awq;
pub mod error;
pub mod fake;
pub mod format;
pub mod gguf;
pub mod gptq;
pub mod pack;
pub mod qweight;
pub mod rtn;
pub mod scheme;
pub mod smooth;
pub mod stats;
pub mod writer;

#[cfg(test)]
mod test_util;

pub use error::QuantError;
pub use format::{ActFormat, Granularity, IntFormat, KvFormat, ScaleDtype, WeightFormat};
pub use gptq::{quantize_gptq, GptqOptions, GptqResult, Hessian};
pub use qweight::{QuantizedParts, QuantizedWeight};
pub use rtn::{quantize_rtn, ClipSearch, RtnOptions};
pub use scheme::{list_presets, Scheme, SchemeOverrides};
