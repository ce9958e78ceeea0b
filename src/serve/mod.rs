//! `qtool serve`: an OpenAI-compatible HTTP server over one model.
//!
//! Threads: one engine thread owns the [`model::Model`] and batches every request from every
//! client (`engine`); each connection has a thread of its own (`http` over the small HTTP/1.1
//! layer in `conn`), which checks each request body (`api`), tokenizes it, queues its
//! sequences and answers with a whole JSON body or a server-sent-event stream (`respond`);
//! decoded text and stop strings are handled per sequence on the engine thread (`text`).
//!
//! Crates: `httparse` for request heads (the parser under hyper and ureq; already in the
//! tree through ureq) and `serde_json` for bodies; blocking threads rather than an async
//! runtime, since the engine is one thread and handlers mostly wait on a channel (axum +
//! tokio would double the build on two cores). `tiny_http` was tried first and dropped: see
//! `conn` for why.

pub mod api;
pub mod conn;
pub mod engine;
pub mod http;
pub mod respond;
pub mod text;

/// What `qtool serve` runs.
pub struct ServeConfig {
    /// Address to bind (`127.0.0.1:8000`; port 0 picks a free one).
    pub addr: String,
    /// The name clients must send as `model`.
    pub name: String,
    /// Checkpoint path (shown in `/v1/models`).
    pub path: String,
    /// Backend name (shown in `/v1/models`).
    pub backend: String,
    /// Most sequences in flight.
    pub batch: usize,
    /// Largest `max_tokens` accepted (at most the context).
    pub max_tokens_limit: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Most sequences waiting for a slot before requests get 429.
    pub max_queue: usize,
}
