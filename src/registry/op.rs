//! The registry operations: one [`Op`] per endpoint, and everything the server derives from it
//! (path, header.action, the operation name of allowed operations and token scopes, the reply
//! and callback actions, the mode, the registry it is limited to, the message kind the core
//! validates), the typed request each one receives ([`Request`]) and the typed response it
//! answers with ([`Response`]).

use crate::model::{
    Action, DisabledRequest, DisabledResponse, EnrolledRequest, EnrolledResponse,
    EnrollmentUpdatesRequest, EnrollmentUpdatesResponse, GetDisabilitySupportRequest, HeaderKind,
    MessageKind, SearchRequest, SearchResponse, SubscribeRequest, SubscribeResponse,
    TxnStatusRequest, TxnStatusResponse, TxnType, UnSubscribeRequest, UnSubscribeResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::verify::{VerifyRequest, VerifyResponse};

/// The registry types a registry serves, each under `/{type}/registry/...`.
pub const REGISTRIES: &[&str] = &["crvs", "social", "ibr", "dr", "fr"];

/// The record types each registry holds, in its schema's names.
pub fn record_types(registry: &str) -> &'static [&'static str] {
    match registry {
        "crvs" => &["Person"],
        "social" => &["Group", "Member"],
        "ibr" => &["Beneficiary"],
        "dr" => &["DisabledPerson"],
        "fr" => &["Farmer"],
        _ => &[],
    }
}

/// The `reg_type` we answer with for a registry.
pub fn reg_type(registry: &str) -> &'static str {
    match registry {
        "crvs" => "ns:org:RegistryType:Civil",
        "social" => "ns:org:RegistryType:Social",
        "ibr" => "ns:org:RegistryType:IBR",
        "dr" => "ns:org:RegistryType:DR",
        "fr" => "ns:org:RegistryType:FR",
        _ => "ns:org:RegistryType:Other",
    }
}

/// The record type a `reg_record_type` names, if it is one of this registry's
/// (`Person`, `spdci-extensions-dci:Person`, `person` all name Person). Unknown names do not
/// filter, so conformance suites with their own vocabularies still get answers.
pub fn pick_record_type(registry: &str, reg_record_type: Option<&str>) -> Option<&'static str> {
    let name = reg_record_type?.rsplit([':', '/', '#']).next()?;
    record_types(registry)
        .iter()
        .find(|t| t.eq_ignore_ascii_case(name))
        .copied()
}

/// How an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The answer is the signed response envelope.
    Sync,
    /// An Ack now; the answer goes to `{sender_uri}/{callback}` through the outbox.
    Async,
    /// The receiving side of callbacks: checked, logged, then acknowledged.
    Receive,
}

/// One registry endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    SyncSearch,
    Search,
    Subscribe,
    Unsubscribe,
    TxnStatus,
    SyncTxnStatus,
    Verify,
    Enrolled,
    EnrollmentUpdates,
    Disabled,
    DisabilitySupport,
    DisabilityDetails,
    OnSearch,
    OnSubscribe,
    OnUnsubscribe,
    Notify,
    TxnOnStatus,
}

impl Op {
    pub const ALL: [Op; 17] = [
        Op::SyncSearch,
        Op::Search,
        Op::Subscribe,
        Op::Unsubscribe,
        Op::TxnStatus,
        Op::SyncTxnStatus,
        Op::Verify,
        Op::Enrolled,
        Op::EnrollmentUpdates,
        Op::Disabled,
        Op::DisabilitySupport,
        Op::DisabilityDetails,
        Op::OnSearch,
        Op::OnSubscribe,
        Op::OnUnsubscribe,
        Op::Notify,
        Op::TxnOnStatus,
    ];

    /// Every endpoint path with its registry type and operation: `/{type}/registry/...` for
    /// each type, and the bare `/registry/...` paths for `default_registry`.
    pub fn routes(default_registry: &str) -> Vec<(String, &'static str, Op)> {
        let mut out = Vec::new();
        for reg in REGISTRIES {
            for op in Op::ALL {
                if op.only().is_some_and(|o| o != *reg) {
                    continue;
                }
                out.push((format!("/{reg}{}", op.path()), *reg, op));
                if *reg == default_registry {
                    out.push((op.path().to_string(), *reg, op));
                }
            }
        }
        out
    }

    /// The operation and registry type of a request path (see [`Op::routes`]); a trailing
    /// `/` is ignored.
    pub fn route(path: &str, default_registry: &str) -> Option<(Op, &'static str)> {
        let path = path.split('?').next().unwrap_or_default();
        let path = path.strip_suffix('/').unwrap_or(path);
        let (reg, rest) = match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
            Some((r, rest)) if r != "registry" => (REGISTRIES.iter().find(|x| **x == r)?, rest),
            _ => (
                REGISTRIES.iter().find(|x| **x == default_registry)?,
                path.trim_start_matches('/'),
            ),
        };
        let op = Op::ALL
            .into_iter()
            .find(|o| o.path().trim_start_matches('/') == rest)?;
        if op.only().is_some_and(|o| o != *reg) {
            return None;
        }
        Some((op, reg))
    }

    /// The path under `/registry` prefixes (`/crvs/registry/...` adds the registry).
    pub fn path(self) -> &'static str {
        match self {
            Op::SyncSearch => "/registry/sync/search",
            Op::Search => "/registry/search",
            Op::Subscribe => "/registry/subscribe",
            Op::Unsubscribe => "/registry/unsubscribe",
            Op::TxnStatus => "/registry/txn/status",
            Op::SyncTxnStatus => "/registry/sync/txn/status",
            Op::Verify => "/registry/sync/verify",
            Op::Enrolled => "/registry/sync/enrolled",
            Op::EnrollmentUpdates => "/registry/sync/enrollment/updates",
            Op::Disabled => "/registry/sync/disabled",
            Op::DisabilitySupport => "/registry/sync/get-disability-support",
            Op::DisabilityDetails => "/registry/sync/get-disability-details",
            Op::OnSearch => "/registry/on-search",
            Op::OnSubscribe => "/registry/on-subscribe",
            Op::OnUnsubscribe => "/registry/on-unsubscribe",
            Op::Notify => "/registry/notify",
            Op::TxnOnStatus => "/registry/txn/on-status",
        }
    }

    /// The `header.action` the endpoint expects (the IBR and DR endpoints reuse `search`, as
    /// the spec has it; `verify` is our own).
    pub fn action(self) -> Action {
        match self {
            Op::SyncSearch
            | Op::Search
            | Op::Enrolled
            | Op::Disabled
            | Op::DisabilitySupport
            | Op::DisabilityDetails => Action::Search,
            Op::Subscribe => Action::Subscribe,
            Op::Unsubscribe => Action::Unsubscribe,
            Op::TxnStatus | Op::SyncTxnStatus => Action::TxnStatus,
            Op::Verify => Action::Other("verify".into()),
            Op::EnrollmentUpdates | Op::Notify => Action::Notify,
            Op::OnSearch => Action::OnSearch,
            Op::OnSubscribe => Action::OnSubscribe,
            Op::OnUnsubscribe => Action::OnUnsubscribe,
            Op::TxnOnStatus => Action::TxnOnStatus,
        }
    }

    /// The operation name in a sender's allowed operations and in token scopes
    /// (`registry.{name}`).
    pub fn name(self) -> &'static str {
        match self {
            Op::SyncSearch | Op::Search => "search",
            Op::Subscribe => "subscribe",
            Op::Unsubscribe => "unsubscribe",
            Op::TxnStatus | Op::SyncTxnStatus => "txn-status",
            Op::Verify => "verify",
            Op::Enrolled => "enrolled",
            Op::EnrollmentUpdates => "enrollment-updates",
            Op::Disabled => "disabled",
            Op::DisabilitySupport => "disability-support",
            Op::DisabilityDetails => "disability-details",
            Op::Notify => "notify",
            Op::OnSearch | Op::OnSubscribe | Op::OnUnsubscribe | Op::TxnOnStatus => "callback",
        }
    }

    /// The operation as the audit log names it (`sync-search` for the sync search, the
    /// callback action on the receiving side).
    pub fn audit_name(self) -> String {
        match self {
            Op::SyncSearch => "sync-search".into(),
            Op::OnSearch | Op::OnSubscribe | Op::OnUnsubscribe | Op::TxnOnStatus => {
                self.action().to_string()
            }
            _ => self.name().into(),
        }
    }

    /// The `header.action` of the answer (of the response, the callback, or a rejection).
    pub fn reply_action(self) -> Action {
        match self.action() {
            Action::Search => Action::OnSearch,
            Action::Subscribe => Action::OnSubscribe,
            Action::Unsubscribe => Action::OnUnsubscribe,
            Action::TxnStatus => Action::TxnOnStatus,
            Action::Notify if self == Op::EnrollmentUpdates => Action::Other("on-notify".into()),
            Action::Other(a) => Action::Other(format!("on-{a}")),
            // The receiving side answers with an Ack; a rejection names what it received.
            received => received,
        }
    }

    pub fn mode(self) -> Mode {
        match self {
            Op::Search | Op::Subscribe | Op::Unsubscribe | Op::TxnStatus => Mode::Async,
            Op::OnSearch | Op::OnSubscribe | Op::OnUnsubscribe | Op::Notify | Op::TxnOnStatus => {
                Mode::Receive
            }
            _ => Mode::Sync,
        }
    }

    /// Where an async answer goes, relative to the sender's `sender_uri` (the path of the
    /// receiving endpoint for the reply action).
    pub fn callback_path(self) -> Option<&'static str> {
        if self.mode() != Mode::Async {
            return None;
        }
        let reply = self.reply_action();
        Op::ALL
            .into_iter()
            .find(|o| o.mode() == Mode::Receive && o.action() == reply)
            .map(|o| o.receive_suffix())
    }

    /// The path of a receiving endpoint after `/registry/` (`on-search`, `txn/on-status`).
    fn receive_suffix(self) -> &'static str {
        self.path().trim_start_matches("/registry/")
    }

    /// Every path a callback can be sent to, after the sender's base URI.
    pub fn callback_suffixes() -> impl Iterator<Item = &'static str> {
        Op::ALL
            .into_iter()
            .filter(|o| o.mode() == Mode::Receive)
            .map(Op::receive_suffix)
    }

    /// The registry type the endpoint is limited to (None: every registry).
    pub fn only(self) -> Option<&'static str> {
        match self {
            Op::Enrolled | Op::EnrollmentUpdates => Some("ibr"),
            Op::Disabled | Op::DisabilitySupport | Op::DisabilityDetails => Some("dr"),
            _ => None,
        }
    }

    /// The kind of message the endpoint receives, as the core names it (None: `verify`, whose
    /// schema is our own).
    pub fn kind(self) -> Option<MessageKind> {
        Some(match self {
            Op::SyncSearch | Op::Search => MessageKind::SearchRequest,
            Op::Subscribe => MessageKind::SubscribeRequest,
            Op::Unsubscribe => MessageKind::UnSubscribeRequest,
            Op::TxnStatus | Op::SyncTxnStatus => MessageKind::TxnStatusRequest,
            Op::Enrolled => MessageKind::EnrolledRequest,
            Op::EnrollmentUpdates => MessageKind::EnrollmentUpdatesRequest,
            Op::Disabled => MessageKind::DisabledRequest,
            Op::DisabilitySupport | Op::DisabilityDetails => {
                MessageKind::GetDisabilitySupportRequest
            }
            Op::OnSearch => MessageKind::SearchResponse,
            Op::OnSubscribe => MessageKind::SubscribeResponse,
            Op::OnUnsubscribe => MessageKind::UnSubscribeResponse,
            Op::Notify => MessageKind::NotifyEventRequest,
            Op::TxnOnStatus => MessageKind::TxnStatusResponse,
            Op::Verify => return None,
        })
    }

    /// The header the request travels with (MsgHeader for on-subscribe and on-unsubscribe too,
    /// as the spec has it).
    pub fn header_kind(self) -> HeaderKind {
        self.kind()
            .and_then(MessageKind::header_kind)
            .unwrap_or(HeaderKind::Request)
    }

    /// The `txn_type` a txn-status request names this operation's transactions by.
    pub fn txn_type(self) -> Option<TxnType> {
        match self {
            Op::SyncSearch | Op::Search => Some(TxnType::Search),
            Op::Subscribe => Some(TxnType::Subscribe),
            Op::Unsubscribe => Some(TxnType::Unsubscribe),
            _ => None,
        }
    }
}

/// The typed message of an admitted request.
#[derive(Debug, Clone)]
pub enum Request {
    Search(SearchRequest),
    Verify(VerifyRequest),
    Subscribe(SubscribeRequest),
    Unsubscribe(UnSubscribeRequest),
    TxnStatus(TxnStatusRequest),
    Enrolled(EnrolledRequest),
    EnrollmentUpdates(EnrollmentUpdatesRequest),
    Disabled(DisabledRequest),
    /// get-disability-support and get-disability-details.
    DisabilitySupport(GetDisabilitySupportRequest),
    /// A callback we receive: logged as received, not handled.
    Received(Value),
}

fn parse<M: DeserializeOwned>(message: Value) -> crate::Result<M> {
    serde_json::from_value(message).map_err(|e| crate::Error::Json(format!("message: {e}")))
}

impl Request {
    /// Parses the message (already validated) into the typed message of `op`.
    pub fn parse(op: Op, message: Value) -> crate::Result<Request> {
        Ok(match op {
            Op::SyncSearch | Op::Search => Request::Search(parse(message)?),
            Op::Verify => Request::Verify(parse(message)?),
            Op::Subscribe => Request::Subscribe(parse(message)?),
            Op::Unsubscribe => Request::Unsubscribe(parse(message)?),
            Op::TxnStatus | Op::SyncTxnStatus => Request::TxnStatus(parse(message)?),
            Op::Enrolled => Request::Enrolled(parse(message)?),
            Op::EnrollmentUpdates => Request::EnrollmentUpdates(parse(message)?),
            Op::Disabled => Request::Disabled(parse(message)?),
            Op::DisabilitySupport | Op::DisabilityDetails => {
                Request::DisabilitySupport(parse(message)?)
            }
            Op::OnSearch | Op::OnSubscribe | Op::OnUnsubscribe | Op::Notify | Op::TxnOnStatus => {
                Request::Received(message)
            }
        })
    }

    /// The typed message as JSON (what a host in another language reads).
    pub fn to_value(&self) -> Value {
        let v = match self {
            Request::Search(m) => serde_json::to_value(m),
            Request::Verify(m) => serde_json::to_value(m),
            Request::Subscribe(m) => serde_json::to_value(m),
            Request::Unsubscribe(m) => serde_json::to_value(m),
            Request::TxnStatus(m) => serde_json::to_value(m),
            Request::Enrolled(m) => serde_json::to_value(m),
            Request::EnrollmentUpdates(m) => serde_json::to_value(m),
            Request::Disabled(m) => serde_json::to_value(m),
            Request::DisabilitySupport(m) => serde_json::to_value(m),
            Request::Received(m) => return m.clone(),
        };
        v.unwrap_or_default()
    }

    /// The request's `transaction_id`.
    pub fn transaction_id(&self) -> &str {
        match self {
            Request::Search(m) => &m.transaction_id,
            Request::Verify(m) => &m.transaction_id,
            Request::Subscribe(m) => &m.transaction_id,
            Request::Unsubscribe(m) => &m.transaction_id,
            Request::TxnStatus(m) => &m.transaction_id,
            Request::Enrolled(m) => &m.transaction_id,
            Request::EnrollmentUpdates(m) => &m.transaction_id,
            Request::Disabled(m) => &m.transaction_id,
            Request::DisabilitySupport(m) => &m.transaction_id,
            Request::Received(m) => m
                .get("transaction_id")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        }
    }
}

/// The typed response message of an operation.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Response {
    Search(SearchResponse),
    Verify(VerifyResponse),
    Subscribe(SubscribeResponse),
    Unsubscribe(UnSubscribeResponse),
    TxnStatus(TxnStatusResponse),
    Enrolled(EnrolledResponse),
    EnrollmentUpdates(EnrollmentUpdatesResponse),
    Disabled(DisabledResponse),
}

impl Response {
    /// The response message of `op` read from JSON (a host's answer), checked against its
    /// type; the error names the field.
    pub fn parse(op: Op, message: Value) -> crate::Result<Response> {
        Ok(match op {
            Op::SyncSearch | Op::Search => Response::Search(parse(message)?),
            Op::Subscribe => Response::Subscribe(parse(message)?),
            Op::Unsubscribe => Response::Unsubscribe(parse(message)?),
            Op::TxnStatus | Op::SyncTxnStatus => Response::TxnStatus(parse(message)?),
            Op::Enrolled => Response::Enrolled(parse(message)?),
            Op::EnrollmentUpdates => Response::EnrollmentUpdates(parse(message)?),
            Op::Disabled => Response::Disabled(parse(message)?),
            Op::Verify => Response::Verify(parse(message)?),
            other => {
                return Err(crate::Error::Json(format!(
                    "{} has no response message a host builds from JSON",
                    other.name()
                )))
            }
        })
    }

    /// How many items it answers (header `total_count`).
    pub fn item_count(&self) -> usize {
        match self {
            Response::Search(r) => r.search_response.len(),
            Response::Verify(r) => r.verify_response.len(),
            Response::Subscribe(r) => r.subscribe_response.len(),
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(Op::Search.callback_path(), Some("on-search"));
        assert_eq!(Op::TxnStatus.callback_path(), Some("txn/on-status"));
        assert_eq!(Op::SyncSearch.callback_path(), None);
        assert_eq!(Op::TxnStatus.reply_action(), Action::TxnOnStatus);
        assert_eq!(Op::Verify.reply_action().as_str(), "on-verify");
        assert_eq!(Op::EnrollmentUpdates.reply_action().as_str(), "on-notify");
        assert_eq!(Op::OnSearch.audit_name(), "on-search");
        assert_eq!(Op::SyncSearch.audit_name(), "sync-search");
        assert_eq!(Op::OnSubscribe.header_kind(), HeaderKind::Request);
        assert_eq!(Op::TxnOnStatus.header_kind(), HeaderKind::Callback);
        let suffixes: Vec<_> = Op::callback_suffixes().collect();
        assert_eq!(
            suffixes,
            [
                "on-search",
                "on-subscribe",
                "on-unsubscribe",
                "notify",
                "txn/on-status"
            ]
        );
        let paths: std::collections::HashSet<_> = Op::ALL.iter().map(|o| o.path()).collect();
        assert_eq!(paths.len(), Op::ALL.len());
    }

    #[test]
    fn routes_resolve_with_their_registry() {
        assert_eq!(
            Op::route("/registry/sync/search", "crvs"),
            Some((Op::SyncSearch, "crvs"))
        );
        assert_eq!(
            Op::route("/dr/registry/sync/disabled/", "crvs"),
            Some((Op::Disabled, "dr"))
        );
        assert_eq!(
            Op::route("/registry/txn/on-status", "ibr"),
            Some((Op::TxnOnStatus, "ibr"))
        );
        // DR endpoints exist only under the DR registry; unknown prefixes and paths are None.
        assert_eq!(Op::route("/crvs/registry/sync/disabled", "crvs"), None);
        assert_eq!(Op::route("/xx/registry/search", "crvs"), None);
        assert_eq!(Op::route("/registry/nope", "crvs"), None);
        for (path, reg, op) in Op::routes("social") {
            assert_eq!(Op::route(&path, "social"), Some((op, reg)), "{path}");
        }
    }
}
