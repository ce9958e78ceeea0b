//! GGUF, llama.cpp's checkpoint container: the type table of GGML tensor encodings, a
//! memory-mapped reader (v2/v3 header, metadata, tensor infos, alignment), dequantizers that
//! match the `gguf` PyPI package bit for bit, and block encoders (the writer is in
//! [`crate::writer`]).

pub mod dequant;
pub mod encode;
pub mod metadata;
pub mod reader;
pub mod types;

#[cfg(test)]
mod reader_tests;

pub use metadata::{MetaValue, MetaValueType};
pub use reader::{GgufFile, TensorInfo};
pub use types::GgmlType;
