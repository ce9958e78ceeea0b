//! One line of the results JSONL: which configuration answered which item under which seed,
//! what it said, and how it was graded and timed.

use super::generator::{EngineInfo, Finish};
use serde::{Deserialize, Serialize};

/// The settings that must match for two results to belong to the same run (resume refuses a
/// file written under other settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The engine: model, scheme, backend, context.
    #[serde(flatten)]
    pub engine: EngineInfo,
    /// Sampling temperature (0 = greedy).
    pub temperature: f32,
    /// Nucleus threshold.
    pub top_p: f32,
    /// Top-k (0 = off).
    pub top_k: usize,
    /// The `--max-new-tokens` asked for (before clamping to the context).
    pub max_new_tokens: usize,
}

/// One graded response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The run's configuration.
    pub config: RunConfig,
    /// Task name (`gsm8k`, `aime`, ...).
    pub task: String,
    /// Sampling seed.
    pub seed: u64,
    /// Item id.
    pub id: String,
    /// Prompt tokens after the chat template.
    pub prompt_tokens: usize,
    /// The model's response.
    pub response: String,
    /// The extracted answer, if any.
    pub extracted: Option<String>,
    /// Where it was found (`boxed`, `fallback`, `code`).
    pub source: Option<String>,
    /// Whether it matches the gold answer.
    pub correct: bool,
    /// Generated tokens.
    pub gen_tokens: usize,
    /// Reasoning steps: non-empty `\n\n`-separated chunks of the response.
    pub steps: usize,
    /// Why generation ended.
    pub finish: Finish,
    /// Seconds from prefill to the last token.
    pub secs: f64,
    /// The command line that produced it (kept out of [`RunConfig`], which must match for a
    /// resume: the same run may be resumed from another folder or with another --out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl Record {
    /// The resume key.
    pub fn key(&self) -> (String, u64, String) {
        (self.task.clone(), self.seed, self.id.clone())
    }
}

/// Non-empty `\n\n`-separated chunks of `text` (the study's reasoning steps).
pub fn count_steps(text: &str) -> usize {
    text.split("\n\n").filter(|s| !s.trim().is_empty()).count()
}
