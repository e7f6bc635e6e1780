//! IBR (integrated beneficiary registry) specifics: `/registry/sync/enrolled`
//! (`EnrolledRequest` / `EnrolledResponse`) and `/registry/sync/enrollment/updates`
//! (`EnrollmentUpdatesRequest` / `EnrollmentUpdatesResponse`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DciMessage, Extra, MessageKind, QueryType, RequestStatus, ResponseEntity, YesNo};

/// `EnrolledRequest` (header action `search`): is this person or group enrolled?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolledRequest {
    pub transaction_id: String,
    pub enrolled_criteria: EnrolledCriteria,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `enrolled_criteria`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolledCriteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_type: Option<QueryType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_entity: Option<ResponseEntity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `EnrolledResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolledResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub enrolled_response: Vec<EnrolledResponseItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `enrolled_response[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolledResponseItem {
    pub reference_id: String,
    pub timestamp: String,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_message: Option<String>,
    pub enrolled_status: YesNo,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `EnrollmentUpdatesRequest` (callback header, action `notify`): beneficiaries whose
/// enrolment changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentUpdatesRequest {
    pub transaction_id: String,
    pub enrolled_updates: EnrolledUpdates,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `enrolled_updates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolledUpdates {
    /// Beneficiary records (see [`super::Beneficiary`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiaries: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `EnrollmentUpdatesResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentUpdatesResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    #[serde(deserialize_with = "super::lenient::one_or_many")]
    pub enrolled_response: Vec<EnrollmentUpdateItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `enrolled_response[]` item of an enrolment-updates response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentUpdateItem {
    pub reference_id: String,
    pub timestamp: String,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_message: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

dci_message! {
    EnrolledRequest => one,
    EnrolledResponse => enrolled_response,
    EnrollmentUpdatesResponse => enrolled_response,
}

impl DciMessage for EnrollmentUpdatesRequest {
    const KIND: MessageKind = MessageKind::EnrollmentUpdatesRequest;
    fn item_count(&self) -> usize {
        self.enrolled_updates
            .beneficiaries
            .as_ref()
            .map_or(0, Vec::len)
    }
}
