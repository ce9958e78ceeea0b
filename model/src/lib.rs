//! `model`: Llama / Qwen2 decoders, checkpoint loading (HF safetensors folders and GGUF),
//! tokenizer and chat template, KV cache, sampler and batched generation.
#![warn(missing_docs)]

pub mod config;
pub mod config_check;
pub mod convert;
pub mod error;
pub mod generate;
pub mod inspect;
pub mod kv_cache;
pub mod kv_quant;
pub mod linear;
#[cfg(test)]
mod linear_tests;
pub mod linear_weight;
pub mod load;
pub mod observer;
pub mod prepared;
#[cfg(test)]
mod prepared_tests;
pub mod rotation;
pub mod sampler;
pub mod tokenizer;
pub mod transformer;
pub mod weights;

pub use config::{Arch, ModelConfig};
pub use error::{ModelError, Result};
pub use observer::{LayerObserver, LinearInput};
pub use transformer::{LogitRows, Model, SeqChunk};
