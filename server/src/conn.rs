//! The accept loop and each connection (axum::serve has no knobs for these): a limit on
//! connections served at once, a header-read timeout, an idle keep-alive timeout, JSON bodies
//! for the error responses hyper writes by itself, and graceful shutdown.
//!
//! A connection is in one of three phases: `Head` (from accept, or from the first byte of a
//! next request, until its headers are parsed: at most `header_timeout`), `Busy` (a handler
//! runs: no limit here; bodies are bounded by `--max-body`), `Idle` (the answer was handed to
//! hyper; no byte in or out for `idle_timeout` closes it). A timed-out connection is dropped
//! without an answer. A request body must arrive within `body_timeout` of its headers: reading
//! it later fails with [`BodyTimeout`] (the handler answers 408).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;

use super::config::ServeConfig;

/// The connection settings of [`ServeConfig`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
}

impl Limits {
    pub fn of(c: &ServeConfig) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(c.header_timeout_secs.max(1)),
            body_timeout: Duration::from_secs(c.body_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(c.idle_timeout_secs.max(1)),
            max_connections: c
                .max_connections
                .clamp(1, Semaphore::MAX_PERMITS.min(1 << 20)),
            max_header_bytes: c.max_header_bytes.max(1024),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets each
/// connection finish its request (idle ones close at once), and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (close_tx, close_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A permit before accept: beyond the limit, connections wait in the listen backlog
        // (connected, nothing read) until one of ours closes.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (app, close) = (app.clone(), close_rx.clone());
        tokio::spawn(async move {
            connection(tcp, peer, app, limits, close).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = close_tx.send(true);
    // Every open connection holds a permit: all of them back means all closed.
    let _ = permits.acquire_many(limits.max_connections as u32).await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Busy,
    Idle,
}

/// The phase of one connection and since when (or when a byte last moved, when idle).
struct Clock {
    state: Mutex<(Phase, Instant)>,
    changed: Notify,
}

impl Clock {
    fn set(&self, phase: Phase) {
        if let Ok(mut s) = self.state.lock() {
            *s = (phase, Instant::now());
        }
        self.changed.notify_one();
    }

    fn phase(&self) -> Phase {
        self.state.lock().map(|s| s.0).unwrap_or(Phase::Busy)
    }

    /// Bytes came in: on an idle connection that is a next request.
    fn read(&self) {
        if self.phase() == Phase::Idle {
            self.set(Phase::Head);
        }
    }

    /// Bytes went out: an idle connection is still writing its answer.
    fn wrote(&self) {
        if self.phase() == Phase::Idle {
            self.set(Phase::Idle);
        }
    }

    /// When the current phase runs out, if it can.
    fn deadline(&self, l: &Limits) -> Option<Instant> {
        let (phase, since) = *self.state.lock().ok()?;
        match phase {
            Phase::Head => Some(since + l.header_timeout),
            Phase::Idle => Some(since + l.idle_timeout),
            Phase::Busy => None,
        }
    }
}

async fn connection(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    limits: Limits,
    mut close: watch::Receiver<bool>,
) {
    let clock = Arc::new(Clock {
        state: Mutex::new((Phase::Head, Instant::now())),
        changed: Notify::new(),
    });
    let io = TokioIo::new(Watched {
        inner: tcp,
        clock: clock.clone(),
        limits,
        reply: None,
        unflushed: false,
    });
    let c = clock.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        c.set(Phase::Busy);
        let (c, mut app) = (c.clone(), app.clone());
        async move {
            let deadline = Instant::now() + limits.body_timeout;
            let mut req = req.map(|b| Body::new(Deadline::new(b, deadline, limits.body_timeout)));
            // The peer address, for handlers that judge it (the inspector's loopback access).
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let resp = tower_service::Service::call(&mut app, req).await;
            c.set(Phase::Idle);
            resp
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own timers below; hyper's header timeout would also cut idle connections short.
    builder
        .header_read_timeout(None)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(8192) + 64 * 1024);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let deadline = clock.deadline(&limits);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = close.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = clock.changed.notified() => {}
            _ = sleep_until(deadline) => {
                if clock.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    let phase = clock.phase();
                    tracing::debug!(?phase, "closing a connection: timed out");
                    return;
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The socket, watched: moves the [`Clock`], and replaces the body-less error responses hyper
/// writes by itself (400, 414, 431 for a request head it cannot parse) with JSON ones.
struct Watched {
    inner: TcpStream,
    clock: Arc<Clock>,
    limits: Limits,
    /// Our replacement of hyper's automatic answer, and how much of it is written.
    reply: Option<(Vec<u8>, usize)>,
    /// A write was attempted since the last completed flush (so a write is not the start of
    /// a new answer).
    unflushed: bool,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.read();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        // No handler has seen this request, so hyper is answering a head it refused.
        if self.reply.is_none()
            && !self.unflushed
            && self.clock.phase() == Phase::Head
            && data.starts_with(b"HTTP/1.")
        {
            let reply = automatic_reply(data, &self.limits);
            self.reply = Some((reply, 0));
        }
        self.unflushed = true;
        self.clock.wrote();
        let this = &mut *self;
        if let Some((bytes, sent)) = &mut this.reply {
            while *sent < bytes.len() {
                match ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*sent..])) {
                    Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Ok(n) => *sent += n,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            // hyper's own bytes are dropped (it closes the connection after them).
            return Poll::Ready(Ok(data.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        if matches!(r, Poll::Ready(Ok(()))) {
            self.unflushed = false;
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
        if self.reply.is_none() {
            return Poll::Ready(Ok(()));
        }
        // After refusing a head, read what the client is still sending until it closes (the
        // header timeout bounds this): closing with unread bytes would send a reset, and the
        // client could lose our answer.
        let mut scratch = [0u8; 8192];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf))?;
            if buf.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

/// The JSON answer for hyper's automatic response `head` (`HTTP/1.1 431 ...`).
fn automatic_reply(head: &[u8], l: &Limits) -> Vec<u8> {
    let status = head
        .get(9..12)
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let message = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => format!(
            "request headers exceed the limit of {} bytes (--max-header-bytes) or 100 fields",
            l.max_header_bytes
        ),
        StatusCode::URI_TOO_LONG => "request URI is too long".to_string(),
        _ => "malformed HTTP request".to_string(),
    };
    let body = super::routes::status_error(status, &message);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// A request body whose last byte must come by a deadline.
struct Deadline {
    body: Incoming,
    sleep: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl Deadline {
    fn new(body: Incoming, deadline: Instant, limit: Duration) -> Deadline {
        Deadline {
            body,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            limit,
        }
    }
}

/// The error reading a body gives once its deadline passed.
#[derive(Debug)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request body not received within {} s (--body-timeout-secs)",
            self.0.as_secs()
        )
    }
}

impl std::error::Error for BodyTimeout {}

impl BodyTimeout {
    /// The timeout behind an error from reading a request body, if that was the cause.
    pub fn of<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyTimeout> {
        let mut cur = Some(e);
        while let Some(e) = cur {
            if let Some(t) = e.downcast_ref::<BodyTimeout>() {
                return Some(t);
            }
            cur = e.source();
        }
        None
    }
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        ready!(self.sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyTimeout(self.limit)))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
