//! DR (disability registry) specifics: `/registry/sync/disabled`
//! (`DisabledRequest` / `DisabledResponse`), `/registry/sync/get-disability-support` and
//! `/registry/sync/get-disability-details` (both take `GetDisabilitySupportRequest`; they answer
//! with search-response shaped messages).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DciMessage, Extra, MessageKind, QueryType, RequestStatus, SearchResponse, YesNo};

/// `DisabledRequest` (header action `search`): is this person registered as disabled?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisabledRequest {
    pub transaction_id: String,
    pub disabled_criteria: DisabledCriteria,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `disabled_criteria`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisabledCriteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_type: Option<QueryType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `DisabledResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisabledResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub disabled_response: Vec<DisabledResponseItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `disabled_response[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisabledResponseItem {
    pub reference_id: String,
    pub timestamp: String,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_message: Option<String>,
    pub disabled_status: YesNo,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GetDisabilitySupportRequest`: the same shape as [`DisabledRequest`] (the spec's schema
/// refers to `DisabledRequest.disabled_criteria`); used by get-disability-support and
/// get-disability-details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetDisabilitySupportRequest {
    pub transaction_id: String,
    pub disabled_criteria: DisabledCriteria,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GetDisabilitySupportResponse`: a search response whose `reg_records` are the support
/// records (the spec types them as arrays of arrays; kept as JSON).
pub type GetDisabilitySupportResponse = SearchResponse;

/// `GetDisabilityInfoResponse` (answer of get-disability-details): a search response whose
/// `reg_records` are disability details.
pub type GetDisabilityInfoResponse = SearchResponse;

dci_message! {
    DisabledRequest => one,
    DisabledResponse => disabled_response,
    GetDisabilitySupportRequest => one,
}
