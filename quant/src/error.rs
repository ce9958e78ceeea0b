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
    /// A number format (bits, granularity, group size, clip ratio) that does not make sense.
    #[error("invalid quantization format: {what}")]
    BadFormat {
        /// What was wrong and what was expected.
        what: String,
    },
    /// A scheme name or override that qtool does not know or that contradicts itself.
    #[error("quantization scheme '{name}': {what}")]
    BadScheme {
        /// The scheme name as given.
        name: String,
        /// What was wrong, with the valid choices.
        what: String,
    },
    /// Quantized parts (codes, scales, zero points, g_idx, packed words) that do not fit together.
    #[error("quantized weight: {what}")]
    BadQuantized {
        /// What was wrong and what was expected.
        what: String,
    },
    /// Input to a quantizer with the wrong length or non-finite values.
    #[error("quantizer input: {what}")]
    BadInput {
        /// What was wrong and what was expected.
        what: String,
    },
    /// GPTQ could not quantize a layer: its Hessian is malformed, non-finite, empty, or not
    /// positive definite even after the damping retries.
    #[error("GPTQ, layer '{layer}': {what}")]
    Gptq {
        /// The layer's name as the caller gave it in the options (may be empty).
        layer: String,
        /// What was wrong and what to try.
        what: String,
    },
    /// A quantized weight that a checkpoint layout cannot express.
    #[error("{layout} cannot store this weight: {what}")]
    Unrepresentable {
        /// The layout, e.g. "GPTQ v1" or "compressed-tensors pack-quantized".
        layout: &'static str,
        /// Why not.
        what: String,
    },
    /// A quantization scheme a checkpoint format cannot express.
    #[error("scheme '{scheme}' cannot be written as {format}: {what}; {alternatives}")]
    SchemeNotExpressible {
        /// The scheme's canonical name.
        scheme: String,
        /// The checkpoint format asked for ("gguf", "gptq", ...).
        format: &'static str,
        /// Why not.
        what: String,
        /// Which formats can, e.g. "formats that can: compressed-tensors, qtool".
        alternatives: String,
    },
    /// A checkpoint that could not be written (the destination exists, a rename failed, ...).
    #[error("{path}: {what}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        what: String,
    },
}
