//! Transaction status: `TxnStatusRequest` (`txn-status`) and `TxnStatusResponse`
//! (`txn-on-status`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DciMessage, Extra, MessageKind, SearchResponse, TxnAttributeType, TxnType};
use crate::error::{Error, Result};

/// `TxnStatusRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnStatusRequest {
    pub transaction_id: String,
    pub txnstatus_request: TxnStatusRequestBody,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `txnstatus_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnStatusRequestBody {
    pub reference_id: String,
    pub txn_type: TxnType,
    pub attribute_type: TxnAttributeType,
    /// A transaction or correlation id (string) or a list of reference ids, per `attribute_type`.
    pub attribute_value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `TxnStatusResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnStatusResponse {
    pub transaction_id: String,
    pub correlation_id: String,
    pub txnstatus_response: TxnStatusResponseBody,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `txnstatus_response`: `txn_status` is a search response (txn_type search) or a receipt
/// (`{transaction_id, receipt_information}`), kept as JSON with typed accessors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnStatusResponseBody {
    pub txn_type: TxnType,
    pub txn_status: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

impl TxnStatusResponseBody {
    /// `txn_status` read as a [`SearchResponse`].
    pub fn search_response(&self) -> Result<SearchResponse> {
        serde_json::from_value(self.txn_status.clone())
            .map_err(|e| Error::Json(format!("txnstatus_response.txn_status: {e}")))
    }
}

dci_message! {
    TxnStatusRequest => one,
    TxnStatusResponse => one,
}
