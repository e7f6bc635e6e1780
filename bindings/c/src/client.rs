//! The registry client: one `dci_client` per external DCI registry, created from a DataSource
//! (JSON). Calls block until the registry answers (or the data source's timeout); requests and
//! results cross as JSON text. A `dci_client` may be used from several threads at once.

use std::ffi::c_char;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::string::{in_json, in_str, out_string};
use super::{
    boundary, dci_error, dci_result, free_handle, handle, into_handle, out_ptr, write_out,
    FfiError, FfiResult,
};
use dci::client::callback::{error_ack, error_status};
use dci::client::{
    CallbackListener, DCIClient, DataSource, SearchSpec, SubscribeSpec, TxnStatusQuery,
};
use dci::error::Error;
use dci::query::Query;

/// A client for one external DCI registry. Free with `dci_client_free`.
pub struct dci_client(pub(crate) DCIClient);

fn to_json<T: serde::Serialize>(v: &T) -> FfiResult<String> {
    serde_json::to_string(v).map_err(|e| FfiError::Core(Error::Internal(format!("result: {e}"))))
}

/// Parses a JSON argument into `T`; the error names the argument.
fn in_args<T: serde::de::DeserializeOwned>(p: *const c_char, name: &'static str) -> FfiResult<T> {
    let text = in_str(p, name)?;
    serde_json::from_str(text).map_err(|e| FfiError::Core(Error::Json(format!("{name}: {e}"))))
}

/// What `dci_client_search_sync` and `_async` take: a query as the `dci_query_*` builders
/// return it, plus the optional search criteria.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query_type: String,
    query: Value,
    #[serde(default)]
    reg_type: Option<String>,
    #[serde(default)]
    reg_event_type: Option<String>,
    #[serde(default)]
    reg_record_type: Option<String>,
    #[serde(default)]
    page_number: Option<u32>,
    #[serde(default)]
    page_size: Option<u32>,
    #[serde(default)]
    sort: Option<Value>,
    #[serde(default)]
    consent: Option<Value>,
    #[serde(default)]
    authorize: Option<Value>,
    #[serde(default)]
    locale: Option<String>,
}

impl SearchArgs {
    fn into_spec(self) -> FfiResult<SearchSpec> {
        // Check the query here so that a malformed one fails before anything is sent.
        let parsed = Query::parse(&self.query_type, &self.query)?;
        let mut s = match parsed.idtype_lookup() {
            // The identifier shortcut lets each dialect phrase the lookup its own way.
            Some((t, Value::String(v))) => SearchSpec::by_id(t, v.clone()),
            _ => SearchSpec::new(self.query_type, self.query),
        };
        if let Some(v) = self.reg_type {
            s = s.reg_type(v);
        }
        if let Some(v) = self.reg_event_type {
            s = s.reg_event_type(v);
        }
        if let Some(v) = self.reg_record_type {
            s = s.reg_record_type(v);
        }
        let (number, size) = (
            self.page_number.unwrap_or(s.page_number),
            self.page_size.unwrap_or(s.page_size),
        );
        s = s.page(number, size);
        if let Some(v) = self.sort {
            s = s.sort(v);
        }
        if let Some(v) = self.consent {
            s = s.consent(v);
        }
        if let Some(v) = self.authorize {
            s = s.authorize(v);
        }
        if let Some(v) = self.locale {
            s = s.locale(v);
        }
        Ok(s)
    }
}

/// A new client in `*out` for the registry described by `datasource_json`: a DataSource
/// object (`base_url`, `our_sender_id` required; `registry_type`, `receiver_id`, `auth`,
/// `signing`, `our_callback_uri`, `endpoints`, `verify_tls`, `timeout_secs`, `registry_key`,
/// `dialect`, `max_retries`, `locale`; see the client documentation). A bad data source fails
/// with `DCI_RESULT_CONFIG` naming the field. Nothing is sent until the first call.
#[no_mangle]
pub extern "C" fn dci_client_new(
    datasource_json: *const c_char,
    out: *mut *mut dci_client,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let ds = DataSource::from_json_str(in_str(datasource_json, "datasource_json")?)?;
        write_out(out, into_handle(dci_client(DCIClient::new(ds)?)));
        Ok(())
    })
}

/// Frees a client. NULL is ignored. No call may be running on it.
#[no_mangle]
pub extern "C" fn dci_client_free(client: *mut dci_client) {
    free_handle(client)
}

/// Searches through the registry's sync endpoint (`/registry/sync/search`) and writes the
/// result to `*out` as JSON: `{"transaction_id", "correlation_id", "message_id", "header",
/// "items": [{"reference_id", "status", "records": [...], "pagination", ...}], "signature":
/// {"verified", "kid"}, "raw"}`.
///
/// `search_json` is `{"query_type", "query"}` as the `dci_query_*` builders return it, with
/// optional `reg_type`, `reg_event_type`, `reg_record_type`, `page_number` (default 1),
/// `page_size` (default 100), `sort`, `consent`, `authorize`, `locale`.
///
/// Failures: `DCI_RESULT_QUERY` (a malformed query, before sending), `DCI_RESULT_CONNECTION`
/// (registry unreachable), `DCI_RESULT_TIMEOUT`, `DCI_RESULT_HTTP` (see
/// `dci_error_http_status`), `DCI_RESULT_PROTOCOL` (a DCI `err.*`/`rjct.*` code in
/// `dci_error_code`), `DCI_RESULT_AUTH`, signature errors for a response that does not verify.
#[no_mangle]
pub extern "C" fn dci_client_search_sync(
    client: *const dci_client,
    search_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let spec = in_args::<SearchArgs>(search_json, "search_json")?.into_spec()?;
        let result = client.0.search_sync(&spec)?;
        out_string(out, &to_json(&result)?);
        Ok(())
    })
}

/// Searches through the sync endpoint page after page, from `page_number` (default 1) until
/// the result set is exhausted, and writes every record of every page to `*out` as a JSON list.
/// `search_json` as for `dci_client_search_sync` (`page_size` sets the page length).
#[no_mangle]
pub extern "C" fn dci_client_search_all(
    client: *const dci_client,
    search_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let spec = in_args::<SearchArgs>(search_json, "search_json")?.into_spec()?;
        let records = client.0.search_all(spec)?;
        out_string(out, &to_json(&records)?);
        Ok(())
    })
}

/// Searches through the async endpoint (`/registry/search`) and writes the registry's
/// acknowledgement to `*out`: `{"ack_status", "correlation_id", "timestamp",
/// "transaction_id", "message_id", "reference_ids", "raw"}`. The result arrives later at the
/// data source's `our_callback_uri` (required): pass it to `dci_client_handle_callback`, then
/// `dci_client_wait_for` the transaction_id. `search_json` as for `dci_client_search_sync`.
#[no_mangle]
pub extern "C" fn dci_client_search_async(
    client: *const dci_client,
    search_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let spec = in_args::<SearchArgs>(search_json, "search_json")?.into_spec()?;
        let ack = client.0.search_async(&spec)?;
        out_string(out, &to_json(&ack)?);
        Ok(())
    })
}

/// Asks the status of a transaction through the sync endpoint (`/registry/sync/txn/status`).
/// `query_json` is `{"txn_type": "search"|"subscribe"|"unsubscribe", "attribute_type":
/// "transaction_id"|"reference_id_list"|"correlation_id"|"subscription_code_list",
/// "attribute_value": ..., "locale"?: ...}`. Writes the result to `*out` as JSON.
#[no_mangle]
pub extern "C" fn dci_client_txn_status(
    client: *const dci_client,
    query_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let q: TxnStatusQuery = in_args(query_json, "query_json")?;
        out_string(out, &to_json(&client.0.txn_status(&q)?)?);
        Ok(())
    })
}

/// As `dci_client_txn_status` through the async endpoint (`/registry/txn/status`); writes
/// the acknowledgement to `*out` (the status arrives by the txn/on-status callback).
#[no_mangle]
pub extern "C" fn dci_client_txn_status_async(
    client: *const dci_client,
    query_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let q: TxnStatusQuery = in_args(query_json, "query_json")?;
        out_string(out, &to_json(&client.0.txn_status_async(&q)?)?);
        Ok(())
    })
}

/// Subscribes to registry events and writes the acknowledgement to `*out` (the subscription
/// codes arrive by the on-subscribe callback). `subscriptions_json` is a non-empty list of
/// `{"reg_event_type", "reg_type"?, "filter_type"?, "filter"?, "notify_record_type"?,
/// "frequency"?, "authorize"?, "locale"?}`.
#[no_mangle]
pub extern "C" fn dci_client_subscribe(
    client: *const dci_client,
    subscriptions_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let specs: Vec<SubscribeSpec> = in_args(subscriptions_json, "subscriptions_json")?;
        out_string(out, &to_json(&client.0.subscribe(&specs)?)?);
        Ok(())
    })
}

/// Ends subscriptions: `codes_json` is a non-empty list of subscription codes. Writes the
/// acknowledgement to `*out` (the result arrives by the on-unsubscribe callback).
#[no_mangle]
pub extern "C" fn dci_client_unsubscribe(
    client: *const dci_client,
    codes_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let codes: Vec<String> = in_args(codes_json, "codes_json")?;
        out_string(out, &to_json(&client.0.unsubscribe(&codes)?)?);
        Ok(())
    })
}

/// Calls a registry-specific sync endpoint (`path`, e.g. `/registry/sync/enrolled`) with the
/// header action `action` and the message `body_json` (an object, without `transaction_id`).
/// Writes `{"transaction_id", "envelope", "signature"}` to `*out`; the items are left to the
/// caller.
#[no_mangle]
pub extern "C" fn dci_client_call_sync(
    client: *const dci_client,
    path: *const c_char,
    action: *const c_char,
    body_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let body: Map<String, Value> = in_args(body_json, "body_json")?;
        let r = client
            .0
            .call_sync(in_str(path, "path")?, in_str(action, "action")?, body)?;
        out_string(out, &to_json(&r)?);
        Ok(())
    })
}

/// Checks authentication and reachability (a token, then a one-record search that matches
/// nothing) and writes `{"authenticated", "reachable", "item_rejection", "signature",
/// "elapsed_ms"}` to `*out`.
#[no_mangle]
pub extern "C" fn dci_client_test_connection(
    client: *const dci_client,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let report = handle(client, "client")?.0.test_connection()?;
        out_string(out, &to_json(&report)?);
        Ok(())
    })
}

fn error_json(e: &Error) -> Value {
    json!({
        "kind": super::dci_result::from(e.kind()).name_str(),
        "code": e.dci_code(),
        "message": e.to_string(),
    })
}

/// Handles a callback the registry posted to our callback URI (on-search, on-subscribe,
/// on-unsubscribe, notify, txn/on-status): verifies and parses it, hands its result to the
/// transaction waiting in `dci_client_wait_for`, and writes to `*out` the HTTP answer and what
/// was found, as JSON:
///
/// `{"http_status": 200, "body": {...ACK...}, "accepted": true, "action": "on-search",
/// "transaction_id": ..., "correlation_id": ..., "matched": true, "result": {"kind":
/// "search", "result": {...}} or null, "error": null}`
///
/// A callback that cannot be accepted (bad JSON, bad signature, ...) still gets an answer:
/// `accepted` false, `http_status` 400 or 401, the `ERR` ACK as `body`, and `error`
/// (`{"kind", "code", "message"}`). An accepted callback that carries a registry rejection
/// has `result` null and the rejection in `error`. `body` is the raw request body (JSON text)
/// and `headers_json` the request headers as an object (`{"Content-Type":
/// "application/json", ...}`; NULL for none). The call itself fails only for bad arguments.
#[no_mangle]
pub extern "C" fn dci_client_handle_callback(
    client: *const dci_client,
    body: *const c_char,
    headers_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let body = in_str(body, "body")?;
        let headers: Map<String, Value> = if headers_json.is_null() {
            Map::new()
        } else {
            match in_json(headers_json, "headers_json")? {
                Value::Object(m) => m,
                _ => {
                    return Err(Error::Json(
                        "headers_json: expected an object of header names to values".into(),
                    )
                    .into())
                }
            }
        };
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
            .collect();
        let answer = match client.0.handle_callback(body.as_bytes(), &pairs) {
            Ok(o) => {
                let (result, error) = match &o.result {
                    Ok(r) => (serde_json::to_value(r).unwrap_or(Value::Null), Value::Null),
                    Err(e) => (Value::Null, error_json(e)),
                };
                json!({
                    "http_status": 200,
                    "body": o.ack,
                    "accepted": true,
                    "action": o.action,
                    "transaction_id": o.transaction_id,
                    "correlation_id": o.correlation_id,
                    "matched": o.matched,
                    "result": result,
                    "error": error,
                })
            }
            Err(e) => json!({
                "http_status": error_status(&e),
                "body": error_ack(&e),
                "accepted": false,
                "action": null,
                "transaction_id": null,
                "correlation_id": null,
                "matched": false,
                "result": null,
                "error": error_json(&e),
            }),
        };
        out_string(out, &answer.to_string());
        Ok(())
    })
}

/// Waits up to `timeout_ms` milliseconds for the callback of an async call (by the
/// `transaction_id` of its acknowledgement) and writes its result to `*out`:
/// `{"kind": "search"|"subscribe"|"unsubscribe"|"txn_status"|"notify", "result": {...}}`.
/// No callback in time fails with `DCI_RESULT_TIMEOUT`; a registry rejection with
/// `DCI_RESULT_PROTOCOL` and its `rjct.*` code; a transaction this client did not start (or
/// already collected) with `DCI_RESULT_VALIDATION`.
#[no_mangle]
pub extern "C" fn dci_client_wait_for(
    client: *const dci_client,
    transaction_id: *const c_char,
    timeout_ms: u64,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?;
        let r = client.0.wait_for(
            in_str(transaction_id, "transaction_id")?,
            Duration::from_millis(timeout_ms),
        )?;
        out_string(out, &to_json(&r)?);
        Ok(())
    })
}

/// A small HTTP server that receives the registry's callbacks for a client (for hosts without
/// a web server of their own). Free with `dci_listener_free`.
pub struct dci_listener(CallbackListener);

/// Starts a callback listener on `addr` (`"127.0.0.1:8081"`, or port 0 for any free port) that
/// accepts the registry's callbacks (any path ending in `/on-search`, `/on-subscribe`,
/// `/on-unsubscribe`, `/notify`, `/txn/on-status`), hands them to `client` and answers them.
/// Collect results with `dci_client_wait_for`. The client's `our_callback_uri` must point at
/// this address. Fails with `DCI_RESULT_IO` when the address cannot be bound.
#[no_mangle]
pub extern "C" fn dci_listener_bind(
    client: *const dci_client,
    addr: *const c_char,
    out: *mut *mut dci_listener,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let client = handle(client, "client")?.0.clone();
        let listener = CallbackListener::bind(client, in_str(addr, "addr")?)?;
        write_out(out, into_handle(dci_listener(listener)));
        Ok(())
    })
}

/// Writes the address the listener is bound to (`"127.0.0.1:40123"`) to `*out`.
#[no_mangle]
pub extern "C" fn dci_listener_local_addr(
    listener: *const dci_listener,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        out_string(
            out,
            &handle(listener, "listener")?.0.local_addr().to_string(),
        );
        Ok(())
    })
}

/// Stops the listener (waits for its thread) and frees it. NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_listener_free(listener: *mut dci_listener) {
    free_handle(listener)
}
