//! The sender registry as admission sees it: who may call ([`Sender`]), how a host keeps them
//! ([`SenderDirectory`]: in memory, or its own lookup), replay protection ([`ReplayGuard`])
//! and the data sharing rule applied to each record sent ([`share`]).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::Jwks;

/// How a sender's signatures are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignaturePolicy {
    /// A valid signature is required (the default).
    #[default]
    Required,
    /// A present signature must be valid; a missing, empty or placeholder one is accepted.
    Optional,
}

impl SignaturePolicy {
    pub fn name(self) -> &'static str {
        match self {
            SignaturePolicy::Required => "required",
            SignaturePolicy::Optional => "optional",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "required" => Some(SignaturePolicy::Required),
            "optional" => Some(SignaturePolicy::Optional),
            _ => None,
        }
    }
}

/// A registered sender: who may call, with which keys, for what, and which data it may receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    pub sender_id: String,
    #[serde(default)]
    pub name: String,
    /// `{"keys":[...]}`: JWKs whose `kid` is the key id (second part of `{sender}|{key}|{alg}`).
    #[serde(default = "no_keys")]
    pub jwks: Value,
    /// Where to fetch the sender's JWKS instead (fetched at start and on unknown kids).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Operations it may call (`search`, `verify`, `subscribe`, `unsubscribe`, `txn-status`,
    /// `enrolled`, `enrollment-updates`, `disabled`, `disability-support`, `disability-details`,
    /// `notify`, `callback`), or `*`.
    #[serde(default = "all")]
    pub allowed_ops: Vec<String>,
    /// Registries it may read (`crvs`, `social`, `ibr`, `dr`, `fr`), or `*`.
    #[serde(default = "all")]
    pub registries: Vec<String>,
    /// Top-level record fields it may receive, or `*` (its data sharing agreement).
    #[serde(default = "all")]
    pub fields: Vec<String>,
    /// Whether each search item must carry a `consent` object.
    #[serde(default)]
    pub consent_required: bool,
    #[serde(default)]
    pub signature_policy: SignaturePolicy,
    #[serde(default = "yes")]
    pub active: bool,
    /// The callback base URL agreed at onboarding (`dci senders add --callback-uri`): a
    /// request's `sender_uri` must lie under it, it is the default when a request has none, and
    /// only URLs under it get the callback token.
    #[serde(default)]
    pub callback_uri: Option<String>,
}

impl Sender {
    pub fn may(&self, op: &str) -> bool {
        self.allowed_ops.iter().any(|o| o == "*" || o == op)
    }
    pub fn may_read(&self, registry: &str) -> bool {
        self.registries.iter().any(|r| r == "*" || r == registry)
    }
}

fn no_keys() -> Value {
    serde_json::json!({"keys": []})
}
fn all() -> Vec<String> {
    vec!["*".into()]
}
fn yes() -> bool {
    true
}

impl Sender {
    /// A sender with every operation, registry and field allowed and no keys: the start of a
    /// host's sender list (`Sender { jwks, ..Sender::open(id) }`).
    pub fn open(sender_id: impl Into<String>) -> Sender {
        Sender {
            sender_id: sender_id.into(),
            name: String::new(),
            jwks: no_keys(),
            jwks_url: None,
            allowed_ops: all(),
            registries: all(),
            fields: all(),
            consent_required: false,
            signature_policy: SignaturePolicy::Required,
            active: true,
            callback_uri: None,
        }
    }
}

/// Where admission finds senders: a host's own table, or [`MemorySenders`].
pub trait SenderDirectory: Send + Sync {
    /// The registered sender and its parsed keys (None when its JWKS does not parse), or None
    /// when `sender_id` is not registered; Err when the lookup itself failed.
    fn lookup(&self, sender_id: &str) -> Result<Option<(Sender, Option<Jwks>)>, String>;
}

/// Senders held in memory, keys parsed once.
#[derive(Default)]
pub struct MemorySenders {
    map: HashMap<String, (Sender, Option<Jwks>)>,
}

impl MemorySenders {
    /// Adds or replaces a sender.
    pub fn put(&mut self, s: Sender) {
        let jwks = Jwks::from_json(&s.jwks).ok();
        self.map.insert(s.sender_id.clone(), (s, jwks));
    }
    pub fn remove(&mut self, sender_id: &str) -> bool {
        self.map.remove(sender_id).is_some()
    }
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

impl SenderDirectory for MemorySenders {
    fn lookup(&self, sender_id: &str) -> Result<Option<(Sender, Option<Jwks>)>, String> {
        Ok(self.map.get(sender_id).cloned())
    }
}

/// Replay protection: each `(sender_id, message_id)` is admitted once within a window.
pub trait ReplayGuard: Send + Sync {
    /// Records `(sender, message_id)` at `now_ms`; Ok(false) if it was already seen within
    /// `window_ms`; Err when the store behind it failed (the request is then refused).
    fn first_time(
        &self,
        sender: &str,
        message_id: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, String>;
}

/// Message ids seen recently, per sender, in this process.
#[derive(Default)]
pub struct MemoryReplay {
    seen: Mutex<HashMap<(String, String), i64>>,
}

/// Entries kept before the expired ones are dropped.
const REPLAY_SWEEP_AT: usize = 200_000;

impl ReplayGuard for MemoryReplay {
    fn first_time(
        &self,
        sender: &str,
        message_id: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, String> {
        let mut m = self
            .seen
            .lock()
            .map_err(|_| "replay cache poisoned".to_string())?;
        if m.len() > REPLAY_SWEEP_AT {
            m.retain(|_, t| now_ms - *t < window_ms);
        }
        let key = (sender.to_string(), message_id.to_string());
        Ok(match m.get(&key) {
            Some(t) if now_ms - *t < window_ms => false,
            _ => {
                m.insert(key, now_ms);
                true
            }
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_from_json_takes_the_open_defaults_and_refuses_unknown_fields() {
        let s: Sender = serde_json::from_value(serde_json::json!({"sender_id": "a"})).unwrap();
        assert_eq!(s, Sender::open("a"));
        let s: Sender = serde_json::from_value(
            serde_json::json!({"sender_id": "a", "signature_policy": "optional", "fields": ["name"]}),
        )
        .unwrap();
        assert_eq!(s.signature_policy, SignaturePolicy::Optional);
        assert_eq!(s.fields, ["name"]);
        let e = serde_json::from_value::<Sender>(
            serde_json::json!({"sender_id": "a", "alowed_ops": []}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `alowed_ops`"), "{e}");
    }

    #[test]
    fn replay_is_refused_inside_the_window_only() {
        let r = MemoryReplay::default();
        assert_eq!(r.first_time("s", "m1", 1_000, 600), Ok(true));
        assert_eq!(r.first_time("s", "m1", 1_500, 600), Ok(false));
        assert_eq!(r.first_time("t", "m1", 1_500, 600), Ok(true));
        assert_eq!(r.first_time("s", "m1", 1_700, 600), Ok(true));
    }

    #[test]
    fn share_keeps_agreed_fields_and_json_ld_keys() {
        let s = Sender {
            fields: vec!["name".into()],
            ..Sender::open("a")
        };
        let r = share(
            &s,
            serde_json::json!({"@type": "Person", "name": "x", "sex": "f"}),
        );
        assert_eq!(r, serde_json::json!({"@type": "Person", "name": "x"}));
    }
}
