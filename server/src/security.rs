//! Admission of a registry request: bearer token, sender registry, allowed operations,
//! signature policy, spec checks, clock skew and replay protection; and data sharing rules.
//!
//! Keys: the sender is found by `header.sender_id`; its JWKS holds keys whose `kid` is the key
//! id. A signature's kid `{sender_id}|{key_id}|{alg}` must name that same sender and one of
//! its key ids (a bare key id is accepted too); profiles without a kid use the sender's first
//! key of the signature's algorithm.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, StatusCode};
use dci::keys::{Algorithm, Jwks, VerifyingKey};
use dci::signature::{self, KeyResolver, VerifyOptions};
use serde_json::Value;

use super::auth::bearer;
use super::reply::Reject;
use super::store::{Sender, SignaturePolicy};
use super::{validate, AppState};

/// Message ids seen recently, per sender (replay protection).
#[derive(Default)]
pub struct ReplayCache {
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl ReplayCache {
    /// Records `(sender, message_id)` at `now_ms`; false if it was already seen within
    /// `window_ms`.
    pub fn first_time(&self, sender: &str, message_id: &str, now_ms: i64, window_ms: i64) -> bool {
        let Ok(mut m) = self.seen.lock() else {
            return false;
        };
        if m.len() > 200_000 {
            m.retain(|_, t| now_ms - *t < window_ms);
        }
        let key = (sender.to_string(), message_id.to_string());
        match m.get(&key) {
            Some(t) if now_ms - *t < window_ms => false,
            _ => {
                m.insert(key, now_ms);
                true
            }
        }
    }
}

/// Senders and their parsed keys, read again after [`SENDER_CACHE_SECS`] (so `dci senders
/// disable` in another process takes effect within that time).
#[derive(Default)]
pub struct SenderCache {
    map: Mutex<HashMap<String, CachedSender>>,
}

const SENDER_CACHE_SECS: i64 = 2;

/// A sender, its parsed keys (None if its JWKS does not parse), and when it was read.
type CachedSender = (Sender, Option<Jwks>, i64);

impl SenderCache {
    pub fn get(
        &self,
        state: &AppState,
        id: &str,
    ) -> Result<Option<(Sender, Option<Jwks>)>, super::store::StoreError> {
        let now = chrono::Utc::now().timestamp();
        if let Some((s, j, at)) = self.map.lock().ok().and_then(|m| m.get(id).cloned()) {
            if now - at < SENDER_CACHE_SECS {
                return Ok(Some((s, j)));
            }
        }
        let Some(s) = state.store.sender(id)? else {
            return Ok(None);
        };
        let j = Jwks::from_json(&s.jwks).ok();
        if let Ok(mut m) = self.map.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(id.to_string(), (s.clone(), j.clone(), now));
        }
        Ok(Some((s, j)))
    }
}

/// Resolves signature keys from one sender's JWKS, checking the kid.
struct SenderKeys<'a> {
    sender_id: &'a str,
    jwks: Jwks,
}

impl KeyResolver for SenderKeys<'_> {
    fn resolve(&self, kid: Option<&str>, alg: Algorithm) -> dci::Result<VerifyingKey> {
        let fits = |k: &VerifyingKey| k.algorithm() == alg;
        match kid {
            Some(kid) => {
                let key_id = match kid.split('|').collect::<Vec<_>>().as_slice() {
                    [s, k, _alg] => {
                        if *s != self.sender_id {
                            return Err(dci::Error::Key(format!(
                                "kid {kid} names sender {s}, but header.sender_id is {}",
                                self.sender_id
                            )));
                        }
                        k.to_string()
                    }
                    _ => kid.to_string(),
                };
                let key = self
                    .jwks
                    .find(&key_id)
                    .or_else(|| self.jwks.find(kid))
                    .ok_or_else(|| {
                        dci::Error::Key(format!(
                            "no key {key_id} registered for sender {}",
                            self.sender_id
                        ))
                    })?;
                if !fits(key) {
                    return Err(dci::Error::Key(format!(
                        "key {key_id} is not a {} key",
                        alg.dci_name()
                    )));
                }
                Ok(key.clone())
            }
            None => self
                .jwks
                .keys
                .iter()
                .map(|(_, k)| k)
                .find(|k| fits(k))
                .cloned()
                .ok_or_else(|| {
                    dci::Error::Key(format!(
                        "sender {} has no {} key",
                        self.sender_id,
                        alg.dci_name()
                    ))
                }),
        }
    }
}

/// An admitted request.
pub struct Admitted {
    pub sender: Sender,
    /// The envelope as parsed (header and message through [`Admitted::header`] and
    /// [`Admitted::message`]).
    pub env: Value,
    pub message_id: String,
    pub correlation_id: String,
}

impl Admitted {
    pub fn header(&self) -> &Value {
        self.env.get("header").unwrap_or(&Value::Null)
    }
    pub fn message(&self) -> &Value {
        self.env.get("message").unwrap_or(&Value::Null)
    }
}

/// Context for rejecting a request that got far enough to have one.
pub struct Partial {
    pub sender_id: Option<String>,
    pub message_id: Option<String>,
    pub transaction_id: Option<String>,
}

/// What an endpoint expects: the operation name (for the allowed-operations list and the
/// token scope), the header.action, and the registry it serves.
pub struct Expect<'a> {
    pub op: &'a str,
    pub action: &'a str,
    pub registry: &'a str,
}

/// Runs every check, in the order of docs/server.md.
pub fn admit(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    want: &Expect<'_>,
    correlation_id: String,
    partial: &mut Partial,
) -> Result<Admitted, Reject> {
    let (op, action, registry) = (want.op, want.action, want.registry);
    // 1. Bearer token (401 with HttpErrorResponse when missing or invalid).
    let token = bearer(headers)
        .ok_or_else(|| Reject::unauthorized("missing bearer token (Authorization: Bearer ...)"))?;
    let claims = state
        .tokens
        .check(state, token)
        .map_err(|m| Reject::unauthorized(format!("invalid bearer token: {m}")))?;
    if !claims.allows(op) {
        return Err(Reject::forbidden(format!(
            "the access token's scope does not include registry.{op}"
        )));
    }
    // 2. JSON envelope.
    let env: Value = serde_json::from_slice(body)
        .map_err(|e| Reject::bad(format!("body is not valid JSON: {e}")))?;
    let null = Value::Null;
    let header = env.get("header").unwrap_or(&null);
    let message = env.get("message").unwrap_or(&null);
    partial.message_id = header
        .get("message_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    partial.transaction_id = message
        .get("transaction_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let sender_id = match header.get("sender_id").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => {
            let mut v = validate::header(header);
            if header.is_object() && !v.iter().any(|x| x.path == "header.sender_id") {
                v.push(dci::Violation::new("header.sender_id", "required"));
            }
            return Err(Reject::invalid(v));
        }
    };
    partial.sender_id = Some(sender_id.clone());
    // 3. Sender registry.
    let sender = match state.senders.get(state, &sender_id) {
        Ok(Some((s, _))) if s.active => s,
        Ok(Some(_)) => {
            return Err(Reject::new(
                StatusCode::FORBIDDEN,
                "err.sender_id.invalid",
                format!("sender {sender_id} is disabled"),
            ))
        }
        Ok(None) => {
            return Err(Reject::new(
                StatusCode::FORBIDDEN,
                "err.sender_id.invalid",
                format!("sender {sender_id} is not registered"),
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "sender lookup failed");
            return Err(Reject::internal());
        }
    };
    if let Some(bound) = &claims.sender_id {
        if *bound != sender_id {
            return Err(Reject::forbidden(format!(
                "client {} may only send as {bound}, not {sender_id}",
                claims.client_id
            )));
        }
    }
    if !sender.may(op) {
        return Err(Reject::forbidden(format!(
            "sender {sender_id} may not call {op}"
        )));
    }
    // 4. Signature, over the bytes as received.
    let sig = env.get("signature").and_then(Value::as_str);
    let signed = if signature::is_missing(sig) {
        if sender.signature_policy == SignaturePolicy::Required {
            return Err(Reject::new(
                StatusCode::UNAUTHORIZED,
                "err.signature.missing",
                format!("sender {sender_id} must sign its requests"),
            ));
        }
        false
    } else {
        let jwks = match state.senders.get(state, &sender_id) {
            Ok(Some((_, Some(j)))) => j,
            _ => {
                tracing::error!(sender = %sender_id, "sender JWKS unreadable");
                return Err(Reject::new(
                    StatusCode::UNAUTHORIZED,
                    "err.signature.invalid",
                    "the sender's registered keys cannot be read",
                ));
            }
        };
        let keys = SenderKeys {
            sender_id: &sender_id,
            jwks,
        };
        let opts = VerifyOptions {
            clock_skew_secs: state.config.clock_skew_secs,
            ..VerifyOptions::default()
        };
        signature::verify_bytes(body, &keys, &opts).map_err(|e| {
            let code = match e.dci_code() {
                Some("err.signature.missing") => "err.signature.missing",
                _ => "err.signature.invalid",
            };
            Reject::new(StatusCode::UNAUTHORIZED, code, e.to_string())
        })?;
        true
    };
    // 5. The endpoint's action, then the spec checks, every violation listed.
    let got_action = header
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if header.is_object() && !got_action.is_empty() && got_action != action {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            "rjct.action.invalid",
            format!("header.action is {got_action:?}; this endpoint expects {action:?}"),
        ));
    }
    let violations = match model_kind(op) {
        // The core's validator (the latest bundled specs' schemas).
        Some(kind) => match dci::model::validate_envelope_as(kind, &env) {
            Ok(()) => Vec::new(),
            Err(dci::Error::Validation(v)) => v,
            Err(e) => vec![dci::Violation::new("message", e.to_string())],
        },
        // verify (our own schema) and the receiving side.
        None => {
            // on-subscribe and on-unsubscribe carry a MsgHeader in the spec (no status).
            let mut v = if matches!(action, "on-subscribe" | "on-unsubscribe") {
                validate::header(header)
            } else if matches!(op, "callback" | "notify") {
                validate::callback_header(header)
            } else {
                validate::header(header)
            };
            v.extend(validate::message(op, message));
            v
        }
    };
    let mut violations = violations;
    if op == "search" {
        violations.extend(validate::item_pagination(message));
    }
    if !violations.is_empty() {
        return Err(Reject::invalid(violations));
    }
    // 6. Clock skew on message_ts.
    let now = chrono::Utc::now();
    let ts = header
        .get("message_ts")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    if let Some(ts) = ts {
        let skew = (now.timestamp() - ts.timestamp()).abs();
        if skew > state.config.clock_skew_secs {
            return Err(Reject::new(
                StatusCode::BAD_REQUEST,
                "rjct.message_ts.invalid",
                format!(
                    "header.message_ts is {skew} s from the server clock; at most {} s accepted",
                    state.config.clock_skew_secs
                ),
            ));
        }
    }
    // 7. Replay (after the signature, so unsigned junk cannot burn a sender's ids).
    let message_id = header
        .get("message_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !state.replay.first_time(
        &sender_id,
        &message_id,
        now.timestamp_millis(),
        2 * state.config.clock_skew_secs * 1000,
    ) {
        return Err(Reject::new(
            StatusCode::CONFLICT,
            "rjct.message_id.duplicate",
            format!("header.message_id {message_id} was already received from {sender_id}"),
        ));
    }
    // 8. Registry access.
    if !sender.may_read(registry) {
        return Err(Reject::forbidden(format!(
            "sender {sender_id} has no data sharing agreement for the {registry} registry"
        )));
    }
    tracing::debug!(sender = %sender_id, signed, client = %claims.client_id, op, "request admitted");
    Ok(Admitted {
        sender,
        env,
        message_id,
        correlation_id,
    })
}

/// The core message kind an operation's request carries (None: checked here).
fn model_kind(op: &str) -> Option<dci::model::MessageKind> {
    use dci::model::MessageKind::*;
    Some(match op {
        "search" => SearchRequest,
        "subscribe" => SubscribeRequest,
        "unsubscribe" => UnSubscribeRequest,
        "txn-status" => TxnStatusRequest,
        "enrolled" => EnrolledRequest,
        "enrollment-updates" => EnrollmentUpdatesRequest,
        "disabled" => DisabledRequest,
        "disability-support" | "disability-details" => GetDisabilitySupportRequest,
        _ => return None,
    })
}

/// Keeps only the top-level fields the sender's agreement allows (`@context`, `@type` and
/// `@id` always pass, so records stay valid JSON-LD).
pub fn share(sender: &Sender, record: Value) -> Value {
    if sender.fields.iter().any(|f| f == "*") {
        return record;
    }
    match record {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| k.starts_with('@') || sender.fields.iter().any(|f| f == k))
                .collect(),
        ),
        other => other,
    }
}
