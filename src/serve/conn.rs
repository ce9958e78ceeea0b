//! A small HTTP/1.1 connection layer for `qtool serve`: one thread per connection, keep-alive,
//! request heads parsed with `httparse`, bodies by `Content-Length` only (a chunked request
//! body gets 411), `Expect: 100-continue` answered, responses with a `Content-Length` or, for
//! server-sent events, chunked and flushed chunk by chunk.
//!
//! Why not a server crate: `tiny_http` 0.12 was tried first; its connection task pool can
//! leave a new keep-alive connection unserved while other connections stay open (two
//! connections queued before a waiting worker wakes get one wake-up between them), which
//! hung a client at 8 concurrent connections. axum + hyper + tokio would work but doubles the
//! build on two cores. This layer is the little HTTP an OpenAI client needs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// Largest request head (request line and headers).
const MAX_HEAD: usize = 64 << 10;

/// A request read off a connection.
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query string, without a trailing slash.
    pub path: String,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Whether the client keeps the connection open after the answer.
    pub keep_alive: bool,
}

/// Why no request could be read.
pub enum ReadError {
    /// The client closed the connection (or went idle past the read timeout).
    Closed,
    /// A malformed or over-limit request: answer with this status and message, then close.
    Bad(u16, &'static str, String),
}

/// Reads one request; bodies over `max_body` bytes are refused before they are read.
pub fn read_request(r: &mut BufReader<TcpStream>, w: &mut TcpStream, max_body: usize) -> Result<Request, ReadError> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        match r.by_ref().take(MAX_HEAD as u64 + 1).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) if head.is_empty() => return Err(ReadError::Closed),
            Ok(0) | Err(_) => return Err(ReadError::Bad(400, "bad_request", "the request head was cut off".into())),
            Ok(_) => {}
        }
        if line.trim_ascii().is_empty() {
            if head.is_empty() {
                continue; // blank lines between requests
            }
            head.extend_from_slice(b"\r\n");
            break;
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "head_too_large", format!("the request head is over {MAX_HEAD} bytes")));
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(ReadError::Bad(400, "bad_request", "incomplete request head".into()))
        }
        Err(e) => return Err(ReadError::Bad(400, "bad_request", format!("malformed request head: {e}"))),
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    if header("transfer-encoding").is_some_and(|v| v != "identity") {
        return Err(ReadError::Bad(411, "length_required", "send the body with a Content-Length".into()));
    }
    let length = match header("content-length") {
        None => 0,
        Some(v) => {
            v.parse::<usize>().map_err(|_| ReadError::Bad(400, "bad_request", format!("bad Content-Length {v:?}")))?
        }
    };
    if length > max_body {
        // Read (and drop) a moderately large body so the client sees the answer rather than a
        // reset connection; past 64 MiB just answer and close.
        if length <= 64 << 20 {
            let _ = std::io::copy(&mut r.by_ref().take(length as u64), &mut std::io::sink());
        }
        return Err(ReadError::Bad(413, "body_too_large", format!("the request body is over {max_body} bytes")));
    }
    if length > 0 && header("expect").is_some_and(|v| v == "100-continue") {
        let _ = w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").and_then(|_| w.flush());
    }
    let mut body = vec![0; length];
    if r.read_exact(&mut body).is_err() {
        return Err(ReadError::Closed);
    }
    let keep_alive = match (req.version, header("connection").as_deref()) {
        (_, Some("close")) => false,
        (Some(1), _) => true,
        (_, Some("keep-alive")) => true,
        _ => false,
    };
    let target = req.path.unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/").trim_end_matches('/').to_string();
    Ok(Request { method: req.method.unwrap_or("GET").to_string(), path, body, keep_alive })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// Writes a whole JSON answer.
pub fn write_json(w: &mut TcpStream, status: u16, body: &str, keep_alive: bool) -> std::io::Result<()> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    write!(
        w,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
        reason(status),
        body.len()
    )?;
    w.flush()
}

/// Starts a server-sent-event answer (chunked; end it with [`end_events`]).
pub fn start_events(w: &mut TcpStream, keep_alive: bool) -> std::io::Result<()> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
         Transfer-Encoding: chunked\r\nConnection: {connection}\r\n\r\n"
    )?;
    w.flush()
}

/// Sends one event `data: {data}` as one HTTP chunk, flushed.
pub fn event(w: &mut TcpStream, data: &str) -> std::io::Result<()> {
    let event = format!("data: {data}\n\n");
    write!(w, "{:x}\r\n{event}\r\n", event.len())?;
    w.flush()
}

/// Ends a chunked answer.
pub fn end_events(w: &mut TcpStream) -> std::io::Result<()> {
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}
