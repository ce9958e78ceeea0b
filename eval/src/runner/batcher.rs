//! The continuous-batching step loop, shared by the in-process runner ([`super::LocalGenerator`])
//! and `qtool serve`'s engine thread. A [`Batcher`] owns a KV cache of a fixed number of
//! slots; the caller admits sequences into free slots whenever it likes, and each
//! [`Batcher::step`] is one ragged forward over every sequence in flight (the whole prompt of a
//! newly admitted one, the last sampled token of the others), then one sampled token for each.
//! A sequence ends on an end-of-turn token, at its budget, or when the caller's token callback
//! says so (a stop string matched, the client went away); its slot is free for the next step.

use super::generator::Finish;
use crate::error::{EvalError, Result};
use model::kv_cache::KvCache;
use model::sampler::Sampler;
use model::tokenizer::Tokenizer;
use model::{LogitRows, Model, ModelError, SeqChunk};
use std::time::Instant;

/// A sequence to run: a tokenized prompt, its sampler and its token budget.
pub struct Admit {
    /// The caller's handle, passed back with every token and at the end.
    pub key: usize,
    /// Prompt token ids (chat template applied by the caller).
    pub prompt: Vec<u32>,
    /// The sequence's own random stream.
    pub sampler: Sampler,
    /// Most tokens to generate (already clamped to the context).
    pub budget: usize,
    /// Whether the budget was clamped to the context (a sequence that reaches it then ends
    /// with [`Finish::Context`] rather than [`Finish::Length`]).
    pub clamped: bool,
}

/// A sequence that ended.
pub struct Finished {
    /// The key it was admitted with.
    pub key: usize,
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Generated ids (no EOS).
    pub tokens: Vec<u32>,
    /// Why it ended.
    pub finish: Finish,
    /// Seconds from its admission to its last token.
    pub secs: f64,
}

struct Live {
    slot: usize,
    job: Admit,
    input: Vec<u32>,
    tokens: Vec<u32>,
    start: Instant,
}

/// Sequences in flight over one KV cache.
pub struct Batcher {
    cache: KvCache,
    free: Vec<usize>,
    live: Vec<Live>,
}

impl Batcher {
    /// A batcher with `n_slots` slots of up to `max_seq` tokens each (clamped to the context);
    /// the cache's memory grows with the tokens actually held, not with `max_seq`.
    pub fn new(model: &Model, n_slots: usize, max_seq: usize) -> Self {
        let n_slots = n_slots.max(1);
        Batcher {
            cache: model.new_cache(n_slots, max_seq.max(1)),
            free: (0..n_slots).rev().collect(),
            live: Vec::new(),
        }
    }

    /// Tokens one slot holds.
    pub fn max_seq(&self) -> usize {
        self.cache.max_seq()
    }

    /// Whether a sequence of `prompt` tokens generating up to `budget` fits in a slot (the
    /// last generated token is never fed back, so it needs no room).
    pub fn fits(&self, prompt: usize, budget: usize) -> bool {
        prompt.saturating_add(budget.max(1) - 1) <= self.max_seq()
    }

    /// Whether a slot is free.
    pub fn has_free_slot(&self) -> bool {
        !self.free.is_empty()
    }

    /// Whether nothing is in flight.
    pub fn is_idle(&self) -> bool {
        self.live.is_empty()
    }

    /// Sequences in flight.
    pub fn in_flight(&self) -> usize {
        self.live.len()
    }

    /// Puts a sequence in a free slot; it is prefilled in the next step. A sequence with an
    /// empty prompt or no budget, one that does not [`fit`](Self::fits), or one without a free
    /// slot is refused (callers check the last two first).
    pub fn admit(&mut self, job: Admit) -> Result<()> {
        let refuse = |what: String| Err(EvalError::Model(ModelError::Request(what)));
        if job.prompt.is_empty() {
            return refuse("the prompt is empty (0 tokens); a sequence needs at least one".into());
        }
        if job.budget == 0 {
            return refuse("a sequence needs a budget of at least one token".into());
        }
        if !self.fits(job.prompt.len(), job.budget) {
            return refuse(format!(
                "{} prompt tokens and {} to generate do not fit a slot of {} tokens",
                job.prompt.len(),
                job.budget,
                self.max_seq()
            ));
        }
        let Some(slot) = self.free.pop() else { return refuse("no free slot".into()) };
        self.live.push(Live { slot, input: job.prompt.clone(), job, tokens: Vec::new(), start: Instant::now() });
        Ok(())
    }

    /// One forward over every sequence in flight and one sampled token each. `on_token(key,
    /// id)` sees each generated (non-EOS) token and returns whether the sequence goes on;
    /// returns the sequences that ended, their slots already free.
    pub fn step(
        &mut self,
        model: &Model,
        tokenizer: &Tokenizer,
        on_token: &mut dyn FnMut(usize, u32) -> bool,
    ) -> Result<Vec<Finished>> {
        if self.live.is_empty() {
            return Ok(Vec::new());
        }
        let chunks: Vec<SeqChunk> = self.live.iter().map(|s| SeqChunk { slot: s.slot, tokens: &s.input }).collect();
        let logits = model.forward(&chunks, &mut self.cache, LogitRows::Last)?;
        let vocab = model.config.vocab_size;
        if logits.len() != self.live.len() * vocab {
            return Err(EvalError::Model(ModelError::Request(format!(
                "the forward returned {} logits for {} sequences of a {vocab}-token vocabulary",
                logits.len(),
                self.live.len()
            ))));
        }
        let mut still = Vec::with_capacity(self.live.len());
        let mut done = Vec::new();
        for (row, mut s) in self.live.drain(..).enumerate() {
            let tok = s.job.sampler.sample(&logits[row * vocab..(row + 1) * vocab]);
            let finish = if tokenizer.is_eos(tok) {
                Some(Finish::Eos)
            } else {
                s.tokens.push(tok);
                s.input.clear();
                s.input.push(tok);
                if !on_token(s.job.key, tok) {
                    Some(Finish::Stop)
                } else if s.tokens.len() >= s.job.budget {
                    Some(if s.job.clamped { Finish::Context } else { Finish::Length })
                } else {
                    None
                }
            };
            match finish {
                Some(f) => done.push((s, f)),
                None => still.push(s),
            }
        }
        self.live = still;
        Ok(done
            .into_iter()
            .map(|(s, finish)| {
                self.cache.clear(s.slot);
                self.free.push(s.slot);
                Finished {
                    key: s.job.key,
                    prompt_tokens: s.job.prompt.len(),
                    tokens: s.tokens,
                    finish,
                    secs: s.start.elapsed().as_secs_f64(),
                }
            })
            .collect())
    }
}
