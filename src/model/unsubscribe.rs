//! Unsubscribe: `UnSubscribeRequest` (`unsubscribe`) and `UnSubscribeResponse` (`on-unsubscribe`).

use serde::{Deserialize, Serialize};

use super::{DciMessage, Extra, MessageKind, ReasonCode, RequestStatus, SubscriptionStatus};

/// `UnSubscribeRequest`. Reads the Jan-2025 misspellings `timesstamp` and `sunscription_codes`;
/// writes `timestamp` and `subscription_codes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnSubscribeRequest {
    pub transaction_id: String,
    #[serde(alias = "timesstamp")]
    pub timestamp: String,
    #[serde(alias = "sunscription_codes")]
    pub subscription_codes: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `UnSubscribeResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnSubscribeResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    pub timestamp: String,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_code: Option<ReasonCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_status: Option<Vec<SubscriptionCodeStatus>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `subscription_status[]`: a subscription code and its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionCodeStatus {
    pub code: String,
    pub status: SubscriptionStatus,
    #[serde(flatten)]
    pub extra: Extra,
}

dci_message! {
    UnSubscribeRequest => subscription_codes,
}

impl DciMessage for UnSubscribeResponse {
    const KIND: MessageKind = MessageKind::UnSubscribeResponse;
    fn item_count(&self) -> usize {
        self.subscription_status.as_ref().map_or(0, Vec::len)
    }
}
