//! Record changes from outside the DCI protocol: the admin endpoint and `dci import`. Both
//! store the records and queue a notify for every matching subscription.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dci::model::{ErrorCode, HttpErrorResponse};
use serde_json::{json, Value};

use super::auth::bearer;
use super::config::REGISTRIES;
use super::search::record_types;
use super::store::{identifiers_of, NewRecord, Store};
use super::subscribe::apply_changes;
use super::AppState;

/// The upsert key of a record: its first identifier (`TYPE:value`), else a content hash.
pub fn record_key(record: &Value) -> String {
    match identifiers_of(record).first() {
        Some((t, v)) => format!("{t}:{v}"),
        None => {
            use sha2::{Digest, Sha256};
            let h = Sha256::digest(record.to_string().as_bytes());
            format!(
                "sha256:{}",
                h.iter()
                    .take(16)
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )
        }
    }
}

/// A batch of record changes: `{"registry", "record_type", "event_type", "records": [...]}`.
pub fn parse_batch(v: &Value) -> Result<(String, String, Vec<NewRecord>), String> {
    let registry = v
        .get("registry")
        .and_then(Value::as_str)
        .ok_or("registry: required (crvs, social, ibr, dr, fr)")?;
    if !REGISTRIES.contains(&registry) {
        return Err(format!(
            "registry: {registry} is not one of crvs, social, ibr, dr, fr"
        ));
    }
    let record_type = v
        .get("record_type")
        .and_then(Value::as_str)
        .or_else(|| record_types(registry).first().copied())
        .ok_or("record_type: required")?;
    if !record_types(registry).contains(&record_type) {
        return Err(format!(
            "record_type: {record_type} is not a {registry} record type ({})",
            record_types(registry).join(", ")
        ));
    }
    let event_type = v
        .get("event_type")
        .and_then(Value::as_str)
        .unwrap_or("Update")
        .to_string();
    let records = v
        .get("records")
        .and_then(Value::as_array)
        .ok_or("records: required (an array of records)")?;
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if !r.is_object() {
            return Err(format!("records[{i}]: must be an object"));
        }
        out.push(NewRecord {
            registry: registry.to_string(),
            record_type: record_type.to_string(),
            key: record_key(r),
            data: r.clone(),
        });
    }
    Ok((registry.to_string(), event_type, out))
}

/// What one batch of changes did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub records: usize,
    /// Notifies queued at once.
    pub notifies: usize,
    /// Events added to the pending batches of scheduled subscriptions.
    pub batched: usize,
}

/// Applies one batch of changes.
pub fn apply_batch(store: &dyn Store, server_id: &str, v: &Value) -> Result<Applied, String> {
    let (registry, event_type, recs) = parse_batch(v)?;
    let (notifies, batched) = apply_changes(store, server_id, &registry, &event_type, &recs)
        .map_err(|e| e.to_string())?;
    Ok(Applied {
        records: recs.len(),
        notifies,
        batched,
    })
}

/// POST /admin/records (a bearer token with the `admin` scope).
pub async fn records(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let err = |s: StatusCode, code: ErrorCode, m: String| {
        (s, Json(HttpErrorResponse::single(code.as_str(), m))).into_response()
    };
    let Some(tok) = bearer(&headers) else {
        return err(
            StatusCode::UNAUTHORIZED,
            ErrorCode::RequestUnauthorized,
            "missing bearer token".into(),
        );
    };
    match state.tokens.check(&state, tok) {
        Ok(c) if c.allows("admin") => {}
        Ok(_) => {
            return err(
                StatusCode::FORBIDDEN,
                ErrorCode::RequestForbidden,
                "the token lacks the admin scope".into(),
            )
        }
        Err(m) => {
            return err(
                StatusCode::UNAUTHORIZED,
                ErrorCode::RequestUnauthorized,
                format!("invalid bearer token: {m}"),
            )
        }
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return err(
                StatusCode::BAD_REQUEST,
                ErrorCode::RequestBad,
                format!("body is not JSON: {e}"),
            )
        }
    };
    let st = state.clone();
    let r = tokio::task::spawn_blocking(move || {
        apply_batch(st.store.as_ref(), &st.config.server_id, &v)
    })
    .await;
    match r {
        Ok(Ok(a)) => {
            state.outbox_wake.notify_one();
            tracing::info!(
                records = a.records,
                notifies = a.notifies,
                batched = a.batched,
                "records changed through the admin API"
            );
            Json(
                json!({"records": a.records, "notifications_queued": a.notifies,
                "events_batched": a.batched}),
            )
            .into_response()
        }
        Ok(Err(m)) => err(StatusCode::BAD_REQUEST, ErrorCode::RequestBad, m),
        Err(_) => err(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServiceUnavailable,
            "internal error".into(),
        ),
    }
}
