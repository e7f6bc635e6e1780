//! Notify: `NotifyEventRequest` (action `notify`, sent with a callback header).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DciMessage, Extra, MessageKind};

/// `NotifyEventRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyEventRequest {
    pub transaction_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub notify_event: Vec<NotifyEventItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `notify_event[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyEventItem {
    pub reference_id: String,
    pub timestamp: String,
    pub data: NotifyEventData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `notify_event[].data`. Here `reg_event_type` (the event) and `reg_record_type` (the record
/// kind) are two separate fields, so no alias applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyEventData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_record_type: Option<String>,
    /// An object in the spec (one record), arrays are kept as sent.
    #[serde(default)]
    pub reg_records: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

dci_message! {
    NotifyEventRequest => notify_event,
}
