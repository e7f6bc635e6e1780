//! An embeddable callback listener for hosts without a web framework: a small HTTP/1.1 server
//! (std threads, no async runtime) that accepts the registry's callbacks on
//! `.../on-search`, `/on-subscribe`, `/on-unsubscribe`, `/notify` and `/txn/on-status`, hands
//! them to [`DCIClient::handle_callback`] and answers with its ACK.
//!
//! Callers then [`CallbackListener::wait_for`] a transaction or register a notify handler.
//! Limits: one request per connection, bodies up to [`MAX_BODY`], 10 s to send a request,
//! [`MAX_CONNECTIONS`] served at once (more are answered 503 at once).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::client::callback::error_ack;
use crate::client::{CallbackResult, DCIClient, NotifyEvent};
use crate::error::{Error, Result};

/// The largest callback body accepted.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
const MAX_HEAD: usize = 64 * 1024;
/// Connections served at the same time; a registry sending more gets 503 and retries.
pub const MAX_CONNECTIONS: usize = 64;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The callback paths served (any prefix before them is accepted).
pub const CALLBACK_SUFFIXES: [&str; 5] = [
    "/on-search",
    "/on-subscribe",
    "/on-unsubscribe",
    "/notify",
    "/txn/on-status",
];

pub struct CallbackListener {
    addr: SocketAddr,
    client: DCIClient,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CallbackListener {
    /// Binds `addr` and serves callbacks for `client`.
    pub fn bind(client: DCIClient, addr: impl ToSocketAddrs) -> Result<Self> {
        let l = TcpListener::bind(addr)?;
        Self::from_listener(client, l)
    }

    /// Serves callbacks on an already bound listener (bind port 0 first to learn the port for
    /// `our_callback_uri`, then build the client, then call this).
    pub fn from_listener(client: DCIClient, listener: TcpListener) -> Result<Self> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (client.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("dci-callback-listener".into())
            .spawn(move || accept_loop(listener, c, s))?;
        Ok(CallbackListener {
            addr,
            client,
            stop,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the callback of an async call; see [`DCIClient::wait_for`].
    pub fn wait_for(&self, transaction_id: &str, timeout: Duration) -> Result<CallbackResult> {
        self.client.wait_for(transaction_id, timeout)
    }

    /// Registers a handler for notify events; see [`DCIClient::on_notify`].
    pub fn on_notify(&self, handler: impl Fn(&NotifyEvent) + Send + Sync + 'static) {
        self.client.on_notify(handler)
    }

    /// Stops accepting and joins the accept thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn accept_loop(listener: TcpListener, client: DCIClient, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = conn else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            let e = Error::Internal("too many callback connections; retry later".into());
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = respond(&mut stream, 503, &error_ack(&e));
            continue;
        }
        let (c, a) = (client.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name("dci-callback".into())
            .spawn(move || {
                let _ = serve(stream, &c);
                a.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve(mut stream: TcpStream, client: &DCIClient) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let req = match read_request(&mut stream) {
        Ok(r) => r,
        Err((status, msg)) => {
            let e = Error::Json(msg);
            return respond(&mut stream, status, &error_ack(&e));
        }
    };
    if req.method != "POST" {
        let e = Error::Validation(vec![crate::error::Violation::new("method", "POST only")]);
        return respond(&mut stream, 405, &error_ack(&e));
    }
    let path = req.path.split('?').next().unwrap_or("");
    if !CALLBACK_SUFFIXES.iter().any(|s| path.ends_with(s)) {
        let e = Error::Validation(vec![crate::error::Violation::new(
            "path",
            format!("{path} is not a callback endpoint"),
        )]);
        return respond(&mut stream, 404, &error_ack(&e));
    }
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = client.answer_callback(&req.body, &headers);
    respond(&mut stream, answer.http_status, &answer.ack)
}

fn read_request(stream: &mut TcpStream) -> std::result::Result<Request, (u16, String)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| (408, format!("reading the request: {e}")))?;
        if n == 0 {
            return Err((
                400,
                "connection closed before the request head ended".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Request::new(&mut hs);
        match r.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = r.method.unwrap_or("").to_string();
                let path = r.path.unwrap_or("").to_string();
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                if headers.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case("transfer-encoding")
                        && !v.eq_ignore_ascii_case("identity")
                }) {
                    return Err((
                        411,
                        "chunked bodies are not accepted; send Content-Length".into(),
                    ));
                }
                let len = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.trim().parse::<usize>())
                    .transpose()
                    .map_err(|_| (400, "bad Content-Length".to_string()))?
                    .unwrap_or(0);
                if len > MAX_BODY {
                    return Err((413, format!("body of {len} bytes exceeds {MAX_BODY}")));
                }
                if len > buf.len() - head_len
                    && headers.iter().any(|(k, v)| {
                        k.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue")
                    })
                {
                    // curl and others wait for this before sending a large body.
                    let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                let mut body = buf[head_len..].to_vec();
                while body.len() < len {
                    let n = stream
                        .read(&mut chunk)
                        .map_err(|e| (408, format!("reading the body: {e}")))?;
                    if n == 0 {
                        return Err((400, "connection closed before the body ended".into()));
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                body.truncate(len);
                return Ok(Request {
                    method,
                    path,
                    headers,
                    body,
                });
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err((431, "request head too large".into()));
                }
            }
            Err(e) => return Err((400, format!("malformed HTTP request: {e}"))),
        }
    }
}

fn respond(stream: &mut TcpStream, status: u16, body: &serde_json::Value) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&bytes)?;
    stream.flush()
}
