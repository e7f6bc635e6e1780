//! Messages and envelopes: validation against the spec's constraints and the search request
//! builder. Envelopes cross as JSON text.

use std::ffi::c_char;

use serde::Deserialize;
use serde_json::Value;

use super::string::{in_args, in_json, opt_in_str};
use super::{boundary, dci_error, dci_result, string_out, FfiResult};
use dci::client::request::txn_status_request;
use dci::client::{Ids, TxnStatusQuery};
use dci::error::Error;
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

/// The search criteria options of `dci_search_request_new` (for every item) and of
/// `dci_search_item_new`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Criteria {
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
}

impl Criteria {
    /// The names of its options, read apart from the other options of a call.
    const NAMES: [&'static str; 8] = [
        "reg_type",
        "reg_record_type",
        "response_entity",
        "locale",
        "pagination",
        "sort",
        "consent",
        "authorize",
    ];

    fn apply(self, mut b: SearchRequestBuilder) -> SearchRequestBuilder {
        if let Some(v) = self.reg_type {
            b = b.reg_type(v);
        }
        if let Some(v) = self.reg_record_type {
            b = b.reg_record_type(v);
        }
        if let Some(v) = self.response_entity {
            b = b.response_entity(v);
        }
        if let Some(v) = self.locale {
            b = b.locale(v);
        }
        if let Some(p) = self.pagination {
            b = b.pagination(p.page_size, p.page_number);
        }
        for s in self.sort {
            b = b.sort(s.attribute_name, &s.sort_order);
        }
        if let Some(v) = self.consent {
            b = b.consent(v);
        }
        if let Some(v) = self.authorize {
            b = b.authorize(v);
        }
        b
    }
}

fn read_map<T: serde::de::DeserializeOwned>(
    v: serde_json::Map<String, Value>,
    name: &str,
) -> FfiResult<T> {
    Ok(
        serde_json::from_value(Value::Object(v))
            .map_err(|e| Error::Json(format!("{name}: {e}")))?,
    )
}

/// Reads the options JSON text `p` as the call's own options `T` and its [`Criteria`], each
/// refusing fields it does not know (the error names the argument).
fn with_criteria<T: serde::de::DeserializeOwned>(
    p: *const c_char,
    name: &'static str,
) -> FfiResult<(T, Criteria)> {
    let mut all: serde_json::Map<String, Value> = in_args(p, name)?;
    let crit: serde_json::Map<String, Value> = Criteria::NAMES
        .iter()
        .filter_map(|k| all.remove_entry(*k))
        .collect();
    Ok((read_map(all, name)?, read_map(crit, name)?))
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

fn search_envelope(o: SearchOptions, c: Criteria) -> FfiResult<Value> {
    let mut b = SearchRequestBuilder::new();
    if let Some(v) = o.transaction_id {
        b = b.transaction_id(v);
    }
    b = c.apply(b);
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
        let (opts, criteria) = with_criteria::<SearchOptions>(options_json, "options_json")?;
        let envelope = search_envelope(opts, criteria)?;
        Ok(envelope.to_string())
    })
}

/// The options of `dci_search_item_new`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemOptions {
    query_type: String,
    query: Value,
    #[serde(default)]
    reference_id: Option<String>,
}

/// Builds one `search_request` item (`{"reference_id", "timestamp", "search_criteria"}`) from
/// options given as JSON text and writes it to `*out`: for requests whose items carry
/// different criteria (put the items in `message.search_request` of an envelope). Options:
/// `query_type` and `query` (as the `dci_query_*` builders return them) are required;
/// optionally `reference_id` (generated when absent), `reg_type`, `reg_record_type`,
/// `response_entity`, `locale`, `pagination`, `sort`, `consent`, `authorize` (as for
/// `dci_search_request_new`). An unknown option fails with `DCI_RESULT_JSON`; an item that
/// would break the spec with `DCI_RESULT_VALIDATION`.
#[no_mangle]
pub extern "C" fn dci_search_item_new(
    options_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let (o, criteria) = with_criteria::<ItemOptions>(options_json, "options_json")?;
        let b = criteria.apply(SearchRequestBuilder::new());
        let message = b.query(&o.query_type, o.query).build()?;
        let mut item = message
            .search_request
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("search request without its item".into()))?;
        if let Some(r) = o.reference_id {
            item.reference_id = r;
        }
        let v = serde_json::to_value(&item)?;
        validate_value(
            "SearchRequest",
            &serde_json::json!({
                "header": {"version": "1.0.0", "message_id": "m", "message_ts": item.timestamp,
                           "action": "search", "sender_id": "s", "total_count": 1},
                "message": {"transaction_id": "t", "search_request": [v.clone()]},
            }),
        )?;
        Ok(v.to_string())
    })
}

/// The options of `dci_txn_status_request_new`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TxnStatusOptions {
    sender_id: String,
    txn_type: String,
    attribute_type: String,
    attribute_value: Value,
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
    reference_id: Option<String>,
    #[serde(default)]
    locale: Option<String>,
}

/// Builds an unsigned txn-status request envelope (action `txn-status`) from options given as
/// JSON text and writes it to `*out` (sign it with `dci_signer_sign`). Options: `sender_id`,
/// `txn_type` (`"search"`, `"subscribe"`, `"unsubscribe"`), `attribute_type`
/// (`"transaction_id"`, `"reference_id_list"`, `"correlation_id"`,
/// `"subscription_code_list"`) and `attribute_value` are required; optionally `receiver_id`,
/// `sender_uri`, `message_id`, `message_ts`, `transaction_id`, `reference_id` (generated when
/// absent), `locale`. An unknown option fails with `DCI_RESULT_JSON`; a request that breaks
/// the spec (an unknown `txn_type`, ...) with `DCI_RESULT_VALIDATION`.
#[no_mangle]
pub extern "C" fn dci_txn_status_request_new(
    options_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let o: TxnStatusOptions = in_args(options_json, "options_json")?;
        let q = TxnStatusQuery {
            txn_type: o.txn_type,
            attribute_type: o.attribute_type,
            attribute_value: o.attribute_value,
            locale: o.locale,
        };
        let mut ids = Ids::fresh();
        if let Some(t) = o.transaction_id {
            ids.transaction_id = t;
        }
        if let Some(r) = o.reference_id {
            ids.reference_ids = vec![r];
        }
        let message = txn_status_request(&q, &mut ids);
        let mut e = EnvelopeBuilder::new("txn-status").sender_id(o.sender_id);
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
        let env = e.build(message)?.to_value()?;
        validate_value("txn-status", &env)?;
        Ok(env.to_string())
    })
}
