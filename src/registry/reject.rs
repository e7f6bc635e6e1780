//! Refusing a request the way the spec answers it.
//!
//! One body is both the spec's Ack response with `ack_status: ERR` and `error {code, message}`
//! and its HttpErrorResponse `errors[]`, with a signed callback header whose `status` is
//! `rjct` (and `status_reason_code` for the header codes `rjct.message_id.duplicate`,
//! `rjct.message_ts.invalid`, `rjct.action.invalid`). docs/server.md lists the HTTP statuses.

use serde::Serialize;
use serde_json::{Map, Value};

use super::answer::{callback_header, sign, truncate};
use super::op::Op;
use crate::model::{
    Ack, AckResponse, ErrorCode, HttpError, MsgCallbackHeader, ReasonCode, RequestStatus,
    MAX_MESSAGE_LEN,
};
use crate::signature::Signer;
use crate::Violation;

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
    pub fn status(&self) -> u16 {
        match self {
            Code::Header(ReasonCode::MessageIdDuplicate) => 409,
            Code::Header(_) => 400,
            Code::Error(c) => match c {
                ErrorCode::RequestUnauthorized
                | ErrorCode::SignatureMissing
                | ErrorCode::SignatureInvalid => 401,
                ErrorCode::RequestForbidden | ErrorCode::SenderIdInvalid => 403,
                ErrorCode::RequestNotFound => 404,
                ErrorCode::ServiceUnavailable => 500,
                _ => 400,
            },
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The HTTP status it is answered with.
    pub status: u16,
    pub code: Code,
    pub message: String,
    /// Every violated rule, for validation failures.
    pub violations: Vec<Violation>,
    /// Seconds for a `Retry-After` header (rate limits).
    pub retry_after: Option<u64>,
    /// What went wrong inside, for the host's log (never sent: the peer sees only
    /// "internal error").
    pub cause: Option<Box<str>>,
}

impl Rejection {
    /// A rejection with an Ack error code, answered with the code's usual HTTP status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_code(Code::Error(code), message)
    }
    /// A rejection with a header reason code (`rjct.message_id.duplicate`, ...).
    pub fn header(code: ReasonCode, message: impl Into<String>) -> Self {
        Self::with_code(Code::Header(code), message)
    }
    fn with_code(code: Code, message: impl Into<String>) -> Self {
        Rejection {
            status: code.status(),
            code,
            message: message.into(),
            violations: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }
    /// The same with another HTTP status (413 and 415 carry `err.request.bad`).
    pub fn with_status(mut self, status: u16) -> Self {
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
        Rejection {
            violations,
            ..Self::bad(truncate(&message, MAX_MESSAGE_LEN))
        }
    }
    /// A failure inside the host: the peer is told only that; `cause` is kept for the log.
    pub fn internal(cause: impl Into<String>) -> Self {
        Rejection {
            cause: Some(cause.into().into_boxed_str()),
            ..Self::new(
                ErrorCode::ServiceUnavailable,
                "internal error; see the server log",
            )
        }
    }

    /// 429 `err.request.too_many_requests`, to be retried after `secs`.
    pub fn too_many(message: impl Into<String>, secs: u64) -> Self {
        Rejection {
            retry_after: Some(secs),
            ..Self::new(ErrorCode::RequestTooManyRequests, message).with_status(429)
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

    /// The response body (see the module comment), signed by `signer` as `server_id`.
    pub fn body(
        &self,
        signer: &Signer,
        server_id: &str,
        op: Op,
        receiver_id: Option<&str>,
        correlation_id: &str,
    ) -> Value {
        let message = truncate(&self.message, MAX_MESSAGE_LEN);
        let mut header = callback_header(
            server_id,
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
            signer,
            &ErrorBody {
                signature: Some(String::new()),
                header: Some(header),
                message: ack,
                errors: self.errors(),
            },
        )
    }
}

/// One rejection for the core's errors: validation lists every violation; signature and key
/// errors are `err.signature.*`; anything else keeps the core's DCI code, or is internal.
impl From<crate::Error> for Rejection {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Validation(v) => Rejection::invalid(v),
            crate::Error::Key(_) => Rejection::new(ErrorCode::SignatureInvalid, e.to_string()),
            other => match other.dci_code().map(ErrorCode::from_wire) {
                Some(code) if code.is_known() => Rejection::new(code, other.to_string()),
                _ => Rejection::internal(format!("unexpected error: {other}")),
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
