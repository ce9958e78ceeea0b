//! The HTTP side of `qtool serve`: the accept loop (a thread per connection, see `conn`),
//! routes, request limits, and the two ways of answering (one JSON body, or server-sent events
//! written as HTTP chunks and flushed one by one, so a client sees each token as it is
//! generated). Every error is an OpenAI-style JSON body with a 4xx/5xx status; a bad request
//! never stops the server.
//!
//! Connections: at most [`MAX_CONNECTIONS`] are open. A kept-alive connection waiting for its
//! next request is idle: it is closed after [`KEEP_ALIVE_IDLE`], and when a new client arrives
//! with every slot taken the longest-idle connection is closed to make room, so idle
//! connections never lock out requests (only connections busy with a request are counted
//! against a new client, who then gets 503).

use super::api::{self, ApiError, Kind, Prompt};
use super::conn::{self, ReadError, Request};
use super::engine::{self, EngineHandle, Event, Submit};
use super::respond::{self, Head};
use super::ServeConfig;
use eval::runner::Finish;
use model::tokenizer::Tokenizer;
use model::Model;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Most open connections; past it the longest-idle one is closed, or with none idle the new
/// one is answered 503 and closed.
const MAX_CONNECTIONS: usize = 1024;
/// A kept-alive connection with no new request for this long is closed.
const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(120);

/// Shared by every handler thread.
struct State {
    config: ServeConfig,
    engine: EngineHandle,
    tokenizer: Arc<Tokenizer>,
    context: usize,
    scheme: String,
    ids: AtomicU64,
    connections: AtomicUsize,
    /// Connections waiting for their next request: since when, and a handle to close them.
    idle: Mutex<HashMap<u64, (Instant, Arc<TcpStream>)>>,
}

impl State {
    /// Closes the connection idle the longest; `false` when none is idle.
    fn evict_idle(&self) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let Some(&id) = idle.iter().min_by_key(|(_, (since, _))| *since).map(|(id, _)| id) else { return false };
        if let Some((_, s)) = idle.remove(&id) {
            let _ = s.shutdown(Shutdown::Both);
        }
        true
    }
}

/// Binds, prints `listening on http://ADDR/v1` on stdout and serves until the process ends.
pub fn serve(model: Model, tokenizer: Tokenizer, config: ServeConfig) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&config.addr).map_err(|e| anyhow::anyhow!("binding {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    let context = model.config.max_position_embeddings;
    let scheme = model.quant_description.clone();
    let tokenizer = Arc::new(tokenizer);
    let engine = engine::start(model, tokenizer.clone(), config.batch)?;
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
        idle: Mutex::new(HashMap::new()),
    });
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        // A closed idle connection gives its slot back when its thread ends (at once).
        if state.connections.load(Ordering::Relaxed) >= MAX_CONNECTIONS && !state.evict_idle() {
            let e = ApiError::new(503, "server_error", "too_many_connections", "too many open connections");
            let _ = conn::write_json(&mut stream, 503, &e.body().to_string(), false);
            continue;
        }
        state.connections.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        let id = next_id;
        next_id += 1;
        let spawned = std::thread::Builder::new().spawn(move || {
            connection(&state, stream, id);
            state.idle.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            state.connections.fetch_sub(1, Ordering::Relaxed);
        });
        if let Err(e) = spawned {
            eprintln!("qtool serve: cannot start a connection thread: {e}");
        }
    }
    Ok(())
}

/// Serves the requests of one connection until it closes (or is closed as idle).
fn connection(state: &State, stream: TcpStream, id: u64) {
    let _ = stream.set_nodelay(true);
    let (Ok(mut w), Ok(closer)) = (stream.try_clone(), stream.try_clone()) else { return };
    let closer = Arc::new(closer);
    let mut r = BufReader::new(conn::Reader::new(stream));
    loop {
        // Idle until the first byte of the next request (or a pipelined one already read).
        state.idle.lock().unwrap_or_else(|e| e.into_inner()).insert(id, (Instant::now(), closer.clone()));
        r.get_mut().set_deadline(Some(Instant::now() + KEEP_ALIVE_IDLE));
        let waiting = r.fill_buf().map(|b| !b.is_empty());
        if state.idle.lock().unwrap_or_else(|e| e.into_inner()).remove(&id).is_none() || !matches!(waiting, Ok(true)) {
            return; // closed by the client, idle too long, or closed to make room
        }
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
        ("GET", "/health", _) if state.engine.is_alive() => Ok(serde_json::json!({"status": "ok"})),
        ("GET", "/health", _) => Err(ApiError::new(503, "server_error", "engine_dead", "the engine has died")),
        ("POST", _, Some(kind)) => match prepare(state, &request.body, kind) {
            Ok(Prepared { jobs, stream: streamed, include_usage, rx, cancel }) => {
                // However this request ends (answered, client gone, a panic), its sequences stop.
                let _cancel = CancelOnDrop(cancel.clone());
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
                    match collect(&head(state, kind, id), n, rx, w) {
                        Collected::Answer(r) => r,
                        Collected::ClientGone => {
                            eprintln!(
                                "{method} {path} client gone; its {n} sequences cancelled after {:.2} s",
                                t0.elapsed().as_secs_f64()
                            );
                            return Err(std::io::ErrorKind::ConnectionAborted.into());
                        }
                    }
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

/// A checked request, ready for the engine.
struct Prepared {
    /// One job per choice.
    jobs: Vec<Submit>,
    /// Answer with server-sent events.
    stream: bool,
    /// Send a usage chunk at the end of the stream.
    include_usage: bool,
    /// Where the choices' events arrive.
    rx: mpsc::Receiver<Event>,
    /// Shared by the jobs: set to drop them.
    cancel: Arc<AtomicBool>,
}

/// Sets a request's cancel flag when its handler is done with it.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

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
    if prompt.is_empty() {
        return Err(ApiError::bad("invalid_value", "the prompt is empty (0 tokens); give at least one token of text"));
    }
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
    let cancel = Arc::new(AtomicBool::new(false));
    let jobs = (0..p.n)
        .map(|index| Submit {
            prompt: prompt.clone(),
            sampling: p.sampling,
            index,
            budget,
            clamped: budget < asked,
            stop: p.stop.clone(),
            events: tx.clone(),
            cancel: cancel.clone(),
        })
        .collect();
    Ok(Prepared { jobs, stream: p.stream, include_usage: p.include_usage, rx, cancel })
}

/// How a whole (non-streamed) answer ended.
enum Collected {
    /// The answer or an error to send.
    Answer(Result<Value, ApiError>),
    /// The client closed the connection while waiting.
    ClientGone,
}

/// How often a handler waiting for a whole answer checks that its client is still there.
const HANG_UP_POLL: Duration = Duration::from_millis(200);

/// Waits for every choice and builds the whole answer; while waiting, checks every
/// [`HANG_UP_POLL`] that the client on `conn` has not hung up.
fn collect(h: &Head, n: usize, rx: mpsc::Receiver<Event>, conn: &TcpStream) -> Collected {
    let mut texts = vec![String::new(); n];
    let mut finishes = vec![None; n];
    let (mut prompt, mut completion) = (0, 0);
    let engine_error = |e: String| Collected::Answer(Err(ApiError::new(500, "server_error", "engine_error", e)));
    // The client is checked every HANG_UP_POLL whether or not tokens keep arriving (a busy
    // request sends deltas faster than any timeout would fire).
    let mut checked = std::time::Instant::now();
    while finishes.iter().any(Option::is_none) {
        if checked.elapsed() >= HANG_UP_POLL {
            if conn::hung_up(conn) {
                return Collected::ClientGone;
            }
            checked = std::time::Instant::now();
        }
        match rx.recv_timeout(HANG_UP_POLL) {
            Ok(Event::Delta { index, text }) => texts[index].push_str(&text),
            Ok(Event::Done { index, prompt_tokens, completion_tokens, finish }) => {
                finishes[index] = Some(finish);
                prompt = prompt_tokens;
                completion += completion_tokens;
            }
            Ok(Event::Failed(e)) => return engine_error(e),
            Err(mpsc::RecvTimeoutError::Timeout) if conn::hung_up(conn) => return Collected::ClientGone,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return engine_error("the engine stopped".into()),
        }
    }
    let choices: Vec<(String, Finish)> =
        texts.into_iter().zip(finishes).map(|(t, f)| (t, f.unwrap_or(Finish::Stop))).collect();
    Collected::Answer(Ok(respond::completion(h, &choices, prompt, completion)))
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
