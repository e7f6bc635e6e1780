//! Admission of a registry request after its transport (bearer token) is checked: the JSON
//! envelope, the sender registry, the signature over the bytes as received, decryption, the
//! endpoint's action, the spec checks, the item limit, clock skew, replay protection and
//! registry access, then the typed message. In that order (docs/server.md), each refusal the
//! exact spec rejection.
//!
//! Keys: the sender is found by `header.sender_id`; its JWKS holds keys whose `kid` is the key
//! id. A signature's kid `{sender_id}|{key_id}|{alg}` must name that same sender and one of
//! its key ids (a bare key id is accepted too); profiles without a kid use the sender's first
//! key of the signature's algorithm.

use serde_json::Value;

use super::op::{Op, Request};
use super::reject::Rejection;
use super::sender::{ReplayGuard, Sender, SenderDirectory, SignaturePolicy};
use super::{strict, validate};
use crate::encryption::{DecryptionKey, EncryptionKey};
use crate::keys::{Algorithm, Jwks, VerifyingKey};
use crate::model::{ErrorCode, HeaderKind, MsgHeader, ReasonCode};
use crate::signature::{self, KeyResolver, VerifyOptions};
use crate::Violation;

/// The limits and modes of admission.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Largest accepted difference between `header.message_ts` (and signature times) and the
    /// clock, in seconds; message ids are remembered for twice that.
    pub clock_skew_secs: i64,
    /// Most `search_request` items in one message.
    pub max_search_items: usize,
    /// List the spec deviations of accepted requests ([`strict`]).
    pub strict: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            clock_skew_secs: 300,
            max_search_items: 100,
            strict: false,
        }
    }
}

/// What admission consults: the policy, the sender registry, the replay guard, the host's
/// decryption keys, and a check of its own on the sender found (a token bound to another
/// sender, a rate limit), made before the signature is verified.
pub struct Admission<'a> {
    pub policy: &'a Policy,
    pub senders: &'a dyn SenderDirectory,
    pub replay: &'a dyn ReplayGuard,
    pub decryption_keys: &'a [DecryptionKey],
    pub check_sender: &'a dyn Fn(&Sender) -> Result<(), Rejection>,
}

/// No check beyond admission's own.
pub fn no_check(_: &Sender) -> Result<(), Rejection> {
    Ok(())
}

/// An admitted request, its message parsed into the operation's typed message.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub sender: Sender,
    pub message_id: String,
    pub correlation_id: String,
    /// `header.sender_uri` (request headers only).
    pub sender_uri: Option<String>,
    pub request: Request,
    /// Whether the request carried a signature (a sender with an `optional` policy may omit it).
    pub signed: bool,
    /// What strict mode found (empty when it is off).
    pub deviations: Vec<Violation>,
    /// The sender's key that answers and callbacks are encrypted to (None: sent in clear).
    pub reply_key: Option<EncryptionKey>,
}

/// Context for rejecting a request that got far enough to have one.
#[derive(Debug, Clone, Default)]
pub struct Partial {
    pub sender_id: Option<String>,
    pub message_id: Option<String>,
    pub transaction_id: Option<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Runs every check on the body of a request to `op` for `registry` (the registry type the
/// sender must be allowed to read: `crvs`, `social`, `ibr`, `dr`, `fr`), then parses the
/// typed message. `partial` keeps what was read, for the rejection's header.
pub fn admit(
    a: &Admission<'_>,
    body: &[u8],
    op: Op,
    registry: &str,
    correlation_id: String,
    partial: &mut Partial,
) -> Result<Admitted, Rejection> {
    let name = op.name();
    // 1. JSON envelope, read by the core's parser first: it refuses duplicate keys, signed or
    // not (serde_json keeps the last one, so a peer keeping the first would see another message).
    let not_json = |m: String| Rejection::bad(format!("body is not valid JSON: {m}"));
    crate::canonical::parse(body).map_err(|e| match e {
        crate::Error::Json(m) => not_json(m),
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
                v.push(Violation::new("header.sender_id", "required"));
            }
            return Err(Rejection::invalid(v));
        }
    };
    partial.sender_id = Some(sender_id.clone());
    // 2. Sender registry, then the host's own check.
    let (sender, jwks) = match a.senders.lookup(&sender_id) {
        Ok(Some((s, j))) if s.active => (s, j),
        Ok(Some(_)) => {
            return Err(Rejection::new(
                ErrorCode::SenderIdInvalid,
                format!("sender {sender_id} is disabled"),
            ))
        }
        Ok(None) => {
            return Err(Rejection::new(
                ErrorCode::SenderIdInvalid,
                format!("sender {sender_id} is not registered"),
            ))
        }
        Err(e) => return Err(Rejection::internal(format!("sender lookup failed: {e}"))),
    };
    if !sender.may(name) {
        return Err(Rejection::forbidden(format!(
            "sender {sender_id} may not call {name}"
        )));
    }
    (a.check_sender)(&sender)?;
    // 3. Signature, over the bytes as received.
    let signed = if signature::is_missing(str_at(&env, "signature")) {
        if sender.signature_policy == SignaturePolicy::Required {
            return Err(Rejection::new(
                ErrorCode::SignatureMissing,
                format!("sender {sender_id} must sign its requests"),
            ));
        }
        false
    } else {
        let Some(jwks) = jwks else {
            return Err(Rejection {
                cause: Some(format!("sender {sender_id}: registered JWKS unreadable").into()),
                ..Rejection::new(
                    ErrorCode::SignatureInvalid,
                    "the sender's registered keys cannot be read",
                )
            });
        };
        let keys = SenderKeys {
            sender_id: &sender_id,
            jwks,
        };
        let opts = VerifyOptions {
            clock_skew_secs: a.policy.clock_skew_secs,
            ..VerifyOptions::default()
        };
        signature::verify_bytes(body, &keys, &opts).map_err(|e| match e {
            crate::Error::SignatureMissing(_) => Rejection::from(e),
            other => Rejection::new(ErrorCode::SignatureInvalid, other.to_string()),
        })?;
        true
    };
    // 3b. An encrypted message is opened now: after the signature, which covers the ciphertext.
    let reply_key = open_request(a.decryption_keys, &mut env, &sender)?;
    let header = env.get("header").unwrap_or(&null);
    let message = env.get("message").unwrap_or(&null);
    if partial.transaction_id.is_none() {
        partial.transaction_id = str_at(message, "transaction_id").map(str::to_string);
    }
    // 4. The endpoint's action, then the spec checks (every violation listed), then the item limit.
    let action = op.action();
    let got_action = str_at(header, "action").unwrap_or_default();
    if header.is_object() && !got_action.is_empty() && got_action != action.as_str() {
        return Err(Rejection::header(
            ReasonCode::ActionInvalid,
            format!(
                "header.action is {got_action:?}; this endpoint expects {:?}",
                action.as_str()
            ),
        ));
    }
    let violations = validate::envelope(op, &env);
    if !violations.is_empty() {
        return Err(Rejection::invalid(violations));
    }
    let items = message.get("search_request").and_then(Value::as_array);
    let max_items = a.policy.max_search_items;
    if let Some(n) = items.map(Vec::len).filter(|n| *n > max_items) {
        return Err(Rejection::header(
            ReasonCode::TotalCountLimitExceeded,
            format!("message.search_request has {n} items; this registry answers at most {max_items} per request (max_search_items)"),
        ));
    }
    // 5. Clock skew on message_ts.
    let now = chrono::Utc::now();
    let ts =
        str_at(header, "message_ts").and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    if let Some(ts) = ts {
        let skew = (now.timestamp() - ts.timestamp()).abs();
        if skew > a.policy.clock_skew_secs {
            return Err(Rejection::header(
                ReasonCode::MessageTsInvalid,
                format!(
                    "header.message_ts is {skew} s from the server clock; at most {} s accepted",
                    a.policy.clock_skew_secs
                ),
            ));
        }
    }
    // 6. Replay (after the signature, so unsigned junk cannot burn a sender's ids).
    let message_id = str_at(header, "message_id").unwrap_or_default().to_string();
    let window_ms = 2 * a.policy.clock_skew_secs * 1000;
    let first = a
        .replay
        .first_time(&sender_id, &message_id, now.timestamp_millis(), window_ms)
        .map_err(|e| Rejection::internal(format!("replay check failed: {e}")))?;
    if !first {
        return Err(Rejection::header(
            ReasonCode::MessageIdDuplicate,
            format!("header.message_id {message_id} was already received from {sender_id}"),
        ));
    }
    // 7. Registry access.
    if !sender.may_read(registry) {
        return Err(Rejection::forbidden(format!(
            "sender {sender_id} has no data sharing agreement for the {registry} registry"
        )));
    }
    // 8. The typed message (and header) of the operation.
    let sender_uri = match op.header_kind() {
        HeaderKind::Request => {
            serde_json::from_value::<MsgHeader>(header.clone())
                .map_err(|e| Rejection::bad(format!("header: {e}")))?
                .sender_uri
        }
        HeaderKind::Callback => None,
    };
    let deviations = if a.policy.strict {
        strict::deviations(op, &env, signed)
    } else {
        Vec::new()
    };
    let message = env
        .as_object_mut()
        .and_then(|o| o.remove("message"))
        .unwrap_or_default();
    let request = Request::parse(op, message)?;
    Ok(Admitted {
        sender,
        message_id,
        correlation_id,
        sender_uri,
        request,
        signed,
        deviations,
        reply_key,
    })
}

/// Resolves signature keys from one sender's JWKS, checking the kid.
struct SenderKeys<'a> {
    sender_id: &'a str,
    jwks: Jwks,
}

impl KeyResolver for SenderKeys<'_> {
    fn resolve(&self, kid: Option<&str>, alg: Algorithm) -> crate::Result<VerifyingKey> {
        let fits = |k: &VerifyingKey| k.algorithm() == alg;
        match kid {
            Some(kid) => {
                let key_id = match kid.split('|').collect::<Vec<_>>().as_slice() {
                    [s, k, _alg] => {
                        if *s != self.sender_id {
                            return Err(crate::Error::Key(format!(
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
                        crate::Error::Key(format!(
                            "no key {key_id} registered for sender {}",
                            self.sender_id
                        ))
                    })?;
                if !fits(key) {
                    return Err(crate::Error::Key(format!(
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
                    crate::Error::Key(format!(
                        "sender {} has no {} key",
                        self.sender_id,
                        alg.dci_name()
                    ))
                }),
        }
    }
}

/// Decrypts the envelope's message in place when `header.is_msg_encrypted` is true, and
/// returns the key its answers go to: the sender's first `use: enc` key, when the request was
/// encrypted or the sender registered one (docs/spec-decisions.md, "Encrypted messages").
/// Refused with `err.encryption.invalid` before anything is processed or recorded.
pub fn open_request(
    keys: &[DecryptionKey],
    env: &mut Value,
    sender: &Sender,
) -> Result<Option<EncryptionKey>, Rejection> {
    let refuse = |m: String| Rejection::new(ErrorCode::EncryptionInvalid, m);
    let encrypted = crate::encryption::is_encrypted(env);
    let reply_key = reply_key(sender).map_err(refuse)?;
    if !encrypted {
        return Ok(reply_key);
    }
    if keys.is_empty() {
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
    crate::encryption::open_envelope(env, keys).map_err(|e| refuse(format!("message: {e}")))?;
    Ok(Some(key))
}

/// The sender's first registered `use: enc` key, if any.
pub fn reply_key(sender: &Sender) -> Result<Option<EncryptionKey>, String> {
    let keys = crate::encryption::encryption_keys(&sender.jwks).map_err(|e| {
        format!(
            "the registered encryption keys of sender {} cannot be read: {e}",
            sender.sender_id
        )
    })?;
    Ok(keys.into_iter().next())
}

/// Encrypts an answer or callback envelope's message to `key` (None: left in clear); sign it
/// afterwards.
pub fn seal(env: &mut Value, key: Option<&EncryptionKey>) -> Result<(), Rejection> {
    match key {
        Some(k) => crate::encryption::seal_envelope(env, k)
            .map_err(|e| Rejection::internal(format!("encrypting an answer failed: {e}"))),
        None => Ok(()),
    }
}
