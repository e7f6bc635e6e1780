//! The HTTP surface: every spec endpoint per registry type (the table is [`Op`]), the
//! receiving side, OAuth2, JWKS, admin and health.
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
use dci::model::{
    EnrollmentUpdateItem, EnrollmentUpdatesResponse, ErrorCode, HttpErrorResponse, RequestStatus,
};
use serde_json::{json, Map, Value};

use super::op::{Mode, Op, Request, Response as Message};
use super::reply::{ack, new_id, now_ts, sign, ErrorBody, Reject};
use super::security::{admit, Admitted, Partial};
use super::store::{NewRecord, Subscription, Transaction};
use super::{admin, auth, inspector, search, subscribe, verify, AppState};

/// The whole application.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/oauth2/client/token", post(auth::token))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/healthz", get(healthz))
        .route("/admin/records", post(admin::records))
        .route("/inspector", get(inspector::page))
        .route("/inspector/inspector.js", get(inspector::script))
        .route("/inspector/inspector.css", get(inspector::style))
        .route("/inspector/icon.svg", get(inspector::icon))
        .route("/inspector/transactions", get(inspector::transactions))
        .route("/inspector/events", get(inspector::events));
    for (path, reg, op) in Op::routes(&state.config.default_registry) {
        app = app.route(&path, endpoint(reg, op));
    }
    // The registry endpoints read their body with `read_body` (a spec error body on overflow);
    // this limit covers the others (token, admin).
    let limit = state.config.max_body_bytes;
    app.fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            json_errors,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

fn endpoint(registry: &'static str, op: Op) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>, headers: HeaderMap, body: Body| {
            handle(state, registry, op, headers, body)
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
    let body = HttpErrorResponse::single(ErrorCode::RequestNotFound.as_str(), "no such endpoint");
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// The DCI error code of an HTTP status, for errors that are not a `Reject`.
fn status_code(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::RequestUnauthorized,
        StatusCode::FORBIDDEN => ErrorCode::RequestForbidden,
        StatusCode::NOT_FOUND => ErrorCode::RequestNotFound,
        s if s.is_server_error() => ErrorCode::ServiceUnavailable,
        _ => ErrorCode::RequestBad,
    }
}

/// The unsigned error body (no header) for `status`, serialised.
pub fn status_error(status: StatusCode, message: &str) -> Vec<u8> {
    serde_json::to_vec(&ErrorBody::plain(status_code(status), message)).unwrap_or_default()
}

/// Every error answer is JSON: what axum answers by itself (413 from a body extractor, 405,
/// 400 from an extractor) is replaced by the spec error body, or on the token endpoint by the
/// RFC 6749 error.
async fn json_errors(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let token = req.uri().path() == "/oauth2/client/token";
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "request body exceeds the limit of {} bytes",
            state.config.max_body_bytes
        ),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this path".to_string(),
        s => s.canonical_reason().unwrap_or("error").to_string(),
    };
    if token {
        return auth::oauth_error_status(status, "invalid_request", &message);
    }
    let body = status_error(status, &message);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let r = Reject::internal("a request handler panicked");
    let body = ErrorBody::plain(r.code.error_code(), &r.message);
    (super::reply::status(&r), Json(body)).into_response()
}

/// Reads a request body up to `--max-body`; else the status and why: 413 over the limit, 408
/// when it did not arrive within `--body-timeout-secs` of its headers.
pub async fn read_limited(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, (StatusCode, String)> {
    let limit = state.config.max_body_bytes;
    let too_big = || {
        let m = format!("request body exceeds the limit of {limit} bytes");
        (StatusCode::PAYLOAD_TOO_LARGE, m)
    };
    if headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        // Read and drop what the client is sending (up to 16 times the limit, within the body
        // timeout) so it is not reset mid-write and gets to read the 413.
        discard(body, limit.saturating_mul(16)).await;
        return Err(too_big());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| match super::conn::BodyTimeout::of(&e) {
            Some(t) => (StatusCode::REQUEST_TIMEOUT, t.to_string()),
            None => too_big(),
        })
}

/// Reads and drops up to `max` bytes of `body`; stops at its end, an error or `max`.
async fn discard(mut body: Body, max: usize) {
    use http_body::Body as _;
    let mut seen = 0usize;
    while seen <= max {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, Reject> {
    read_limited(state, headers, body)
        .await
        .map_err(|(status, m)| Reject::bad(m).with_status(status.as_u16()))
}

fn lossy(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(max)]);
    s.into_owned()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Reject> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| super::reply::internal(format!("worker task failed: {e}")))
}

async fn handle(
    state: AppState,
    registry: &'static str,
    op: Op,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let correlation_id = new_id();
    let media = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    // The spec's async endpoints also take a file (FileInfo, multipart/form-data): each of its
    // envelopes goes through `process` as a request of its own (upload.rs).
    if media == "multipart/form-data" && op.mode() != Mode::Sync {
        return super::upload::handle(state, registry, op, headers, body, correlation_id).await;
    }
    // The spec's request bodies are application/json (415 otherwise).
    if media != "application/json" {
        let also = if op.mode() == Mode::Sync {
            ""
        } else {
            " (or multipart/form-data with a file)"
        };
        let r = Reject::bad(format!("Content-Type must be application/json{also}"))
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16());
        return super::reply::rejection(r, &state, op, None, &correlation_id);
    }
    let bytes = match read_body(&state, &headers, body).await {
        Ok(b) => b,
        Err(r) => return super::reply::rejection(r, &state, op, None, &correlation_id),
    };
    process(&state, registry, op, &headers, &bytes, correlation_id).await
}

/// One request envelope (`bytes`, as received) through admission, the operation and the audit
/// log: the answer of a JSON request, and of each envelope or row of an uploaded file.
pub async fn process(
    state: &AppState,
    registry: &'static str,
    op: Op,
    headers: &HeaderMap,
    bytes: &[u8],
    correlation_id: String,
) -> Response {
    let state = state.clone();
    let mut partial = Partial::default();
    let admitted = match admit(
        &state,
        headers,
        bytes,
        op,
        registry,
        correlation_id.clone(),
        &mut partial,
    ) {
        Ok(a) => a,
        Err(rej) => return reject(&state, registry, op, bytes, &partial, rej, &correlation_id),
    };
    let result = match op.mode() {
        Mode::Sync => sync_op(&state, registry, op, &admitted).await,
        Mode::Async => async_op(&state, registry, op, &admitted, bytes).await,
        Mode::Receive => {
            let t = txn(
                &admitted,
                op,
                registry,
                bytes,
                "{}".into(),
                RequestStatus::Received,
            );
            durably(&state, t, ack(&correlation_id)).await
        }
    };
    let result = result.map(|(resp, logged)| (with_deviations(&state, &admitted, resp), logged));
    match result {
        Ok((resp, Some(logged))) => {
            let t = txn(
                &admitted,
                op,
                registry,
                bytes,
                audit_copy(logged),
                RequestStatus::Success,
            );
            match durably(&state, t, resp).await {
                Ok((resp, _)) => resp,
                Err(rej) => super::reply::rejection(
                    rej,
                    &state,
                    op,
                    Some(&admitted.sender.sender_id),
                    &correlation_id,
                ),
            }
        }
        Ok((resp, None)) => resp,
        Err(rej) => reject(&state, registry, op, bytes, &partial, rej, &correlation_id),
    }
}

/// `resp` with strict mode's list of the request's deviations (when it is on).
fn with_deviations(state: &AppState, a: &Admitted, mut resp: Response) -> Response {
    if state.config.strict {
        if let Ok(v) = crate::strict::header_value(&a.deviations).parse() {
            resp.headers_mut().insert(crate::strict::HEADER, v);
        }
    }
    resp
}

/// Sends `resp` once the request's audit row (its replay record) is committed.
async fn durably(state: &AppState, t: Transaction, resp: Response) -> OpResult {
    if state.audit_durable(t).await {
        Ok((resp, None))
    } else {
        Err(super::reply::internal("the audit row was not committed"))
    }
}

/// Answers larger than this are logged as a summary: the client has the answer, and the
/// log should not hold a second copy of every large search.
const AUDIT_FULL_BYTES: usize = 64 * 1024;

/// What the audit log keeps of a sync answer: the envelope itself when small, else its size,
/// SHA-256, and each item's status and record count (what txn/status reports).
fn audit_copy(answer: String) -> String {
    if answer.len() <= AUDIT_FULL_BYTES {
        return answer;
    }
    let digest: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(answer.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let mut v: Value = match serde_json::from_str(&answer) {
        Ok(v) => v,
        Err(_) => {
            return serde_json::json!({"audit_summary": {"bytes": answer.len(), "sha256": digest}})
                .to_string()
        }
    };
    let mut records = 0;
    if let Some(msg) = v.get_mut("message").and_then(Value::as_object_mut) {
        for items in msg.values_mut().filter_map(Value::as_array_mut) {
            for data in items.iter_mut().filter_map(|i| i.get_mut("data")) {
                if let Some(r) = data.get_mut("reg_records") {
                    records += r.as_array().map_or(1, Vec::len);
                    *r = Value::Array(Vec::new());
                }
            }
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("signature");
        o.insert("audit_summary".into(), serde_json::json!({"bytes": answer.len(), "sha256": digest, "records": records, "records_omitted": true}));
    }
    v.to_string()
}

/// Logs a rejection (except token failures: those callers are not known) and answers it.
fn reject(
    state: &AppState,
    registry: &str,
    op: Op,
    body: &[u8],
    p: &Partial,
    rej: Reject,
    correlation_id: &str,
) -> Response {
    let resp_body =
        super::reply::rejection_body(&rej, state, op, p.sender_id.as_deref(), correlation_id);
    if let Some(cause) = &rej.cause {
        tracing::error!(op = op.name(), error = %cause, "internal error");
    }
    tracing::info!(op = op.name(), sender = p.sender_id.as_deref().unwrap_or("-"), code = rej.code.as_str(), status = rej.status, reason = %rej.message, "request rejected");
    if !rej.is_unlogged() {
        state.audit(Transaction {
            transaction_id: p.transaction_id.clone().unwrap_or_default(),
            message_id: p.message_id.clone().unwrap_or_default(),
            correlation_id: correlation_id.to_string(),
            sender_id: p.sender_id.clone().unwrap_or_default(),
            operation: op.audit_name(),
            registry: registry.to_string(),
            request: lossy(body, 64 * 1024),
            response: resp_body.to_string(),
            status: RequestStatus::Rejected.as_str().into(),
            error_code: Some(rej.code.as_str().to_string()),
            created_at: chrono::Utc::now().timestamp_millis(),
            deviations: None,
        });
    }
    super::reply::answer(&rej, resp_body)
}

fn txn(
    a: &Admitted,
    op: Op,
    registry: &str,
    body: &[u8],
    response: String,
    status: RequestStatus,
) -> Transaction {
    Transaction {
        transaction_id: a.request.transaction_id().to_string(),
        message_id: a.message_id.clone(),
        correlation_id: a.correlation_id.clone(),
        sender_id: a.sender.sender_id.clone(),
        operation: op.audit_name(),
        registry: registry.to_string(),
        request: lossy(body, 1024 * 1024),
        response,
        status: status.as_str().to_string(),
        error_code: None,
        created_at: chrono::Utc::now().timestamp_millis(),
        deviations: inspector::stored_deviations(&a.deviations),
    }
}

type OpResult = Result<(Response, Option<String>), Reject>;

fn storage(e: impl std::fmt::Display) -> Reject {
    super::reply::internal(format_args!("storage error: {e}"))
}

/// Records the beneficiaries of an IBR enrollment update (and notifies subscribers).
fn enrollment_updates(
    st: &AppState,
    m: &dci::model::EnrollmentUpdatesRequest,
    corr: &str,
) -> Result<Message, Reject> {
    let recs: Vec<NewRecord> = m
        .enrolled_updates
        .beneficiaries
        .iter()
        .flatten()
        .map(|b| NewRecord {
            registry: "ibr".into(),
            record_type: "Beneficiary".into(),
            key: admin::record_key(b),
            data: b.clone(),
        })
        .collect();
    let n = recs.len();
    let _ = subscribe::apply_changes(
        st.store.as_ref(),
        &st.config.server_id,
        "ibr",
        "Enrollment",
        &recs,
    )
    .map_err(storage)?;
    st.outbox_wake.notify_one();
    Ok(Message::EnrollmentUpdates(EnrollmentUpdatesResponse {
        transaction_id: m.transaction_id.clone(),
        correlation_id: corr.to_string(),
        enrolled_response: vec![EnrollmentUpdateItem {
            reference_id: corr.to_string(),
            timestamp: now_ts(),
            status: RequestStatus::Success,
            status_reason_message: Some(format!("{n} beneficiaries recorded")),
            extra: Map::new(),
        }],
        extra: Map::new(),
    }))
}

/// What an operation computed: its response, how many of its items succeeded, and the
/// subscriptions it makes or ends (stored with its audit row and callback, in one transaction).
struct Computed {
    message: Message,
    ok: usize,
    subscriptions: Vec<Subscription>,
}

/// Runs an operation on its typed request.
fn run(
    st: &AppState,
    registry: &str,
    op: Op,
    sender: &super::store::Sender,
    request: &Request,
    corr: &str,
    callback_uri: Option<&str>,
) -> Result<Computed, Reject> {
    let store = st.store.as_ref();
    let sender_id = sender.sender_id.as_str();
    let mut subscriptions = Vec::new();
    let (message, ok) = match request {
        Request::Search(m) => {
            let (r, ok) = search::search(
                store,
                registry,
                sender,
                m,
                corr,
                search::Limits::of(&st.config),
            );
            (Message::Search(r), Some(ok))
        }
        Request::Verify(m) => {
            let (r, ok) = verify::verify(store, registry, m, corr);
            (Message::Verify(r), Some(ok))
        }
        Request::Subscribe(m) => {
            let uri = callback_uri.unwrap_or_default();
            let (r, subs) = subscribe::subscribe(registry, sender_id, uri, m, corr);
            subscriptions = subs;
            (Message::Subscribe(r), None)
        }
        Request::Unsubscribe(m) => {
            let (r, ended) = subscribe::unsubscribe(store, sender_id, m, corr).map_err(storage)?;
            subscriptions = ended;
            (Message::Unsubscribe(r), None)
        }
        Request::TxnStatus(m) => {
            // Every earlier request is in the log before the log is read.
            st.flush_audit();
            let r = subscribe::txn_status(store, sender_id, m, corr);
            (Message::TxnStatus(r.map_err(storage)?), None)
        }
        Request::Enrolled(m) => (Message::Enrolled(search::enrolled(store, m, corr)?), None),
        Request::Disabled(m) => (Message::Disabled(search::disabled(store, m, corr)?), None),
        Request::DisabilitySupport(m) => {
            let details = op == Op::DisabilityDetails;
            let r = search::disability_part(store, sender, m, corr, details)?;
            (Message::Search(r), None)
        }
        Request::EnrollmentUpdates(m) => (enrollment_updates(st, m, corr)?, None),
        Request::Received(_) => {
            let name = op.name();
            return Err(Reject::bad(format!("operation {name} is not served here")));
        }
    };
    let ok = ok.unwrap_or_else(|| message.item_count());
    Ok(Computed {
        message,
        ok,
        subscriptions,
    })
}

/// Computes the response of an operation (shared by sync and async modes).
async fn compute(
    state: &AppState,
    registry: &'static str,
    op: Op,
    a: &Admitted,
    callback_uri: Option<String>,
) -> Result<Computed, Reject> {
    let corr = a.correlation_id.clone();
    // An idtype-value search is a couple of index probes: run it here rather than pay a
    // thread hop; anything that may scan goes to the blocking pool.
    if matches!(&a.request, Request::Search(m) if search::is_lookup(m)) {
        return run(state, registry, op, &a.sender, &a.request, &corr, None);
    }
    let _slot = match &a.request {
        Request::Search(_)
        | Request::Enrolled(_)
        | Request::Disabled(_)
        | Request::DisabilitySupport(_) => Some(search_slot(state).await?),
        _ => None,
    };
    let st = state.clone();
    let sender = a.sender.clone();
    let request = a.request.clone();
    blocking(move || {
        run(
            &st,
            registry,
            op,
            &sender,
            &request,
            &corr,
            callback_uri.as_deref(),
        )
    })
    .await?
}

/// A turn on the search pool, waited for at most the query time limit (a search waiting
/// longer would not finish in time anyway).
async fn search_slot(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, Reject> {
    let wait = std::time::Duration::from_millis(match state.config.query_timeout_ms {
        0 => 10_000,
        ms => ms,
    });
    match tokio::time::timeout(wait, state.search_slots.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(Reject::new(
            ErrorCode::ServiceUnavailable,
            format!(
                "every search worker was busy for {} ms ({} workers, search_workers); try again later",
                wait.as_millis(),
                state.config.search_workers
            ),
        )
        .with_status(StatusCode::SERVICE_UNAVAILABLE.as_u16())),
    }
}

/// The answer of `op` (its message and how many items succeeded) as an unsigned envelope to
/// the request's sender.
fn answer(
    state: &AppState,
    op: Op,
    a: &Admitted,
    (message, ok): (Message, usize),
) -> dci::model::Envelope<Message, dci::model::MsgCallbackHeader> {
    let total = message.item_count();
    dci::registry::answer::reply_envelope(
        &state.config.server_id,
        op,
        &a.sender.sender_id,
        message,
        total,
        ok,
    )
}

async fn sync_op(state: &AppState, registry: &'static str, op: Op, a: &Admitted) -> OpResult {
    let c = compute(state, registry, op, a, None).await?;
    let mut env = serde_json::to_value(answer(state, op, a, (c.message, c.ok))).map_err(storage)?;
    // An encrypted answer is logged in clear, unsigned (txn/status reads the log).
    let clear = a.reply_key.as_ref().map(|_| env.to_string());
    crate::security::seal(&mut env, a.reply_key.as_ref())?;
    let text = sign(state, &env).to_string();
    let resp = (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text.clone(),
    )
        .into_response();
    Ok((resp, Some(clear.unwrap_or(text))))
}

async fn async_op(
    state: &AppState,
    registry: &'static str,
    op: Op,
    a: &Admitted,
    body: &[u8],
) -> OpResult {
    // The callback address passes the outbound policy (egress.rs) and lies under the sender's
    // registered callback URI, before anything is computed or queued.
    let sender_uri = dci::registry::answer::callback_base(
        &state.egress,
        a.sender_uri.as_deref(),
        a.sender.callback_uri.as_deref(),
    )?;
    let c = compute(state, registry, op, a, sender_uri.clone()).await?;
    let subscriptions = c.subscriptions;
    let mut env = serde_json::to_value(answer(state, op, a, (c.message, c.ok))).map_err(storage)?;
    // The audit copy stays in clear (txn/status reads it); the callback goes out encrypted
    // when the sender's answers are.
    let logged = env
        .get("message")
        .map(|m| m.to_string())
        .unwrap_or_default();
    crate::security::seal(&mut env, a.reply_key.as_ref())?;
    let entries: Vec<(String, String, String)> = sender_uri
        .iter()
        .zip(op.callback_path())
        .map(|(u, path)| {
            (
                op.reply_action().to_string(),
                subscribe::callback_url(u, path),
                env.to_string(),
            )
        })
        .collect();
    // The request, its result, its callback and any new subscriptions are stored in one
    // database transaction before the ACK: nothing acknowledged can be lost, nothing stored
    // lacks its ACK.
    let t = txn(a, op, registry, body, logged, RequestStatus::Success);
    let st = state.clone();
    let t = blocking(move || {
        st.store
            .log_with_outbox(&t, &entries, &subscriptions)
            .map(|()| t)
    })
    .await?
    .map_err(storage)?;
    state.inspector.transaction(&t);
    state.outbox_wake.notify_one();
    Ok((ack(&a.correlation_id), None))
}

#[cfg(test)]
mod audit_copy_tests {
    use super::*;

    #[test]
    fn a_large_answer_is_logged_as_its_summary_and_a_small_one_whole() {
        let small = json!({"signature": "s", "message": {"search_response": [{"data": {"reg_records": [1]}}]}})
            .to_string();
        assert_eq!(audit_copy(small.clone()), small);

        let records: Vec<Value> = (0..2000)
            .map(|i| json!({"id": i, "name": "x".repeat(40)}))
            .collect();
        let answer = json!({"signature": "sig", "header": {"status": "succ"}, "message": {
            "search_response": [
                {"status": "succ", "data": {"reg_records": records}},
                {"status": "rjct", "status_reason_code": "rjct.search.too_many_records_found"}]}})
        .to_string();
        assert!(answer.len() > AUDIT_FULL_BYTES);
        let logged: Value = serde_json::from_str(&audit_copy(answer.clone())).unwrap();
        assert_eq!(logged.get("signature"), None);
        assert_eq!(logged["header"]["status"], "succ");
        let items = &logged["message"]["search_response"];
        assert_eq!(items[0]["data"]["reg_records"], json!([]));
        assert_eq!(
            items[1]["status_reason_code"],
            "rjct.search.too_many_records_found"
        );
        let s = &logged["audit_summary"];
        assert_eq!(s["bytes"], answer.len());
        assert_eq!(s["records"], 2000);
        assert_eq!(s["records_omitted"], true);
        use sha2::{Digest, Sha256};
        let want: String = Sha256::digest(answer.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(s["sha256"], want.as_str());
    }
}
