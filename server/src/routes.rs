//! The HTTP surface: every spec endpoint per registry type, the receiving side, OAuth2,
//! JWKS, admin and health.
//!
//! Paths: the default registry answers on the plain `/registry/...` paths; every registry
//! type also answers under its prefix (`/crvs/registry/...`, `/social/...`, `/ibr/...`,
//! `/dr/...`, `/fr/...`). Registry-specific endpoints exist only for their registry.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::config::REGISTRIES;
use super::reply::{ack, callback_header, new_id, signed_envelope, Reject};
use super::security::{admit, Admitted, Expect, Partial};
use super::store::{NewRecord, Transaction};
use super::{admin, auth, search, subscribe, AppState};

/// How an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The answer is the signed response envelope.
    Sync,
    /// An Ack now; the answer goes to `{sender_uri}/{callback}` through the outbox.
    Async,
    /// The receiving side of callbacks: logged, then acknowledged.
    Receive,
}

/// One endpoint: its path, the operation name (allowed operations and token scope), the
/// header.action it expects, and the response action.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub path: &'static str,
    pub op: &'static str,
    pub action: &'static str,
    pub reply_action: &'static str,
    pub mode: Mode,
    /// The callback path for async endpoints.
    pub callback: &'static str,
    /// Only for this registry type (None = every registry).
    pub only: Option<&'static str>,
}

const fn ep(
    path: &'static str,
    op: &'static str,
    action: &'static str,
    reply_action: &'static str,
    mode: Mode,
    callback: &'static str,
    only: Option<&'static str>,
) -> Endpoint {
    Endpoint {
        path,
        op,
        action,
        reply_action,
        mode,
        callback,
        only,
    }
}

pub const ENDPOINTS: &[Endpoint] = &[
    ep(
        "/registry/sync/search",
        "search",
        "search",
        "on-search",
        Mode::Sync,
        "",
        None,
    ),
    ep(
        "/registry/search",
        "search",
        "search",
        "on-search",
        Mode::Async,
        "on-search",
        None,
    ),
    ep(
        "/registry/subscribe",
        "subscribe",
        "subscribe",
        "on-subscribe",
        Mode::Async,
        "on-subscribe",
        None,
    ),
    ep(
        "/registry/unsubscribe",
        "unsubscribe",
        "unsubscribe",
        "on-unsubscribe",
        Mode::Async,
        "on-unsubscribe",
        None,
    ),
    ep(
        "/registry/txn/status",
        "txn-status",
        "txn-status",
        "txn-on-status",
        Mode::Async,
        "txn/on-status",
        None,
    ),
    ep(
        "/registry/sync/txn/status",
        "txn-status",
        "txn-status",
        "txn-on-status",
        Mode::Sync,
        "",
        None,
    ),
    ep(
        "/registry/sync/verify",
        "verify",
        "verify",
        "on-verify",
        Mode::Sync,
        "",
        None,
    ),
    ep(
        "/registry/sync/enrolled",
        "enrolled",
        "search",
        "on-search",
        Mode::Sync,
        "",
        Some("ibr"),
    ),
    ep(
        "/registry/sync/enrollment/updates",
        "enrollment-updates",
        "notify",
        "on-notify",
        Mode::Sync,
        "",
        Some("ibr"),
    ),
    ep(
        "/registry/sync/disabled",
        "disabled",
        "search",
        "on-search",
        Mode::Sync,
        "",
        Some("dr"),
    ),
    ep(
        "/registry/sync/get-disability-support",
        "disability-support",
        "search",
        "on-search",
        Mode::Sync,
        "",
        Some("dr"),
    ),
    ep(
        "/registry/sync/get-disability-details",
        "disability-details",
        "search",
        "on-search",
        Mode::Sync,
        "",
        Some("dr"),
    ),
    ep(
        "/registry/on-search",
        "callback",
        "on-search",
        "",
        Mode::Receive,
        "",
        None,
    ),
    ep(
        "/registry/on-subscribe",
        "callback",
        "on-subscribe",
        "",
        Mode::Receive,
        "",
        None,
    ),
    ep(
        "/registry/on-unsubscribe",
        "callback",
        "on-unsubscribe",
        "",
        Mode::Receive,
        "",
        None,
    ),
    ep(
        "/registry/notify",
        "notify",
        "notify",
        "",
        Mode::Receive,
        "",
        None,
    ),
    ep(
        "/registry/txn/on-status",
        "callback",
        "txn-on-status",
        "",
        Mode::Receive,
        "",
        None,
    ),
];

/// The whole application.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/oauth2/client/token", post(auth::token))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/healthz", get(healthz))
        .route("/admin/records", post(admin::records));
    for reg in REGISTRIES {
        for e in ENDPOINTS {
            if e.only.is_some_and(|o| o != *reg) {
                continue;
            }
            app = app.route(&format!("/{reg}{}", e.path), endpoint(reg, e));
            if *reg == state.config.default_registry {
                app = app.route(e.path, endpoint(reg, e));
            }
        }
    }
    // The registry endpoints read their body with `read_body` (a spec error body on overflow);
    // this limit covers the others (token, admin).
    let limit = state.config.max_body_bytes;
    app.fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

fn endpoint(registry: &'static str, e: &'static Endpoint) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>, headers: HeaderMap, body: Body| {
            handle(state, registry, e, headers, body)
        },
    )
}

async fn healthz(State(state): State<AppState>) -> Response {
    let st = state.clone();
    match tokio::task::spawn_blocking(move || st.store.pending_outbox()).await {
        Ok(Ok(n)) => Json(json!({"status": "ok", "pending_callbacks": n})).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "error", "reason": "database unavailable"})),
        )
            .into_response(),
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"errors": [{"code": "err.request.not_found", "message": "no such endpoint"}]})),
    )
        .into_response()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"errors": [{"code": "err.service.unavailable", "message": "internal error; see the server log"}],
                     "message": {"ack_status": "ERR", "timestamp": super::reply::now_ts(), "correlation_id": "",
                                 "error": {"code": "err.service.unavailable", "message": "internal error; see the server log"}}})),
    )
        .into_response()
}

/// Reads the body up to the configured limit.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, Reject> {
    let limit = state.config.max_body_bytes;
    let too_big = || {
        Reject::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "err.request.bad",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    if headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_big());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_big())
}

fn lossy(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(max)]);
    s.into_owned()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Reject> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "worker task failed");
        Reject::internal()
    })
}

async fn handle(
    state: AppState,
    registry: &'static str,
    e: &'static Endpoint,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let correlation_id = new_id();
    let mut partial = Partial {
        sender_id: None,
        message_id: None,
        transaction_id: None,
    };
    // The spec's request bodies are application/json (415 otherwise).
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !json_body {
        return Reject::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "err.request.bad",
            "Content-Type must be application/json",
        )
        .into_response(&state, Some(e.action), None, &correlation_id);
    }
    let bytes = match read_body(&state, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r.into_response(&state, Some(e.action), None, &correlation_id),
    };
    let want = Expect {
        op: e.op,
        action: e.action,
        registry,
    };
    let admitted = match admit(
        &state,
        &headers,
        &bytes,
        &want,
        correlation_id.clone(),
        &mut partial,
    ) {
        Ok(a) => a,
        Err(rej) => return reject(&state, registry, e, &bytes, &partial, rej, &correlation_id),
    };
    let result = match e.mode {
        Mode::Sync => sync_op(&state, registry, e, &admitted).await,
        Mode::Async => async_op(&state, registry, e, &admitted, &bytes).await,
        Mode::Receive => {
            state.audit(txn(
                &admitted,
                e,
                registry,
                &bytes,
                "{}".into(),
                "rcvd",
                None,
            ));
            Ok((ack("ACK", &correlation_id), None))
        }
    };
    match result {
        Ok((resp, Some(logged))) => {
            state.audit(txn(&admitted, e, registry, &bytes, logged, "succ", None));
            resp
        }
        Ok((resp, None)) => resp,
        Err(rej) => reject(&state, registry, e, &bytes, &partial, rej, &correlation_id),
    }
}

/// Logs a rejection (except token failures: those callers are not known) and answers it.
fn reject(
    state: &AppState,
    registry: &str,
    e: &Endpoint,
    body: &[u8],
    p: &Partial,
    rej: Reject,
    correlation_id: &str,
) -> Response {
    let resp_body = rej.body(
        state,
        Some(e.action),
        p.sender_id.as_deref(),
        correlation_id,
    );
    tracing::info!(op = e.op, sender = p.sender_id.as_deref().unwrap_or("-"), code = %rej.code, status = rej.status.as_u16(), reason = %rej.message, "request rejected");
    if rej.code != "err.request.unauthorized" {
        state.audit(Transaction {
            transaction_id: p.transaction_id.clone().unwrap_or_default(),
            message_id: p.message_id.clone().unwrap_or_default(),
            correlation_id: correlation_id.to_string(),
            sender_id: p.sender_id.clone().unwrap_or_default(),
            operation: op_name(e),
            registry: registry.to_string(),
            request: lossy(body, 64 * 1024),
            response: resp_body.to_string(),
            status: "rjct".into(),
            error_code: Some(rej.code.clone()),
            created_at: chrono::Utc::now().timestamp_millis(),
        });
    }
    (rej.status, Json(resp_body)).into_response()
}

/// The operation name in the audit log (`sync-search` for the sync variant).
fn op_name(e: &Endpoint) -> String {
    match (e.op, e.mode) {
        ("search", Mode::Sync) => "sync-search".into(),
        ("callback", _) => e.action.into(),
        (op, _) => op.into(),
    }
}

fn txn(
    a: &Admitted,
    e: &Endpoint,
    registry: &str,
    body: &[u8],
    response: String,
    status: &str,
    code: Option<String>,
) -> Transaction {
    Transaction {
        transaction_id: a
            .message()
            .get("transaction_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        message_id: a.message_id.clone(),
        correlation_id: a.correlation_id.clone(),
        sender_id: a.sender.sender_id.clone(),
        operation: op_name(e),
        registry: registry.to_string(),
        request: lossy(body, 1024 * 1024),
        response,
        status: status.to_string(),
        error_code: code,
        created_at: chrono::Utc::now().timestamp_millis(),
    }
}

type OpResult = Result<(Response, Option<String>), Reject>;

fn storage(e: impl std::fmt::Display) -> Reject {
    tracing::error!(error = %e, "storage error");
    Reject::internal()
}

/// Computes the response message of an operation (shared by sync and async modes).
async fn compute(
    state: &AppState,
    registry: &'static str,
    op: &'static str,
    a: &Admitted,
    callback_uri: Option<String>,
) -> Result<(Value, usize, usize), Reject> {
    let st = state.clone();
    let m = a.message();
    let corr = a.correlation_id.clone();
    let total = match op {
        "search" => m
            .get("search_request")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        "verify" => m
            .get("verify_request")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        "subscribe" => m
            .get("subscribe_request")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        _ => 1,
    };
    // An idtype-value search is a couple of index probes: run it here rather than pay a
    // thread hop; anything that may scan goes to the blocking pool.
    let inline = op == "search"
        && m.get("search_request")
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items.iter().all(|it| {
                    it.pointer("/search_criteria/query_type")
                        .and_then(Value::as_str)
                        .is_some_and(|q| super::validate::query_type_name(q) == "idtype-value")
                        && it.pointer("/search_criteria/sort").is_none()
                })
            });
    if inline {
        let (msg, ok) = search::search(
            state.store.as_ref(),
            registry,
            &a.sender,
            m,
            &corr,
            state.config.max_page_size,
        );
        return Ok((msg, total, ok));
    }
    let m = m.clone();
    let sender = a.sender.clone();
    let r = blocking(move || -> Result<(Value, usize), Reject> {
        let store = st.store.as_ref();
        Ok(match op {
            "search" => search::search(store, registry, &sender, &m, &corr, st.config.max_page_size),
            "verify" => search::verify(store, registry, &m, &corr),
            "enrolled" => (search::enrolled(store, &m, &corr).map_err(Reject::bad)?, 1),
            "disabled" => (search::disabled(store, &m, &corr).map_err(Reject::bad)?, 1),
            "disability-support" => (search::disability_part(store, &sender, &m, &corr, false).map_err(Reject::bad)?, 1),
            "disability-details" => (search::disability_part(store, &sender, &m, &corr, true).map_err(Reject::bad)?, 1),
            "txn-status" => {
                // Every earlier request is in the log before the log is read.
                st.flush_audit();
                (subscribe::txn_status(store, &sender.sender_id, &m, &corr).map_err(storage)?, 1)
            }
            "subscribe" => subscribe::subscribe(store, registry, &sender.sender_id, callback_uri.as_deref().unwrap_or_default(), &m, &corr).map_err(storage)?,
            "unsubscribe" => (subscribe::unsubscribe(store, &sender.sender_id, &m, &corr).map_err(storage)?, 1),
            "enrollment-updates" => {
                let bens = m.pointer("/enrolled_updates/beneficiaries").and_then(Value::as_array).cloned().unwrap_or_default();
                let recs: Vec<NewRecord> = bens
                    .into_iter()
                    .map(|b| NewRecord { registry: "ibr".into(), record_type: "Beneficiary".into(), key: admin::record_key(&b), data: b })
                    .collect();
                let n = recs.len();
                subscribe::apply_changes(store, &st.config.server_id, "ibr", "Enrollment", &recs).map_err(storage)?;
                st.outbox_wake.notify_one();
                (
                    json!({
                        "transaction_id": m.get("transaction_id").cloned().unwrap_or(Value::Null),
                        "correlation_id": corr,
                        "enrolled_response": [{"reference_id": corr, "timestamp": super::reply::now_ts(), "status": "succ",
                                               "status_reason_message": format!("{n} beneficiaries recorded")}],
                    }),
                    1,
                )
            }
            other => return Err(Reject::bad(format!("operation {other} is not served here"))),
        })
    })
    .await??;
    Ok((r.0, total, r.1))
}

fn header_status(total: usize, ok: usize) -> &'static str {
    if total > 0 && ok == 0 {
        "rjct"
    } else {
        "succ"
    }
}

async fn sync_op(
    state: &AppState,
    registry: &'static str,
    e: &'static Endpoint,
    a: &Admitted,
) -> OpResult {
    let (message, total, ok) = compute(state, registry, e.op, a, None).await?;
    let header = callback_header(
        state,
        e.reply_action,
        header_status(total, ok),
        Some(&a.sender.sender_id),
        total,
        ok,
    );
    let env = signed_envelope(state, header, message);
    let text = env.to_string();
    let resp = (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text.clone(),
    )
        .into_response();
    Ok((resp, Some(text)))
}

async fn async_op(
    state: &AppState,
    registry: &'static str,
    e: &'static Endpoint,
    a: &Admitted,
    body: &[u8],
) -> OpResult {
    let sender_uri = match a.header().get("sender_uri").and_then(Value::as_str) {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Some(u.to_string()),
        Some(u) => {
            return Err(Reject::new(
                StatusCode::BAD_REQUEST,
                "err.sender_uri.invalid",
                format!("header.sender_uri {u:?} is not an http(s) URL"),
            ))
        }
        // No callback address: the result waits in the audit log for txn/status (the spec
        // assumes a default configured at onboarding; we have none to assume).
        None => None,
    };
    let (message, total, ok) = compute(state, registry, e.op, a, sender_uri.clone()).await?;
    let header = subscribe::header(
        &state.config.server_id,
        e.reply_action,
        header_status(total, ok),
        &a.sender.sender_id,
        total,
        ok,
    );
    let env = json!({"signature": "", "header": header, "message": message});
    let entries: Vec<(String, String, String)> = sender_uri
        .iter()
        .map(|u| {
            (
                e.reply_action.to_string(),
                subscribe::callback_url(u, e.callback),
                env.to_string(),
            )
        })
        .collect();
    // The request, its result and the callback are stored in one SQLite transaction before
    // the ACK: nothing acknowledged can be lost.
    let t = txn(a, e, registry, body, message.to_string(), "succ", None);
    let st = state.clone();
    blocking(move || st.store.log_with_outbox(&t, &entries))
        .await?
        .map_err(storage)?;
    state.outbox_wake.notify_one();
    Ok((ack("ACK", &a.correlation_id), None))
}
