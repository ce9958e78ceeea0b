//! Checkpoint writers. Each is pure: it takes named f32 tensors, the `QuantizedWeight` of each
//! quantized Linear and the JSON / metadata pieces, and writes files; it never runs a model.
//!
//! - [`compressed_tensors`]: HF folder, compressed-tensors pack-quantized / int-quantized;
//! - [`gptq`]: HF folder, GPTQ v1;
//! - [`gguf_model`] over [`gguf_writer`]: one GGUF v3 file for llama.cpp, with the block
//!   encoders of [`crate::gguf::encode`];
//! - [`qtool_fake`]: HF folder of fake-quantized dense weights plus the scheme;
//! - [`capability`]: which format can express which scheme (checked before quantizing);
//! - [`atomic`]: outputs built under a temporary name and renamed into place.

pub mod atomic;
pub mod capability;
pub mod compressed_tensors;
pub mod gguf_model;
pub mod gguf_writer;
pub mod gptq;
pub mod model;
pub mod qtool_fake;
pub mod safetensors_file;

#[cfg(test)]
mod tests;

pub use atomic::{check_target, AtomicDir, AtomicFile};
pub use capability::{check, check_scheme, default_format, gguf_plan, CheckpointFormat, FormatOptions, GgufPlan};
pub use gguf_model::{GgufArch, GgufLinear, GgufModel};
pub use model::{DenseTensor, HfModel, QuantLinear, WriteStats};
