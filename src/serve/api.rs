//! The OpenAI request bodies `qtool serve` accepts, checked into a [`Parsed`] request, and
//! the errors it answers with (`{"error": {"message", "type", "code"}}` and a 4xx/5xx status).
//!
//! Accepted fields: `model` (required, must be the served name), `prompt` (completions: a
//! string or a one-string list) or `messages` (chat: roles and string or text-part contents),
//! `max_tokens` (chat also `max_completion_tokens`), `temperature`, `top_p`, `top_k` (as vLLM),
//! `seed`, `stop` (a string or up to 4 strings), `n` (1 to 16), `stream`,
//! `stream_options.include_usage`. Unknown fields are ignored, as OpenAI does.

use model::sampler::SamplingParams;
use model::tokenizer::ChatMessage;
use serde_json::{json, Value};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Human-readable message.
    pub message: String,
    /// OpenAI's error type (`invalid_request_error`, ...).
    pub kind: &'static str,
    /// Machine-readable code.
    pub code: &'static str,
}

impl ApiError {
    /// A 400 `invalid_request_error`.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status: 400, message: message.into(), kind: "invalid_request_error", code }
    }
    /// Any status.
    pub fn new(status: u16, kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), kind, code }
    }
    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "code": self.code}})
    }
}

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/v1/completions`: raw prompt text.
    Completion,
    /// `/v1/chat/completions`: messages through the chat template.
    Chat,
}

/// What the prompt is before tokenization.
#[derive(Debug)]
pub enum Prompt {
    /// Raw text (special tokens such as BOS added by the tokenizer's convention).
    Text(String),
    /// A conversation.
    Messages(Vec<ChatMessage>),
}

/// A checked request.
#[derive(Debug)]
pub struct Parsed {
    /// The prompt.
    pub prompt: Prompt,
    /// `max_tokens`, if given.
    pub max_tokens: Option<usize>,
    /// Sampling (the seed is drawn from the clock when not given).
    pub sampling: SamplingParams,
    /// Stop strings.
    pub stop: Vec<String>,
    /// Number of choices.
    pub n: usize,
    /// Stream server-sent events.
    pub stream: bool,
    /// Send a last chunk with usage counts when streaming.
    pub include_usage: bool,
}

fn number(body: &Value, key: &str, default: f64, ok: impl Fn(f64) -> bool, range: &str) -> Result<f64, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match v.as_f64() {
            Some(x) if ok(x) => Ok(x),
            _ => Err(ApiError::bad("invalid_value", format!("'{key}' must be a number {range}, got {v}"))),
        },
    }
}

fn count(body: &Value, key: &str) -> Result<Option<usize>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) => Ok(Some(n as usize)),
            None => Err(ApiError::bad("invalid_value", format!("'{key}' must be a non-negative integer, got {v}"))),
        },
    }
}

fn content(v: &Value, i: usize) -> Result<String, ApiError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match (p["type"].as_str(), p["text"].as_str()) {
                (Some("text"), Some(t)) => Ok(t.to_string()),
                _ => {
                    Err(ApiError::bad("invalid_value", format!("messages[{i}].content: only text parts are supported")))
                }
            })
            .collect(),
        Value::Null => Ok(String::new()),
        _ => Err(ApiError::bad(
            "invalid_value",
            format!("messages[{i}].content must be a string or a list of text parts"),
        )),
    }
}

/// Checks a request body of endpoint `kind` against the served model `name`.
pub fn parse(kind: Kind, body: &Value, name: &str) -> Result<Parsed, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad("invalid_request", "the body must be a JSON object"));
    }
    let model = match body.get("model") {
        Some(Value::String(m)) => m,
        Some(_) => return Err(ApiError::bad("invalid_value", "'model' must be a string")),
        None => {
            return Err(ApiError::bad(
                "missing_field",
                format!("missing required field 'model' (this server serves {name:?})"),
            ))
        }
    };
    if model != name {
        return Err(ApiError::new(
            404,
            "invalid_request_error",
            "model_not_found",
            format!("the model {model:?} does not exist; this server serves {name:?}"),
        ));
    }
    let prompt = match kind {
        Kind::Completion => match body.get("prompt") {
            Some(Value::String(p)) => Prompt::Text(p.clone()),
            Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
                Prompt::Text(a[0].as_str().unwrap_or_default().into())
            }
            Some(_) => {
                return Err(ApiError::bad("invalid_value", "'prompt' must be a string (or a list of one string)"))
            }
            None => return Err(ApiError::bad("missing_field", "missing required field 'prompt'")),
        },
        Kind::Chat => {
            let Some(msgs) = body.get("messages") else {
                return Err(ApiError::bad("missing_field", "missing required field 'messages'"));
            };
            let Some(msgs) = msgs.as_array().filter(|m| !m.is_empty()) else {
                return Err(ApiError::bad("invalid_value", "'messages' must be a non-empty list"));
            };
            let mut out = Vec::with_capacity(msgs.len());
            for (i, m) in msgs.iter().enumerate() {
                let Some(role) = m.get("role").and_then(Value::as_str) else {
                    return Err(ApiError::bad("missing_field", format!("messages[{i}] has no 'role'")));
                };
                out.push(ChatMessage::new(role, content(m.get("content").unwrap_or(&Value::Null), i)?));
            }
            Prompt::Messages(out)
        }
    };
    let max_tokens = match (count(body, "max_tokens")?, count(body, "max_completion_tokens")?) {
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    if max_tokens == Some(0) {
        return Err(ApiError::bad("invalid_value", "'max_tokens' must be at least 1"));
    }
    let temperature = number(body, "temperature", 1.0, |x| (0.0..=2.0).contains(&x), "in [0, 2]")? as f32;
    let top_p = number(body, "top_p", 1.0, |x| x > 0.0 && x <= 1.0, "in (0, 1]")? as f32;
    let top_k = match body.get("top_k").and_then(Value::as_i64) {
        Some(k) if k > 0 => k as usize,
        _ => 0, // vLLM's -1 and 0 mean off
    };
    let seed = match count(body, "seed")? {
        Some(s) => s as u64,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
    };
    let stop = match body.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.len() <= 4 && a.iter().all(Value::is_string) => {
            a.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        Some(_) => {
            return Err(ApiError::bad("invalid_value", "'stop' must be a string or a list of at most 4 strings"))
        }
    };
    let n = count(body, "n")?.unwrap_or(1);
    if !(1..=16).contains(&n) {
        return Err(ApiError::bad("invalid_value", format!("'n' must be from 1 to 16, got {n}")));
    }
    let flag = |v: Option<&Value>, key: &str| match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(ApiError::bad("invalid_value", format!("'{key}' must be true or false, got {v}"))),
    };
    let stream = flag(body.get("stream"), "stream")?;
    let include_usage = flag(body.pointer("/stream_options/include_usage"), "stream_options.include_usage")?;
    Ok(Parsed {
        prompt,
        max_tokens,
        sampling: SamplingParams { temperature, top_p, top_k, seed },
        stop,
        n,
        stream,
        include_usage,
    })
}
