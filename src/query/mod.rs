//! Queries: builders for the three query types and the evaluator that decides whether a record
//! matches. INTERFACE STUB: owned by the query work.

use serde_json::Value;

use crate::error::Result;

/// Whether `record` matches the query (`query_type` as on the wire: `idtype-value`,
/// `predicate`, `expression`; `query` as the `search_criteria.query` JSON).
pub fn matches(record: &Value, query_type: &str, query: &Value) -> Result<bool> {
    let _ = (record, query_type, query);
    todo!()
}
