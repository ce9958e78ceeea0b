//! Batched generation: all prompts are prefilled in one ragged forward step, then every
//! unfinished sequence decodes one token per step in a shared batch. Sequences stop on an EOS
//! id, on the caller's say-so (stop strings), at `max_new_tokens`, or when the context is full.

use crate::error::{ModelError, Result};
use crate::sampler::{Sampler, SamplingParams};
use crate::transformer::{LogitRows, Model, SeqChunk};
use std::time::Instant;

/// Generation settings.
#[derive(Debug, Clone)]
pub struct GenerateParams {
    /// Most tokens to generate per sequence.
    pub max_new_tokens: usize,
    /// Sampling settings (the sequence index is the random stream).
    pub sampling: SamplingParams,
    /// Token ids that end a sequence (not included in its output).
    pub eos_ids: Vec<u32>,
}

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// An EOS token was sampled.
    Eos,
    /// `max_new_tokens` was reached.
    Length,
    /// The caller asked to stop (a stop string).
    Stop,
    /// The context window is full.
    ContextFull,
}

/// One sequence's output.
#[derive(Debug, Clone)]
pub struct Completion {
    /// Generated ids (without the EOS).
    pub tokens: Vec<u32>,
    /// Why it ended.
    pub finish: FinishReason,
}

/// Timing of a generation call.
#[derive(Debug, Clone, Default)]
pub struct GenStats {
    /// Prompt tokens processed.
    pub prefill_tokens: usize,
    /// Seconds spent in prefill.
    pub prefill_secs: f64,
    /// Tokens generated (all sequences, the first one sampled from the prefill logits too).
    pub generated_tokens: usize,
    /// Forward steps after prefill.
    pub decode_steps: usize,
    /// Tokens fed through those steps (one per active sequence per step).
    pub decode_tokens: usize,
    /// Seconds spent in decode steps (sampling included).
    pub decode_secs: f64,
}

impl GenStats {
    /// Prompt tokens per second.
    pub fn prefill_tps(&self) -> f64 {
        self.prefill_tokens as f64 / self.prefill_secs.max(1e-9)
    }
    /// Decode-step tokens per second across the batch.
    pub fn decode_tps(&self) -> f64 {
        self.decode_tokens as f64 / self.decode_secs.max(1e-9)
    }
}

/// Generates continuations of `prompts`. `on_token(seq, token)` sees every generated token as
/// it is produced and returns `true` to stop that sequence (finish reason `Stop`).
pub fn generate_batch(
    model: &Model,
    prompts: &[Vec<u32>],
    params: &GenerateParams,
    on_token: &mut dyn FnMut(usize, u32) -> bool,
) -> Result<(Vec<Completion>, GenStats)> {
    let ctx = model.config.max_position_embeddings;
    for (i, p) in prompts.iter().enumerate() {
        if p.is_empty() {
            return Err(ModelError::Request(format!("prompt {i} is empty")));
        }
        if p.len() >= ctx {
            return Err(ModelError::Request(format!(
                "prompt {i} has {} tokens but the model's context is {ctx} tokens (at least one must be left to generate)",
                p.len()
            )));
        }
    }
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let mut cache = model.new_cache(prompts.len(), longest.saturating_add(params.max_new_tokens));
    let mut samplers: Vec<Sampler> = (0..prompts.len()).map(|i| Sampler::new(params.sampling, i as u64)).collect();
    let mut out: Vec<Completion> =
        prompts.iter().map(|_| Completion { tokens: Vec::new(), finish: FinishReason::Length }).collect();
    let mut stats = GenStats::default();

    let t0 = Instant::now();
    let chunks: Vec<SeqChunk> = prompts.iter().enumerate().map(|(slot, p)| SeqChunk { slot, tokens: p }).collect();
    let mut logits = model.forward(&chunks, &mut cache, LogitRows::Last)?;
    stats.prefill_tokens = prompts.iter().map(Vec::len).sum();
    stats.prefill_secs = t0.elapsed().as_secs_f64();

    let vocab = model.config.vocab_size;
    let mut active: Vec<usize> = (0..prompts.len()).collect();
    let t1 = Instant::now();
    while !active.is_empty() {
        let mut next_active = Vec::with_capacity(active.len());
        let mut next_tokens = Vec::with_capacity(active.len());
        for (row, &s) in active.iter().enumerate() {
            if params.max_new_tokens == 0 {
                continue;
            }
            let tok = samplers[s].sample(&logits[row * vocab..(row + 1) * vocab]);
            if params.eos_ids.contains(&tok) {
                out[s].finish = FinishReason::Eos;
                continue;
            }
            out[s].tokens.push(tok);
            stats.generated_tokens += 1;
            if on_token(s, tok) {
                out[s].finish = FinishReason::Stop;
            } else if out[s].tokens.len() >= params.max_new_tokens {
                out[s].finish = FinishReason::Length;
            } else if cache.len(s) + 1 > cache.max_seq() {
                out[s].finish = FinishReason::ContextFull;
            } else {
                next_active.push(s);
                next_tokens.push(tok);
            }
        }
        active = next_active;
        if active.is_empty() {
            break;
        }
        let toks: Vec<[u32; 1]> = next_tokens.iter().map(|&t| [t]).collect();
        let chunks: Vec<SeqChunk> =
            active.iter().zip(&toks).map(|(&slot, t)| SeqChunk { slot, tokens: t.as_slice() }).collect();
        logits = model.forward(&chunks, &mut cache, LogitRows::Last)?;
        stats.decode_steps += 1;
        stats.decode_tokens += chunks.len();
    }
    stats.decode_secs = t1.elapsed().as_secs_f64();
    Ok((out, stats))
}
