//! Messages and envelopes: validation against the spec's constraints and the search request
//! builder. Envelopes cross as JSON text.

use std::ffi::c_char;

use serde::Deserialize;
use serde_json::Value;

use super::string::{in_json, in_str, opt_in_str};
use super::{boundary, dci_error, dci_result, string_out, FfiResult};
use dci::model::{validate_envelope_value, validate_value, EnvelopeBuilder, SearchRequestBuilder};

/// Validates an envelope (`{signature, header, message}` as JSON text) against the spec's
/// constraints. `kind` names the message (`"search"`, `"on-search"`, `"SearchRequest"`,
/// `"enrolled"`, `"get-disability-support"`, `"ack"`, ...; see the model documentation), or
/// NULL to take it from `header.action`. Returns `DCI_RESULT_OK` when the envelope is valid;
/// otherwise `DCI_RESULT_VALIDATION` with every violation in `dci_error_violations` and the
/// first one's path in `dci_error_field`. An unknown `kind` fails with `DCI_RESULT_CONFIG`.
#[no_mangle]
pub extern "C" fn dci_validate(
    kind: *const c_char,
    envelope_json: *const c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let envelope = in_json(envelope_json, "envelope_json")?;
        match opt_in_str(kind, "kind")? {
            Some(kind) => validate_value(kind, &envelope)?,
            None => validate_envelope_value(&envelope)?,
        }
        Ok(())
    })
}

/// The options of `dci_search_request_new`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchOptions {
    sender_id: String,
    #[serde(default)]
    receiver_id: Option<String>,
    #[serde(default)]
    sender_uri: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    message_ts: Option<String>,
    #[serde(default)]
    transaction_id: Option<String>,
    #[serde(default)]
    reg_type: Option<String>,
    #[serde(default)]
    reg_record_type: Option<String>,
    #[serde(default)]
    response_entity: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    pagination: Option<Pagination>,
    #[serde(default)]
    sort: Vec<Sort>,
    #[serde(default)]
    consent: Option<Value>,
    #[serde(default)]
    authorize: Option<Value>,
    queries: Vec<WireQuery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pagination {
    page_size: i64,
    page_number: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sort {
    attribute_name: String,
    sort_order: String,
}

/// What the query builders return.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireQuery {
    query_type: String,
    query: Value,
}

fn search_envelope(o: SearchOptions) -> FfiResult<Value> {
    let mut b = SearchRequestBuilder::new();
    if let Some(v) = o.transaction_id {
        b = b.transaction_id(v);
    }
    if let Some(v) = o.reg_type {
        b = b.reg_type(v);
    }
    if let Some(v) = o.reg_record_type {
        b = b.reg_record_type(v);
    }
    if let Some(v) = o.response_entity {
        b = b.response_entity(v);
    }
    if let Some(v) = o.locale {
        b = b.locale(v);
    }
    if let Some(p) = o.pagination {
        b = b.pagination(p.page_size, p.page_number);
    }
    for s in o.sort {
        b = b.sort(s.attribute_name, &s.sort_order);
    }
    if let Some(v) = o.consent {
        b = b.consent(v);
    }
    if let Some(v) = o.authorize {
        b = b.authorize(v);
    }
    for q in o.queries {
        b = b.query(&q.query_type, q.query);
    }
    let message = b.build()?;
    let mut e = EnvelopeBuilder::new("search").sender_id(o.sender_id);
    if let Some(v) = o.receiver_id {
        e = e.receiver_id(v);
    }
    if let Some(v) = o.sender_uri {
        e = e.sender_uri(v);
    }
    if let Some(v) = o.message_id {
        e = e.message_id(v);
    }
    if let Some(v) = o.message_ts {
        e = e.message_ts(v);
    }
    Ok(e.build(message)?.to_value()?)
}

/// Builds an unsigned search request envelope (`{"header": ..., "message": ...}`, action
/// `search`) from options given as JSON text, and writes it to `*out` (sign it with
/// `dci_signer_sign`; free it with `dci_string_free`).
///
/// Options: `sender_id` (required), `queries` (required, non-empty: a list of
/// `{"query_type", "query"}` pairs as the `dci_query_*` builders return them, one
/// `search_request` item each), and optionally `receiver_id`, `sender_uri`, `message_id`,
/// `message_ts`, `transaction_id` (generated when absent), `reg_type`, `reg_record_type`,
/// `response_entity`, `locale`, `pagination` (`{"page_size", "page_number"}`), `sort`
/// (`[{"attribute_name", "sort_order"}]`), `consent`, `authorize`. An unknown option fails with
/// `DCI_RESULT_JSON`; a request that would break the spec (no queries, `page_size` 0, a bad
/// locale, ...) with `DCI_RESULT_VALIDATION`.
#[no_mangle]
pub extern "C" fn dci_search_request_new(
    options_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let text = in_str(options_json, "options_json")?;
        let opts: SearchOptions = serde_json::from_str(text)
            .map_err(|e| dci::error::Error::Json(format!("options_json: {e}")))?;
        let envelope = search_envelope(opts)?;
        Ok(envelope.to_string())
    })
}
