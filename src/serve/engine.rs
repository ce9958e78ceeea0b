//! The engine thread of `qtool serve`: it owns the model and runs every request from every
//! client through one [`Batcher`], so concurrent requests share each forward (continuous
//! batching). HTTP handler threads send [`Submit`]s over a channel and read [`Event`]s from
//! one channel per request; a request whose client went away (its `cancel` flag set, or its
//! event channel closed) is dropped from the queue or ended at its next token.
//!
//! The KV cache is allocated lazily, sized to the longest queued request (rounded up to a
//! power of two, at least 256 tokens, at most the context), and grown only while nothing is in
//! flight: a request that does not fit waits at the head of the queue (first come, first
//! served) until the running ones finish.
//!
//! One request never kills the engine: a sequence the batcher cannot take fails alone, and a
//! panic inside a step fails the sequences of that step and starts over with a fresh cache. If
//! the thread ends anyway, a watcher marks the engine dead (`/health` answers 503) and exits the
//! process non-zero, so a supervisor restarts it.

use super::text::TextStream;
use eval::runner::batcher::{Admit, Batcher};
use eval::runner::Finish;
use model::sampler::{Sampler, SamplingParams};
use model::tokenizer::Tokenizer;
use model::Model;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// The exit status of a server whose engine died.
pub const ENGINE_DIED_EXIT: i32 = 70;
/// The smallest KV cache the engine allocates (fewer tokens when the context is shorter).
const MIN_CACHE_TOKENS: usize = 256;

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
    /// Set by the handler when its client went away: the sequence is dropped.
    pub cancel: Arc<AtomicBool>,
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
    alive: Arc<AtomicBool>,
}

impl EngineHandle {
    /// Sequences waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Whether the engine thread is running.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
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

/// Starts the engine thread over `model` with up to `batch` sequences in flight, and its
/// watcher: if the engine thread ever ends, the process exits with [`ENGINE_DIED_EXIT`].
pub fn start(model: Model, tokenizer: Arc<Tokenizer>, batch: usize) -> std::io::Result<EngineHandle> {
    let (tx, rx) = mpsc::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let alive = Arc::new(AtomicBool::new(true));
    let q = queued.clone();
    let engine =
        std::thread::Builder::new().name("qtool-engine".into()).spawn(move || run(model, &tokenizer, batch, rx, &q))?;
    let a = alive.clone();
    std::thread::Builder::new().name("qtool-engine-watch".into()).spawn(move || {
        supervise(engine, &a, |why| {
            eprintln!("qtool serve: the engine thread {why}; exiting (status {ENGINE_DIED_EXIT}) so a supervisor can restart the server");
            // A moment for handlers waiting on the engine to answer their clients.
            std::thread::sleep(Duration::from_secs(1));
            std::process::exit(ENGINE_DIED_EXIT);
        })
    })?;
    Ok(EngineHandle { tx, queued, alive })
}

/// Waits for the engine thread; when it ends, marks the engine dead and calls `died` with how.
fn supervise(engine: std::thread::JoinHandle<()>, alive: &AtomicBool, died: impl FnOnce(String)) {
    let why = match engine.join() {
        Ok(()) => "stopped".to_string(),
        Err(p) => format!("panicked: {}", panic_message(p.as_ref())),
    };
    alive.store(false, Ordering::Relaxed);
    died(why);
}

/// The message of a panic payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

struct Live<'t> {
    text: TextStream<'t>,
    index: usize,
    events: mpsc::Sender<Event>,
    cancel: Arc<AtomicBool>,
}

/// Tokens of KV cache for the longest of `pending`: a power of two, at least
/// [`MIN_CACHE_TOKENS`], at most the context.
fn cache_tokens(pending: &VecDeque<Submit>, context: usize) -> usize {
    let longest = pending.iter().map(|s| s.prompt.len().saturating_add(s.budget)).max().unwrap_or(1);
    longest.checked_next_power_of_two().unwrap_or(usize::MAX).max(MIN_CACHE_TOKENS).min(context.max(1))
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
        // Requests whose clients went away leave the queue unrun.
        pending.retain(|s| {
            let keep = !s.cancel.load(Ordering::Relaxed);
            if !keep {
                queued.fetch_sub(1, Ordering::Relaxed);
            }
            keep
        });
        if pending.is_empty() && live.is_empty() {
            continue;
        }

        let fits = |b: &Option<Batcher>, s: &Submit| b.as_ref().is_some_and(|b| b.fits(s.prompt.len(), s.budget));
        if live.is_empty() && pending.front().is_some_and(|s| !fits(&batcher, s)) {
            let max_seq = cache_tokens(&pending, context);
            batcher = catch_unwind(AssertUnwindSafe(|| Batcher::new(&model, batch, max_seq))).ok();
            // A request that fits no cache this engine can make fails alone.
            if let Some(s) = pending.front().filter(|s| !fits(&batcher, s)) {
                let _ = s.events.send(Event::Failed(format!(
                    "a sequence of {} prompt tokens and {} to generate does not fit the engine's cache",
                    s.prompt.len(),
                    s.budget
                )));
                pending.pop_front();
                queued.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
        }
        let Some(b) = batcher.as_mut() else { continue };
        while b.has_free_slot() && pending.front().is_some_and(|s| b.fits(s.prompt.len(), s.budget)) {
            let Some(s) = pending.pop_front() else { break };
            queued.fetch_sub(1, Ordering::Relaxed);
            let key = next_key;
            next_key += 1;
            let sampler = Sampler::new(s.sampling, s.index as u64);
            let admit = Admit { key, prompt: s.prompt, sampler, budget: s.budget, clamped: s.clamped };
            match b.admit(admit) {
                Ok(()) => {
                    let text = TextStream::new(tokenizer, s.stop);
                    live.insert(key, Live { text, index: s.index, events: s.events, cancel: s.cancel });
                }
                Err(e) => _ = s.events.send(Event::Failed(e.to_string())),
            }
        }
        if live.is_empty() {
            continue;
        }

        let mut failure = None;
        let step = catch_unwind(AssertUnwindSafe(|| {
            b.step(&model, tokenizer, &mut |key, id| {
                let Some(l) = live.get_mut(&key) else { return false };
                if l.cancel.load(Ordering::Relaxed) {
                    return false;
                }
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
            })
        }));
        let finished = match (step, failure) {
            (Ok(Ok(f)), None) => f,
            (Ok(Err(e)), _) => {
                fail_all(&mut live, &mut batcher, &e.to_string());
                continue;
            }
            (Ok(Ok(_)), Some(e)) => {
                fail_all(&mut live, &mut batcher, &e);
                continue;
            }
            (Err(p), _) => {
                let what = format!("internal error (the step panicked: {})", panic_message(p.as_ref()));
                eprintln!("qtool serve: {what}; failing the {} sequences in flight", live.len());
                fail_all(&mut live, &mut batcher, &what);
                continue;
            }
        };
        for f in finished {
            let Some(mut l) = live.remove(&f.key) else { continue };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_engine_is_marked_and_reported() {
        let alive = AtomicBool::new(true);
        let engine = std::thread::spawn(|| panic!("boom"));
        let mut why = None;
        supervise(engine, &alive, |w| why = Some(w));
        assert!(!alive.load(Ordering::Relaxed));
        assert_eq!(why.as_deref(), Some("panicked: boom"));
    }

    #[test]
    fn the_cache_fits_short_contexts() {
        let (tx, _rx) = mpsc::channel();
        let job = |prompt: usize, budget: usize| Submit {
            prompt: vec![1; prompt],
            sampling: SamplingParams::default(),
            index: 0,
            budget,
            clamped: false,
            stop: Vec::new(),
            events: tx.clone(),
            cancel: Arc::new(AtomicBool::new(false)),
        };
        let q: VecDeque<Submit> = [job(5, 4)].into_iter().collect();
        assert_eq!(cache_tokens(&q, 128), 128, "a context under 256 tokens");
        assert_eq!(cache_tokens(&q, 8192), 256);
        let q: VecDeque<Submit> = [job(5, 4), job(300, 400)].into_iter().collect();
        assert_eq!(cache_tokens(&q, 8192), 1024);
        let q: VecDeque<Submit> = [job(5, usize::MAX)].into_iter().collect();
        assert_eq!(cache_tokens(&q, 8192), 8192);
    }
}
