//! The HTTP side of `qtool serve`: routes, request limits, and the two ways of answering
//! (one JSON body, or server-sent events written as HTTP chunks and flushed one by one, so a
//! client sees each token as it is generated). Every error is an OpenAI-style JSON body with
//! a 4xx/5xx status; a bad request never stops the server.

use super::api::{self, ApiError, Kind, Prompt};
use super::engine::{self, EngineHandle, Event, Submit};
use super::respond::{self, Head};
use super::ServeConfig;
use eval::runner::Finish;
use model::tokenizer::Tokenizer;
use model::Model;
use serde_json::Value;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

/// Shared by every handler thread.
struct State {
    config: ServeConfig,
    engine: EngineHandle,
    tokenizer: Arc<Tokenizer>,
    context: usize,
    scheme: String,
    ids: AtomicU64,
}

/// Binds, prints `listening on http://ADDR/v1` on stdout and serves until the process ends.
pub fn serve(model: Model, tokenizer: Tokenizer, config: ServeConfig) -> anyhow::Result<()> {
    let server = tiny_http::Server::http(&config.addr).map_err(|e| anyhow::anyhow!("binding {}: {e}", config.addr))?;
    let addr = server.server_addr().to_ip().ok_or_else(|| anyhow::anyhow!("{} is not an IP address", config.addr))?;
    let context = model.config.max_position_embeddings;
    let scheme = model.quant_description.clone();
    let tokenizer = Arc::new(tokenizer);
    let engine = engine::start(model, tokenizer.clone(), config.batch);
    println!(
        "qtool serve: listening on http://{addr}/v1 (model {:?}, context {context}, batch {}, {} backend)",
        config.name, config.batch, config.backend
    );
    std::io::stdout().flush()?;
    let state = Arc::new(State { config, engine, tokenizer, context, scheme, ids: AtomicU64::new(0) });
    for request in server.incoming_requests() {
        let state = state.clone();
        std::thread::spawn(move || handle(&state, request));
    }
    Ok(())
}

fn json_response(status: u16, body: &Value) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).expect("a valid header");
    tiny_http::Response::from_data(body.to_string().into_bytes()).with_status_code(status).with_header(header)
}

fn handle(state: &State, mut request: tiny_http::Request) {
    let t0 = Instant::now();
    let (method, url) = (request.method().clone(), request.url().to_string());
    let path = url.split('?').next().unwrap_or_default().trim_end_matches('/').to_string();
    let kind = match path.as_str() {
        "/v1/completions" => Some(Kind::Completion),
        "/v1/chat/completions" => Some(Kind::Chat),
        _ => None,
    };
    let result = match (&method, path.as_str(), kind) {
        (tiny_http::Method::Get, "/v1/models", _) => Ok(respond::models(
            &state.config.name,
            state.context,
            &state.scheme,
            &state.config.backend,
            &state.config.path,
        )),
        (tiny_http::Method::Get, "/health", _) => Ok(serde_json::json!({"status": "ok"})),
        (tiny_http::Method::Post, _, Some(kind)) => match prepare(state, &mut request, kind) {
            Ok((jobs, parsed_stream, include_usage, rx)) => {
                let n = jobs.len();
                if !state.engine.submit(jobs) {
                    Err(ApiError::new(503, "server_error", "engine_stopped", "the engine has stopped"))
                } else if parsed_stream {
                    let id = state.ids.fetch_add(1, Ordering::Relaxed);
                    let head = head(state, kind, id);
                    let outcome = stream(request, &head, n, include_usage, rx);
                    eprintln!("{method} {path} 200 stream {outcome} in {:.2} s", t0.elapsed().as_secs_f64());
                    return;
                } else {
                    let id = state.ids.fetch_add(1, Ordering::Relaxed);
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
    let _ = request.respond(json_response(status, &body));
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

/// Reads and checks the body, tokenizes the prompt and builds one job per choice.
fn prepare(state: &State, request: &mut tiny_http::Request, kind: Kind) -> Result<Prepared, ApiError> {
    let limit = state.config.max_body_bytes;
    if request.body_length().is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::new();
    let read = request.as_reader().take(limit as u64 + 1).read_to_end(&mut bytes);
    if read.is_err() {
        return Err(ApiError::bad("invalid_request", "could not read the request body"));
    }
    if bytes.len() > limit {
        return Err(too_large(limit));
    }
    let body: Value = serde_json::from_slice(&bytes)
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

fn too_large(limit: usize) -> ApiError {
    ApiError::new(413, "invalid_request_error", "body_too_large", format!("the request body is over {limit} bytes"))
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

/// One server-sent event as one HTTP chunk, flushed.
fn event(w: &mut dyn Write, data: &str) -> std::io::Result<()> {
    let event = format!("data: {data}\n\n");
    write!(w, "{:x}\r\n{event}\r\n", event.len())?;
    w.flush()
}

/// Writes the answer as server-sent events; returns a note for the log.
fn stream(request: tiny_http::Request, h: &Head, n: usize, include_usage: bool, rx: mpsc::Receiver<Event>) -> String {
    let mut w = request.into_writer();
    let header = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
                  Transfer-Encoding: chunked\r\n\r\n";
    if w.write_all(header.as_bytes()).and_then(|_| w.flush()).is_err() {
        return "client gone before the headers".into();
    }
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
        // A failed write means the client went away: dropping `rx` ends its sequences.
        if event(&mut w, &value.to_string()).is_err() {
            return "client went away".into();
        }
        if value.get("error").is_some() {
            break;
        }
        done += ended as usize;
    }
    if include_usage && event(&mut w, &respond::usage_chunk(h, prompt, completion).to_string()).is_err() {
        return "client went away".into();
    }
    let _ = event(&mut w, "[DONE]").and_then(|_| w.write_all(b"0\r\n\r\n")).and_then(|_| w.flush());
    format!("{}", respond::usage(prompt, completion))
}
