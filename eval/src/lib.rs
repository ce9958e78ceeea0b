//! `eval`: measuring models. Today: KL divergence, top-1 agreement and perplexity of a model
//! against a base model on fixed text (`kld`), following llama.cpp's `--kl-divergence`
//! convention. Answer extraction and grading for reasoning benchmarks (`grade`). Benchmark
//! runners and reports come next.
#![warn(missing_docs)]

pub mod error;
pub mod grade;
pub mod kld;

pub use error::{EvalError, Result};
