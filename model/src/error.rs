//! The error type of the `model` crate. Every variant a user can cause names the file, key or
//! value involved and what was expected.

use std::path::PathBuf;

/// Errors raised while loading or running a model and its tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    // ---- tokenizer and chat template (branch `tokenizer`) ----
    /// A tokenizer or tokenizer-config file that could not be read.
    #[error("{path}: {source}")]
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
    /// An error of the `tokenizers` library (building, encoding or decoding).
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A chat template that fails to compile or render (including `raise_exception`).
    #[error("chat template: {0}")]
    ChatTemplate(String),
    /// A GGUF read error.
    #[error(transparent)]
    Gguf(#[from] quant::QuantError),
    // ---- end tokenizer ----
}

/// Result with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
