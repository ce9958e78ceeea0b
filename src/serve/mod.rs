//! `qtool serve`: an OpenAI-compatible HTTP server over one model.
//!
//! Threads: one engine thread owns the [`model::Model`] and batches every request from every
//! client (`engine`); `tiny_http` accepts connections and each request is handled on a thread
//! of its own (`http`), which checks the body (`api`), tokenizes it, queues its sequences and
//! answers with a whole JSON body or a server-sent-event stream (`respond`); decoded text and
//! stop strings are handled per sequence on the engine thread (`text`).
//!
//! Why `tiny_http`: a small, maintained, blocking HTTP/1.1 server with few dependencies and no
//! async runtime (axum + tokio would double the build time on two cores for no gain here:
//! the engine is one thread and the handlers mostly wait on a channel). Bodies are JSON
//! through `serde_json`, already in the tree.

pub mod api;
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
