//! Building what the server sends: callback headers, signed envelopes, ACKs and rejections.
//!
//! Rejections (see docs/server.md): one body that is both the spec's Ack response with
//! `ack_status: ERR` and `error {code, message}` and its HttpErrorResponse `errors[]`, with a
//! signed callback header whose `status` is `rjct` (and `status_reason_code` for the header
//! codes `rjct.message_id.duplicate`, `rjct.message_ts.invalid`, `rjct.action.invalid`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dci::Violation;
use serde_json::{json, Map, Value};

use super::AppState;

/// RFC 3339 UTC now, with milliseconds.
pub fn now_ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// MsgCallbackHeader for a response or callback we send.
pub fn callback_header(
    state: &AppState,
    action: &str,
    status: &str,
    receiver_id: Option<&str>,
    total_count: usize,
    completed_count: usize,
) -> Value {
    let mut h = Map::new();
    h.insert("version".into(), json!("1.0.0"));
    h.insert("message_id".into(), json!(new_id()));
    h.insert("message_ts".into(), json!(now_ts()));
    h.insert("action".into(), json!(action));
    h.insert("status".into(), json!(status));
    h.insert("total_count".into(), json!(total_count));
    h.insert("completed_count".into(), json!(completed_count));
    h.insert("sender_id".into(), json!(state.config.server_id));
    if let Some(r) = receiver_id {
        h.insert("receiver_id".into(), json!(r));
    }
    h.insert("is_msg_encrypted".into(), json!(false));
    Value::Object(h)
}

/// `{signature, header, message}` signed with the server key.
pub fn signed_envelope(state: &AppState, header: Value, message: Value) -> Value {
    let mut env = json!({"signature": "", "header": header, "message": message});
    if let Err(e) = state.signer.sign_value(&mut env, None) {
        // Without a signature the peer rejects the message; say why in our log.
        tracing::error!(error = %e, "signing a response failed");
    }
    env
}

/// The spec's Ack response (`ack_status` ACK or NACK).
pub fn ack(status: &str, correlation_id: &str) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"message": {
            "ack_status": status,
            "timestamp": now_ts(),
            "correlation_id": correlation_id,
        }})),
    )
        .into_response()
}

/// Why a request was refused.
#[derive(Debug, Clone)]
pub struct Reject {
    pub status: StatusCode,
    /// `err.*` (the Ack error code) or a header `rjct.*` code.
    pub code: String,
    pub message: String,
    /// Every violated rule, for validation failures.
    pub violations: Vec<Violation>,
}

impl Reject {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Reject {
            status,
            code: code.to_string(),
            message: message.into(),
            violations: Vec::new(),
        }
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "err.request.unauthorized", m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "err.request.forbidden", m)
    }
    pub fn bad(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "err.request.bad", m)
    }
    pub fn invalid(violations: Vec<Violation>) -> Self {
        let message = violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        Reject {
            status: StatusCode::BAD_REQUEST,
            code: "err.request.bad".into(),
            message: truncate(&message, 999),
            violations,
        }
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "err.service.unavailable",
            "internal error; see the server log",
        )
    }

    /// The response body (see the module comment).
    pub fn body(
        &self,
        state: &AppState,
        action: Option<&str>,
        receiver_id: Option<&str>,
        correlation_id: &str,
    ) -> Value {
        let (err_code, header_reason) = if self.code.starts_with("rjct.") {
            ("err.request.bad", Some(self.code.as_str()))
        } else {
            (self.code.as_str(), None)
        };
        let errors: Vec<Value> = if self.violations.is_empty() {
            vec![json!({"code": self.code, "message": self.message})]
        } else {
            self.violations
                .iter()
                .map(|v| json!({"code": err_code, "message": v.to_string(), "field": v.path, "rule": v.rule}))
                .collect()
        };
        let mut header = callback_header(
            state,
            &action
                .map(|a| format!("on-{a}"))
                .unwrap_or_else(|| "on-error".into()),
            "rjct",
            receiver_id,
            0,
            0,
        );
        if let Some(h) = header.as_object_mut() {
            if let Some(r) = header_reason {
                h.insert("status_reason_code".into(), json!(r));
            }
            h.insert(
                "status_reason_message".into(),
                json!(truncate(&self.message, 999)),
            );
        }
        let message = json!({
            "ack_status": "ERR",
            "timestamp": now_ts(),
            "correlation_id": correlation_id,
            "error": {"code": err_code, "message": truncate(&self.message, 999)},
        });
        let mut env = signed_envelope(state, header, message);
        if let Some(o) = env.as_object_mut() {
            o.insert("errors".into(), Value::Array(errors));
        }
        env
    }

    pub fn into_response(
        self,
        state: &AppState,
        action: Option<&str>,
        receiver_id: Option<&str>,
        correlation_id: &str,
    ) -> Response {
        let body = self.body(state, action, receiver_id, correlation_id);
        (self.status, axum::Json(body)).into_response()
    }
}

/// Cuts `s` to at most `max` characters (the spec's maxLength on messages).
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}
