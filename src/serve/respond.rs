//! The JSON objects `qtool serve` answers with, in OpenAI's shapes: whole completions
//! (`text_completion`, `chat.completion`), stream chunks (`text_completion` chunks,
//! `chat.completion.chunk`), usage, and the model list.

use super::api::Kind;
use eval::runner::Finish;
use serde_json::{json, Value};

/// OpenAI's `finish_reason` for how a choice ended.
pub fn finish_reason(f: Finish) -> &'static str {
    match f {
        Finish::Eos | Finish::Stop => "stop",
        Finish::Length | Finish::Context | Finish::PromptTooLong => "length",
    }
}

/// Identity of one response: its id, creation time and model name.
pub struct Head<'a> {
    /// `cmpl-N` or `chatcmpl-N`.
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// Served model name.
    pub model: &'a str,
    /// Which endpoint.
    pub kind: Kind,
}

/// The usage object.
pub fn usage(prompt: usize, completion: usize) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// A whole (non-streamed) answer; `choices` are (text, finish) in index order.
pub fn completion(h: &Head, choices: &[(String, Finish)], prompt: usize, completion: usize) -> Value {
    let choices: Vec<Value> = choices
        .iter()
        .enumerate()
        .map(|(i, (text, f))| match h.kind {
            Kind::Completion => json!({"index": i, "text": text, "logprobs": null, "finish_reason": finish_reason(*f)}),
            Kind::Chat => json!({
                "index": i,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": finish_reason(*f),
            }),
        })
        .collect();
    let object = match h.kind {
        Kind::Completion => "text_completion",
        Kind::Chat => "chat.completion",
    };
    json!({
        "id": h.id, "object": object, "created": h.created, "model": h.model,
        "choices": choices, "usage": usage(prompt, completion),
    })
}

/// A stream chunk for choice `index`: new text, or (with `finish`) its last chunk. A chat's
/// first chunk of a choice (`first`) carries the assistant role.
pub fn chunk(h: &Head, index: usize, text: &str, first: bool, finish: Option<Finish>) -> Value {
    let reason = finish.map(finish_reason);
    match h.kind {
        Kind::Completion => json!({
            "id": h.id, "object": "text_completion", "created": h.created, "model": h.model,
            "choices": [{"index": index, "text": text, "logprobs": null, "finish_reason": reason}],
        }),
        Kind::Chat => {
            let delta = match (first, finish) {
                (_, Some(_)) => json!({}),
                (true, None) => json!({"role": "assistant", "content": text}),
                (false, None) => json!({"content": text}),
            };
            json!({
                "id": h.id, "object": "chat.completion.chunk", "created": h.created, "model": h.model,
                "choices": [{"index": index, "delta": delta, "logprobs": null, "finish_reason": reason}],
            })
        }
    }
}

/// The last chunk of a stream with `stream_options.include_usage`: no choices, the usage.
pub fn usage_chunk(h: &Head, prompt: usize, completion: usize) -> Value {
    let object = match h.kind {
        Kind::Completion => "text_completion",
        Kind::Chat => "chat.completion.chunk",
    };
    json!({
        "id": h.id, "object": object, "created": h.created, "model": h.model,
        "choices": [], "usage": usage(prompt, completion),
    })
}

/// `/v1/models`: the one served model, with its context (`max_model_len`, as vLLM reports
/// it) and what qtool knows about it.
pub fn models(name: &str, context: usize, scheme: &str, backend: &str, path: &str) -> Value {
    json!({
        "object": "list",
        "data": [{
            "id": name, "object": "model", "created": 0, "owned_by": "qtool",
            "max_model_len": context,
            "qtool": {"scheme": (!scheme.is_empty()).then_some(scheme), "backend": backend, "path": path},
        }],
    })
}
