//! `quant`: number formats and their block layouts, checkpoint containers (GGUF), packing and
//! quantizers. This crate knows formats and algorithms; it never runs a model.
#![warn(missing_docs)]

pub mod error;
pub mod gguf;

pub use error::QuantError;
