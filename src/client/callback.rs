//! Callbacks: the registry's answers to async calls (on-search, on-subscribe, on-unsubscribe,
//! txn/on-status) and its event notifications (notify), verified, parsed and matched to the
//! pending transaction by transaction_id and correlation_id.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::response::{self, Ctx, SignatureCheck};
use crate::client::{
    DCIClient, NotifyEvent, SearchResult, SubscribeResult, TxnStatusResult, UnsubscribeResult,
};
use crate::error::{Error, Result, TransportKind, Violation};
use crate::model::{AckResponse, ErrorCode};

/// The typed content of a callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "result", rename_all = "snake_case")]
pub enum CallbackResult {
    Search(SearchResult),
    Subscribe(SubscribeResult),
    Unsubscribe(UnsubscribeResult),
    TxnStatus(TxnStatusResult),
    Notify(NotifyEvent),
}

/// An accepted callback.
#[derive(Debug)]
pub struct CallbackOutcome {
    /// `header.action`: `on-search`, `on-subscribe`, `on-unsubscribe`, `notify`, `txn-on-status`.
    pub action: String,
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    /// True when the callback answered a transaction this client is waiting for.
    pub matched: bool,
    /// The registry's answer: the typed result, or its rejection (`rjct`) as `Error::Protocol`.
    pub result: Result<CallbackResult>,
    /// The body to answer the callback with (HTTP 200).
    pub ack: Value,
}

/// The ACK body for an accepted callback (spec `Response`), as JSON.
pub fn ack(correlation_id: Option<&str>) -> Value {
    ack_json(&AckResponse::ack(correlation_id.unwrap_or("")))
}

/// The body to answer a refused callback with: `ack_status` `ERR` and the DCI error code.
pub fn error_ack(e: &Error) -> Value {
    let code = ErrorCode::from_wire(e.dci_code().unwrap_or("err.request.bad"));
    ack_json(&AckResponse::err("", code, e.to_string()))
}

fn ack_json(a: &AckResponse) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

/// What to answer a callback with and what was found in it, as every door hands it out (C's
/// `dci_client_handle_callback` JSON, Python's `handle_callback` dict, Go's
/// `CallbackAnswer`): the same keys everywhere.
#[derive(Debug, Serialize)]
pub struct CallbackAnswer {
    /// False when the callback itself was refused (bad JSON, bad signature, ...).
    pub accepted: bool,
    /// The HTTP status to answer with: 200, or 400/401/500 for a refused callback.
    pub http_status: u16,
    /// The body to answer with: the `ACK`, or the `ERR` ack of a refused callback.
    pub ack: Value,
    pub action: Option<String>,
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    pub matched: bool,
    /// The typed result (`{"kind", "result"}`), or None for a refusal or a rejection.
    pub result: Option<CallbackResult>,
    /// Why the callback was refused, or the registry's rejection (`rjct`) it carried.
    #[serde(serialize_with = "error_info")]
    pub error: Option<Error>,
}

fn error_info<S: serde::Serializer>(e: &Option<Error>, s: S) -> Result<S::Ok, S::Error> {
    e.as_ref().map(Error::info).serialize(s)
}

impl CallbackAnswer {
    /// The answer to a handled callback: accepted, or refused with its ERR ack and status.
    pub fn new(handled: Result<CallbackOutcome>) -> Self {
        match handled {
            Ok(o) => {
                let (result, error) = match o.result {
                    Ok(r) => (Some(r), None),
                    Err(e) => (None, Some(e)),
                };
                CallbackAnswer {
                    accepted: true,
                    http_status: 200,
                    ack: o.ack,
                    action: Some(o.action),
                    transaction_id: o.transaction_id,
                    correlation_id: o.correlation_id,
                    matched: o.matched,
                    result,
                    error,
                }
            }
            Err(e) => CallbackAnswer {
                accepted: false,
                http_status: error_status(&e),
                ack: error_ack(&e),
                action: None,
                transaction_id: None,
                correlation_id: None,
                matched: false,
                result: None,
                error: Some(e),
            },
        }
    }
}

/// The HTTP status to answer a refused callback with.
pub fn error_status(e: &Error) -> u16 {
    match e {
        Error::SignatureMissing(_)
        | Error::SignatureMalformed(_)
        | Error::SignatureInvalid(_)
        | Error::SignatureExpired { .. }
        | Error::SignatureNotYetValid { .. }
        | Error::Key(_)
        | Error::UnsupportedAlgorithm(_) => 401,
        Error::Internal(_) => 500,
        _ => 400,
    }
}

// ---------------------------------------------------------------------------------------------
// Pending transactions

/// Pending entries older than this are dropped, when the map is full (a callback that never came).
const PENDING_TTL: Duration = Duration::from_secs(24 * 3600);
/// At most this many pending transactions are kept (hosts that read results from
/// `handle_callback` and never call `wait_for` leave theirs behind).
const MAX_PENDING: usize = 10_000;

struct Entry {
    callback_action: &'static str,
    correlation_id: Option<String>,
    result: Option<Result<CallbackResult>>,
    created: Instant,
}

#[derive(Default)]
pub(crate) struct Pending {
    map: Mutex<HashMap<String, Entry>>,
    ready: Condvar,
}

impl Pending {
    pub(crate) fn register(&self, txn: &str, callback_action: &'static str) {
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= MAX_PENDING {
                // Expired entries and results nobody collected go first, then the oldest waits.
                m.retain(|_, e| e.created.elapsed() < PENDING_TTL && e.result.is_none());
                while m.len() >= MAX_PENDING {
                    let oldest = m
                        .iter()
                        .min_by_key(|(_, e)| e.created)
                        .map(|(k, _)| k.clone());
                    match oldest {
                        Some(k) => m.remove(&k),
                        None => break,
                    };
                }
            }
            m.insert(
                txn.to_string(),
                Entry {
                    callback_action,
                    correlation_id: None,
                    result: None,
                    created: Instant::now(),
                },
            );
        }
    }

    pub(crate) fn set_correlation(&self, txn: &str, correlation_id: Option<&str>) {
        if let Ok(mut m) = self.map.lock() {
            if let Some(e) = m.get_mut(txn) {
                e.correlation_id = correlation_id.map(str::to_string);
            }
        }
    }

    pub(crate) fn forget(&self, txn: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(txn);
        }
    }

    /// Checks a callback against the pending transaction; Ok(true) when it is ours.
    fn check(&self, txn: &str, action: &str, correlation_id: Option<&str>) -> Result<bool> {
        let m = self
            .map
            .lock()
            .map_err(|_| Error::Internal("pending lock poisoned".into()))?;
        let Some(e) = m.get(txn) else {
            return Ok(false);
        };
        if e.callback_action != action {
            return Err(Error::Validation(vec![Violation::new(
                "header.action",
                format!(
                    "transaction {txn} awaits {}, got {action}",
                    e.callback_action
                ),
            )]));
        }
        if let (Some(ours), Some(theirs)) = (e.correlation_id.as_deref(), correlation_id) {
            if ours != theirs {
                return Err(Error::Validation(vec![Violation::new(
                    "message.correlation_id",
                    format!("transaction {txn} was acknowledged as {ours:?}, got {theirs:?}"),
                )]));
            }
        }
        Ok(true)
    }

    fn complete(&self, txn: &str, r: Result<CallbackResult>) {
        if let Ok(mut m) = self.map.lock() {
            if let Some(e) = m.get_mut(txn) {
                e.result = Some(r);
            }
        }
        self.ready.notify_all();
    }

    pub(crate) fn wait(&self, txn: &str, timeout: Duration) -> Result<CallbackResult> {
        let deadline = Instant::now() + timeout;
        let mut m = self
            .map
            .lock()
            .map_err(|_| Error::Internal("pending lock poisoned".into()))?;
        loop {
            match m.get(txn) {
                None => {
                    return Err(Error::Validation(vec![Violation::new(
                        "transaction_id",
                        format!("no pending transaction {txn}"),
                    )]))
                }
                Some(e) if e.result.is_some() => {
                    let e = m.remove(txn);
                    return match e.and_then(|e| e.result) {
                        Some(r) => r,
                        None => Err(Error::Internal("pending result vanished".into())),
                    };
                }
                Some(_) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Transport {
                    kind: TransportKind::Timeout,
                    endpoint: "callback".into(),
                    message: format!(
                        "no callback for transaction {txn} within {:.1}s",
                        timeout.as_secs_f64()
                    ),
                    transaction_id: Some(txn.to_string()),
                });
            }
            m = self
                .ready
                .wait_timeout(m, left)
                .map_err(|_| Error::Internal("pending lock poisoned".into()))?
                .0;
        }
    }
}

/// A copy of an error for the waiter (errors are not Clone; the kinds a callback yields are
/// rebuilt exactly, others keep their message).
fn copy_err(e: &Error) -> Error {
    match e {
        Error::Protocol {
            code,
            message,
            endpoint,
            transaction_id,
        } => Error::Protocol {
            code: code.clone(),
            message: message.clone(),
            endpoint: endpoint.clone(),
            transaction_id: transaction_id.clone(),
        },
        Error::Validation(v) => Error::Validation(v.clone()),
        Error::Json(s) => Error::Json(s.clone()),
        other => Error::Internal(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Handling

pub(crate) fn handle(
    client: &DCIClient,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Result<CallbackOutcome> {
    if let Some((_, ct)) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        if !ct.to_ascii_lowercase().contains("json") {
            return Err(Error::Json(format!(
                "callback Content-Type is {ct:?}, expected application/json"
            )));
        }
    }
    let mut env: Value = serde_json::from_slice(body)
        .map_err(|e| Error::Json(format!("callback body is not JSON: {e}")))?;
    let header = env
        .get("header")
        .filter(|h| h.is_object())
        .ok_or_else(|| Error::Validation(vec![Violation::new("header", "required object")]))?;
    let action = response::s(header, "action")
        .ok_or_else(|| Error::Validation(vec![Violation::new("header.action", "required")]))?;
    let endpoint = format!("callback {action}");

    let sig = match client.keys() {
        None => SignatureCheck::default(),
        Some(k) => k.verify(client.transport(), body, &env, &endpoint)?,
    };
    // Opened after the signature, which covers the ciphertext.
    client.open(&mut env)?;

    let m = env.get("message");
    let txn = m.and_then(|m| response::s(m, "transaction_id"));
    let correlation_id = m.and_then(|m| response::s(m, "correlation_id"));
    let ctx = Ctx {
        endpoint: &endpoint,
        transaction_id: txn.as_deref(),
    };

    let normalized: &'static str = match action.as_str() {
        "on-search" => "on-search",
        "on-subscribe" => "on-subscribe",
        "on-unsubscribe" => "on-unsubscribe",
        "notify" => "notify",
        // The spec names the txn status callback action `txn-on-status`; accept the path form too.
        "txn-on-status" | "txn/on-status" | "on-status" => "txn-on-status",
        other => {
            return Err(Error::Validation(vec![Violation::new(
                "header.action",
                format!("unknown callback action {other:?}"),
            )]))
        }
    };

    let result: Result<CallbackResult> = match normalized {
        "on-search" => {
            response::parse_search(&ctx, &env, "search_response", sig).map(CallbackResult::Search)
        }
        "on-subscribe" => response::parse_subscribe(&ctx, &env, sig).map(CallbackResult::Subscribe),
        "on-unsubscribe" => {
            response::parse_unsubscribe(&ctx, &env, sig).map(CallbackResult::Unsubscribe)
        }
        "txn-on-status" => {
            response::parse_txn_status(&ctx, &env, sig).map(CallbackResult::TxnStatus)
        }
        _ => response::parse_notify(&ctx, &env, sig).map(CallbackResult::Notify),
    };

    // A malformed body is the callback's fault, not the registry's answer: refuse it.
    if let Err(e @ Error::Validation(_)) = &result {
        return Err(copy_err(e));
    }

    let mut matched = false;
    if normalized != "notify" {
        if let Some(t) = txn.as_deref() {
            matched = client
                .pending()
                .check(t, normalized, correlation_id.as_deref())?;
            if matched {
                let copy = match &result {
                    Ok(r) => Ok(r.clone()),
                    Err(e) => Err(copy_err(e)),
                };
                client.pending().complete(t, copy);
            }
        }
    } else if let Ok(CallbackResult::Notify(ev)) = &result {
        for h in client.notify_handlers() {
            h(ev);
        }
    }

    let ack_id = correlation_id.clone().or_else(|| txn.clone());
    Ok(CallbackOutcome {
        action: normalized.to_string(),
        transaction_id: txn,
        correlation_id,
        matched,
        result,
        ack: ack(ack_id.as_deref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_bounded_and_drops_uncollected_results_first() {
        let p = Pending::default();
        p.register("waiting", "on-search");
        for i in 0..MAX_PENDING - 1 {
            let t = format!("t{i}");
            p.register(&t, "on-search");
            p.complete(&t, Err(Error::Json("x".into())));
        }
        assert_eq!(p.map.lock().unwrap().len(), MAX_PENDING);
        p.register("new", "on-search");
        let m = p.map.lock().unwrap();
        // The completed results went; the waiting transaction and the new one stay.
        assert_eq!(m.len(), 2);
        assert!(m.contains_key("waiting") && m.contains_key("new"));
    }

    #[test]
    fn wait_returns_the_result_once_and_times_out_otherwise() {
        let p = Pending::default();
        p.register("t", "on-search");
        assert_eq!(
            p.wait("t", Duration::ZERO).unwrap_err().kind(),
            crate::error::ErrorKind::Timeout
        );
        p.complete(
            "t",
            Err(Error::Protocol {
                code: "rjct.x".into(),
                message: "m".into(),
                endpoint: "e".into(),
                transaction_id: Some("t".into()),
            }),
        );
        assert_eq!(
            p.wait("t", Duration::ZERO).unwrap_err().dci_code(),
            Some("rjct.x")
        );
        assert_eq!(
            p.wait("t", Duration::ZERO).unwrap_err().kind(),
            crate::error::ErrorKind::Validation
        );
    }
}
