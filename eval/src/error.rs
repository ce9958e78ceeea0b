//! The error type of the `eval` crate. Every variant a user can cause says what was wrong and,
//! where it helps, what to do instead.

use std::path::PathBuf;

/// Errors raised while preparing or running an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Loading, tokenizing or running a model failed.
    #[error(transparent)]
    Model(#[from] model::ModelError),
    /// The backend could not be created.
    #[error(transparent)]
    Kernel(#[from] kernels::KernelError),
    /// Reading a checkpoint's metadata failed.
    #[error(transparent)]
    Quant(#[from] quant::QuantError),
    /// An I/O error on a named file.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input text that cannot be used (not UTF-8, a JSONL line without the field, ...).
    #[error("{path}: {what}")]
    Text {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// An option out of range (`--ctx 4`, `--chunks 0`, ...).
    #[error("{0}")]
    BadOption(String),
    /// The text tokenizes to fewer tokens than one chunk.
    #[error("the text tokenizes to {tokens} tokens, fewer than one chunk of --ctx {ctx}; use a longer text or a smaller --ctx")]
    TextTooShort {
        /// Tokens in the text.
        tokens: usize,
        /// The chunk length asked for.
        ctx: usize,
    },
    /// The model under test and the base do not share a vocabulary, so their distributions
    /// cannot be compared token by token.
    #[error("the model and the base have different vocabularies: {0}")]
    VocabMismatch(String),
    /// A base-logit cache written for other inputs (text, context, base, ...).
    #[error("base-logit cache {path} does not match this run: {what}")]
    CacheMismatch {
        /// The cache file.
        path: PathBuf,
        /// Which key differs, with the cached and wanted values.
        what: String,
    },
    /// A base-logit cache that cannot be read (truncated, wrong format, bad checksum).
    #[error("base-logit cache {path} is unreadable: {what}")]
    CacheCorrupt {
        /// The cache file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// An OpenAI-compatible server refused a request or could not be reached.
    #[error("{url}: {what}")]
    Endpoint {
        /// The URL asked.
        url: String,
        /// What went wrong.
        what: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, EvalError>;
