//! The error type of the `model` crate. Every variant a user can cause names the file, tensor or
//! field involved and what was expected.

use std::path::PathBuf;

/// Errors raised while loading, tokenizing or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An I/O error on a named file.
    #[error("{path}")]
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
    /// An error of the `tokenizers` library (building, encoding or decoding).
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    // ---- tokenizer and chat template (branch `tokenizer`) ----
    /// A tokenizer or tokenizer-config file that could not be read.
    #[error("{path}")]
    TokenizerFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A tokenizer-config file that is not valid JSON or lacks a needed field.
    #[error("{path}: {what}")]
    TokenizerConfig {
        /// The file.
        path: PathBuf,
        /// What was wrong and what was expected.
        what: String,
    },
    /// A tokenizer model or pre-tokenizer qtool cannot rebuild from GGUF metadata.
    #[error("GGUF metadata '{key}' = '{value}' is not supported; supported: {supported}")]
    UnsupportedTokenizer {
        /// The metadata key (`tokenizer.ggml.model` or `tokenizer.ggml.pre`).
        key: String,
        /// The value found.
        value: String,
        /// The values qtool supports, comma separated.
        supported: String,
    },
    /// Tokenizer metadata that is missing, mistyped or inconsistent.
    #[error("GGUF metadata '{key}': {what}")]
    TokenizerMetadata {
        /// The metadata key.
        key: String,
        /// What was wrong and what was expected.
        what: String,
    },
    /// A chat template that fails to compile or render (including `raise_exception`).
    #[error("chat template: {0}")]
    ChatTemplate(String),
    // ---- end tokenizer ----
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ModelError>;
