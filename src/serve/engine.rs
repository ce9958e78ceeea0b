//! The engine thread of `qtool serve`: it owns the model and runs every request from every
//! client through one [`Batcher`], so concurrent requests share each forward (continuous
//! batching). HTTP handler threads send [`Submit`]s over a channel and read [`Event`]s from
//! one channel per request; a request whose client went away (its event channel closed) is
//! ended at its next token.
//!
//! The KV cache is allocated lazily, sized to the longest queued request (rounded up to a
//! power of two, at most the context), and grown only while nothing is in flight: a request
//! that does not fit waits at the head of the queue (first come, first served) until the
//! running ones finish.

use super::text::TextStream;
use eval::runner::batcher::{Admit, Batcher};
use eval::runner::Finish;
use model::sampler::{Sampler, SamplingParams};
use model::tokenizer::Tokenizer;
use model::Model;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

/// One sequence to generate (one choice of a request).
pub struct Submit {
    /// Prompt ids (chat template applied, special tokens added).
    pub prompt: Vec<u32>,
    /// Temperature, top-p, top-k, seed.
    pub sampling: SamplingParams,
    /// The choice's index: also its random stream within the seed.
    pub index: usize,
    /// Most tokens to generate (already clamped to the room left in the context).
    pub budget: usize,
    /// Whether the budget was clamped.
    pub clamped: bool,
    /// Stop strings.
    pub stop: Vec<String>,
    /// Where the events of this choice go.
    pub events: mpsc::Sender<Event>,
}

/// What a request's handler hears.
#[derive(Debug)]
pub enum Event {
    /// New text of a choice.
    Delta {
        /// The choice.
        index: usize,
        /// Text to append.
        text: String,
    },
    /// A choice ended.
    Done {
        /// The choice.
        index: usize,
        /// Prompt tokens.
        prompt_tokens: usize,
        /// Generated tokens (without the end-of-turn token).
        completion_tokens: usize,
        /// Why it ended.
        finish: Finish,
    },
    /// The engine failed on this request.
    Failed(String),
}

/// The handlers' side of the engine.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Submit>,
    queued: Arc<AtomicUsize>,
}

impl EngineHandle {
    /// Sequences waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Queues sequences; `false` when the engine has stopped.
    pub fn submit(&self, jobs: Vec<Submit>) -> bool {
        for job in jobs {
            self.queued.fetch_add(1, Ordering::Relaxed);
            if self.tx.send(job).is_err() {
                return false;
            }
        }
        true
    }
}

/// Starts the engine thread over `model` with up to `batch` sequences in flight.
pub fn start(model: Model, tokenizer: Arc<Tokenizer>, batch: usize) -> EngineHandle {
    let (tx, rx) = mpsc::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let q = queued.clone();
    std::thread::Builder::new()
        .name("qtool-engine".into())
        .spawn(move || run(model, &tokenizer, batch, rx, &q))
        .expect("spawning the engine thread");
    EngineHandle { tx, queued }
}

struct Live<'t> {
    text: TextStream<'t>,
    index: usize,
    events: mpsc::Sender<Event>,
}

fn run(model: Model, tokenizer: &Tokenizer, batch: usize, rx: mpsc::Receiver<Submit>, queued: &AtomicUsize) {
    let context = model.config.max_position_embeddings;
    let mut pending: VecDeque<Submit> = VecDeque::new();
    let mut live: HashMap<usize, Live> = HashMap::new();
    let mut batcher: Option<Batcher> = None;
    let mut next_key = 0usize;
    loop {
        if live.is_empty() && pending.is_empty() {
            match rx.recv() {
                Ok(s) => pending.push_back(s),
                Err(_) => return, // every handle dropped: the server is gone
            }
        }
        pending.extend(rx.try_iter());

        let need = |s: &Submit| s.prompt.len() + s.budget;
        let fits = |b: &Option<Batcher>, s: &Submit| b.as_ref().is_some_and(|b| b.fits(s.prompt.len(), s.budget));
        if live.is_empty() && pending.front().is_some_and(|s| !fits(&batcher, s)) {
            let longest = pending.iter().map(need).max().unwrap_or(1);
            let max_seq = longest.next_power_of_two().clamp(256, context.max(1));
            batcher = Some(Batcher::new(&model, batch, max_seq));
        }
        let Some(b) = batcher.as_mut() else { continue };
        while b.has_free_slot() && pending.front().is_some_and(|s| b.fits(s.prompt.len(), s.budget)) {
            let s = pending.pop_front().expect("checked");
            queued.fetch_sub(1, Ordering::Relaxed);
            let key = next_key;
            next_key += 1;
            let sampler = Sampler::new(s.sampling, s.index as u64);
            b.admit(Admit { key, prompt: s.prompt, sampler, budget: s.budget, clamped: s.clamped });
            live.insert(key, Live { text: TextStream::new(tokenizer, s.stop), index: s.index, events: s.events });
        }

        let mut failure = None;
        let step = b.step(&model, tokenizer, &mut |key, id| {
            let l = live.get_mut(&key).expect("a live sequence");
            match l.text.push(id) {
                Ok(text) => {
                    let sent = text.is_empty() || l.events.send(Event::Delta { index: l.index, text }).is_ok();
                    sent && !l.text.stopped()
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    false
                }
            }
        });
        let finished = match (step, failure) {
            (Ok(f), None) => f,
            (Err(e), _) => {
                fail_all(&mut live, &mut batcher, &e.to_string());
                continue;
            }
            (Ok(_), Some(e)) => {
                fail_all(&mut live, &mut batcher, &e);
                continue;
            }
        };
        for f in finished {
            let mut l = live.remove(&f.key).expect("a live sequence");
            let rest = l.text.finish().unwrap_or_default();
            if !rest.is_empty() {
                let _ = l.events.send(Event::Delta { index: l.index, text: rest });
            }
            let finish = if l.text.stopped() { Finish::Stop } else { f.finish };
            let _ = l.events.send(Event::Done {
                index: l.index,
                prompt_tokens: f.prompt_tokens,
                completion_tokens: f.tokens.len(),
                finish,
            });
        }
    }
}

/// Tells every sequence in flight that the engine failed and starts over with a fresh cache.
fn fail_all(live: &mut HashMap<usize, Live>, batcher: &mut Option<Batcher>, what: &str) {
    for (_, l) in live.drain() {
        let _ = l.events.send(Event::Failed(what.to_string()));
    }
    *batcher = None;
}
