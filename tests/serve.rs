//! `qtool serve` through HTTP on a free loopback port, with SmolLM2 and a few tokens: chat
//! and completion, whole and streamed (the stream concatenates to the whole answer, greedy
//! and seeded), stop strings, concurrent clients batched together, and clear 4xx errors
//! after which the server keeps serving.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A `qtool serve` child on a free port, killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT/v1`.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `qtool serve` on SmolLM2 with `--port 0` and reads the address it prints.
pub fn start_server(batch: usize) -> Server {
    start_server_on(&crate::common::smollm2_gguf(), batch)
}

/// Starts `qtool serve` on `model` with `--batch batch` and `--port 0`, and reads the address
/// it prints.
pub fn start_server_on(model: &std::path::Path, batch: usize) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args(["serve", "--model", model.to_str().unwrap(), "--port", "0", "--batch", &batch.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("qtool serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let at = line.find("http://").unwrap_or_else(|| panic!("no address in {line:?}"));
    let base = line[at..].split_whitespace().next().unwrap().to_string();
    println!("{}", line.trim());
    Server { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .build()
        .into()
}

/// POSTs `body` (a string, so bad JSON can be sent) and returns the status and the body text.
pub fn post(base: &str, path: &str, body: &str) -> (u16, String) {
    let mut r = agent().post(&format!("{base}{path}")).send(body.to_string()).unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn post_json(base: &str, path: &str, body: &Value) -> Value {
    let (status, text) = post(base, path, &body.to_string());
    assert_eq!(status, 200, "{path} {body}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The `data:` payloads of a server-sent-event body.
fn events(text: &str) -> Vec<String> {
    text.split("\n\n").filter_map(|e| e.strip_prefix("data: ")).map(str::to_string).collect()
}

/// Streams `body` and returns (concatenated text, finish reasons, usage chunk if any).
fn stream(base: &str, path: &str, body: &Value) -> (String, Vec<String>, Option<Value>) {
    let mut body = body.clone();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, text) = post(base, path, &body.to_string());
    assert_eq!(status, 200, "{text}");
    let ev = events(&text);
    assert_eq!(ev.last().map(String::as_str), Some("[DONE]"), "{text}");
    let (mut out, mut reasons, mut usage) = (String::new(), Vec::new(), None);
    for e in &ev[..ev.len() - 1] {
        let v: Value = serde_json::from_str(e).unwrap();
        if let Some(u) = v.get("usage") {
            usage = Some(u.clone());
        }
        for c in v["choices"].as_array().unwrap() {
            let piece = c["text"].as_str().or_else(|| c.pointer("/delta/content").and_then(Value::as_str));
            out.push_str(piece.unwrap_or_default());
            if let Some(r) = c["finish_reason"].as_str() {
                reasons.push(r.to_string());
            }
        }
    }
    (out, reasons, usage)
}

fn chat_text(v: &Value) -> String {
    v.pointer("/choices/0/message/content").and_then(Value::as_str).unwrap().to_string()
}

fn error_of(status_text: (u16, String)) -> (u16, String, String) {
    let (status, text) = status_text;
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let e = &v["error"];
    assert!(e["type"].is_string() && e["message"].is_string(), "{v}");
    (status, e["code"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string())
}

#[test]
fn serve_chat_completion_streaming_stop_and_errors() {
    let server = start_server(4);
    let base = server.base.as_str();
    let name = "SmolLM2-135M-Instruct.Q4_1";

    let mut r = agent().get(&format!("{base}/models")).call().unwrap();
    let models: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(models["data"][0]["id"], name, "{models}");
    let context = models["data"][0]["max_model_len"].as_u64().unwrap();
    assert!(context >= 2048, "{models}");

    // Chat, greedy: whole and streamed agree.
    let chat = json!({"model": name, "messages": [{"role": "user", "content": "Name three colors."}],
                      "max_tokens": 14, "temperature": 0});
    let whole = post_json(base, "/chat/completions", &chat);
    let text = chat_text(&whole);
    let usage = &whole["usage"];
    println!("chat: {text:?} {usage}");
    assert!(!text.is_empty() && usage["prompt_tokens"].as_u64().unwrap() > 5);
    assert!(usage["completion_tokens"].as_u64().unwrap() <= 14);
    assert_eq!(whole["object"], "chat.completion");
    let (streamed, reasons, stream_usage) = stream(base, "/chat/completions", &chat);
    assert_eq!(streamed, text, "the chat stream concatenates to the whole answer");
    assert_eq!(reasons, vec![whole["choices"][0]["finish_reason"].as_str().unwrap().to_string()]);
    assert_eq!(stream_usage.as_ref(), Some(usage));
    let chat_answer = text.clone();

    // Completion, greedy and seeded sampling.
    let mut completion =
        json!({"model": name, "prompt": "The three primary colors are", "max_tokens": 16, "temperature": 0});
    let whole = post_json(base, "/completions", &completion);
    let text = whole["choices"][0]["text"].as_str().unwrap().to_string();
    println!("completion: {text:?}");
    assert_eq!(whole["object"], "text_completion");
    assert_eq!(whole["usage"]["completion_tokens"], 16, "no EOS this early: {whole}");
    assert_eq!(whole["choices"][0]["finish_reason"], "length");
    assert_eq!(stream(base, "/completions", &completion).0, text);
    let mut sampled = completion.clone();
    sampled["temperature"] = json!(0.9);
    sampled["seed"] = json!(7);
    let s1 = post_json(base, "/completions", &sampled)["choices"][0]["text"].as_str().unwrap().to_string();
    let s2 = post_json(base, "/completions", &sampled)["choices"][0]["text"].as_str().unwrap().to_string();
    assert_eq!(s1, s2, "the same seed gives the same sample");
    assert_eq!(stream(base, "/completions", &sampled).0, s1, "and the same stream");

    // Stop strings: a piece of the greedy text cuts it just before its first occurrence.
    let cut = text.char_indices().map(|(i, _)| i).find(|&i| i >= text.len() / 2).unwrap();
    let stop: String = text[cut..].chars().take(3).collect();
    let expected = &text[..text.find(&stop).unwrap()];
    completion["stop"] = json!([stop.clone(), "NEVER-SEEN-STOP"]);
    let stopped = post_json(base, "/completions", &completion);
    println!("stop {stop:?}: {stopped}");
    assert_eq!(stopped["choices"][0]["text"], expected);
    assert_eq!(stopped["choices"][0]["finish_reason"], "stop");
    let (streamed, reasons, _) = stream(base, "/completions", &completion);
    assert_eq!((streamed.as_str(), reasons), (expected, vec!["stop".to_string()]));
    completion["stop"] = json!(stop);
    assert_eq!(post_json(base, "/completions", &completion)["choices"][0]["text"], expected, "a plain string too");

    // Concurrent clients are batched together and get the answers they get alone.
    let prompts = ["Name three colors.", "What is 7 times 8?", "Say hello.", "Count to five."];
    let alone: Vec<String> = prompts
        .iter()
        .map(|p| {
            let b = json!({"model": name, "messages": [{"role": "user", "content": p}], "max_tokens": 10, "temperature": 0});
            chat_text(&post_json(base, "/chat/completions", &b))
        })
        .collect();
    let together: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = prompts
            .iter()
            .map(|p| {
                s.spawn(move || {
                    let b = json!({"model": name, "messages": [{"role": "user", "content": p}], "max_tokens": 10, "temperature": 0});
                    chat_text(&post_json(base, "/chat/completions", &b))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(alone, together, "batched requests answer as alone");

    // Many clients on kept-alive connections, twice over (a server whose connection pool
    // starves hangs here).
    let shared = agent();
    for round in 0..2 {
        let n = std::thread::scope(|s| {
            let hs: Vec<_> = (0..10)
                .map(|i| {
                    let shared = shared.clone();
                    s.spawn(move || {
                        let b = json!({"model": name, "prompt": format!("{i} + {round} ="), "max_tokens": 3, "temperature": 0});
                        let mut r = shared.post(&format!("{base}/completions")).send(b.to_string()).unwrap();
                        assert_eq!(r.status().as_u16(), 200);
                        r.body_mut().read_to_string().unwrap().len()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).filter(|&len| len > 0).count()
        });
        assert_eq!(n, 10, "round {round}");
    }

    // Errors: clear JSON, 4xx, and the server goes on.
    let (s, code, msg) = error_of(post(base, "/chat/completions", "{\"model\": "));
    assert_eq!((s, code.as_str()), (400, "invalid_json"), "{msg}");
    let bad_model = json!({"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]});
    let (s, code, msg) = error_of(post(base, "/chat/completions", &bad_model.to_string()));
    assert_eq!((s, code.as_str()), (404, "model_not_found"), "{msg}");
    assert!(msg.contains("gpt-9") && msg.contains(name), "{msg}");
    let (s, code, msg) = error_of(post(base, "/chat/completions", &json!({"model": name}).to_string()));
    assert_eq!((s, code.as_str()), (400, "missing_field"), "{msg}");
    assert!(msg.contains("messages"), "{msg}");
    let (s, code, _) = error_of(post(base, "/completions", &json!({"prompt": "x"}).to_string()));
    assert_eq!((s, code.as_str()), (400, "missing_field"));
    let over = json!({"model": name, "prompt": "x", "max_tokens": context + 1});
    let (s, code, msg) = error_of(post(base, "/completions", &over.to_string()));
    assert_eq!((s, code.as_str()), (400, "context_length_exceeded"), "{msg}");
    assert!(msg.contains(&context.to_string()), "{msg}");
    let bad_t = json!({"model": name, "prompt": "x", "temperature": "hot"});
    assert_eq!(error_of(post(base, "/completions", &bad_t.to_string())).0, 400);
    let huge = format!("{{\"model\": \"{name}\", \"prompt\": \"{}\"}}", "x".repeat(5 << 20));
    let (s, code, _) = error_of(post(base, "/completions", &huge));
    assert_eq!((s, code.as_str()), (413, "body_too_large"));
    let (s, code, _) = error_of(post(base, "/embeddings", "{}"));
    assert_eq!((s, code.as_str()), (404, "not_found"));
    let after = post_json(base, "/chat/completions", &chat);
    assert_eq!(chat_text(&after), chat_answer, "still serving, with the same answer");
}
