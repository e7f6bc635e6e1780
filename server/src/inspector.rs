//! The transaction inspector (issue 15 section 3): `GET /inspector`, a page that shows the
//! recent transactions newest first (sender, action, registry, status, the rejection code,
//! every violation and strict-mode deviation, the request and answer bodies with secrets and
//! signatures shortened, callback attempts with their timings and results), filtered by
//! sender, status and action, with new ones arriving by server-sent events.
//!
//! Access: a bearer token with the `admin` scope, or, with `--demo`, any client connecting
//! from a loopback address (the peer address of the TCP connection, never a header). The
//! page, its data (`/inspector/transactions`) and its events (`/inspector/events`) are gated
//! alike; the script and style sheet hold no data and are served to anyone.
//!
//! Data: the audit log and the outbox (bounded queries), plus an in-process broadcast
//! ([`Hub`]) of what is logged from now on. The broadcast is bounded twice: at most
//! [`MAX_SUBSCRIBERS`] streams, and a buffer of [`BUFFER`] events; a subscriber that falls
//! further behind is told so and dropped (its page reconnects and reloads).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use dci::model::{ErrorCode, HttpErrorResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

use super::auth::bearer;
use super::store::{Attempt, OutboxEntry, OutboxState, Transaction, TxnFilter};
use super::AppState;

/// Event streams open at once; one more is refused with 503.
pub const MAX_SUBSCRIBERS: usize = 16;
/// Events kept for subscribers that have not read them yet.
pub const BUFFER: usize = 256;
/// Rows one page of `/inspector/transactions` holds at most (and the default).
pub const MAX_ROWS: usize = 200;
const DEFAULT_ROWS: usize = 50;
/// Longest body text shown (after redaction); the rest is counted.
const MAX_BODY_CHARS: usize = 8 * 1024;

const PAGE: &str = include_str!("inspector/index.html");
const SCRIPT: &str = include_str!("inspector/inspector.js");
const STYLE: &str = include_str!("inspector/inspector.css");
const ICON: &str = include_str!("inspector/icon.svg");

/// Only the server's own script, style and data: no inline code, no other origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The broadcast of new transactions and callback attempts to the open event streams.
pub struct Hub {
    tx: broadcast::Sender<Arc<Published>>,
    subscribers: Arc<AtomicUsize>,
    closed: watch::Sender<bool>,
}

/// One broadcast event: its SSE event name, its JSON, and what the filters look at.
#[derive(Debug)]
pub struct Published {
    pub kind: &'static str,
    pub data: String,
    sender_id: String,
    status: String,
    operation: String,
}

impl Default for Hub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(BUFFER);
        Hub {
            tx,
            subscribers: Arc::new(AtomicUsize::new(0)),
            closed: watch::channel(false).0,
        }
    }
}

impl Hub {
    /// A logged transaction, for the open streams (nothing is built when none is open).
    pub fn transaction(&self, t: &Transaction) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let data = view(t, None, &[]).to_string();
        let _ = self.tx.send(Arc::new(Published {
            kind: "transaction",
            data,
            sender_id: t.sender_id.clone(),
            status: t.status.clone(),
            operation: t.operation.clone(),
        }));
    }

    /// A callback attempt of outbox entry `e`.
    pub fn attempt(&self, e: &OutboxEntry, a: &Attempt) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let data = json!({
            "correlation_id": e.correlation_id,
            "outbox_id": e.id,
            "kind": e.kind,
            "url": e.url,
            "attempt": attempt_view(a),
        })
        .to_string();
        let _ = self.tx.send(Arc::new(Published {
            kind: "attempt",
            data,
            sender_id: String::new(),
            status: String::new(),
            operation: String::new(),
        }));
    }

    /// Ends every stream (at shutdown: open streams would hold their connections forever).
    pub fn close(&self) {
        let _ = self.closed.send(true);
    }

    /// Streams open now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::SeqCst)
    }

    /// A new subscription, unless [`MAX_SUBSCRIBERS`] are open.
    fn subscribe(&self) -> Option<Subscriber> {
        self.subscribers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_SUBSCRIBERS).then_some(n + 1)
            })
            .ok()?;
        Some(Subscriber {
            rx: self.tx.subscribe(),
            closed: self.closed.subscribe(),
            count: self.subscribers.clone(),
        })
    }
}

/// An open stream's receiver; dropping it frees its place.
struct Subscriber {
    rx: broadcast::Receiver<Arc<Published>>,
    closed: watch::Receiver<bool>,
    count: Arc<AtomicUsize>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The filters of the page, its data and its events (`?sender=&status=&action=`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    pub sender: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    /// Rows older than this row id (the next page).
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

impl Filter {
    fn field(v: &Option<String>) -> Option<String> {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// The store's form of the filter.
    pub fn store(&self) -> TxnFilter {
        TxnFilter {
            sender_id: Self::field(&self.sender),
            status: Self::field(&self.status),
            operation: Self::field(&self.action),
            before_id: self.before,
        }
    }

    /// Whether a broadcast event passes (attempts always do: the page files them under
    /// the transactions it shows).
    fn passes(&self, p: &Published) -> bool {
        if p.kind != "transaction" {
            return true;
        }
        let f = self.store();
        f.sender_id.is_none_or(|s| s == p.sender_id)
            && f.status.is_none_or(|s| s == p.status)
            && f.operation.is_none_or(|s| s == p.operation)
    }
}

/// Why access was refused, or None when allowed.
fn refused(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<Response> {
    let err = |s: StatusCode, code: ErrorCode, m: &str| {
        let mut r = (s, Json(HttpErrorResponse::single(code.as_str(), m))).into_response();
        if s == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Some(r)
    };
    match bearer(headers) {
        // A token, when given, is judged even on loopback.
        Some(tok) => match state.tokens.check(state, tok) {
            Ok(c) if c.allows("admin") => None,
            Ok(_) => err(
                StatusCode::FORBIDDEN,
                ErrorCode::RequestForbidden,
                "the inspector needs a token with the admin scope",
            ),
            Err(m) => err(
                StatusCode::UNAUTHORIZED,
                ErrorCode::RequestUnauthorized,
                &format!("invalid bearer token: {m}"),
            ),
        },
        // `to_canonical`: an IPv4-mapped IPv6 peer (`::ffff:127.0.0.1`) is loopback too.
        None if state.config.demo && peer.is_some_and(|p| p.ip().to_canonical().is_loopback()) => None,
        None => err(
            StatusCode::UNAUTHORIZED,
            ErrorCode::RequestUnauthorized,
            "the inspector needs a bearer token with the admin scope (or --demo and a loopback client)",
        ),
    }
}

/// The TCP peer (conn.rs puts it in every request's extensions).
fn peer(c: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<SocketAddr> {
    c.map(|Extension(ConnectInfo(a))| a)
}

/// The security headers of everything the inspector serves.
fn hardened(mut r: Response, content_type: &'static str) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// GET /inspector
pub async fn page(
    State(state): State<AppState>,
    c: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refused(&state, &headers, peer(c)) {
        return r;
    }
    hardened(PAGE.into_response(), "text/html; charset=utf-8")
}

/// GET /inspector/inspector.js
pub async fn script() -> Response {
    hardened(SCRIPT.into_response(), "text/javascript; charset=utf-8")
}

/// GET /inspector/inspector.css
pub async fn style() -> Response {
    hardened(STYLE.into_response(), "text/css; charset=utf-8")
}

/// GET /inspector/icon.svg (the page's icon: without one a browser asks for /favicon.ico)
pub async fn icon() -> Response {
    hardened(ICON.into_response(), "image/svg+xml")
}

/// GET /inspector/transactions: the newest rows the filter selects, with their callbacks.
pub async fn transactions(
    State(state): State<AppState>,
    c: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    if let Some(r) = refused(&state, &headers, peer(c)) {
        return r;
    }
    let st = state.clone();
    let limit = f.limit.unwrap_or(DEFAULT_ROWS).clamp(1, MAX_ROWS);
    let read = tokio::task::spawn_blocking(move || {
        let rows = st.store.recent_transactions(&f.store(), limit)?;
        let ids: Vec<String> = rows.iter().map(|(_, t)| t.correlation_id.clone()).collect();
        let outbox = st.store.outbox_of(&ids)?;
        Ok::<_, super::store::StoreError>((rows, outbox))
    })
    .await;
    match read {
        Ok(Ok((rows, outbox))) => {
            let list: Vec<Value> = rows
                .iter()
                .map(|(id, t)| {
                    let own: Vec<&OutboxState> = outbox
                        .iter()
                        .filter(|o| o.correlation_id == t.correlation_id)
                        .collect();
                    view(t, Some(*id), &own)
                })
                .collect();
            let next = (rows.len() == limit)
                .then(|| rows.last().map(|(id, _)| *id))
                .flatten();
            let r = Json(json!({"transactions": list, "next_before": next})).into_response();
            hardened(r, "application/json")
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(HttpErrorResponse::single(
                ErrorCode::ServiceUnavailable.as_str(),
                "the audit log could not be read",
            )),
        )
            .into_response(),
    }
}

/// GET /inspector/events: server-sent events `transaction` and `attempt` (and `lagged`, last,
/// for a subscriber dropped for falling behind).
pub async fn events(
    State(state): State<AppState>,
    c: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    if let Some(r) = refused(&state, &headers, peer(c)) {
        return r;
    }
    let Some(sub) = state.inspector.subscribe() else {
        let m = format!("{MAX_SUBSCRIBERS} inspector event streams are open already");
        let body = HttpErrorResponse::single(ErrorCode::ServiceUnavailable.as_str(), m);
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    };
    let stream = futures_util::stream::unfold((sub, f, false), |(mut sub, f, done)| async move {
        if done {
            return None;
        }
        loop {
            if *sub.closed.borrow() {
                return None;
            }
            let got = tokio::select! {
                r = sub.rx.recv() => r,
                _ = sub.closed.changed() => return None,
            };
            match got {
                Ok(p) if f.passes(&p) => {
                    let ev = Event::default().event(p.kind).data(p.data.as_str());
                    return Some((Ok::<_, std::convert::Infallible>(ev), (sub, f, false)));
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let ev = Event::default()
                        .event("lagged")
                        .data(json!({"missed": n}).to_string());
                    return Some((Ok(ev), (sub, f, true)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // A comment often enough that the idle timeout (conn.rs) never cuts a quiet stream.
    let idle = state.config.idle_timeout_secs.max(2);
    let every = Duration::from_secs((idle / 2).clamp(1, 15));
    let r = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(every))
        .into_response();
    let mut r = hardened(r, "text/event-stream");
    r.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// How an accepted request's deviations are kept in its audit row: the JSON array of
/// `{field, rule}` that strict mode's header carries (None when there are none).
pub fn stored_deviations(list: &[dci::Violation]) -> Option<String> {
    let entries: Vec<Value> = list
        .iter()
        .map(|v| json!({"field": v.path, "rule": v.rule}))
        .collect();
    (!entries.is_empty()).then(|| Value::Array(entries).to_string())
}

/// What the page shows of one transaction.
pub fn view(t: &Transaction, id: Option<i64>, outbox: &[&OutboxState]) -> Value {
    let request: Option<Value> = serde_json::from_str(&t.request).ok();
    let response: Option<Value> = serde_json::from_str(&t.response).ok();
    let action = request
        .as_ref()
        .and_then(|v| v.pointer("/header/action"))
        .and_then(Value::as_str)
        .unwrap_or(&t.operation)
        .to_string();
    let deviations: Value = t
        .deviations
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_else(|| json!([]));
    json!({
        "id": id,
        "created_at": t.created_at,
        "sender_id": t.sender_id,
        "action": action,
        "operation": t.operation,
        "registry": t.registry,
        "status": t.status,
        "error_code": t.error_code,
        "transaction_id": t.transaction_id,
        "message_id": t.message_id,
        "correlation_id": t.correlation_id,
        "violations": response.as_ref().map(violations).unwrap_or_default(),
        "deviations": deviations,
        "request": shown(request.as_ref(), &t.request),
        "response": shown(response.as_ref(), &t.response),
        "callbacks": outbox.iter().map(|o| callback_view(o)).collect::<Vec<_>>(),
    })
}

/// Every rule a rejection names (its `errors[]` with field and rule) and every item of an
/// answer that was rejected (with its reason code).
pub fn violations(answer: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for e in answer
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(json!({
            "code": e.get("code"),
            "field": e.get("field"),
            "rule": e.get("rule").or_else(|| e.get("message")),
        }));
    }
    let Some(message) = answer.get("message").and_then(Value::as_object) else {
        return out;
    };
    for (name, items) in message {
        for (i, it) in items.as_array().into_iter().flatten().enumerate() {
            if it.get("status").and_then(Value::as_str) == Some("rjct") {
                out.push(json!({
                    "code": it.get("status_reason_code"),
                    "field": format!("message.{name}[{i}]"),
                    "rule": it.get("status_reason_message"),
                }));
            }
        }
    }
    out
}

fn attempt_view(a: &Attempt) -> Value {
    json!({
        "started_at": a.started_at,
        "duration_ms": a.duration_ms,
        "ok": a.ok,
        "result": redact_text(&a.result),
    })
}

fn callback_view(o: &OutboxState) -> Value {
    let state = if o.delivered_at.is_some() {
        "delivered"
    } else if o.failed {
        "failed"
    } else {
        "pending"
    };
    json!({
        "id": o.id,
        "kind": o.kind,
        "url": o.url,
        "state": state,
        "attempts": o.attempts,
        "next_attempt_at": (state == "pending").then_some(o.next_attempt_at),
        "delivered_at": o.delivered_at,
        "last_error": o.last_error.as_deref().map(redact_text),
        "created_at": o.created_at,
        "tries": o.tries.iter().map(attempt_view).collect::<Vec<_>>(),
    })
}

/// A body as shown: redacted JSON, pretty, or redacted text; cut at [`MAX_BODY_CHARS`].
fn shown(parsed: Option<&Value>, raw: &str) -> String {
    let text = match parsed {
        Some(v) => {
            let mut v = v.clone();
            redact(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
        None => redact_text(raw),
    };
    cut(text)
}

fn cut(text: String) -> String {
    match text.char_indices().nth(MAX_BODY_CHARS) {
        Some((i, _)) => format!(
            "{}\n... ({} more bytes not shown)",
            &text[..i],
            text.len() - i
        ),
        None => text,
    }
}

/// Members whose value is a credential: never shown, only their length.
const SECRETS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "secret",
    "password",
    "token",
    "authorization",
    "api_key",
    "private_key",
];

/// Members that are signatures or cipher text: shortened to their start and length.
const SHORTENED: &[&str] = &[
    "signature",
    "jws",
    "proof",
    "ciphertext",
    "encrypted_key",
    "tag",
    "iv",
    "protected",
];

/// The private members of a JWK (RFC 7518 section 6).
const JWK_PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k"];

/// Redacts `v` in place: credentials replaced, signatures shortened, JWT-shaped strings
/// anywhere replaced.
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let jwk = o.contains_key("kty");
            for (k, val) in o.iter_mut() {
                let key = k.to_ascii_lowercase();
                if let Some(s) = val.as_str().map(str::len) {
                    if SECRETS.contains(&key.as_str())
                        || (jwk && JWK_PRIVATE.contains(&key.as_str()))
                    {
                        *val = Value::String(format!("[redacted, {s} chars]"));
                        continue;
                    }
                    if SHORTENED.contains(&key.as_str()) {
                        *val = Value::String(shorten(val.as_str().unwrap_or_default()));
                        continue;
                    }
                }
                redact(val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(s) if looks_like_jwt(s) => {
            *s = format!("[redacted token, {} chars]", s.len());
        }
        _ => {}
    }
}

/// The start of a long value and its length.
fn shorten(s: &str) -> String {
    const KEEP: usize = 16;
    match s.char_indices().nth(KEEP) {
        Some((i, _)) => format!("{}... ({} chars)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

/// A compact JWS/JWT: `eyJ` and three or more dot-separated base64url parts.
fn looks_like_jwt(s: &str) -> bool {
    let b64 = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let parts: Vec<&str> = s.split('.').collect();
    s.len() >= 32 && s.starts_with("eyJ") && parts.len() >= 3 && parts[..2].iter().all(|p| b64(p))
}

/// Text that is not JSON: every JWT-shaped word and `Bearer` value replaced.
pub fn redact_text(s: &str) -> String {
    let mut out = Vec::new();
    let mut after_bearer = false;
    for word in s.split(' ') {
        let bare = word.trim_matches(|c: char| "\"',;()[]{}<>".contains(c));
        if (after_bearer && !bare.is_empty()) || looks_like_jwt(bare) {
            out.push(word.replace(bare, &format!("[redacted token, {} chars]", bare.len())));
        } else {
            out.push(word.to_string());
        }
        after_bearer = bare.eq_ignore_ascii_case("bearer");
    }
    out.join(" ")
}

/// The same object without its private members, for tests.
#[doc(hidden)]
pub fn redacted(v: &Value) -> Value {
    let mut v = v.clone();
    redact(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_replaced_and_signatures_shortened() {
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJkZW1vLWNsaWVudCJ9.c2lnbmF0dXJlLWJ5dGVz";
        let v = json!({
            "signature": "namespace=\"dci\", kidId=\"demo|k1|ed25519\", signature=\"AAAA\"",
            "header": {"meta": {"client_secret": "hunter2-secret", "note": jwt}},
            "message": {"keys": [{"kty": "OKP", "x": "public", "d": "private-part"}],
                        "access_token": jwt},
        });
        let r = redacted(&v);
        assert_eq!(r["signature"], "namespace=\"dci\",... (58 chars)");
        assert_eq!(r["header"]["meta"]["client_secret"], "[redacted, 14 chars]");
        assert_eq!(r["header"]["meta"]["note"], "[redacted token, 70 chars]");
        assert_eq!(r["message"]["access_token"], "[redacted, 70 chars]");
        assert_eq!(r["message"]["keys"][0]["x"], "public");
        assert_eq!(r["message"]["keys"][0]["d"], "[redacted, 12 chars]");
        let text = r.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("c2lnbmF0dXJl"),
            "{text}"
        );
    }

    #[test]
    fn text_bodies_lose_their_tokens() {
        let t = redact_text("POST failed: Authorization: Bearer abc.def.ghi (eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-part-here)");
        assert_eq!(
            t,
            "POST failed: Authorization: Bearer [redacted token, 11 chars] ([redacted token, 50 chars])"
        );
    }

    #[test]
    fn a_rejection_lists_each_violation_and_each_rejected_item() {
        let answer = json!({
            "errors": [
                {"code": "err.request.bad", "message": "m", "field": "header.message_id", "rule": "required"},
            ],
            "message": {"search_response": [
                {"status": "succ"},
                {"status": "rjct", "status_reason_code": "rjct.reference_id.invalid", "status_reason_message": "bad"}]}
        });
        assert_eq!(
            violations(&answer),
            vec![
                json!({"code": "err.request.bad", "field": "header.message_id", "rule": "required"}),
                json!({"code": "rjct.reference_id.invalid", "field": "message.search_response[1]", "rule": "bad"}),
            ]
        );
    }

    #[test]
    fn filters_select_events_by_sender_status_and_action() {
        let p = |sender: &str, status: &str, op: &str| Published {
            kind: "transaction",
            data: String::new(),
            sender_id: sender.into(),
            status: status.into(),
            operation: op.into(),
        };
        let f = Filter {
            sender: Some("s1".into()),
            status: Some("rjct".into()),
            action: Some(" ".into()),
            ..Filter::default()
        };
        assert!(f.passes(&p("s1", "rjct", "search")));
        assert!(!f.passes(&p("s2", "rjct", "search")));
        assert!(!f.passes(&p("s1", "succ", "search")));
        let f = Filter {
            action: Some("subscribe".into()),
            ..Filter::default()
        };
        assert!(f.passes(&p("s9", "succ", "subscribe")));
        assert!(!f.passes(&p("s9", "succ", "search")));
    }

    #[test]
    fn the_hub_refuses_subscribers_past_its_limit_and_drops_a_slow_one() {
        let hub = Hub::default();
        let subs: Vec<Subscriber> = (0..MAX_SUBSCRIBERS)
            .map(|_| hub.subscribe().unwrap())
            .collect();
        assert!(hub.subscribe().is_none());
        assert_eq!(hub.subscribers(), MAX_SUBSCRIBERS);
        drop(subs);
        assert_eq!(hub.subscribers(), 0);
        let mut slow = hub.subscribe().unwrap();
        let t = Transaction {
            sender_id: "s1".into(),
            status: "succ".into(),
            ..Transaction::default()
        };
        for _ in 0..BUFFER + 5 {
            hub.transaction(&t);
        }
        assert_eq!(
            slow.rx.try_recv().unwrap_err(),
            broadcast::error::TryRecvError::Lagged(5)
        );
    }
}
