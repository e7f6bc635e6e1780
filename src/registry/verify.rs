//! The messages of `/registry/sync/verify`, OpenSPP's "verify specific data points". The spec
//! has no schema for it, so these are ours (docs/server.md): the sender names a person and
//! claims attribute values; the answer is yes/no per claim, and the record is never returned.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Extra, SearchResponseItem, YesNo};

/// The verify request message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
    pub transaction_id: String,
    pub verify_request: Vec<VerifyRequestItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequestItem {
    pub reference_id: String,
    pub timestamp: String,
    pub verify_criteria: VerifyCriteria,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyCriteria {
    pub identifier: VerifyIdentifier,
    /// Claimed attribute values by name (`is_alive`, `enrolled`, a dotted path, ...).
    pub claims: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyIdentifier {
    pub identifier_type: String,
    /// A string (a number is read as its JSON text).
    pub identifier_value: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The verify response message (header action `on-verify`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    pub verify_response: Vec<VerifyResponseItem>,
}

/// One `verify_response[]` item: the status part of a search response item (reference,
/// timestamp, status and reason), with the verify answer as its `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyResponseItem {
    #[serde(flatten)]
    pub item: SearchResponseItem,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<VerifyData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyData {
    pub record_found: YesNo,
    pub verified: YesNo,
    pub claims: Map<String, Value>,
}
