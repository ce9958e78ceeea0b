//! `qtool serve` under hostile requests (qtool issue 20): an empty prompt is a 400 and the
//! engine keeps serving; a model whose context is under 256 tokens serves; a non-streaming
//! request whose client hangs up is cancelled, so it does not hold up the next client; idle
//! connections never lock out a client with a request.

use crate::serve::{post, Server};
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

/// `qtool serve` on `model` with `--batch batch`, on a free port.
fn start(model: &std::path::Path, batch: usize) -> Server {
    crate::serve::start_server_on(model, batch)
}

fn health(base: &str) -> u16 {
    let root = base.trim_end_matches("/v1");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    agent.get(&format!("{root}/health")).call().map(|r| r.status().as_u16()).unwrap_or(0)
}

#[test]
fn serve_empty_prompt_is_a_400_and_the_engine_lives() {
    let gguf = crate::common::smollm2_gguf();
    let server = start(&gguf, 2);
    let base = server.base.as_str();
    let name = "SmolLM2-135M-Instruct.Q4_1";
    for prompt in [json!(""), json!([""])] {
        let (status, text) = post(base, "/completions", &json!({"model": name, "prompt": prompt}).to_string());
        assert_eq!(status, 400, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains("empty"), "{v}");
    }
    let ok = json!({"model": name, "prompt": "The sky is", "max_tokens": 3, "temperature": 0});
    let (status, text) = post(base, "/completions", &ok.to_string());
    assert_eq!(status, 200, "the engine still serves: {text}");
    assert_eq!(health(base), 200);
}

#[test]
fn serve_small_context_model_answers() {
    let d = tempfile::tempdir().unwrap();
    let small = crate::crafted::smollm2_edited(d.path(), "ctx128.gguf", |g| {
        g.set("llama.context_length", quant::gguf::MetaValue::U32(128))
    });
    let server = start(&small, 2);
    let body = json!({"model": "ctx128", "prompt": "The sky is", "max_tokens": 4, "temperature": 0});
    let (status, text) = post(&server.base, "/completions", &body.to_string());
    assert_eq!(status, 200, "{text}");
    let (status, text) = post(&server.base, "/completions", &body.to_string());
    assert_eq!(status, 200, "the engine survived its first request: {text}");
}

#[test]
fn serve_cancels_a_non_streaming_request_whose_client_hung_up() {
    let gguf = crate::common::smollm2_gguf();
    let server = start(&gguf, 16);
    let base = server.base.as_str();
    let name = "SmolLM2-135M-Instruct.Q4_1";
    // 16 long greedy choices (32,000 tokens: minutes of work even on the fast path, so a missed
    // cancellation cannot hide behind a loaded machine's slowness), then the client goes away
    // without reading the answer.
    let addr = base.trim_start_matches("http://").trim_end_matches("/v1").to_string();
    let body = json!({"model": name, "prompt": "Count from one to one thousand: one, two, three,", "n": 16,
                      "max_tokens": 2000, "temperature": 0})
    .to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    write!(c, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(c);
    let t0 = Instant::now();
    let chat =
        json!({"model": name, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 8, "temperature": 0});
    let (status, text) = post(base, "/chat/completions", &chat.to_string());
    let secs = t0.elapsed().as_secs_f64();
    println!("next request after the hang-up: {secs:.2} s");
    assert_eq!(status, 200, "{text}");
    assert!(secs < 60.0, "the abandoned request still ran: the next one took {secs:.1} s");
}

#[test]
fn serve_idle_connections_do_not_lock_out_clients() {
    let gguf = crate::common::smollm2_gguf();
    let server = start(&gguf, 2);
    let base = server.base.as_str();
    let addr = base.trim_start_matches("http://").trim_end_matches("/v1").to_string();
    // More idle connections than the server has slots (1024).
    let idle: Vec<std::net::TcpStream> = (0..1030).map(|_| std::net::TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(1000));
    let body =
        json!({"model": "SmolLM2-135M-Instruct.Q4_1", "prompt": "The sky is", "max_tokens": 2, "temperature": 0});
    let (status, text) = post(base, "/completions", &body.to_string());
    assert_eq!(status, 200, "a client is served while idle connections hold every slot: {text}");
    assert_eq!(health(base), 200);
    drop(idle);
}
