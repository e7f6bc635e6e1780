//! What the server sends over HTTP: the registry kit's answers and rejections
//! (`dci::registry::{answer, reject}`) as axum responses, signed with the server key.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

pub use dci::registry::answer::{callback_header, envelope, new_id, now_ts, truncate};
pub use dci::registry::reject::{http_error, Code, ErrorBody};
pub use dci::registry::Rejection as Reject;

use super::op::Op;
use super::AppState;

/// Serialises `env` and signs it with the server key.
pub fn sign(state: &AppState, env: &impl Serialize) -> Value {
    dci::registry::answer::sign(&state.signer, env)
}

/// The spec's Ack response (`ack_status` ACK).
pub fn ack(correlation_id: &str) -> Response {
    (
        StatusCode::OK,
        axum::Json(dci::registry::answer::ack(correlation_id)),
    )
        .into_response()
}

/// A rejection's HTTP status.
pub fn status(r: &Reject) -> StatusCode {
    StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The rejection's body signed by this server (see `dci::registry::reject`).
pub fn rejection_body(
    r: &Reject,
    state: &AppState,
    op: Op,
    receiver_id: Option<&str>,
    correlation_id: &str,
) -> Value {
    r.body(
        &state.signer,
        &state.config.server_id,
        op,
        receiver_id,
        correlation_id,
    )
}

/// The rejection's HTTP answer for `body`, with its `Retry-After` if any.
pub fn answer(r: &Reject, body: Value) -> Response {
    let mut resp = (status(r), axum::Json(body)).into_response();
    if let Some(s) = r.retry_after {
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, s.into());
    }
    resp
}

/// The rejection answered in full, with a signed body.
pub fn rejection(
    r: Reject,
    state: &AppState,
    op: Op,
    receiver_id: Option<&str>,
    correlation_id: &str,
) -> Response {
    let body = rejection_body(&r, state, op, receiver_id, correlation_id);
    answer(&r, body)
}

/// An internal failure, logged here with its cause (the peer sees only "internal error").
pub fn internal(cause: impl std::fmt::Display) -> Reject {
    tracing::error!(error = %cause, "internal error");
    Reject::internal(cause.to_string())
}
