//! What the suite sends: its domains, its envelopes and payloads, and the operations the
//! requirement table names.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use crate::harness::{http, Receiver, Resp, Server};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique id in the suite's style (`{millis}-{suffix}`).
pub fn gen_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-c{n:07}", chrono::Utc::now().timestamp_millis())
}

pub fn now_ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One domain of the suite (DOMAIN=social|crvs|fr), as `dci serve` serves it under a prefix.
pub struct Domain {
    /// The path prefix of this registry type in `dci serve` (API_BASE_URL = base + prefix + /).
    pub prefix: &'static str,
    /// The suite's default DCI_RECEIVER_ID for the domain.
    pub receiver: &'static str,
    /// testData.idTypeValue
    pub id_type: &'static str,
    pub id_value: &'static str,
    /// defaultEventType
    pub event: &'static str,
    /// testData.notifyRecordType
    pub notify_record_type: &'static str,
    /// testData.subscriptionCodes
    pub code: &'static str,
}

pub const SOCIAL: Domain = Domain {
    prefix: "/social",
    receiver: "sr-server",
    id_type: "UIN",
    id_value: "TEST-001",
    event: "REGISTER",
    notify_record_type: "Member",
    code: "sub-test-001",
};
pub const CRVS: Domain = Domain {
    prefix: "/crvs",
    receiver: "crvs-server",
    id_type: "BIRTH_REG_NO",
    id_value: "BIRTH-TEST-001",
    event: "BIRTH",
    notify_record_type: "Person",
    code: "sub-crvs-test-001",
};
pub const FR: Domain = Domain {
    prefix: "/fr",
    receiver: "fr-server",
    id_type: "FARMER_ID",
    id_value: "FARMER-TEST-001",
    event: "REGISTER",
    notify_record_type: "Farmer",
    code: "sub-fr-test-001",
};

/// Where each async action's callback goes (the suite's callbackPaths).
pub fn callback_path(action: &str) -> &'static str {
    match action {
        "search" => "/registry/on-search",
        "subscribe" => "/registry/on-subscribe",
        "unsubscribe" => "/registry/on-unsubscribe",
        _ => "/registry/txn/on-status",
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Style {
    /// The domain step files (common/helpers/payloads.js and the social helpers):
    /// signature `unsigned-stub`, the domain's receiver id, sender_uri to the callback
    /// receiver (CALLBACK_SERVER_ENABLED=true).
    Domain,
    /// The common format/boundary/pagination steps (common/helpers/envelope.js): signature
    /// `unsigned`, receiver `registry-server`, no sender_uri.
    Common,
}

/// The server, a token for it and the callback receiver, shared by every test.
pub struct Ctx {
    pub server: Server,
    pub token: String,
    pub rx: Receiver,
}

impl Ctx {
    pub fn header(&self, d: &Domain, action: &str, style: Style) -> Value {
        let mut h = json!({
            "version": "1.0.0",
            "message_id": gen_id(),
            "message_ts": now_ts(),
            "action": action,
            "sender_id": self.server.sender_id,
        });
        if style == Style::Domain
            && matches!(
                action,
                "search" | "subscribe" | "unsubscribe" | "txn-status"
            )
        {
            h["sender_uri"] = json!(format!("{}{}", self.rx.base, callback_path(action)));
        }
        h["receiver_id"] = json!(match style {
            Style::Domain => d.receiver,
            Style::Common => "registry-server",
        });
        h["total_count"] = json!(1);
        h
    }

    pub fn envelope(&self, d: &Domain, action: &str, message: Value, style: Style) -> Value {
        json!({
            "signature": if style == Style::Common { "unsigned" } else { "unsigned-stub" },
            "header": self.header(d, action, style),
            "message": message,
        })
    }

    pub fn search(&self, d: &Domain, query_type: &str, style: Style) -> Value {
        let query = match query_type {
            "expression" => json!({"type": "ns:org:QueryType:expression", "value": {"expression": {
                "collection": "Group",
                "query": {"$and": [{"poverty_score": {"$lt": 5}}, {"location": {"$eq": "central_region"}}, {"group_size": {"$lt": 5}}]}
            }}}),
            "predicate" => json!([{
                "seq_num": 1,
                "expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": "25"},
                "condition": "and",
                "expression2": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": "2.5"}
            }]),
            _ => json!({"type": d.id_type, "value": d.id_value}),
        };
        let (d, query) = if style == Style::Common {
            // The common steps always search UIN TEST-001, whatever the domain.
            (&SOCIAL, json!({"type": "UIN", "value": "TEST-001"}))
        } else {
            (d, query)
        };
        self.envelope(
            d,
            "search",
            json!({
                "transaction_id": gen_id(),
                "search_request": [{
                    "reference_id": format!("ref-{}", gen_id()),
                    "timestamp": now_ts(),
                    "search_criteria": {"query_type": query_type, "query": query},
                }],
            }),
            style,
        )
    }

    pub fn subscribe(&self, d: &Domain, style: Style) -> Value {
        let d = if style == Style::Common { &SOCIAL } else { d };
        self.envelope(
            d,
            "subscribe",
            json!({
                "transaction_id": gen_id(),
                "subscribe_request": [{
                    "reference_id": format!("ref-{}", gen_id()),
                    "timestamp": now_ts(),
                    "subscribe_criteria": {
                        "reg_event_type": d.event,
                        "filter": {"type": d.id_type, "value": d.id_value},
                        "notify_record_type": d.notify_record_type,
                    },
                }],
            }),
            style,
        )
    }

    pub fn unsubscribe(&self, d: &Domain, style: Style) -> Value {
        let d = if style == Style::Common { &SOCIAL } else { d };
        self.envelope(
            d,
            "unsubscribe",
            json!({"transaction_id": gen_id(), "timestamp": now_ts(), "subscription_codes": [d.code]}),
            style,
        )
    }

    /// The suite asks for the status of the status request's own transaction id: a
    /// transaction the registry has never seen.
    pub fn txn_status(&self, d: &Domain) -> Value {
        let t = gen_id();
        self.envelope(
            d,
            "txn-status",
            json!({
                "transaction_id": t,
                "txnstatus_request": {
                    "reference_id": format!("ref-{}", gen_id()),
                    "txn_type": "search",
                    "attribute_type": "transaction_id",
                    "attribute_value": t,
                },
            }),
            Style::Domain,
        )
    }

    /// The social helpers' callback header (sender_id = DCI_SENDER_ID).
    pub fn callback_envelope(&self, action: &str, message: Value) -> Value {
        json!({
            "signature": "unsigned-stub",
            "header": {
                "version": "1.0.0",
                "message_id": gen_id(),
                "message_ts": now_ts(),
                "action": action,
                "status": "succ",
                "total_count": 1,
                "completed_count": 1,
                "sender_id": self.server.sender_id,
                "receiver_id": "sr-server",
            },
            "message": message,
        })
    }

    pub fn on_search(&self) -> Value {
        self.callback_envelope(
            "on-search",
            json!({
                "transaction_id": gen_id(),
                "correlation_id": gen_id(),
                "search_response": [{
                    "reference_id": format!("ref-{}", gen_id()),
                    "timestamp": now_ts(),
                    "status": "succ",
                    "data": {"version": "1.0.0", "reg_records": []},
                }],
            }),
        )
    }

    /// on-subscribe and on-unsubscribe are built with the request header (MsgHeader, no
    /// status), as their spec operations define.
    pub fn on_subscribe(&self) -> Value {
        self.envelope(
            &SOCIAL,
            "on-subscribe",
            json!({
                "transaction_id": gen_id(),
                "correlation_id": gen_id(),
                "subscribe_response": [{
                    "reference_id": format!("ref-{}", gen_id()),
                    "timestamp": now_ts(),
                    "status": "succ",
                    "subscriptions": [{"code": format!("sub-{}", gen_id()), "status": "subscribe", "timestamp": now_ts()}],
                }],
            }),
            Style::Domain,
        )
    }

    pub fn on_unsubscribe(&self) -> Value {
        self.envelope(
            &SOCIAL,
            "on-unsubscribe",
            json!({
                "transaction_id": gen_id(),
                "correlation_id": gen_id(),
                "timestamp": now_ts(),
                "status": "succ",
                "subscription_status": [{"code": "sub-test-001", "status": "unsubscribe"}],
            }),
            Style::Domain,
        )
    }

    pub fn on_status(&self) -> Value {
        let t = gen_id();
        self.callback_envelope(
            "txn-on-status",
            json!({
                "transaction_id": t,
                "correlation_id": gen_id(),
                "txnstatus_response": {
                    "txn_type": "search",
                    "txn_status": {"transaction_id": t, "correlation_id": gen_id(), "search_response": []},
                },
            }),
        )
    }

    pub fn notify(&self) -> Value {
        self.callback_envelope(
            "notify",
            json!({
                "transaction_id": gen_id(),
                "notify_event": [{
                    "reference_id": format!("ref-{}", gen_id()),
                    "timestamp": now_ts(),
                    "data": {"version": "1.0.0", "reg_record_type": "SRPerson", "reg_records": {}},
                    "locale": "eng",
                }],
            }),
        )
    }

    /// POSTs `body` as the suite does (Accept, Content-Type with charset, Bearer token).
    pub fn post(&self, d: &Domain, path: &str, body: &Value, auth: bool) -> Result<Resp, String> {
        let bearer = self.bearer();
        let mut h = vec![
            ("Accept", "application/json"),
            ("content-type", "application/json; charset=utf-8"),
        ];
        if auth {
            h.push(("Authorization", bearer.as_str()));
        }
        self.post_with(d, path, &h, body)
    }

    /// POSTs `body` with exactly `headers`.
    pub fn post_with(
        &self,
        d: &Domain,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Result<Resp, String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        http(
            &self.server.addr,
            &format!("{}{path}", d.prefix),
            headers,
            &bytes,
        )
    }

    /// `Bearer {token}`.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

/// A request of the suite, by the endpoint it goes to.
#[derive(Clone, Copy)]
pub enum Op {
    /// An async search with this query_type (`idtype-value`, `expression`, `predicate`).
    Search(&'static str),
    SyncSearch(&'static str),
    Subscribe,
    Unsubscribe,
    TxnStatus,
    SyncTxnStatus,
    OnSearch,
    OnSubscribe,
    OnUnsubscribe,
    OnStatus,
    Notify,
}

pub use Op::*;

/// The suite's query_type for searches by identifier.
pub const IDV: &str = "idtype-value";
pub const SEARCH: Op = Search(IDV);
pub const SYNC_SEARCH: Op = SyncSearch(IDV);
pub const SEARCH_EXPRESSION: Op = Search("expression");
pub const SEARCH_PREDICATE: Op = Search("predicate");
pub const SYNC_SEARCH_EXPRESSION: Op = SyncSearch("expression");
pub const SYNC_SEARCH_PREDICATE: Op = SyncSearch("predicate");

impl Op {
    /// The path under a domain's prefix.
    pub fn path(self) -> &'static str {
        match self {
            Search(_) => "/registry/search",
            SyncSearch(_) => "/registry/sync/search",
            Subscribe => "/registry/subscribe",
            Unsubscribe => "/registry/unsubscribe",
            TxnStatus => "/registry/txn/status",
            SyncTxnStatus => "/registry/sync/txn/status",
            OnSearch => "/registry/on-search",
            OnSubscribe => "/registry/on-subscribe",
            OnUnsubscribe => "/registry/on-unsubscribe",
            OnStatus => "/registry/txn/on-status",
            Notify => "/registry/notify",
        }
    }

    /// The envelope the suite sends (domain steps or common steps).
    pub fn request(self, c: &Ctx, d: &Domain, style: Style) -> Value {
        match self {
            Search(q) | SyncSearch(q) => c.search(d, q, style),
            Subscribe => c.subscribe(d, style),
            Unsubscribe => c.unsubscribe(d, style),
            TxnStatus | SyncTxnStatus => c.txn_status(d),
            OnSearch => c.on_search(),
            OnSubscribe => c.on_subscribe(),
            OnUnsubscribe => c.on_unsubscribe(),
            OnStatus => c.on_status(),
            Notify => c.notify(),
        }
    }

    /// The ack_status values an accepted request may carry: an unsubscribe of a code the
    /// registry does not know may be NACKed.
    pub fn acks(self) -> &'static [&'static str] {
        match self {
            Unsubscribe => &["ACK", "NACK"],
            _ => &["ACK"],
        }
    }

    /// The action of the request (the key of its callback path).
    pub fn action(self) -> &'static str {
        match self {
            Search(_) | SyncSearch(_) => "search",
            Subscribe => "subscribe",
            Unsubscribe => "unsubscribe",
            _ => "txn-status",
        }
    }
}
