//! Search: `SearchRequest` (action `search`) and `SearchResponse` (action `on-search`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    DciMessage, Extra, Int, MessageKind, QueryType, ReasonCode, RequestStatus, ResponseEntity,
    SortOrder,
};

/// `SearchRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub transaction_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub search_request: Vec<SearchRequestItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `search_request[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequestItem {
    pub reference_id: String,
    pub timestamp: String,
    pub search_criteria: SearchCriteria,
    /// ISO 639-3 (three lowercase letters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `search_criteria`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchCriteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_type: Option<String>,
    /// `reg_record_type` in the latest specs; the Jan-2025 specs call it `reg_event_type`, which
    /// is read here too and written back as `reg_record_type`. (Sending both is ambiguous and
    /// fails to parse as a duplicate field.)
    #[serde(
        default,
        alias = "reg_event_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub reg_record_type: Option<String>,
    pub query_type: QueryType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_entity: Option<ResponseEntity>,
    /// The query payload for `query_type` (see the `query` module for builders).
    pub query: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Vec<SortItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationRequest>,
    /// An object in the spec; examples send `""`, so any JSON is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `sort[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SortItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SortOrder>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PaginationRequest`: the spec requires `page_size`; it is optional here because peers send
/// `"pagination": {}` (the DR and FR examples do), and `validate()` reports it. `page_number`
/// defaults to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaginationRequest {
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub page_size: Option<Int>,
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub page_number: Option<Int>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Pagination` of a response. All three fields are required by the spec; `total_count` is
/// optional here because the spec's examples send `""` when the total is unknown (read as
/// `None`; `validate()` reports it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pagination {
    pub page_size: Int,
    pub page_number: Int,
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_count: Option<Int>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `SearchResponse`. Also the shape of DR's `GetDisabilitySupportResponse` and
/// `GetDisabilityInfoResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub search_response: Vec<SearchResponseItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `search_response[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponseItem {
    pub reference_id: String,
    pub timestamp: String,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_code: Option<ReasonCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<SearchResponseData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `search_response[].data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponseData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_type: Option<String>,
    /// Also read from the Jan-2025 name `reg_event_type`.
    #[serde(
        default,
        alias = "reg_event_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub reg_record_type: Option<String>,
    /// The records: an array in crvs/social/ibr/dr, an object in the FR spec (a known defect);
    /// kept as JSON. Use the views in `records` to read them.
    pub reg_records: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

impl SearchResponseData {
    /// The records as a list: the array items, or the single object the FR spec allows.
    pub fn records(&self) -> Vec<&Value> {
        match &self.reg_records {
            Value::Array(a) => a.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        }
    }
}

dci_message! {
    SearchRequest => search_request,
    SearchResponse => search_response,
}
