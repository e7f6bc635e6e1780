//! Building what the server sends, as `dci::model` types serialised once: callback headers,
//! signed envelopes, ACKs and rejections.
//!
//! Rejections (see docs/server.md): one body that is both the spec's Ack response with
//! `ack_status: ERR` and `error {code, message}` and its HttpErrorResponse `errors[]`, with a
//! signed callback header whose `status` is `rjct` (and `status_reason_code` for the header
//! codes `rjct.message_id.duplicate`, `rjct.message_ts.invalid`, `rjct.action.invalid`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dci::model::{
    Ack, AckResponse, Action, Envelope, ErrorCode, HttpError, MsgCallbackHeader, ReasonCode,
    RequestStatus, MAX_MESSAGE_LEN, SPEC_VERSION,
};
use dci::Violation;
use serde::Serialize;
use serde_json::{Map, Value};

use super::op::Op;
use super::AppState;

pub use dci::model::now_rfc3339 as now_ts;

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// MsgCallbackHeader of a response, callback or notification we send.
pub fn callback_header(
    server_id: &str,
    action: Action,
    status: RequestStatus,
    receiver_id: Option<&str>,
    total_count: usize,
    completed_count: usize,
) -> MsgCallbackHeader {
    MsgCallbackHeader {
        version: Some(SPEC_VERSION.into()),
        message_id: new_id(),
        message_ts: now_ts(),
        action,
        status,
        status_reason_code: None,
        status_reason_message: None,
        total_count: Some((total_count as i64).into()),
        completed_count: Some((completed_count as i64).into()),
        sender_id: Some(server_id.to_string()),
        receiver_id: receiver_id.map(str::to_string),
        is_msg_encrypted: Some(false),
        meta: None,
        extra: Map::new(),
    }
}

/// An envelope whose `signature` comes first, still empty (signed by [`sign`], or by the
/// outbox at each delivery attempt).
pub fn envelope<M>(header: MsgCallbackHeader, message: M) -> Envelope<M, MsgCallbackHeader> {
    let mut env = Envelope::new(header, message);
    env.signature = Some(String::new());
    env
}

/// Serialises `env` and signs it with the server key.
pub fn sign(state: &AppState, env: &impl Serialize) -> Value {
    let mut v = serde_json::to_value(env).unwrap_or_default();
    if let Err(e) = state.signer.sign_value(&mut v, None) {
        // Without a signature the peer rejects the message; say why in our log.
        tracing::error!(error = %e, "signing a response failed");
    }
    v
}

/// The spec's Ack response (`ack_status` ACK).
pub fn ack(correlation_id: &str) -> Response {
    (StatusCode::OK, axum::Json(AckResponse::ack(correlation_id))).into_response()
}

/// A rejection's code: an Ack error code, or a header reason code (sent with
/// `err.request.bad` as the Ack error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Error(ErrorCode),
    Header(ReasonCode),
}

impl Code {
    pub fn as_str(&self) -> &str {
        match self {
            Code::Error(c) => c.as_str(),
            Code::Header(c) => c.as_str(),
        }
    }

    /// The Ack error code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Code::Error(c) => c.clone(),
            Code::Header(_) => ErrorCode::RequestBad,
        }
    }

    /// The HTTP status the code is answered with unless a rejection says otherwise.
    fn status(&self) -> StatusCode {
        match self {
            Code::Header(ReasonCode::MessageIdDuplicate) => StatusCode::CONFLICT,
            Code::Header(_) => StatusCode::BAD_REQUEST,
            Code::Error(c) => match c {
                ErrorCode::RequestUnauthorized
                | ErrorCode::SignatureMissing
                | ErrorCode::SignatureInvalid => StatusCode::UNAUTHORIZED,
                ErrorCode::RequestForbidden | ErrorCode::SenderIdInvalid => StatusCode::FORBIDDEN,
                ErrorCode::RequestNotFound => StatusCode::NOT_FOUND,
                ErrorCode::ServiceUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            },
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone)]
pub struct Reject {
    pub status: StatusCode,
    pub code: Code,
    pub message: String,
    /// Every violated rule, for validation failures.
    pub violations: Vec<Violation>,
    /// Seconds for a `Retry-After` header (rate limits).
    pub retry_after: Option<u64>,
}

impl Reject {
    /// A rejection with an Ack error code, answered with the code's usual HTTP status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_code(Code::Error(code), message)
    }
    /// A rejection with a header reason code (`rjct.message_id.duplicate`, ...).
    pub fn header(code: ReasonCode, message: impl Into<String>) -> Self {
        Self::with_code(Code::Header(code), message)
    }
    fn with_code(code: Code, message: impl Into<String>) -> Self {
        Reject {
            status: code.status(),
            code,
            message: message.into(),
            violations: Vec::new(),
            retry_after: None,
        }
    }
    /// The same with another HTTP status (413 and 415 carry `err.request.bad`).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestUnauthorized, m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestForbidden, m)
    }
    pub fn bad(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestBad, m)
    }
    pub fn invalid(violations: Vec<Violation>) -> Self {
        let message = violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        Reject {
            violations,
            ..Self::bad(truncate(&message, MAX_MESSAGE_LEN))
        }
    }
    pub fn internal() -> Self {
        Self::new(
            ErrorCode::ServiceUnavailable,
            "internal error; see the server log",
        )
    }

    /// 429 `err.request.too_many_requests`, to be retried after `secs`.
    pub fn too_many(message: impl Into<String>, secs: u64) -> Self {
        Reject {
            retry_after: Some(secs),
            ..Self::new(ErrorCode::RequestTooManyRequests, message)
                .with_status(StatusCode::TOO_MANY_REQUESTS)
        }
    }

    /// Whether the request is not logged: refused before its caller was known, or over a rate
    /// limit (logging each refused request of a flood would be the work the limit prevents).
    pub fn is_unlogged(&self) -> bool {
        matches!(
            self.code,
            Code::Error(ErrorCode::RequestUnauthorized | ErrorCode::RequestTooManyRequests)
        )
    }

    /// The rejection's HTTP answer for `body`, with its `Retry-After` if any.
    pub fn answer(&self, body: Value) -> Response {
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        resp
    }

    /// The `errors[]` of the body: one per violation (with its field and rule), else one.
    fn errors(&self) -> Vec<HttpError> {
        if self.violations.is_empty() {
            return vec![http_error(self.code.as_str(), &self.message)];
        }
        let code = self.code.error_code();
        self.violations
            .iter()
            .map(|v| {
                let mut e = http_error(code.as_str(), &v.to_string());
                e.extra.insert("field".into(), v.path.clone().into());
                e.extra.insert("rule".into(), v.rule.clone().into());
                e
            })
            .collect()
    }

    /// The response body (see the module comment), signed.
    pub fn body(
        &self,
        state: &AppState,
        op: Op,
        receiver_id: Option<&str>,
        correlation_id: &str,
    ) -> Value {
        let message = truncate(&self.message, MAX_MESSAGE_LEN);
        let mut header = callback_header(
            &state.config.server_id,
            op.reply_action(),
            RequestStatus::Rejected,
            receiver_id,
            0,
            0,
        );
        if let Code::Header(r) = &self.code {
            header.status_reason_code = Some(r.clone());
        }
        header.status_reason_message = Some(message.clone());
        let ack = AckResponse::err(correlation_id, self.code.error_code(), message).message;
        sign(
            state,
            &ErrorBody {
                signature: Some(String::new()),
                header: Some(header),
                message: ack,
                errors: self.errors(),
            },
        )
    }

    pub fn into_response(
        self,
        state: &AppState,
        op: Op,
        receiver_id: Option<&str>,
        correlation_id: &str,
    ) -> Response {
        let body = self.body(state, op, receiver_id, correlation_id);
        self.answer(body)
    }
}

/// One rejection for the core's errors: validation lists every violation; signature and key
/// errors are `err.signature.*`; anything else keeps the core's DCI code, or is internal.
impl From<dci::Error> for Reject {
    fn from(e: dci::Error) -> Self {
        match e {
            dci::Error::Validation(v) => Reject::invalid(v),
            dci::Error::Key(_) => Reject::new(ErrorCode::SignatureInvalid, e.to_string()),
            other => match other.dci_code().map(ErrorCode::from_wire) {
                Some(code) if code.is_known() => Reject::new(code, other.to_string()),
                _ => {
                    tracing::error!(error = %other, "unexpected error");
                    Reject::internal()
                }
            },
        }
    }
}

/// The body of a rejection: the Ack and the HttpErrorResponse `errors[]` in one, with a signed
/// callback header when the request got far enough to be answered in its own terms.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<MsgCallbackHeader>,
    pub message: Ack,
    pub errors: Vec<HttpError>,
}

impl ErrorBody {
    /// An unsigned body with no header (404s, panics).
    pub fn plain(code: ErrorCode, message: &str) -> ErrorBody {
        ErrorBody {
            signature: None,
            header: None,
            message: AckResponse::err("", code.clone(), message).message,
            errors: vec![http_error(code.as_str(), message)],
        }
    }
}

pub fn http_error(code: &str, message: &str) -> HttpError {
    HttpError {
        code: code.to_string(),
        message: message.to_string(),
        extra: Map::new(),
    }
}

/// Cuts `s` to at most `max` characters (the spec's maxLength on messages).
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}
