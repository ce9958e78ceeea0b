//! The error type of the `model` crate. Every variant a user can cause names the file, tensor or
//! field involved and what was expected.

use std::path::PathBuf;

/// Errors raised while loading, tokenizing or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error from the GGUF reader or a dequantizer.
    #[error(transparent)]
    Quant(#[from] quant::QuantError),
    /// A kernel rejected its arguments (a shape bug, reported instead of a panic).
    #[error(transparent)]
    Kernel(#[from] kernels::KernelError),
    /// `config.json` (or GGUF metadata) lacks a field or has one of the wrong type.
    #[error("{path}: field '{field}': {what}")]
    Config {
        /// The file.
        path: PathBuf,
        /// The field or metadata key.
        field: String,
        /// What was expected.
        what: String,
    },
    /// An architecture qtool cannot run.
    #[error("{path}: unsupported architecture '{arch}' (supported: {supported})")]
    UnsupportedArchitecture {
        /// The file naming it.
        path: PathBuf,
        /// The architecture.
        arch: String,
        /// The supported ones.
        supported: String,
    },
    /// A safetensors file that cannot be read.
    #[error("{path}: {what}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// A tensor that is missing or has the wrong shape or dtype.
    #[error("tensor '{tensor}': {what}")]
    Tensor {
        /// The tensor name.
        tensor: String,
        /// What was wrong and what was expected.
        what: String,
    },
    /// A request the model cannot serve (e.g. a prompt longer than the context).
    #[error("{0}")]
    Request(String),
    /// Tokenizer or chat-template failure.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ModelError>;
