//! A small HTTP/1.1 connection layer for `qtool serve`: one thread per connection, keep-alive,
//! request heads parsed with `httparse`, bodies by `Content-Length` only (a chunked request
//! body gets 411), `Expect: 100-continue` answered, responses with a `Content-Length` or, for
//! server-sent events, chunked and flushed chunk by chunk.
//!
//! Reads run against deadlines, not per-read idle timeouts: a [`Reader`] fails once the
//! deadline of the current phase has passed (the whole head within [`HEAD_DEADLINE`] of its
//! first byte, the whole body within [`BODY_DEADLINE`]), so a client trickling a byte at a time
//! cannot hold a connection forever.
//!
//! Why not a server crate: `tiny_http` 0.12 was tried first; its connection task pool can
//! leave a new keep-alive connection unserved while other connections stay open (two
//! connections queued before a waiting worker wakes get one wake-up between them), which
//! hung a client at 8 concurrent connections. axum + hyper + tokio would work but doubles the
//! build on two cores. This layer is the little HTTP an OpenAI client needs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Largest request head (request line and headers).
const MAX_HEAD: usize = 64 << 10;
/// Time from the first byte of a request to the end of its head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(30);
/// Time to receive a request body (the default 4 MiB limit: 70 KB/s at the least).
pub const BODY_DEADLINE: Duration = Duration::from_secs(60);

/// The reading side of a connection: every read fails with `TimedOut` once the deadline set
/// by [`Reader::set_deadline`] has passed.
pub struct Reader {
    stream: TcpStream,
    deadline: Option<Instant>,
}

impl Reader {
    /// Reads `stream` with no deadline yet.
    pub fn new(stream: TcpStream) -> Reader {
        Reader { stream, deadline: None }
    }

    /// Reads fail after `deadline` (`None`: never).
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }
}

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let timeout = match self.deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()).filter(|t| !t.is_zero()) {
                Some(t) => Some(t),
                None => return Err(std::io::ErrorKind::TimedOut.into()),
            },
        };
        self.stream.set_read_timeout(timeout)?;
        self.stream.read(buf)
    }
}

/// Whether a read error is a passed deadline.
fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
}

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

/// Reads one request whose first byte has arrived (or is on its way); the head must arrive
/// within [`HEAD_DEADLINE`] and the body within [`BODY_DEADLINE`]. Bodies over `max_body` bytes
/// are refused before they are read.
pub fn read_request(r: &mut BufReader<Reader>, w: &mut TcpStream, max_body: usize) -> Result<Request, ReadError> {
    r.get_mut().set_deadline(Some(Instant::now() + HEAD_DEADLINE));
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        match r.by_ref().take(MAX_HEAD as u64 + 1).read_until(b'\n', &mut line) {
            Err(e) if timed_out(&e) => {
                let what = format!("the request head did not arrive within {} s", HEAD_DEADLINE.as_secs());
                return Err(ReadError::Bad(408, "request_timeout", what));
            }
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
    r.get_mut().set_deadline(Some(Instant::now() + BODY_DEADLINE));
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
    match r.read_exact(&mut body) {
        Ok(()) => {}
        Err(e) if timed_out(&e) => {
            let what = format!("the request body did not arrive within {} s", BODY_DEADLINE.as_secs());
            return Err(ReadError::Bad(408, "request_timeout", what));
        }
        Err(_) => return Err(ReadError::Closed),
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
        408 => "Request Timeout",
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

/// Whether the client at the other end of `s` has closed the connection (or it broke), checked
/// without blocking and without consuming anything: a pipelined next request counts as still
/// there. A client that half-closes its side after sending a request reads as gone, which
/// HTTP clients waiting for an answer do not do.
pub fn hung_up(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    let r = s.peek(&mut b);
    let _ = s.set_nonblocking(false);
    match r {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted),
    }
}

/// Ends a chunked answer.
pub fn end_events(w: &mut TcpStream) -> std::io::Result<()> {
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}
