//! Typed results, parsed from response and callback envelopes, with the status checks the
//! spec asks of a receiver: the ACK's `ack_status`, the callback header's `status`, and every
//! item's `status` (`rcvd`, `pdng`, `succ`, `rjct`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// What verifying a response's signature found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// True when a signature was present and verified.
    pub verified: bool,
    /// The kid the signature named, if any.
    pub kid: Option<String>,
}

/// The acknowledgement of an async request (spec `Response`: `ack_status`, `correlation_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// `ACK` (NACK and ERR are returned as errors).
    pub ack_status: String,
    pub correlation_id: Option<String>,
    pub timestamp: Option<String>,
    /// Our request's transaction_id (the callback carries it).
    pub transaction_id: String,
    /// Our request's message_id.
    pub message_id: String,
    /// Our request's reference_ids, in order.
    pub reference_ids: Vec<String>,
    pub raw: Value,
}

/// Pagination of one search_response item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageInfo {
    pub page_size: u64,
    pub page_number: u64,
    pub total_count: u64,
}

/// One `search_response` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchItem {
    pub reference_id: Option<String>,
    pub timestamp: Option<String>,
    pub status: String,
    pub status_reason_code: Option<String>,
    pub status_reason_message: Option<String>,
    pub reg_type: Option<String>,
    pub reg_record_type: Option<String>,
    /// `data.reg_records` (a single record object is returned as a one-element list).
    pub records: Vec<Value>,
    pub pagination: Option<PageInfo>,
    pub locale: Option<String>,
}

/// A search result (sync response, on-search callback, or txn status of a search).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    pub message_id: Option<String>,
    pub header: Value,
    pub items: Vec<SearchItem>,
    pub signature: SignatureCheck,
    /// The whole envelope as received.
    pub raw: Value,
}

impl SearchResult {
    /// Every record of every item.
    pub fn records(&self) -> impl Iterator<Item = &Value> {
        self.items.iter().flat_map(|i| i.records.iter())
    }
    pub fn first_record(&self) -> Option<&Value> {
        self.records().next()
    }
    pub fn record_count(&self) -> usize {
        self.items.iter().map(|i| i.records.len()).sum()
    }
    /// The first item's pagination.
    pub fn page_info(&self) -> Option<PageInfo> {
        self.items.first().and_then(|i| i.pagination)
    }
}

/// One subscription the registry reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub code: String,
    pub status: Option<String>,
    pub reg_event_type: Option<String>,
    pub raw: Value,
}

/// One `subscribe_response` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeItem {
    pub reference_id: Option<String>,
    pub status: String,
    pub status_reason_code: Option<String>,
    pub status_reason_message: Option<String>,
    pub subscriptions: Vec<Subscription>,
}

/// An on-subscribe result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeResult {
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    pub items: Vec<SubscribeItem>,
    pub signature: SignatureCheck,
    pub raw: Value,
}

impl SubscribeResult {
    /// Every subscription code granted.
    pub fn codes(&self) -> Vec<String> {
        self.items
            .iter()
            .flat_map(|i| i.subscriptions.iter().map(|s| s.code.clone()))
            .collect()
    }
}

/// An on-unsubscribe result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnsubscribeResult {
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    pub status: String,
    pub status_reason_code: Option<String>,
    pub status_reason_message: Option<String>,
    /// `(code, status)` pairs (`subscribe` / `unsubscribe`).
    pub subscription_status: Vec<(String, String)>,
    pub signature: SignatureCheck,
    pub raw: Value,
}

/// A txn status result (`txnstatus_response`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnStatusResult {
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    pub txn_type: Option<String>,
    /// `txn_status` as received (a SearchResponse, SubscribeResponse or UnSubscribeResponse).
    pub txn_status: Value,
    /// For `txn_type` `search`: the `txn_status` parsed as a search result.
    pub search: Option<Box<SearchResult>>,
    pub signature: SignatureCheck,
    pub raw: Value,
}

/// One notified event (`notify_event` item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyItem {
    pub reference_id: Option<String>,
    pub timestamp: Option<String>,
    pub reg_type: Option<String>,
    pub reg_event_type: Option<String>,
    pub reg_record_type: Option<String>,
    pub records: Vec<Value>,
}

/// A notify callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyEvent {
    pub transaction_id: Option<String>,
    pub sender_id: Option<String>,
    pub items: Vec<NotifyItem>,
    pub signature: SignatureCheck,
    pub raw: Value,
}

// ---------------------------------------------------------------------------------------------
// Parsing

pub(crate) struct Ctx<'a> {
    pub endpoint: &'a str,
    pub transaction_id: Option<&'a str>,
}

impl Ctx<'_> {
    pub fn protocol(&self, code: &str, message: &str) -> Error {
        Error::Protocol {
            code: code.to_string(),
            message: message.to_string(),
            endpoint: self.endpoint.to_string(),
            transaction_id: self.transaction_id.map(str::to_string),
        }
    }
    pub fn shape(&self, path: &str, rule: &str) -> Error {
        Error::Validation(vec![crate::error::Violation::new(
            path,
            format!("{rule} (response from {})", self.endpoint),
        )])
    }
}

pub(crate) fn s(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn u(v: &Value, k: &str) -> u64 {
    match v.get(k) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// An ACK body: `{"message": {"ack_status", "timestamp", "error", "correlation_id"}}`. Some
/// registries answer without the `message` wrapper; both are read.
pub(crate) fn parse_ack(
    ctx: &Ctx<'_>,
    body: &Value,
    message_id: &str,
    reference_ids: Vec<String>,
) -> Result<Ack> {
    let m = body
        .get("message")
        .filter(|m| m.is_object())
        .unwrap_or(body);
    let status = s(m, "ack_status").ok_or_else(|| ctx.shape("message.ack_status", "required"))?;
    if !status.eq_ignore_ascii_case("ACK") {
        let (code, msg) = error_of(m).unwrap_or_else(|| {
            (
                if status.eq_ignore_ascii_case("NACK") {
                    "err.request.bad".into()
                } else {
                    "err.service.unavailable".into()
                },
                format!("ack_status {status}"),
            )
        });
        return Err(ctx.protocol(&code, &msg));
    }
    Ok(Ack {
        ack_status: status,
        correlation_id: s(m, "correlation_id"),
        timestamp: s(m, "timestamp"),
        transaction_id: ctx.transaction_id.unwrap_or_default().to_string(),
        message_id: message_id.to_string(),
        reference_ids,
        raw: body.clone(),
    })
}

fn error_of(m: &Value) -> Option<(String, String)> {
    let e = m.get("error")?;
    let code = s(e, "code")?;
    Some((code, s(e, "message").unwrap_or_default()))
}

/// The DCI error a refusal body names: the ACK's `message.error` (or an unwrapped `error`),
/// else the first of the HttpErrorResponse `errors[]`; `(code, message)`.
pub(crate) fn refusal_code(body: &[u8]) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let m = v.get("message").filter(|m| m.is_object()).unwrap_or(&v);
    error_of(m).or_else(|| {
        let e = v.get("errors")?.get(0)?;
        Some((s(e, "code")?, s(e, "message").unwrap_or_default()))
    })
}

/// If the body is an ACK with NACK/ERR (some registries answer sync endpoints that way), the error.
pub(crate) fn ack_error(ctx: &Ctx<'_>, body: &Value) -> Option<Error> {
    let m = body.get("message")?;
    let status = s(m, "ack_status")?;
    if status.eq_ignore_ascii_case("ACK") {
        return None;
    }
    let (code, msg) = error_of(m).unwrap_or_else(|| {
        (
            "err.service.unavailable".to_string(),
            format!("ack_status {status}"),
        )
    });
    Some(ctx.protocol(&code, &msg))
}

/// Checks the callback header (`MsgCallbackHeader`): `status` `rjct` is an error.
pub(crate) fn check_header(ctx: &Ctx<'_>, env: &Value) -> Result<()> {
    let h = env
        .get("header")
        .filter(|h| h.is_object())
        .ok_or_else(|| ctx.shape("header", "required"))?;
    if let Some(st) = s(h, "status") {
        if st.eq_ignore_ascii_case("rjct") {
            // Registries often put the reason on the rejected item only (the reference server
            // does): report the first item's code and text rather than a bare "rjct".
            let item = first_rejected_item(env);
            let code = s(h, "status_reason_code")
                .or_else(|| item.and_then(|i| s(i, "status_reason_code")))
                .unwrap_or_else(|| "rjct".into());
            let msg = s(h, "status_reason_message")
                .or_else(|| item.and_then(|i| s(i, "status_reason_message")))
                .unwrap_or_default();
            return Err(ctx.protocol(&code, &msg));
        }
    }
    Ok(())
}

/// The first item with status `rjct` in any response list of the message
/// (`search_response`, `subscribe_response`, ...).
fn first_rejected_item(env: &Value) -> Option<&Value> {
    env.get("message")?
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .find(|i| s(i, "status").is_some_and(|st| st.eq_ignore_ascii_case("rjct")))
}

fn message<'a>(ctx: &Ctx<'_>, env: &'a Value) -> Result<&'a Value> {
    let m = env
        .get("message")
        .filter(|m| m.is_object())
        .ok_or_else(|| ctx.shape("message", "required object"))?;
    // Encrypted answers are opened before they are parsed; one still encrypted here was not
    // flagged `is_msg_encrypted`.
    if m.get("ciphertext").is_some() {
        return Err(ctx.protocol(
            "err.encryption.invalid",
            "the message is an EncryptedMessage but header.is_msg_encrypted is not true",
        ));
    }
    Ok(m)
}

/// Checks that the response belongs to our transaction.
fn check_txn(ctx: &Ctx<'_>, m: &Value) -> Result<()> {
    if let (Some(ours), Some(theirs)) = (ctx.transaction_id, s(m, "transaction_id")) {
        if ours != theirs {
            return Err(ctx.shape(
                "message.transaction_id",
                &format!("expected {ours:?}, got {theirs:?}"),
            ));
        }
    }
    Ok(())
}

fn item_rejected(ctx: &Ctx<'_>, item: &Value, path: &str) -> Result<String> {
    let st = s(item, "status").ok_or_else(|| ctx.shape(&format!("{path}.status"), "required"))?;
    if st.eq_ignore_ascii_case("rjct") {
        let code = s(item, "status_reason_code").unwrap_or_else(|| "rjct".into());
        let msg = s(item, "status_reason_message").unwrap_or_default();
        return Err(ctx.protocol(&code, &msg));
    }
    Ok(st)
}

fn records_of(data: &Value) -> Vec<Value> {
    match data.get("reg_records") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

fn search_items(ctx: &Ctx<'_>, m: &Value, key: &str) -> Result<Vec<SearchItem>> {
    let arr = match m.get(key) {
        Some(Value::Array(a)) => a,
        _ => return Err(ctx.shape(&format!("message.{key}"), "required list")),
    };
    let mut out = Vec::with_capacity(arr.len());
    for (i, it) in arr.iter().enumerate() {
        let status = item_rejected(ctx, it, &format!("message.{key}[{i}]"))?;
        let data = it.get("data").cloned().unwrap_or(Value::Null);
        let pagination = it
            .get("pagination")
            .filter(|p| p.is_object())
            .map(|p| PageInfo {
                page_size: u(p, "page_size"),
                page_number: u(p, "page_number"),
                total_count: u(p, "total_count"),
            });
        out.push(SearchItem {
            reference_id: s(it, "reference_id"),
            timestamp: s(it, "timestamp"),
            status,
            status_reason_code: s(it, "status_reason_code"),
            status_reason_message: s(it, "status_reason_message"),
            reg_type: s(&data, "reg_type"),
            reg_record_type: s(&data, "reg_record_type"),
            records: records_of(&data),
            pagination,
            locale: s(it, "locale"),
        });
    }
    Ok(out)
}

/// A search response / on-search callback (`SearchResponse`). `key` is `search_response`
/// (or a DR sync endpoint's equivalent).
pub(crate) fn parse_search(
    ctx: &Ctx<'_>,
    env: &Value,
    key: &str,
    sig: SignatureCheck,
) -> Result<SearchResult> {
    if let Some(e) = ack_error(ctx, env) {
        return Err(e);
    }
    check_header(ctx, env)?;
    let m = message(ctx, env)?;
    check_txn(ctx, m)?;
    let items = search_items(ctx, m, key)?;
    let header = env.get("header").cloned().unwrap_or(Value::Null);
    Ok(SearchResult {
        transaction_id: s(m, "transaction_id"),
        correlation_id: s(m, "correlation_id"),
        message_id: s(&header, "message_id"),
        header,
        items,
        signature: sig,
        raw: env.clone(),
    })
}

pub(crate) fn parse_subscribe(
    ctx: &Ctx<'_>,
    env: &Value,
    sig: SignatureCheck,
) -> Result<SubscribeResult> {
    check_header(ctx, env)?;
    let m = message(ctx, env)?;
    check_txn(ctx, m)?;
    let arr = m
        .get("subscribe_response")
        .and_then(Value::as_array)
        .ok_or_else(|| ctx.shape("message.subscribe_response", "required list"))?;
    let mut items = Vec::new();
    for (i, it) in arr.iter().enumerate() {
        let status = item_rejected(ctx, it, &format!("message.subscribe_response[{i}]"))?;
        let subs = it
            .get("subscriptions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| {
                        Some(Subscription {
                            code: s(x, "code")?,
                            status: s(x, "status"),
                            reg_event_type: s(x, "reg_event_type"),
                            raw: x.clone(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        items.push(SubscribeItem {
            reference_id: s(it, "reference_id"),
            status,
            status_reason_code: s(it, "status_reason_code"),
            status_reason_message: s(it, "status_reason_message"),
            subscriptions: subs,
        });
    }
    Ok(SubscribeResult {
        transaction_id: s(m, "transaction_id"),
        correlation_id: s(m, "correlation_id"),
        items,
        signature: sig,
        raw: env.clone(),
    })
}

pub(crate) fn parse_unsubscribe(
    ctx: &Ctx<'_>,
    env: &Value,
    sig: SignatureCheck,
) -> Result<UnsubscribeResult> {
    check_header(ctx, env)?;
    let m = message(ctx, env)?;
    check_txn(ctx, m)?;
    let status = item_rejected(ctx, m, "message")?;
    let subscription_status = m
        .get("subscription_status")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((s(x, "code")?, s(x, "status").unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    Ok(UnsubscribeResult {
        transaction_id: s(m, "transaction_id"),
        correlation_id: s(m, "correlation_id"),
        status,
        status_reason_code: s(m, "status_reason_code"),
        status_reason_message: s(m, "status_reason_message"),
        subscription_status,
        signature: sig,
        raw: env.clone(),
    })
}

pub(crate) fn parse_txn_status(
    ctx: &Ctx<'_>,
    env: &Value,
    sig: SignatureCheck,
) -> Result<TxnStatusResult> {
    if let Some(e) = ack_error(ctx, env) {
        return Err(e);
    }
    check_header(ctx, env)?;
    let m = message(ctx, env)?;
    check_txn(ctx, m)?;
    let r = m
        .get("txnstatus_response")
        .filter(|r| r.is_object())
        .ok_or_else(|| ctx.shape("message.txnstatus_response", "required object"))?;
    let txn_type = s(r, "txn_type");
    let txn_status = r.get("txn_status").cloned().unwrap_or(Value::Null);
    // The status of the *queried* transaction: its items may be rjct without this call failing,
    // so the embedded search result is parsed without our transaction check.
    let search =
        if txn_type.as_deref() == Some("search") && txn_status.get("search_response").is_some() {
            let inner = Ctx {
                endpoint: ctx.endpoint,
                transaction_id: None,
            };
            let wrapped = serde_json::json!({"header": env.get("header"), "message": txn_status});
            parse_search(&inner, &wrapped, "search_response", sig.clone())
                .ok()
                .map(Box::new)
        } else {
            None
        };
    Ok(TxnStatusResult {
        transaction_id: s(m, "transaction_id"),
        correlation_id: s(m, "correlation_id"),
        txn_type,
        txn_status,
        search,
        signature: sig,
        raw: env.clone(),
    })
}

pub(crate) fn parse_notify(ctx: &Ctx<'_>, env: &Value, sig: SignatureCheck) -> Result<NotifyEvent> {
    check_header(ctx, env)?;
    let m = message(ctx, env)?;
    let arr = m
        .get("notify_event")
        .and_then(Value::as_array)
        .ok_or_else(|| ctx.shape("message.notify_event", "required list"))?;
    let items = arr
        .iter()
        .map(|it| {
            let data = it.get("data").cloned().unwrap_or(Value::Null);
            NotifyItem {
                reference_id: s(it, "reference_id"),
                timestamp: s(it, "timestamp"),
                reg_type: s(&data, "reg_type"),
                reg_event_type: s(&data, "reg_event_type"),
                reg_record_type: s(&data, "reg_record_type"),
                records: records_of(&data),
            }
        })
        .collect();
    Ok(NotifyEvent {
        transaction_id: s(m, "transaction_id"),
        sender_id: env.get("header").and_then(|h| s(h, "sender_id")),
        items,
        signature: sig,
        raw: env.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejected_header_reports_the_items_reason() {
        let ctx = Ctx {
            endpoint: "/registry/sync/search",
            transaction_id: Some("t1"),
        };
        let env = json!({
            "header": {"status": "rjct"},
            "message": {"transaction_id": "t1", "search_response": [
                {"reference_id": "r0", "status": "succ"},
                {"reference_id": "r1", "status": "rjct",
                 "status_reason_code": "rjct.search_criteria.invalid",
                 "status_reason_message": "query.type: unknown identifier type"}
            ]}
        });
        let err = check_header(&ctx, &env).unwrap_err();
        assert_eq!(err.dci_code(), Some("rjct.search_criteria.invalid"));
        assert!(err.to_string().contains("unknown identifier type"), "{err}");
        // A reason on the header itself wins.
        let env = json!({"header": {"status": "rjct", "status_reason_code": "rjct.version.invalid"},
                         "message": env["message"].clone()});
        assert_eq!(
            check_header(&ctx, &env).unwrap_err().dci_code(),
            Some("rjct.version.invalid")
        );
    }
}
