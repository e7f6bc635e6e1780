//! Storage behind a trait, so another backend can follow SQLite.
//!
//! Records are kept as the JSON of their registry's schema (Person, Group, Member, Beneficiary,
//! DisabledPerson, Farmer); identifiers are indexed separately so an idtype-value lookup is one
//! index probe at any size.

pub mod attrs;
mod candidates;

/// The column lists of the tables both backends share, in the order their row mappers read.
mod columns {
    pub(super) const TXN_COLS: &str = "transaction_id, message_id, correlation_id, sender_id, \
        operation, registry, request, response, status, error_code, created_at, deviations";

    pub(super) const SUB_COLS: &str = "code, sender_id, registry, reg_event_type, filter_type, \
        filter, notify_record_type, callback_uri, status, transaction_id, created_at, \
        schedule_cron, schedule_start, schedule_end";

    pub(super) const CLIENT_COLS: &str = "client_id, name, secret_hash, scopes, sender_id, active";

    pub(super) const SENDER_COLS: &str = "sender_id, name, jwks, jwks_url, allowed_ops, \
        registries, fields, consent_required, signature_policy, active, callback_uri";
}

mod pg_search;
pub mod postgres;
pub mod sqlite;
mod sqlite_search;

use dci::query::{Plan, SortKey};
use serde_json::Value;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A storage failure (SQLite or PostgreSQL error, corrupt row). Never shown to peers verbatim.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(e.to_string())
    }
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// How a search that ran over the per-query time limit fails (its message starts so).
pub const QUERY_TIMEOUT: &str = "query time limit";

impl StoreError {
    /// Whether this is a search stopped at the per-query time limit.
    pub fn is_timeout(&self) -> bool {
        self.0.starts_with(QUERY_TIMEOUT)
    }
}

/// One registry record.
#[derive(Debug, Clone)]
#[allow(dead_code)] // id, registry and key are part of the storage API, not all read yet.
pub struct Record {
    pub id: i64,
    /// `crvs`, `social`, `ibr`, `dr`, `fr`.
    pub registry: String,
    /// `Person`, `Group`, `Member`, `Beneficiary`, `DisabledPerson`, `Farmer`.
    pub record_type: String,
    /// A stable key for upserts (the primary identifier value).
    pub key: String,
    /// The record JSON text.
    pub data: String,
}

/// A record to insert or replace.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub registry: String,
    pub record_type: String,
    pub key: String,
    pub data: Value,
}

/// One search for [`Store::search`].
#[derive(Debug, Clone)]
pub struct SearchQuery<'a> {
    pub registry: &'a str,
    /// One record type, or all of the registry's.
    pub record_type: Option<&'a str>,
    pub plan: &'a Plan,
    pub keys: &'a [SortKey],
    pub offset: usize,
    pub limit: usize,
}

/// An OAuth2 client; the secret is kept only as a salted hash.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    /// When set, tokens of this client may only be used with this header.sender_id.
    pub sender_id: Option<String>,
    pub active: bool,
}

pub use dci::registry::{Sender, SignaturePolicy};

/// One audit log entry (one request and its response).
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    pub transaction_id: String,
    pub message_id: String,
    pub correlation_id: String,
    pub sender_id: String,
    pub operation: String,
    pub registry: String,
    pub request: String,
    pub response: String,
    /// `succ`, `rjct`, `pdng`, `err`.
    pub status: String,
    pub error_code: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Strict mode's deviations of an accepted request: a JSON array of `{field, rule}`.
    pub deviations: Option<String>,
}

/// Which audit rows [`Store::recent_transactions`] reads (None: any).
#[derive(Debug, Clone, Default)]
pub struct TxnFilter {
    pub sender_id: Option<String>,
    /// `succ`, `rjct`, `pdng`, `rcvd`, ...
    pub status: Option<String>,
    /// The operation (`search`, `subscribe`, ...).
    pub operation: Option<String>,
    /// Only rows older than this row id (the next page).
    pub before_id: Option<i64>,
}

/// One delivery attempt of an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Unix milliseconds.
    pub started_at: i64,
    pub duration_ms: i64,
    pub ok: bool,
    /// What the receiver answered, or why the attempt failed.
    pub result: String,
}

/// An outbox entry as the inspector shows it: where it goes, where it stands, its attempts.
#[derive(Debug, Clone)]
pub struct OutboxState {
    pub id: i64,
    pub kind: String,
    pub url: String,
    pub correlation_id: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub failed: bool,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub tries: Vec<Attempt>,
}

/// A subscription and its criteria.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub code: String,
    pub sender_id: String,
    pub registry: String,
    pub reg_event_type: Option<String>,
    pub filter_type: Option<String>,
    pub filter: Option<Value>,
    pub notify_record_type: Option<String>,
    pub callback_uri: String,
    /// `subscribe` or `unsubscribe`.
    pub status: String,
    pub transaction_id: String,
    pub created_at: i64,
    /// `subscribe_criteria.frequency`: notifications are batched and sent on this schedule
    /// (None: each change is notified at once).
    pub schedule: Option<crate::schedule::Schedule>,
}

/// One event in a scheduled subscription's pending batch.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// Assigned by the store (ignored when writing).
    pub id: i64,
    pub subscription_code: String,
    /// The `NotifyEventItem` JSON, already cut to the sender's data sharing agreement.
    pub item: String,
    /// When the change happened (Unix milliseconds): the oldest one sets the batch's due time.
    pub created_at: i64,
}

/// A callback or notification waiting for delivery.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    /// `on-search`, `on-subscribe`, `on-unsubscribe`, `txn-on-status`, `notify`.
    pub kind: String,
    pub url: String,
    /// The unsigned envelope (signed at each delivery attempt, so `expires` is fresh).
    pub body: String,
    pub attempts: i64,
    /// Unix milliseconds.
    pub next_attempt_at: i64,
    pub correlation_id: String,
}

/// Storage for the registry server.
pub trait Store: Send + Sync {
    // Records.
    fn upsert_records(&self, records: &[NewRecord]) -> StoreResult<Vec<i64>>;
    /// [`Store::upsert_records`] and the notifications of the change in one transaction, so
    /// a crash cannot store a change without its notifications: `outbox` entries for the
    /// subscriptions notified at once, `batched` events added to the pending batches of
    /// scheduled ones.
    fn upsert_records_notifying(
        &self,
        records: &[NewRecord],
        outbox: &[(String, String, String)],
        batched: &[PendingEvent],
    ) -> StoreResult<Vec<i64>>;
    fn record_by_id(&self, id: i64) -> StoreResult<Option<Record>>;
    /// Record ids of `registry` having the identifier `(id_type, id_value)`.
    fn ids_by_identifier(
        &self,
        registry: &str,
        id_type: &str,
        id_value: &str,
    ) -> StoreResult<Vec<i64>>;
    /// Records of `registry` having the identifier `(id_type, id_value)` (one query).
    fn records_by_identifier(
        &self,
        registry: &str,
        id_type: &str,
        id_value: &str,
    ) -> StoreResult<Vec<Record>>;
    /// Calls `f` for every record of `registry` (optionally one record type), in id order,
    /// until it returns false.
    fn scan(
        &self,
        registry: &str,
        record_type: Option<&str>,
        f: &mut dyn FnMut(Record) -> bool,
    ) -> StoreResult<()>;
    fn count_records(&self, registry: Option<&str>) -> StoreResult<i64>;
    /// The records `q.plan` matches, sorted by `q.keys` (id order when none), `q.limit` of them
    /// from `q.offset`, and how many match in all; filtered, counted and paged in the database
    /// (docs/server.md, "Query compilation").
    fn search(&self, q: &SearchQuery) -> StoreResult<(Vec<Value>, usize)>;

    // OAuth2 clients.
    fn put_client(&self, c: &Client) -> StoreResult<()>;
    fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    fn clients(&self) -> StoreResult<Vec<Client>>;
    fn set_client_active(&self, client_id: &str, active: bool) -> StoreResult<bool>;

    // Sender registry.
    fn put_sender(&self, s: &Sender) -> StoreResult<()>;
    fn sender(&self, sender_id: &str) -> StoreResult<Option<Sender>>;
    fn senders(&self) -> StoreResult<Vec<Sender>>;
    fn set_sender_active(&self, sender_id: &str, active: bool) -> StoreResult<bool>;

    // Audit log.
    fn log_transactions(&self, txns: &[Transaction]) -> StoreResult<()>;
    /// Logs the transaction, queues the outbox entries and stores the subscriptions (new, or
    /// with a changed status) in one
    /// database transaction, so an ACK is never sent for work that is not stored and no
    /// subscription exists without its ACK, audit row and callback. A subscription stored
    /// with a status other than `subscribe` loses its pending batch in the same transaction.
    fn log_with_outbox(
        &self,
        txn: &Transaction,
        outbox: &[(String, String, String)],
        subscriptions: &[Subscription],
    ) -> StoreResult<()>;
    /// Transactions of `sender_id` whose `attribute` (`transaction_id`, `correlation_id`,
    /// `message_id`) equals `value`, newest first.
    fn transactions_by(
        &self,
        sender_id: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Vec<Transaction>>;
    /// The newest audit rows (with their row ids) that `f` selects, newest first, at most
    /// `limit` (capped at [`sqlite::MAX_RECENT`]).
    fn recent_transactions(
        &self,
        f: &TxnFilter,
        limit: usize,
    ) -> StoreResult<Vec<(i64, Transaction)>>;
    /// The outbox entries (callbacks) of these correlation ids, with their attempts.
    fn outbox_of(&self, correlation_ids: &[String]) -> StoreResult<Vec<OutboxState>>;
    /// Message ids of the requests accepted since `since_ms` (to rebuild the replay cache at
    /// start; rejected requests never enter it).
    fn recent_message_ids(&self, since_ms: i64) -> StoreResult<Vec<(String, String, i64)>>;
    /// Claims `(sender_id, message_id)` for this request: false when it was claimed less than
    /// `window_ms` ago (a replay), by any instance sharing the database. Checked after the
    /// process's own replay cache, which alone decides for a store only one process serves.
    fn claim_message(
        &self,
        sender_id: &str,
        message_id: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool>;

    // Subscriptions.
    fn subscription(&self, code: &str) -> StoreResult<Option<Subscription>>;
    fn active_subscriptions(&self, registry: &str) -> StoreResult<Vec<Subscription>>;
    fn set_subscription_status(&self, code: &str, status: &str) -> StoreResult<bool>;

    // Pending batches of scheduled subscriptions (schedule.rs).
    /// Every active (`subscribe`) subscription that has pending events, with the time
    /// (`created_at`) of its oldest one.
    fn pending_batches(&self) -> StoreResult<Vec<(Subscription, i64)>>;
    /// Up to `limit` pending events of the subscription `code`, oldest (lowest id) first.
    fn pending_events(&self, code: &str, limit: usize) -> StoreResult<Vec<PendingEvent>>;
    /// Removes the pending events of `code` with id up to `through_id` and queues `outbox`
    /// (the notify that carries them) in one transaction.
    fn flush_batch(
        &self,
        code: &str,
        through_id: i64,
        outbox: &[(String, String, String)],
    ) -> StoreResult<()>;

    // Outbox.
    fn enqueue(&self, entries: &[(String, String, String)]) -> StoreResult<()>;
    /// Up to `limit` due entries in id order, leaving out those whose URL starts with one of
    /// `skip` (destinations already at their concurrency limit). A store that several
    /// instances share leases each entry returned to the caller until it is marked or
    /// released, so no other instance delivers it meanwhile.
    fn due_outbox(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &[String],
    ) -> StoreResult<Vec<OutboxEntry>>;
    /// Gives back entries [`Store::due_outbox`] returned that will not be attempted now.
    fn release_outbox(&self, ids: &[i64]) -> StoreResult<()>;
    /// Marks the entry delivered by `attempt` and records the attempt.
    fn mark_delivered(&self, id: i64, attempt: &Attempt) -> StoreResult<()>;
    /// Records a failed `attempt` (its result is the entry's last error); the entry is due
    /// again at `next_at_ms`, or failed for good with `give_up`.
    fn mark_attempt(
        &self,
        id: i64,
        next_at_ms: i64,
        give_up: bool,
        attempt: &Attempt,
    ) -> StoreResult<()>;
    fn pending_outbox(&self) -> StoreResult<i64>;

    // Server settings (the server's signing key, ...).
    fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
    /// The value of `key`, storing `value` first if it has none (so instances starting
    /// together agree on one server key).
    fn meta_or_insert(&self, key: &str, value: &str) -> StoreResult<String>;
}

/// Extracts the `(identifier_type, identifier_value)` pairs a record can be found by.
/// Looks at the identifier lists of every registry schema, and one level into
/// `demographic_info`, `person` and `member`; parents', related persons' and a household
/// head's identifiers are not the record's own and are skipped.
pub fn identifiers_of(record: &Value) -> Vec<(String, String)> {
    const LISTS: &[&str] = &[
        "identifier",
        "identifiers",
        "member_identifier",
        "group_identifier",
        "beneficiary_identifier",
        "farmer_identifier",
        "person_identifier",
    ];
    const NESTED: &[&str] = &["demographic_info", "person", "member"];
    let mut out = Vec::new();
    fn push(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| push(i, out)),
            Value::Object(o) => {
                if let (Some(t), Some(val)) = (o.get("identifier_type"), o.get("identifier_value"))
                {
                    if let Some(t) = t.as_str() {
                        let val = match val {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        out.push((t.to_string(), val));
                    }
                }
            }
            _ => {}
        }
    }
    let Some(obj) = record.as_object() else {
        return out;
    };
    for k in LISTS {
        if let Some(v) = obj.get(*k) {
            push(v, &mut out);
        }
    }
    for n in NESTED {
        if let Some(inner) = obj.get(*n).and_then(Value::as_object) {
            for k in LISTS {
                if let Some(v) = inner.get(*k) {
                    push(v, &mut out);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_skip_parents() {
        let r = json!({
            "identifier": [{"identifier_type": "UIN", "identifier_value": "1"}],
            "parent1_identifier": {"identifier_type": "UIN", "identifier_value": "9"},
            "demographic_info": {"identifier": [{"identifier_type": "BRN", "identifier_value": 7}]}
        });
        assert_eq!(
            identifiers_of(&r),
            vec![("BRN".into(), "7".into()), ("UIN".into(), "1".into())]
        );
    }
}
