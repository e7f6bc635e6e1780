//! Admission of a registry request: bearer token, sender registry, allowed operations,
//! signature policy, spec checks, clock skew and replay protection; and data sharing rules.
//!
//! Keys: the sender is found by `header.sender_id`; its JWKS holds keys whose `kid` is the key
//! id. A signature's kid `{sender_id}|{key_id}|{alg}` must name that same sender and one of
//! its key ids (a bare key id is accepted too); profiles without a kid use the sender's first
//! key of the signature's algorithm.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use dci::encryption::EncryptionKey;
use dci::keys::{Algorithm, Jwks, VerifyingKey};
use dci::model::{ErrorCode, HeaderKind, MsgHeader, ReasonCode};
use dci::signature::{self, KeyResolver, VerifyOptions};
use serde_json::Value;

use super::auth::bearer;
use super::op::{Op, Request};
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

/// An admitted request, its message parsed into the operation's typed message.
pub struct Admitted {
    pub sender: Sender,
    pub message_id: String,
    pub correlation_id: String,
    /// `header.sender_uri` (request headers only).
    pub sender_uri: Option<String>,
    pub request: Request,
    /// What strict mode found (empty when it is off).
    pub deviations: Vec<dci::Violation>,
    /// The sender's key that answers and callbacks are encrypted to (None: sent in clear).
    pub reply_key: Option<EncryptionKey>,
}

/// Context for rejecting a request that got far enough to have one.
#[derive(Default)]
pub struct Partial {
    pub sender_id: Option<String>,
    pub message_id: Option<String>,
    pub transaction_id: Option<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Runs every check, in the order of docs/server.md, then parses the typed message.
pub fn admit(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    op: Op,
    registry: &str,
    correlation_id: String,
    partial: &mut Partial,
) -> Result<Admitted, Reject> {
    let name = op.name();
    // 1. Bearer token (401 with HttpErrorResponse when missing or invalid).
    let token = bearer(headers)
        .ok_or_else(|| Reject::unauthorized("missing bearer token (Authorization: Bearer ...)"))?;
    let claims = state
        .tokens
        .check(state, token)
        .map_err(|m| Reject::unauthorized(format!("invalid bearer token: {m}")))?;
    if !claims.allows(name) {
        return Err(Reject::forbidden(format!(
            "the access token's scope does not include registry.{name}"
        )));
    }
    rate_limit(
        state.client_rate.as_ref(),
        "client",
        &claims.client_id,
        "rate_limit_client",
    )?;
    // 2. JSON envelope, read by the core's parser first: it refuses duplicate keys, signed or
    // not (serde_json keeps the last one, so a peer keeping the first would see another message).
    let not_json = |m: String| Reject::bad(format!("body is not valid JSON: {m}"));
    dci::canonical::parse(body).map_err(|e| match e {
        dci::Error::Json(m) => not_json(m),
        other => not_json(other.to_string()),
    })?;
    let mut env: Value = serde_json::from_slice(body).map_err(|e| not_json(e.to_string()))?;
    let null = Value::Null;
    let header = env.get("header").unwrap_or(&null);
    let message = env.get("message").unwrap_or(&null);
    partial.message_id = str_at(header, "message_id").map(str::to_string);
    partial.transaction_id = str_at(message, "transaction_id").map(str::to_string);
    let sender_id = match str_at(header, "sender_id") {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => {
            let mut v = validate::header(header, HeaderKind::Request);
            if header.is_object() && !v.iter().any(|x| x.path == "header.sender_id") {
                v.push(dci::Violation::new("header.sender_id", "required"));
            }
            return Err(Reject::invalid(v));
        }
    };
    partial.sender_id = Some(sender_id.clone());
    // 3. Sender registry (then the sender's rate limit; the client's is checked with its token).
    let (sender, jwks) = match state.senders.get(state, &sender_id) {
        Ok(Some((s, j))) if s.active => (s, j),
        Ok(Some(_)) => {
            return Err(Reject::new(
                ErrorCode::SenderIdInvalid,
                format!("sender {sender_id} is disabled"),
            ))
        }
        Ok(None) => {
            return Err(Reject::new(
                ErrorCode::SenderIdInvalid,
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
    if !sender.may(name) {
        return Err(Reject::forbidden(format!(
            "sender {sender_id} may not call {name}"
        )));
    }
    rate_limit(
        state.sender_rate.as_ref(),
        "sender",
        &sender_id,
        "rate_limit_sender",
    )?;
    // 4. Signature, over the bytes as received.
    let signed = if signature::is_missing(str_at(&env, "signature")) {
        if sender.signature_policy == SignaturePolicy::Required {
            return Err(Reject::new(
                ErrorCode::SignatureMissing,
                format!("sender {sender_id} must sign its requests"),
            ));
        }
        false
    } else {
        let Some(jwks) = jwks else {
            tracing::error!(sender = %sender_id, "sender JWKS unreadable");
            return Err(Reject::new(
                ErrorCode::SignatureInvalid,
                "the sender's registered keys cannot be read",
            ));
        };
        let keys = SenderKeys {
            sender_id: &sender_id,
            jwks,
        };
        let opts = VerifyOptions {
            clock_skew_secs: state.config.clock_skew_secs,
            ..VerifyOptions::default()
        };
        signature::verify_bytes(body, &keys, &opts).map_err(|e| match e {
            dci::Error::SignatureMissing(_) => Reject::from(e),
            other => Reject::new(ErrorCode::SignatureInvalid, other.to_string()),
        })?;
        true
    };
    // 4b. An encrypted message is opened now: after the signature, which covers the ciphertext.
    let reply_key = open_request(state, &mut env, &sender)?;
    let header = env.get("header").unwrap_or(&null);
    let message = env.get("message").unwrap_or(&null);
    if partial.transaction_id.is_none() {
        partial.transaction_id = str_at(message, "transaction_id").map(str::to_string);
    }
    // 5. The endpoint's action, then the spec checks (every violation listed), then the item limit.
    let action = op.action();
    let got_action = str_at(header, "action").unwrap_or_default();
    if header.is_object() && !got_action.is_empty() && got_action != action.as_str() {
        return Err(Reject::header(
            ReasonCode::ActionInvalid,
            format!(
                "header.action is {got_action:?}; this endpoint expects {:?}",
                action.as_str()
            ),
        ));
    }
    let violations = validate::envelope(op, &env);
    if !violations.is_empty() {
        return Err(Reject::invalid(violations));
    }
    let items = message.get("search_request").and_then(Value::as_array);
    let max_items = state.config.max_search_items;
    if let Some(n) = items.map(Vec::len).filter(|n| *n > max_items) {
        return Err(Reject::header(
            ReasonCode::TotalCountLimitExceeded,
            format!("message.search_request has {n} items; this registry answers at most {max_items} per request (max_search_items)"),
        ));
    }
    // 6. Clock skew on message_ts.
    let now = chrono::Utc::now();
    let ts =
        str_at(header, "message_ts").and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    if let Some(ts) = ts {
        let skew = (now.timestamp() - ts.timestamp()).abs();
        if skew > state.config.clock_skew_secs {
            return Err(Reject::header(
                ReasonCode::MessageTsInvalid,
                format!(
                    "header.message_ts is {skew} s from the server clock; at most {} s accepted",
                    state.config.clock_skew_secs
                ),
            ));
        }
    }
    // 7. Replay (after the signature, so unsigned junk cannot burn a sender's ids).
    let message_id = str_at(header, "message_id").unwrap_or_default().to_string();
    let window_ms = 2 * state.config.clock_skew_secs * 1000;
    let now_ms = now.timestamp_millis();
    // This process's cache first; then the store's claim, which instances sharing a
    // database agree on.
    let first = state
        .replay
        .first_time(&sender_id, &message_id, now_ms, window_ms)
        && state
            .store
            .claim_message(&sender_id, &message_id, now_ms, window_ms)
            .map_err(|e| {
                tracing::error!(error = %e, "replay claim failed");
                Reject::internal()
            })?;
    if !first {
        return Err(Reject::header(
            ReasonCode::MessageIdDuplicate,
            format!("header.message_id {message_id} was already received from {sender_id}"),
        ));
    }
    // 8. Registry access.
    if !sender.may_read(registry) {
        return Err(Reject::forbidden(format!(
            "sender {sender_id} has no data sharing agreement for the {registry} registry"
        )));
    }
    // 9. The typed message (and header) of the operation.
    let sender_uri = match op.header_kind() {
        HeaderKind::Request => {
            serde_json::from_value::<MsgHeader>(header.clone())
                .map_err(|e| Reject::bad(format!("header: {e}")))?
                .sender_uri
        }
        HeaderKind::Callback => None,
    };
    let deviations = if state.config.strict {
        crate::strict::deviations(op, &env, signed)
    } else {
        Vec::new()
    };
    let message = env
        .as_object_mut()
        .and_then(|o| o.remove("message"))
        .unwrap_or_default();
    let request = Request::parse(op, message)?;
    tracing::debug!(sender = %sender_id, signed, client = %claims.client_id, op = name, "request admitted");
    Ok(Admitted {
        sender,
        message_id,
        correlation_id,
        sender_uri,
        request,
        deviations,
        reply_key,
    })
}

/// Decrypts the envelope's message in place when `header.is_msg_encrypted` is true, and
/// returns the key its answers go to: the sender's first `use: enc` key, when the request was
/// encrypted or the sender registered one (docs/spec-decisions.md, "Encrypted messages").
/// Refused with `err.encryption.invalid` before anything is processed or recorded.
pub fn open_request(
    state: &AppState,
    env: &mut Value,
    sender: &Sender,
) -> Result<Option<EncryptionKey>, Reject> {
    let refuse = |m: String| Reject::new(ErrorCode::EncryptionInvalid, m);
    let encrypted = dci::encryption::is_encrypted(env);
    let reply_key = reply_key(sender).map_err(refuse)?;
    if !encrypted {
        return Ok(reply_key);
    }
    if state.encryption_keys.is_empty() {
        return Err(refuse(
            "header.is_msg_encrypted is true, but this registry has no encryption key (send the message unencrypted)".into(),
        ));
    }
    let Some(key) = reply_key else {
        return Err(refuse(format!(
            "sender {} registered no encryption key (a JWK with use \"enc\") to encrypt the answer to",
            sender.sender_id
        )));
    };
    dci::encryption::open_envelope(env, &state.encryption_keys)
        .map_err(|e| refuse(format!("message: {e}")))?;
    Ok(Some(key))
}

/// The sender's first registered `use: enc` key, if any.
pub fn reply_key(sender: &Sender) -> Result<Option<EncryptionKey>, String> {
    let keys = dci::encryption::encryption_keys(&sender.jwks).map_err(|e| {
        format!(
            "the registered encryption keys of sender {} cannot be read: {e}",
            sender.sender_id
        )
    })?;
    Ok(keys.into_iter().next())
}

/// Encrypts an answer or callback envelope's message to `key` (None: left in clear); sign it
/// afterwards.
pub fn seal(env: &mut Value, key: Option<&EncryptionKey>) -> Result<(), Reject> {
    match key {
        Some(k) => dci::encryption::seal_envelope(env, k).map_err(|e| {
            tracing::error!(error = %e, "encrypting an answer failed");
            Reject::internal()
        }),
        None => Ok(()),
    }
}

/// Takes one request from `who`'s bucket of `limiter` (None: no limit), or refuses it with
/// 429 and the wait, naming the limit.
fn rate_limit(
    limiter: Option<&crate::ratelimit::Limiter>,
    what: &str,
    who: &str,
    flag: &str,
) -> Result<(), Reject> {
    let Some(l) = limiter else { return Ok(()) };
    l.take(who, std::time::Instant::now()).map_err(|wait| {
        let secs = crate::ratelimit::retry_after_secs(wait);
        let r = l.limit();
        Reject::too_many(
            format!(
                "{what} {who} is over its rate limit of {} requests per second (burst {}, {flag}); retry after {secs} s",
                r.rate, r.burst
            ),
            secs,
        )
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
