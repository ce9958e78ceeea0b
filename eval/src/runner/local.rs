//! The in-process engine: continuous batching over one loaded [`Model`]. Up to `batch`
//! sequences are in flight, each in its own KV-cache slot; every step is one ragged forward
//! over all of them (the whole prompt of a newly admitted sequence, one token of the others),
//! so the CPU runs batched GEMMs (the step loop is [`super::batcher::Batcher`], shared with
//! `qtool serve`). A finished sequence frees its slot and the next request
//! takes it in the same step. Each sequence samples from its own seeded stream, and the
//! forward's rows do not depend on each other (the kernels are batch-invariant), so a
//! request's tokens are the same whatever batch it shares.

use super::batcher::{Admit, Batcher};
use super::generator::{EngineInfo, Finish, GenOutput, GenRequest, Generator};
use crate::error::{EvalError, Result};
use model::sampler::Sampler;
use model::tokenizer::Tokenizer;
use model::Model;
use std::collections::{HashMap, VecDeque};

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

    /// The model, tokenizer and most sequences in flight (for an engine of its own, such as
    /// `qtool serve`'s).
    pub fn into_parts(self) -> (Model, Tokenizer, usize) {
        (self.model, self.tokenizer, self.batch)
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

    fn output(
        &self,
        request: &GenRequest,
        prompt_tokens: usize,
        tokens: Vec<u32>,
        finish: Finish,
        secs: f64,
    ) -> Result<GenOutput> {
        let text = self.tokenizer.decode(&tokens, true)?;
        Ok(GenOutput { key: request.key, prompt_tokens, gen_tokens: tokens.len(), tokens, text, finish, secs })
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
                on_done(self.output(&job.request, job.prompt.len(), Vec::new(), finish, 0.0)?)?;
            } else {
                queue.push_back(job);
            }
        }
        if queue.is_empty() {
            return Ok(());
        }
        let max_seq = queue.iter().map(|j| j.prompt.len() + j.budget).max().unwrap_or(1);
        let mut batcher = Batcher::new(&self.model, self.batch.min(queue.len()), max_seq);
        let mut requests: HashMap<usize, GenRequest> = HashMap::new();
        loop {
            while batcher.has_free_slot() {
                let Some(job) = queue.pop_front() else { break };
                let sampler = Sampler::new(job.request.sampling, job.request.stream);
                let key = job.request.key;
                batcher.admit(Admit { key, prompt: job.prompt, sampler, budget: job.budget, clamped: job.clamped })?;
                requests.insert(key, job.request);
            }
            if batcher.is_idle() {
                return Ok(());
            }
            for f in batcher.step(&self.model, &self.tokenizer, &mut |_, _| true)? {
                let request = requests.remove(&f.key).expect("admitted");
                on_done(self.output(&request, f.prompt_tokens, f.tokens, f.finish, f.secs)?)?;
            }
        }
    }
}
