//! Subscribe: `SubscribeRequest` (action `subscribe`) and `SubscribeResponse` (`on-subscribe`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    DciMessage, Extra, MessageKind, Pagination, QueryType, ReasonCode, RequestStatus,
    SubscriptionStatus,
};

/// `SubscribeRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeRequest {
    pub transaction_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub subscribe_request: Vec<SubscribeRequestItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `subscribe_request[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeRequestItem {
    pub reference_id: String,
    pub timestamp: String,
    pub subscribe_criteria: SubscribeCriteria,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `subscribe_criteria`. The spec requires `reg_event_type`, `filter` and
/// `notify_record_type`; they are optional here so loosely built peers still parse, and
/// `validate()` reports them when missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeCriteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_type: Option<String>,
    /// The registry event to subscribe to (a real field here, not the old name of
    /// `reg_record_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<Frequency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_type: Option<QueryType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_record_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `EventFrequency`: `start_time`, `end_time`, `frequency` (a cron-like string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frequency {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `SubscribeResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub subscribe_response: Vec<SubscribeResponseItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `subscribe_response[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeResponseItem {
    pub reference_id: String,
    pub timestamp: String,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_code: Option<ReasonCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriptions: Option<Vec<SubscriptionInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `SubscriptionInfo`: one subscription with its code and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub code: String,
    /// `subscribe` / `unsubscribe` (the Jan-2025 `subscibe` is accepted).
    pub status: SubscriptionStatus,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<Frequency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_type: Option<QueryType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_record_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

dci_message! {
    SubscribeRequest => subscribe_request,
    SubscribeResponse => subscribe_response,
}
