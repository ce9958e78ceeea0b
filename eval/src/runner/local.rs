//! The in-process engine: continuous batching over one loaded [`Model`]. Up to `batch`
//! sequences are in flight, each in its own KV-cache slot; every step is one ragged forward
//! over all of them (the whole prompt of a newly admitted sequence, one token of the others),
//! so the CPU runs batched GEMMs. A finished sequence frees its slot and the next request
//! takes it in the same step. Each sequence samples from its own seeded stream, and the
//! forward's rows do not depend on each other (the kernels are batch-invariant), so a
//! request's tokens are the same whatever batch it shares.

use super::generator::{EngineInfo, Finish, GenOutput, GenRequest, Generator};
use crate::error::{EvalError, Result};
use model::sampler::Sampler;
use model::tokenizer::Tokenizer;
use model::{LogitRows, Model, SeqChunk};
use std::collections::VecDeque;
use std::time::Instant;

/// Continuous-batching generator over an in-process model.
pub struct LocalGenerator {
    model: Model,
    tokenizer: Tokenizer,
    batch: usize,
    info: EngineInfo,
}

/// A request after tokenization, with its clamped budget.
struct Prepared {
    request: GenRequest,
    prompt: Vec<u32>,
    budget: usize,
    clamped: bool,
}

/// A sequence in flight.
struct Live {
    slot: usize,
    job: Prepared,
    sampler: Sampler,
    input: Vec<u32>,
    tokens: Vec<u32>,
    start: Instant,
}

impl LocalGenerator {
    /// Wraps a loaded model; `batch` is the most sequences in flight (at least 1).
    pub fn new(model: Model, tokenizer: Tokenizer, batch: usize, model_label: &str, backend: &str) -> Result<Self> {
        if batch == 0 {
            return Err(EvalError::BadOption("--batch must be at least 1".into()));
        }
        if tokenizer.chat_template().is_none() {
            return Err(EvalError::BadOption(format!(
                "{model_label} has no chat template; the benchmarks need one to build prompts"
            )));
        }
        let scheme = Some(model.quant_description.clone()).filter(|s| !s.is_empty());
        let info = EngineInfo {
            model: model_label.to_string(),
            scheme,
            backend: backend.to_string(),
            context: model.config.max_position_embeddings,
        };
        Ok(LocalGenerator { model, tokenizer, batch, info })
    }

    /// Changes the most sequences in flight (at least 1).
    pub fn set_batch(&mut self, batch: usize) {
        self.batch = batch.max(1);
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn prepare(&self, request: GenRequest) -> Result<Prepared> {
        let tpl = self.tokenizer.chat_template().expect("checked in new");
        let prompt = self.tokenizer.encode(&tpl.prompt(None, &request.user)?, false)?;
        let room = self.info.context.saturating_sub(prompt.len());
        let budget = request.max_new_tokens.min(room);
        Ok(Prepared { clamped: budget < request.max_new_tokens, request, prompt, budget })
    }

    fn output(&self, job: &Prepared, tokens: Vec<u32>, finish: Finish, secs: f64) -> Result<GenOutput> {
        let text = self.tokenizer.decode(&tokens, true)?;
        Ok(GenOutput {
            key: job.request.key,
            prompt_tokens: job.prompt.len(),
            gen_tokens: tokens.len(),
            tokens,
            text,
            finish,
            secs,
        })
    }
}

impl Generator for LocalGenerator {
    fn info(&self) -> EngineInfo {
        self.info.clone()
    }

    fn generate(&mut self, requests: Vec<GenRequest>, on_done: &mut dyn FnMut(GenOutput) -> Result<()>) -> Result<()> {
        let mut queue: VecDeque<Prepared> = VecDeque::with_capacity(requests.len());
        for r in requests {
            let job = self.prepare(r)?;
            if job.budget == 0 {
                let finish = if job.clamped { Finish::PromptTooLong } else { Finish::Length };
                on_done(self.output(&job, Vec::new(), finish, 0.0)?)?;
            } else {
                queue.push_back(job);
            }
        }
        if queue.is_empty() {
            return Ok(());
        }
        // A slot holds the prompt and all generated tokens but the last (never fed back).
        let max_seq = queue.iter().map(|j| j.prompt.len() + j.budget).max().unwrap_or(1);
        let n_slots = self.batch.min(queue.len());
        let mut cache = self.model.new_cache(n_slots, max_seq);
        let mut free: Vec<usize> = (0..n_slots).rev().collect();
        let mut live: Vec<Live> = Vec::with_capacity(n_slots);
        let vocab = self.model.config.vocab_size;
        loop {
            while !free.is_empty() {
                let Some(job) = queue.pop_front() else { break };
                let slot = free.pop().expect("a free slot");
                let sampler = Sampler::new(job.request.sampling, job.request.stream);
                live.push(Live {
                    slot,
                    input: job.prompt.clone(),
                    sampler,
                    job,
                    tokens: Vec::new(),
                    start: Instant::now(),
                });
            }
            if live.is_empty() {
                return Ok(());
            }
            let chunks: Vec<SeqChunk> = live.iter().map(|s| SeqChunk { slot: s.slot, tokens: &s.input }).collect();
            let logits = self.model.forward(&chunks, &mut cache, LogitRows::Last)?;
            let mut still = Vec::with_capacity(live.len());
            let mut done = Vec::new();
            for (row, mut s) in live.drain(..).enumerate() {
                let tok = s.sampler.sample(&logits[row * vocab..(row + 1) * vocab]);
                let finish = if self.tokenizer.is_eos(tok) {
                    Some(Finish::Eos)
                } else {
                    s.tokens.push(tok);
                    s.input.clear();
                    s.input.push(tok);
                    (s.tokens.len() >= s.job.budget).then_some(if s.job.clamped {
                        Finish::Context
                    } else {
                        Finish::Length
                    })
                };
                match finish {
                    Some(f) => done.push((s, f)),
                    None => still.push(s),
                }
            }
            live = still;
            for (s, finish) in done {
                cache.clear(s.slot);
                free.push(s.slot);
                let secs = s.start.elapsed().as_secs_f64();
                on_done(self.output(&s.job, s.tokens, finish, secs)?)?;
            }
        }
    }
}
