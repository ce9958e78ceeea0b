//! The error type of the `quant` crate. Every variant a user can cause names the file, tensor or
//! field involved and what was expected.

use std::path::PathBuf;

/// Errors raised while reading, dequantizing or writing quantized data.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// An I/O error on a named file.
    #[error("{path}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A GGUF file whose bytes do not follow the format.
    #[error("{path}: malformed GGUF: {what}")]
    MalformedGguf {
        /// The file.
        path: PathBuf,
        /// What was wrong and what was expected.
        what: String,
    },
    /// A tensor stored in a GGML type qtool cannot decode.
    #[error("tensor '{tensor}': unsupported GGML type {ty}")]
    UnsupportedType {
        /// The tensor's name.
        tensor: String,
        /// The type's name or numeric id.
        ty: String,
    },
    /// A buffer whose length does not match the shape and type it claims.
    #[error("tensor '{tensor}': {what}")]
    BadTensor {
        /// The tensor's name.
        tensor: String,
        /// What was wrong.
        what: String,
    },
    /// A missing or mistyped metadata key.
    #[error("{path}: metadata key '{key}': {what}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What was expected.
        what: String,
    },
}
