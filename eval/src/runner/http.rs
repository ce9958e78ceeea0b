//! An engine behind any OpenAI-compatible server (`qtool serve`, vLLM, llama.cpp's server):
//! each request is one `POST {endpoint}/chat/completions` with the user message, so the server
//! applies its model's chat template and reports token counts in `usage` (no tokenizer here).
//!
//! Client: `ureq` (blocking, small, no async runtime to build on two cores; plain HTTP only,
//! TLS left out, since endpoints are loopback or cluster-internal). Up to `concurrency`
//! requests are in flight, each on its own thread; the caller's `on_done` runs on the
//! calling thread as answers arrive. Connection errors, timeouts, 429 and 5xx are retried
//! with exponential backoff; any other 4xx stops the run with the server's message, except a
//! prompt longer than the context (`context_length_exceeded`), which is recorded like the
//! in-process engine's `prompt_too_long`.
//!
//! Sampling: the API has one integer `seed` per request, so the runner sends a seed mixed
//! from (seed, item stream): answers depend on (seed, item) only, as with the in-process
//! engine, though sampled tokens differ from it (greedy ones do not).

use super::generator::{EngineInfo, Finish, GenOutput, GenRequest, Generator};
use crate::error::{EvalError, Result};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

/// How to talk to the server.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Base URL ending in `/v1` (a trailing slash is fine).
    pub endpoint: String,
    /// The served model's name; `None` takes the only model the server lists.
    pub model: Option<String>,
    /// Most requests in flight.
    pub concurrency: usize,
    /// Limit for one request, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Retries after the first try (connection errors, timeouts, 429, 5xx).
    pub retries: u32,
    /// First backoff; doubled after each retry, at most 30 s.
    pub backoff: Duration,
}

/// The OpenAI-compatible runner.
pub struct HttpGenerator {
    settings: HttpSettings,
    agent: ureq::Agent,
    info: EngineInfo,
}

/// One HTTP exchange's result: the status and the parsed JSON body.
type Exchange = std::result::Result<(u16, Value), String>;

fn exchange(agent: &ureq::Agent, url: &str, body: Option<&Value>) -> Exchange {
    let response = match body {
        Some(b) => agent.post(url).header("Content-Type", "application/json").send(b.to_string()),
        None => agent.get(url).call(),
    };
    let mut response = response.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(64 << 20).read_to_string().map_err(|e| e.to_string())?;
    let value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => Value::String(text),
    };
    Ok((status, value))
}

/// The error message a server put in an OpenAI-style error body (or the body itself).
fn error_message(body: &Value) -> String {
    body.pointer("/error/message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| body.to_string())
}

fn retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// A 31-bit seed mixed from the run's seed and the item's stream (splitmix64 finaliser).
pub fn request_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & 0x7FFF_FFFF
}

impl HttpGenerator {
    /// Connects to `settings.endpoint`, reads `/models` and checks the model is served.
    pub fn new(settings: HttpSettings) -> Result<Self> {
        if settings.concurrency == 0 {
            return Err(EvalError::BadOption("--concurrency must be at least 1".into()));
        }
        let base = settings.endpoint.trim_end_matches('/').to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.timeout))
            .max_idle_connections_per_host(settings.concurrency.max(3))
            .build()
            .into();
        let url = format!("{base}/models");
        let fail = |what: String| EvalError::Endpoint { url: url.clone(), what };
        let (status, body) = exchange(&agent, &url, None).map_err(|e| fail(format!("cannot list the models: {e}")))?;
        if status != 200 {
            return Err(fail(format!("HTTP {status}: {}", error_message(&body))));
        }
        let models: Vec<&Value> = body["data"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        let names: Vec<&str> = models.iter().filter_map(|m| m["id"].as_str()).collect();
        let name = match &settings.model {
            Some(n) => n.clone(),
            None if names.len() == 1 => names[0].to_string(),
            None => return Err(fail(format!("serves {names:?}; pick one with --served-model"))),
        };
        let Some(entry) = models.iter().find(|m| m["id"].as_str() == Some(name.as_str())) else {
            return Err(fail(format!("does not serve {name:?}; it serves {names:?}")));
        };
        // vLLM and qtool serve report `max_model_len`; llama.cpp's server reports `meta.n_ctx_train`.
        let context = entry["max_model_len"]
            .as_u64()
            .or_else(|| entry.pointer("/meta/n_ctx_train").and_then(Value::as_u64))
            .unwrap_or(0) as usize;
        let scheme = entry.pointer("/qtool/scheme").and_then(Value::as_str).map(str::to_string);
        let info = EngineInfo { model: name, scheme, backend: base.clone(), context };
        Ok(HttpGenerator { settings: HttpSettings { endpoint: base, ..settings }, agent, info })
    }

    fn body(&self, r: &GenRequest) -> (Value, usize) {
        let max_tokens = match self.info.context {
            0 => r.max_new_tokens,
            c => r.max_new_tokens.min(c),
        };
        let mut body = json!({
            "model": self.info.model,
            "messages": [{"role": "user", "content": r.user}],
            "max_tokens": max_tokens,
            "temperature": r.sampling.temperature,
            "top_p": r.sampling.top_p,
            "seed": request_seed(r.sampling.seed, r.stream),
            "stream": false,
        });
        if r.sampling.top_k > 0 {
            body["top_k"] = json!(r.sampling.top_k);
        }
        (body, max_tokens)
    }

    /// Runs one request with retries.
    fn run_one(&self, r: &GenRequest, stop: &AtomicBool) -> Result<GenOutput> {
        let url = format!("{}/chat/completions", self.settings.endpoint);
        let fail = |what: String| EvalError::Endpoint { url: url.clone(), what };
        let (body, max_tokens) = self.body(r);
        let start = Instant::now();
        let mut wait = self.settings.backoff;
        let mut attempt = 0;
        let (status, answer) = loop {
            let problem = match exchange(&self.agent, &url, Some(&body)) {
                Ok((s, a)) if !retryable(s) => break (s, a),
                Ok((s, a)) => format!("HTTP {s}: {}", error_message(&a)),
                Err(e) => e,
            };
            if attempt >= self.settings.retries || stop.load(Ordering::Relaxed) {
                return Err(fail(format!("{problem} (after {} tries)", attempt + 1)));
            }
            attempt += 1;
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(30));
        };
        let secs = start.elapsed().as_secs_f64();
        if status != 200 {
            if answer.pointer("/error/code").and_then(Value::as_str) == Some("context_length_exceeded") {
                let empty = GenOutput {
                    key: r.key,
                    prompt_tokens: 0,
                    tokens: Vec::new(),
                    gen_tokens: 0,
                    text: String::new(),
                    finish: Finish::PromptTooLong,
                    secs,
                };
                return Ok(empty);
            }
            return Err(fail(format!("HTTP {status}: {}", error_message(&answer))));
        }
        let choice = &answer["choices"][0];
        let text = choice.pointer("/message/content").and_then(Value::as_str);
        let (Some(text), Some(reason)) = (text, choice["finish_reason"].as_str()) else {
            return Err(fail(format!("the answer has no choices[0].message.content or finish_reason: {answer}")));
        };
        let count = |k: &str| answer["usage"][k].as_u64().map(|n| n as usize);
        let (Some(prompt_tokens), Some(gen_tokens)) = (count("prompt_tokens"), count("completion_tokens")) else {
            return Err(fail(format!("the answer has no usage counts: {answer}")));
        };
        let finish = match reason {
            // Cut below what was asked: the runner or the server clamped it to the context.
            "length" if max_tokens < r.max_new_tokens || gen_tokens < max_tokens => Finish::Context,
            "length" => Finish::Length,
            _ => Finish::Eos,
        };
        Ok(GenOutput {
            key: r.key,
            prompt_tokens,
            tokens: Vec::new(),
            gen_tokens,
            text: text.to_string(),
            finish,
            secs,
        })
    }
}

impl Generator for HttpGenerator {
    fn info(&self) -> EngineInfo {
        self.info.clone()
    }

    fn generate(&mut self, requests: Vec<GenRequest>, on_done: &mut dyn FnMut(GenOutput) -> Result<()>) -> Result<()> {
        let workers = self.settings.concurrency.min(requests.len());
        let queue = Mutex::new(requests.into_iter().collect::<VecDeque<_>>());
        let stop = AtomicBool::new(false);
        let this = &*self;
        let (tx, rx) = mpsc::channel::<Result<GenOutput>>();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (queue, stop) = (&queue, &stop);
                scope.spawn(move || loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Some(r) = queue.lock().expect("queue lock").pop_front() else { return };
                    if tx.send(this.run_one(&r, stop)).is_err() {
                        return;
                    }
                });
            }
            drop(tx);
            let mut first_error = None;
            for out in rx {
                let res = out.and_then(&mut *on_done);
                if let Err(e) = res {
                    stop.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }
}
