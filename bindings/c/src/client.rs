//! The registry client: one `dci_client` per external DCI registry, created from a DataSource
//! (JSON). Calls block until the registry answers (or the data source's timeout); requests and
//! results cross as JSON text. A `dci_client` may be used from several threads at once.

use std::ffi::c_char;
use std::time::Duration;

use serde_json::{Map, Value};

use super::string::{in_args, in_json, in_str};
use super::{
    dci_error, dci_result, free_handle, handle, handle_out, json_out, string_out, FfiError,
    FfiResult,
};
use dci::client::{CallbackListener, DCIClient, DataSource, SearchSpec, SubscribeSpec};
use dci::error::Error;

/// A client for one external DCI registry. Free with `dci_client_free`.
pub struct dci_client(pub(crate) DCIClient);

/// The client and the core's one [`SearchSpec`], deserialised from `search_json` (what the
/// `dci_query_*` builders return plus the optional criteria; Python converts into the same
/// type, so a search sends the same bytes from either).
fn search_args<'a>(
    client: *const dci_client,
    search_json: *const c_char,
) -> FfiResult<(&'a DCIClient, SearchSpec)> {
    let c = handle(client, "client")?;
    Ok((&c.0, in_args(search_json, "search_json")?))
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
    handle_out(out, err, || {
        let ds = DataSource::from_json_str(in_str(datasource_json, "datasource_json")?)?;
        Ok(dci_client(DCIClient::new(ds)?))
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
/// `page_size` (default 100), `sort`, `consent`, `authorize`, `locale` (the core's
/// `SearchSpec`; the data source's dialect phrases identifier lookups and date ranges its
/// own way, as for Python's `search`).
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
    json_out(out, err, || {
        let (c, spec) = search_args(client, search_json)?;
        Ok(c.search_sync(&spec)?)
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
    json_out(out, err, || {
        let (c, spec) = search_args(client, search_json)?;
        Ok(c.search_all(spec)?)
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
    json_out(out, err, || {
        let (c, spec) = search_args(client, search_json)?;
        Ok(c.search_async(&spec)?)
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
    json_out(out, err, || {
        let c = handle(client, "client")?;
        Ok(c.0.txn_status(&in_args(query_json, "query_json")?)?)
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
    json_out(out, err, || {
        let c = handle(client, "client")?;
        Ok(c.0.txn_status_async(&in_args(query_json, "query_json")?)?)
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
    json_out(out, err, || {
        let c = handle(client, "client")?;
        let specs: Vec<SubscribeSpec> = in_args(subscriptions_json, "subscriptions_json")?;
        Ok(c.0.subscribe(&specs)?)
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
    json_out(out, err, || {
        let c = handle(client, "client")?;
        let codes: Vec<String> = in_args(codes_json, "codes_json")?;
        Ok(c.0.unsubscribe(&codes)?)
    })
}

/// Uploads a file of request envelopes (the spec's FileInfo form) to the async endpoint of
/// `action` (`search`, `subscribe`, `unsubscribe`, `txn-status`): `data` holds `data_len`
/// bytes of the file, `file_format` is `json` or `csv`, `file_name` names it. The envelopes
/// go as they are (sign them first). Writes the registry's report to `*out`: `{"ack_status",
/// "correlation_id", "file_name", "file_format", "rows", "accepted": [{"row",
/// "correlation_id"}], "rejected": [{"row", "code", "message"}]}`.
#[no_mangle]
pub unsafe extern "C" fn dci_client_upload(
    client: *const dci_client,
    action: *const c_char,
    file_format: *const c_char,
    file_name: *const c_char,
    data: *const u8,
    data_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        let c = handle(client, "client")?;
        let action = in_str(action, "action")?;
        let format = in_str(file_format, "file_format")?;
        let format = dci::client::FileFormat::parse(format).ok_or_else(|| Error::Config {
            field: "file_format".into(),
            reason: format!("{format:?} is not json or csv"),
        })?;
        let name = in_str(file_name, "file_name")?;
        if data.is_null() && data_len > 0 {
            return Err(FfiError::Null("data"));
        }
        let bytes = if data_len == 0 {
            Vec::new()
        } else {
            // SAFETY: non-NULL and, by contract, `data_len` readable bytes.
            unsafe { std::slice::from_raw_parts(data, data_len) }.to_vec()
        };
        Ok(c.0.upload(action, format, name, std::io::Cursor::new(bytes))?)
    })
}

/// Async searches in one upload: `searches_json` is a non-empty list of search specs (the
/// `search_json` form), each signed as `dci_client_search_async` would. Writes `{"report":
/// <as dci_client_upload>, "transaction_ids": [...]}` (row order) to `*out`; the results
/// arrive by on-search callback.
#[no_mangle]
pub extern "C" fn dci_client_upload_searches(
    client: *const dci_client,
    searches_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        let c = handle(client, "client")?;
        let specs: Vec<SearchSpec> = in_args(searches_json, "searches_json")?;
        let (report, txns) = c.0.upload_searches(&specs)?;
        Ok(serde_json::json!({"report": report, "transaction_ids": txns}))
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
    json_out(out, err, || {
        let c = handle(client, "client")?;
        let body: Map<String, Value> = in_args(body_json, "body_json")?;
        Ok(c.0.call_sync(in_str(path, "path")?, in_str(action, "action")?, body)?)
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
    json_out(out, err, || {
        Ok(handle(client, "client")?.0.test_connection()?)
    })
}

/// Handles a callback the registry posted to our callback URI (on-search, on-subscribe,
/// on-unsubscribe, notify, txn/on-status): verifies and parses it, hands its result to the
/// transaction waiting in `dci_client_wait_for`, and writes to `*out` the HTTP answer and what
/// was found, as JSON:
///
/// `{"accepted": true, "http_status": 200, "ack": {...ACK...}, "action": "on-search",
/// "transaction_id": ..., "correlation_id": ..., "matched": true, "result": {"kind":
/// "search", "result": {...}} or null, "error": null}` (the same keys as Python's
/// `handle_callback` and Go's `CallbackAnswer`).
///
/// A callback that cannot be accepted (bad JSON, bad signature, ...) still gets an answer:
/// `accepted` false, `http_status` 400 or 401, the `ERR` ACK as `ack`, and `error`
/// (`{"kind", "code", "message", "field", "transaction_id", "endpoint", "status",
/// "violations"}`). An accepted callback that carries a registry rejection
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
    json_out(out, err, || {
        let client = handle(client, "client")?;
        let body = in_str(body, "body")?;
        let headers: Map<String, Value> = if headers_json.is_null() {
            Map::new()
        } else {
            match in_json(headers_json, "headers_json")? {
                Value::Object(m) => m,
                _ => {
                    return Err(FfiError::Core(Error::Json(
                        "headers_json: expected an object of header names to values".into(),
                    )))
                }
            }
        };
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
            .collect();
        Ok(client.0.answer_callback(body.as_bytes(), &pairs))
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
    json_out(out, err, || {
        let c = handle(client, "client")?;
        let txn = in_str(transaction_id, "transaction_id")?;
        Ok(c.0.wait_for(txn, Duration::from_millis(timeout_ms))?)
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
    handle_out(out, err, || {
        let client = handle(client, "client")?.0.clone();
        let listener = CallbackListener::bind(client, in_str(addr, "addr")?)?;
        Ok(dci_listener(listener))
    })
}

/// Writes the address the listener is bound to (`"127.0.0.1:40123"`) to `*out`.
#[no_mangle]
pub extern "C" fn dci_listener_local_addr(
    listener: *const dci_listener,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        Ok(handle(listener, "listener")?.0.local_addr().to_string())
    })
}

/// Stops the listener (waits for its thread) and frees it. NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_listener_free(listener: *mut dci_listener) {
    free_handle(listener)
}
