//! The HTTP side of `qtool serve`: the accept loop (a thread per connection, see `conn`),
//! routes, request limits, and the two ways of answering (one JSON body, or server-sent events
//! written as HTTP chunks and flushed one by one, so a client sees each token as it is
//! generated). Every error is an OpenAI-style JSON body with a 4xx/5xx status; a bad request
//! never stops the server.

use super::api::{self, ApiError, Kind, Prompt};
use super::conn::{self, ReadError, Request};
use super::engine::{self, EngineHandle, Event, Submit};
use super::respond::{self, Head};
use super::ServeConfig;
use eval::runner::Finish;
use model::tokenizer::Tokenizer;
use model::Model;
use serde_json::Value;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Most open connections; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 1024;
/// An idle keep-alive connection is closed after this long.
const IDLE: Duration = Duration::from_secs(600);

/// Shared by every handler thread.
struct State {
    config: ServeConfig,
    engine: EngineHandle,
    tokenizer: Arc<Tokenizer>,
    context: usize,
    scheme: String,
    ids: AtomicU64,
    connections: AtomicUsize,
}

/// Binds, prints `listening on http://ADDR/v1` on stdout and serves until the process ends.
pub fn serve(model: Model, tokenizer: Tokenizer, config: ServeConfig) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&config.addr).map_err(|e| anyhow::anyhow!("binding {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    let context = model.config.max_position_embeddings;
    let scheme = model.quant_description.clone();
    let tokenizer = Arc::new(tokenizer);
    let engine = engine::start(model, tokenizer.clone(), config.batch);
    println!(
        "qtool serve: listening on http://{addr}/v1 (model {:?}, context {context}, batch {}, {} backend)",
        config.name, config.batch, config.backend
    );
    std::io::stdout().flush()?;
    let state = Arc::new(State {
        config,
        engine,
        tokenizer,
        context,
        scheme,
        ids: AtomicU64::new(0),
        connections: AtomicUsize::new(0),
    });
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if state.connections.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTIONS {
            state.connections.fetch_sub(1, Ordering::Relaxed);
            let e = ApiError::new(503, "server_error", "too_many_connections", "too many open connections");
            let _ = conn::write_json(&mut stream, 503, &e.body().to_string(), false);
            continue;
        }
        let state = state.clone();
        std::thread::spawn(move || {
            connection(&state, stream);
            state.connections.fetch_sub(1, Ordering::Relaxed);
        });
    }
    Ok(())
}

/// Serves the requests of one connection until it closes.
fn connection(state: &State, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let _ = stream.set_nodelay(true);
    let Ok(mut w) = stream.try_clone() else { return };
    let mut r = BufReader::new(stream);
    loop {
        match conn::read_request(&mut r, &mut w, state.config.max_body_bytes) {
            Ok(request) => {
                let keep_alive = request.keep_alive;
                if handle(state, request, &mut w).is_err() || !keep_alive {
                    return;
                }
            }
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, code, message)) => {
                eprintln!("bad request: {status} {message}");
                let e = ApiError::new(status, "invalid_request_error", code, message);
                let _ = conn::write_json(&mut w, status, &e.body().to_string(), false);
                return;
            }
        }
    }
}

/// Answers one request; an error means the connection is unusable.
fn handle(state: &State, request: Request, w: &mut TcpStream) -> std::io::Result<()> {
    let t0 = Instant::now();
    let (method, path) = (request.method.as_str(), request.path.as_str());
    let kind = match path {
        "/v1/completions" => Some(Kind::Completion),
        "/v1/chat/completions" => Some(Kind::Chat),
        _ => None,
    };
    let result = match (method, path, kind) {
        ("GET", "/v1/models", _) => Ok(respond::models(
            &state.config.name,
            state.context,
            &state.scheme,
            &state.config.backend,
            &state.config.path,
        )),
        ("GET", "/health", _) => Ok(serde_json::json!({"status": "ok"})),
        ("POST", _, Some(kind)) => match prepare(state, &request.body, kind) {
            Ok((jobs, streamed, include_usage, rx)) => {
                let n = jobs.len();
                let id = state.ids.fetch_add(1, Ordering::Relaxed);
                if !state.engine.submit(jobs) {
                    Err(ApiError::new(503, "server_error", "engine_stopped", "the engine has stopped"))
                } else if streamed {
                    let outcome = stream(w, request.keep_alive, &head(state, kind, id), n, include_usage, rx);
                    let note = outcome.as_ref().map_or_else(|e| format!("client gone: {e}"), |u| u.to_string());
                    eprintln!("{method} {path} 200 stream {note} in {:.2} s", t0.elapsed().as_secs_f64());
                    return outcome.map(|_| ());
                } else {
                    collect(&head(state, kind, id), n, rx)
                }
            }
            Err(e) => Err(e),
        },
        (_, "/v1/models" | "/health", _) | (_, _, Some(_)) => Err(ApiError::new(
            405,
            "invalid_request_error",
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        )),
        _ => Err(ApiError::new(
            404,
            "invalid_request_error",
            "not_found",
            format!("no route {path}; this server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions"),
        )),
    };
    let (status, body) = match result {
        Ok(v) => (200, v),
        Err(e) => (e.status, e.body()),
    };
    let note = match status {
        200 => body.get("usage").map(|u| format!("{u}")).unwrap_or_default(),
        _ => body.pointer("/error/message").and_then(Value::as_str).unwrap_or_default().to_string(),
    };
    eprintln!("{method} {path} {status} {note} in {:.2} s", t0.elapsed().as_secs_f64());
    conn::write_json(w, status, &body.to_string(), request.keep_alive)
}

fn head(state: &State, kind: Kind, id: u64) -> Head<'_> {
    let prefix = match kind {
        Kind::Completion => "cmpl",
        Kind::Chat => "chatcmpl",
    };
    let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Head { id: format!("{prefix}-{id}"), created, model: &state.config.name, kind }
}

type Prepared = (Vec<Submit>, bool, bool, mpsc::Receiver<Event>);

/// Checks the body, tokenizes the prompt and builds one job per choice.
fn prepare(state: &State, bytes: &[u8], kind: Kind) -> Result<Prepared, ApiError> {
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad("invalid_json", format!("the body is not valid JSON: {e}")))?;
    let p = api::parse(kind, &body, &state.config.name)?;

    let tok = &state.tokenizer;
    let internal = |e: model::ModelError| ApiError::new(500, "server_error", "tokenizer", e.to_string());
    let prompt = match &p.prompt {
        Prompt::Text(t) => tok.encode(t, true).map_err(internal)?,
        Prompt::Messages(m) => {
            let Some(tpl) = tok.chat_template() else {
                return Err(ApiError::bad("no_chat_template", "this model has no chat template; use /v1/completions"));
            };
            let text =
                tpl.render(m, true).map_err(|e| ApiError::bad("invalid_value", format!("chat template: {e}")))?;
            tok.encode(&text, false).map_err(internal)?
        }
    };
    let context = state.context;
    if prompt.len() >= context {
        return Err(ApiError::bad(
            "context_length_exceeded",
            format!("the prompt is {} tokens; this model's context is {context} tokens", prompt.len()),
        ));
    }
    let limit = state.config.max_tokens_limit.min(context);
    if let Some(m) = p.max_tokens.filter(|&m| m > limit) {
        let what = if limit == context { "this model's context" } else { "this server's --max-tokens-limit" };
        return Err(ApiError::bad(
            "context_length_exceeded",
            format!("max_tokens {m} is over {what} ({limit} tokens)"),
        ));
    }
    let room = context - prompt.len();
    let asked = p.max_tokens.unwrap_or(match kind {
        Kind::Completion => 16, // OpenAI's default for completions
        Kind::Chat => limit,    // chat: until the end of the turn or the context
    });
    let budget = asked.min(room).min(limit);
    if state.engine.queued() + p.n > state.config.max_queue {
        return Err(ApiError::new(
            429,
            "rate_limit_error",
            "queue_full",
            format!("{} sequences are waiting (limit {}); retry later", state.engine.queued(), state.config.max_queue),
        ));
    }
    let (tx, rx) = mpsc::channel();
    let jobs = (0..p.n)
        .map(|index| Submit {
            prompt: prompt.clone(),
            sampling: p.sampling,
            index,
            budget,
            clamped: budget < asked,
            stop: p.stop.clone(),
            events: tx.clone(),
        })
        .collect();
    Ok((jobs, p.stream, p.include_usage, rx))
}

/// Waits for every choice and builds the whole answer.
fn collect(h: &Head, n: usize, rx: mpsc::Receiver<Event>) -> Result<Value, ApiError> {
    let mut texts = vec![String::new(); n];
    let mut finishes = vec![None; n];
    let (mut prompt, mut completion) = (0, 0);
    while finishes.iter().any(Option::is_none) {
        match rx.recv() {
            Ok(Event::Delta { index, text }) => texts[index].push_str(&text),
            Ok(Event::Done { index, prompt_tokens, completion_tokens, finish }) => {
                finishes[index] = Some(finish);
                prompt = prompt_tokens;
                completion += completion_tokens;
            }
            Ok(Event::Failed(e)) => return Err(ApiError::new(500, "server_error", "engine_error", e)),
            Err(_) => return Err(ApiError::new(500, "server_error", "engine_error", "the engine stopped")),
        }
    }
    let choices: Vec<(String, Finish)> =
        texts.into_iter().zip(finishes).map(|(t, f)| (t, f.expect("all finished"))).collect();
    Ok(respond::completion(h, &choices, prompt, completion))
}

/// Writes the answer as server-sent events; returns the usage, or the write error when the
/// client went away (dropping `rx` then ends its sequences at their next token).
fn stream(
    w: &mut TcpStream,
    keep_alive: bool,
    h: &Head,
    n: usize,
    include_usage: bool,
    rx: mpsc::Receiver<Event>,
) -> std::io::Result<Value> {
    conn::start_events(w, keep_alive)?;
    let mut started = vec![false; n];
    let (mut done, mut prompt, mut completion) = (0, 0, 0);
    while done < n {
        let (value, ended) = match rx.recv() {
            Ok(Event::Delta { index, text }) => {
                let v = respond::chunk(h, index, &text, !started[index], None);
                started[index] = true;
                (v, false)
            }
            Ok(Event::Done { index, prompt_tokens, completion_tokens, finish }) => {
                prompt = prompt_tokens;
                completion += completion_tokens;
                (respond::chunk(h, index, "", false, Some(finish)), true)
            }
            Ok(Event::Failed(e)) => (ApiError::new(500, "server_error", "engine_error", e).body(), true),
            Err(_) => (ApiError::new(500, "server_error", "engine_error", "the engine stopped").body(), true),
        };
        conn::event(w, &value.to_string())?;
        if value.get("error").is_some() {
            break;
        }
        done += ended as usize;
    }
    if include_usage {
        conn::event(w, &respond::usage_chunk(h, prompt, completion).to_string())?;
    }
    conn::event(w, "[DONE]")?;
    conn::end_events(w)?;
    Ok(respond::usage(prompt, completion))
}
