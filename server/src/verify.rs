//! `/registry/sync/verify`: OpenSPP's "verify specific data points". The spec has no schema
//! for it, so its messages are ours (docs/server.md): the sender names a person and claims
//! attribute values; the answer is yes/no per claim, and the record is never returned.

use dci::model::{ReasonCode, RequestStatus, YesNo};
use dci::query::{field, Filter};
use serde_json::{Map, Value};

use super::search::{first_record, id_string, item, rejected};
use super::store::Store;

pub use dci::registry::verify::*;

fn yes(b: bool) -> YesNo {
    if b {
        YesNo::Yes
    } else {
        YesNo::No
    }
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Whether a record backs one claimed attribute value. Attribute paths compare as
/// `dci::query` compares (a bare date matches a date-time on that day); an identifier object
/// there compares by its `identifier_value`.
fn claim_holds(
    store: &dyn Store,
    registry: &str,
    id: (&str, &str),
    record: &Value,
    name: &str,
    want: &Value,
) -> Result<bool, String> {
    Ok(match name {
        "is_alive" => want.as_bool() == Some(!non_empty(record.get("death_date"))),
        "is_deceased" => want.as_bool() == Some(non_empty(record.get("death_date"))),
        "enrolled" | "is_enrolled" => {
            let found = registry == "ibr" && record.get("@type") == Some(&"Beneficiary".into())
                || first_record(store, "ibr", id.0, id.1)?.is_some();
            want.as_bool() == Some(found)
        }
        "disabled" | "is_disabled" => {
            let found = registry == "dr" || first_record(store, "dr", id.0, id.1)?.is_some();
            want.as_bool() == Some(found)
        }
        path => Filter::or([
            field(path).eq(want.clone()),
            field(format!("{path}.identifier_value")).eq(want.clone()),
        ])
        .matches(record),
    })
}

/// Answers a verify message: yes/no per claim, no record returned.
pub fn verify(
    store: &dyn Store,
    registry: &str,
    req: &VerifyRequest,
    correlation_id: &str,
) -> (VerifyResponse, usize) {
    let mut out = Vec::with_capacity(req.verify_request.len());
    for it in &req.verify_request {
        let c = &it.verify_criteria;
        let id_type = c.identifier.identifier_type.as_str();
        let id_value = id_string(&c.identifier.identifier_value);
        let record = match first_record(store, registry, id_type, &id_value) {
            Ok(r) => r,
            Err(e) => {
                out.push(VerifyResponseItem {
                    item: rejected(&it.reference_id, ReasonCode::SearchCriteriaInvalid, &e),
                    data: None,
                });
                continue;
            }
        };
        let mut results = Map::new();
        let mut all = record.is_some();
        for (name, want) in &c.claims {
            let holds = match &record {
                Some(r) => claim_holds(store, registry, (id_type, &id_value), r, name, want)
                    .unwrap_or_else(|e| {
                        tracing::error!(error = %e, "verify: storage error");
                        false
                    }),
                None => false,
            };
            all &= holds;
            results.insert(name.clone(), yes(holds).as_str().into());
        }
        out.push(VerifyResponseItem {
            item: item(&it.reference_id, RequestStatus::Success),
            data: Some(VerifyData {
                record_found: yes(record.is_some()),
                verified: yes(all),
                claims: results,
            }),
        });
    }
    let ok = out.iter().filter(|i| i.data.is_some()).count();
    (
        VerifyResponse {
            transaction_id: req.transaction_id.clone(),
            correlation_id: correlation_id.to_string(),
            verify_response: out,
        },
        ok,
    )
}
