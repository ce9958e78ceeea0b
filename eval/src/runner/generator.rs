//! The engine interface the runner drives: requests in (a user message, sampling settings and
//! a random stream), completions out, in any order, as each finishes. The in-process engine
//! ([`super::local::LocalGenerator`]) implements it with continuous batching; an HTTP client
//! of an OpenAI-compatible server can implement it with bounded concurrency.

use crate::error::Result;
use model::sampler::SamplingParams;
use serde::{Deserialize, Serialize};

/// One generation to run.
#[derive(Debug, Clone)]
pub struct GenRequest {
    /// The caller's handle; echoed in the output.
    pub key: usize,
    /// The user message; the engine applies the model's chat template.
    pub user: String,
    /// Temperature, top-p, top-k and seed.
    pub sampling: SamplingParams,
    /// The random stream within the seed (one per item), so that the tokens depend on
    /// (seed, stream) only, not on what else runs.
    pub stream: u64,
    /// Most tokens to generate (the engine clamps it to the context).
    pub max_new_tokens: usize,
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    /// The model ended its turn (an EOS or end-of-turn token).
    Eos,
    /// `max_new_tokens` was reached.
    Length,
    /// The context window was full (`max_new_tokens` was clamped to it).
    Context,
    /// The prompt alone fills the context; nothing was generated.
    PromptTooLong,
    /// A stop string matched, or the caller ended it (only `qtool serve` uses this).
    Stop,
}

impl Finish {
    /// Whether the answer was cut off (counts as truncated in summaries).
    pub fn truncated(self) -> bool {
        !matches!(self, Finish::Eos | Finish::Stop)
    }
}

/// One finished generation.
#[derive(Debug, Clone)]
pub struct GenOutput {
    /// The request's key.
    pub key: usize,
    /// Prompt tokens after the chat template.
    pub prompt_tokens: usize,
    /// Generated token ids (without the EOS); empty when the engine cannot see ids.
    pub tokens: Vec<u32>,
    /// Number of generated tokens.
    pub gen_tokens: usize,
    /// The decoded response (special tokens skipped).
    pub text: String,
    /// Why it ended.
    pub finish: Finish,
    /// Seconds from the start of its prefill to its last token.
    pub secs: f64,
}

/// What produced the completions, recorded with every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// The checkpoint path (or served model name).
    pub model: String,
    /// The quantization scheme the checkpoint records, if any.
    pub scheme: Option<String>,
    /// The backend (`cpu`, ...) or endpoint URL.
    pub backend: String,
    /// Context length in tokens.
    pub context: usize,
}

/// An engine that turns requests into completions.
pub trait Generator {
    /// What this engine runs.
    fn info(&self) -> EngineInfo;
    /// Runs every request and calls `on_done` once per request as it finishes (in any order).
    /// An error from `on_done` stops the run and is returned.
    fn generate(&mut self, requests: Vec<GenRequest>, on_done: &mut dyn FnMut(GenOutput) -> Result<()>) -> Result<()>;
}
