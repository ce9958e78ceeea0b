//! `model` crate: Llama / Qwen2 architectures, checkpoint loading, tokenizer and chat template.

pub mod error;
pub mod tokenizer;
