//! Message headers: `MsgHeader_V1.0.0` (requests) and `MsgCallbackHeader_V1.0.0` (callbacks and
//! synchronous responses).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{validate_header_value, HeaderKind};
use super::{Action, Extra, Int, ReasonCode, RequestStatus};
use crate::error::{Error, Result};

fn header_json<T: Serialize>(h: &T) -> Result<Value> {
    serde_json::to_value(h).map_err(|e| Error::Json(e.to_string()))
}

impl MsgHeader {
    /// Checks the header alone (paths start with `header.`).
    pub fn validate(&self) -> Result<()> {
        validate_header_value(&header_json(self)?, HeaderKind::Request)
    }
}

impl MsgCallbackHeader {
    /// Checks the header alone (paths start with `header.`).
    pub fn validate(&self) -> Result<()> {
        validate_header_value(&header_json(self)?, HeaderKind::Callback)
    }
}

/// `MsgHeader_V1.0.0`: the header of a request (search, subscribe, unsubscribe, txn-status) and,
/// per the spec, of on-subscribe and on-unsubscribe too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsgHeader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub message_id: String,
    /// RFC 3339 with a timezone; kept as received.
    pub message_ts: String,
    pub action: Action,
    pub sender_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<String>,
    /// Number of items in the whole transaction (the builder uses the item count of the message).
    pub total_count: Int,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_msg_encrypted: Option<bool>,
    /// An object in the spec; the examples send `""`, so any JSON value is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `MsgCallbackHeader_V1.0.0`: the header of on-search, notify, txn-on-status and of the
/// synchronous responses. Unlike [`MsgHeader`], `sender_id` and `total_count` are optional and
/// `status` is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsgCallbackHeader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub message_id: String,
    pub message_ts: String,
    pub action: Action,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_code: Option<ReasonCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_message: Option<String>,
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_count: Option<Int>,
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_count: Option<Int>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_msg_encrypted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}
