//! The synchronous acknowledgement (`{message: {ack_status, timestamp, correlation_id,
//! error}}`) and the transport error response (`HttpErrorResponse`).

use serde::{Deserialize, Serialize};

use super::{now_rfc3339, AckStatus, ErrorCode, Extra};

/// The spec's default `Response`: the body of the HTTP answer to an async request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckResponse {
    pub message: Ack,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The acknowledgement itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub ack_status: AckStatus,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AckError>,
    /// Required by the spec; the receiver's id for the transaction, used in later callbacks.
    pub correlation_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The spec's `Error` object: an `err.*` code and a message (at most 999 characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckError {
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl AckResponse {
    /// `ACK`: the request is valid and a callback will follow.
    pub fn ack(correlation_id: impl Into<String>) -> Self {
        Self::build(AckStatus::Ack, correlation_id, None)
    }

    /// `NACK`: the request is valid and no callback will follow.
    pub fn nack(correlation_id: impl Into<String>) -> Self {
        Self::build(AckStatus::Nack, correlation_id, None)
    }

    /// `ERR` with an error code and message.
    pub fn err(
        correlation_id: impl Into<String>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        let error = AckError {
            code,
            message: Some(message.into()),
            extra: Extra::new(),
        };
        Self::build(AckStatus::Err, correlation_id, Some(error))
    }

    /// An ack with every field given; `timestamp` is now.
    pub fn build(
        ack_status: AckStatus,
        correlation_id: impl Into<String>,
        error: Option<AckError>,
    ) -> Self {
        AckResponse {
            message: Ack {
                ack_status,
                timestamp: now_rfc3339(),
                error,
                correlation_id: correlation_id.into(),
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }

    /// Checks the ack against the spec (paths start with `message.`).
    pub fn validate(&self) -> crate::error::Result<()> {
        let v = serde_json::to_value(self).map_err(|e| crate::error::Error::Json(e.to_string()))?;
        super::validate::validate_envelope_as(super::MessageKind::Ack, &v)
    }

    /// Replaces the timestamp (for reproducible output).
    pub fn with_timestamp(mut self, ts: impl Into<String>) -> Self {
        self.message.timestamp = ts.into();
        self
    }
}

/// `HttpErrorResponse`: `{errors: [{code, message}]}`, used for 401/403/500 and by gateways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HttpErrorResponse {
    pub errors: Vec<HttpError>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of [`HttpErrorResponse::errors`]. The code is free text in the spec; DCI `err.*`
/// codes fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpError {
    pub code: String,
    pub message: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl HttpErrorResponse {
    /// A response with one error.
    pub fn single(code: impl Into<String>, message: impl Into<String>) -> Self {
        HttpErrorResponse::default().push(code, message)
    }

    /// Adds an error.
    pub fn push(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.push(HttpError {
            code: code.into(),
            message: message.into(),
            extra: Extra::new(),
        });
        self
    }

    /// One error per validation violation (`err.request.bad`, "path: rule"), or the error's
    /// DCI code and text for any other error.
    pub fn from_error(e: &crate::error::Error) -> Self {
        let code = e
            .dci_code()
            .unwrap_or("err.service.unavailable")
            .to_string();
        match e {
            crate::error::Error::Validation(vs) => vs
                .iter()
                .fold(Self::default(), |r, v| r.push(code.clone(), v.to_string())),
            other => Self::single(code, other.to_string()),
        }
    }
}
