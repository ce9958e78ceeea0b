//! `eval`: measuring models. Today: KL divergence, top-1 agreement and perplexity of a model
//! against a base model on fixed text (`kld`), following llama.cpp's `--kl-divergence`
//! convention. Answer extraction and grading for reasoning benchmarks (`grade`), the benchmark
//! tasks (`tasks`), the runner that answers them through a generator with continuous batching
//! and resumable results (`runner`), re-grading of saved responses (`regrade`), markdown reports over results (`report`) and the
//! report of a `qtool study` with its statistics (`study_report`).
#![warn(missing_docs)]

pub mod error;
pub mod grade;
pub mod kld;
pub mod regrade;
pub mod report;
pub mod runner;
pub mod study_report;
pub mod tasks;

pub use error::{EvalError, Result};
