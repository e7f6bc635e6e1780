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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyData {
    pub record_found: YesNo,
    pub verified: YesNo,
    pub claims: Map<String, Value>,
}

/// Read by hand: the item's own `data` is the verify answer, so it is taken out before the
/// rest is read as the search item it extends (a flattened item would claim `data` itself).
impl<'de> Deserialize<'de> for VerifyResponseItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut obj = Map::<String, Value>::deserialize(d)?;
        let data = match obj.remove("data") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value::<VerifyData>(v)
                    .map_err(|e| D::Error::custom(format!("data: {e}")))?,
            ),
        };
        let item = serde_json::from_value::<SearchResponseItem>(Value::Object(obj))
            .map_err(D::Error::custom)?;
        Ok(VerifyResponseItem { item, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verify_response_reads_back_as_written() {
        let v = serde_json::json!({
            "transaction_id": "t", "correlation_id": "c",
            "verify_response": [{
                "reference_id": "r1", "timestamp": "2025-01-01T00:00:00Z", "status": "succ",
                "data": {"record_found": "yes", "verified": "no", "claims": {"is_alive": "no"}}
            }]
        });
        let r: VerifyResponse = serde_json::from_value(v.clone()).unwrap();
        let item = &r.verify_response[0];
        assert_eq!(item.item.reference_id, "r1");
        assert_eq!(item.data.as_ref().unwrap().verified, YesNo::No);
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        let bad = serde_json::json!({"transaction_id": "t", "correlation_id": "c",
            "verify_response": [{"reference_id": "r1", "timestamp": "x", "status": "succ",
            "data": {"record_found": "yes"}}]});
        let e = serde_json::from_value::<VerifyResponse>(bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("data: missing field `verified`"), "{e}");
    }
}
