//! Validation of DCI messages against the spec's constraints, on JSON values, so that a request
//! too broken to parse into the typed structs still gets every problem named by field path.
//!
//! Rules (from the latest bundled specs): required fields; ids and codes at most 99 characters
//! (`transaction_id`, `correlation_id`, `reference_id`, `message_id`, subscription codes,
//! `sender_id`, `receiver_id`); messages at most 999 (`status_reason_message`,
//! `error.message`); timestamps RFC 3339 with a timezone; `page_size` and `page_number` at
//! least 1; `locale` ISO 639-3 (`^[a-z]{3}$`); enum values; `header.total_count` at least the
//! number of items the message carries and `completed_count` at most `total_count`.
//!
//! The spec gives `maxLength: 99` only to some ids (transaction_id, correlation_id, subscription
//! codes); libdci applies it to every id and code, as the DCI guidelines state for all ids.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::codes::*;
use crate::error::{Error, Result, Violation};

/// Maximum length of ids and codes.
pub const MAX_ID_LEN: usize = 99;
/// Maximum length of human-readable messages.
pub const MAX_MESSAGE_LEN: usize = 999;

/// Which header a message travels with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    /// `MsgHeader_V1.0.0` (sender_id and total_count required).
    Request,
    /// `MsgCallbackHeader_V1.0.0` (status required).
    Callback,
}

/// Every message body libdci validates. Parse from a schema name (`SearchRequest`), an action
/// (`search`, `on-search`, ...) or an IBR/DR endpoint name (`enrolled`, `disabled`,
/// `get-disability-support`, `get-disability-details`, `enrollment-updates`, and `on-` forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    SearchRequest,
    SearchResponse,
    SubscribeRequest,
    SubscribeResponse,
    NotifyEventRequest,
    UnSubscribeRequest,
    UnSubscribeResponse,
    TxnStatusRequest,
    TxnStatusResponse,
    EnrolledRequest,
    EnrolledResponse,
    EnrollmentUpdatesRequest,
    EnrollmentUpdatesResponse,
    DisabledRequest,
    DisabledResponse,
    GetDisabilitySupportRequest,
    GetDisabilitySupportResponse,
    GetDisabilityInfoResponse,
    /// The synchronous ack body `{message: {ack_status, ...}}` (no envelope).
    Ack,
}

impl MessageKind {
    pub const ALL: &'static [MessageKind] = &[
        MessageKind::SearchRequest,
        MessageKind::SearchResponse,
        MessageKind::SubscribeRequest,
        MessageKind::SubscribeResponse,
        MessageKind::NotifyEventRequest,
        MessageKind::UnSubscribeRequest,
        MessageKind::UnSubscribeResponse,
        MessageKind::TxnStatusRequest,
        MessageKind::TxnStatusResponse,
        MessageKind::EnrolledRequest,
        MessageKind::EnrolledResponse,
        MessageKind::EnrollmentUpdatesRequest,
        MessageKind::EnrollmentUpdatesResponse,
        MessageKind::DisabledRequest,
        MessageKind::DisabledResponse,
        MessageKind::GetDisabilitySupportRequest,
        MessageKind::GetDisabilitySupportResponse,
        MessageKind::GetDisabilityInfoResponse,
        MessageKind::Ack,
    ];

    /// The spec's schema name.
    pub fn schema_name(self) -> &'static str {
        use MessageKind::*;
        match self {
            SearchRequest => "SearchRequest",
            SearchResponse => "SearchResponse",
            SubscribeRequest => "SubscribeRequest",
            SubscribeResponse => "SubscribeResponse",
            NotifyEventRequest => "NotifyEventRequest",
            UnSubscribeRequest => "UnSubscribeRequest",
            UnSubscribeResponse => "UnSubscribeResponse",
            TxnStatusRequest => "TxnStatusRequest",
            TxnStatusResponse => "TxnStatusResponse",
            EnrolledRequest => "EnrolledRequest",
            EnrolledResponse => "EnrolledResponse",
            EnrollmentUpdatesRequest => "EnrollmentUpdatesRequest",
            EnrollmentUpdatesResponse => "EnrollmentUpdatesResponse",
            DisabledRequest => "DisabledRequest",
            DisabledResponse => "DisabledResponse",
            GetDisabilitySupportRequest => "GetDisabilitySupportRequest",
            GetDisabilitySupportResponse => "GetDisabilitySupportResponse",
            GetDisabilityInfoResponse => "GetDisabilityInfoResponse",
            Ack => "Ack",
        }
    }

    /// The header this message travels with; `None` for the ack. The spec gives on-subscribe
    /// and on-unsubscribe the request header (`MsgHeader_V1.0.0`), unlike the other callbacks.
    pub fn header_kind(self) -> Option<HeaderKind> {
        use MessageKind::*;
        Some(match self {
            SearchRequest
            | SubscribeRequest
            | SubscribeResponse
            | UnSubscribeRequest
            | UnSubscribeResponse
            | TxnStatusRequest
            | EnrolledRequest
            | DisabledRequest
            | GetDisabilitySupportRequest => HeaderKind::Request,
            SearchResponse
            | NotifyEventRequest
            | TxnStatusResponse
            | EnrolledResponse
            | EnrollmentUpdatesRequest
            | EnrollmentUpdatesResponse
            | DisabledResponse
            | GetDisabilitySupportResponse
            | GetDisabilityInfoResponse => HeaderKind::Callback,
            Ack => return None,
        })
    }

    /// The `header.action` the spec allows; empty when the spec names none.
    pub fn actions(self) -> &'static [&'static str] {
        use MessageKind::*;
        match self {
            SearchRequest | EnrolledRequest | DisabledRequest | GetDisabilitySupportRequest => {
                &["search"]
            }
            SearchResponse
            | EnrolledResponse
            | DisabledResponse
            | GetDisabilitySupportResponse
            | GetDisabilityInfoResponse => &["on-search"],
            SubscribeRequest => &["subscribe"],
            SubscribeResponse => &["on-subscribe"],
            NotifyEventRequest | EnrollmentUpdatesRequest => &["notify"],
            UnSubscribeRequest => &["unsubscribe"],
            UnSubscribeResponse => &["on-unsubscribe"],
            TxnStatusRequest => &["txn-status"],
            TxnStatusResponse => &["txn-on-status"],
            EnrollmentUpdatesResponse | Ack => &[],
        }
    }

    /// The message array whose length `header.total_count` must cover, for requests.
    fn counted_items(self) -> Option<&'static str> {
        match self {
            MessageKind::SearchRequest => Some("search_request"),
            MessageKind::SubscribeRequest => Some("subscribe_request"),
            MessageKind::NotifyEventRequest => Some("notify_event"),
            _ => None,
        }
    }

    /// The message kind a request `header.action` implies for the generic registry endpoints.
    pub fn from_action(action: &str) -> Option<Self> {
        use MessageKind::*;
        Some(match action {
            "search" => SearchRequest,
            "on-search" => SearchResponse,
            "subscribe" => SubscribeRequest,
            "on-subscribe" => SubscribeResponse,
            "notify" => NotifyEventRequest,
            "unsubscribe" => UnSubscribeRequest,
            "on-unsubscribe" => UnSubscribeResponse,
            "txn-status" => TxnStatusRequest,
            "txn-on-status" => TxnStatusResponse,
            _ => return None,
        })
    }
}

/// The actions of the registry API (`header.action`).
pub const ACTIONS: &[&str] = &[
    "search",
    "on-search",
    "subscribe",
    "on-subscribe",
    "notify",
    "unsubscribe",
    "on-unsubscribe",
    "txn-status",
    "txn-on-status",
];

/// The message kind of a registry API action; an error naming `header.action` for any other
/// word (`on_search`, `Search`), so that a misspelt action is refused before it is signed.
pub fn known_action(action: &str) -> Result<MessageKind> {
    MessageKind::from_action(action).ok_or_else(|| {
        Error::Validation(vec![Violation::new(
            "header.action",
            format!(
                "unknown action {action:?} (expected one of {})",
                ACTIONS.join(", ")
            ),
        )])
    })
}

/// The message kinds of a registry endpoint path (`/registry/sync/search`): the request and,
/// for synchronous endpoints, the response. Covers every path of the five latest specs.
pub fn endpoint_kinds(path: &str) -> Option<(MessageKind, Option<MessageKind>)> {
    use MessageKind::*;
    let path = path.trim_end_matches('/');
    Some(match path {
        "/registry/search" => (SearchRequest, None),
        "/registry/on-search" => (SearchResponse, None),
        "/registry/subscribe" => (SubscribeRequest, None),
        "/registry/on-subscribe" => (SubscribeResponse, None),
        "/registry/notify" => (NotifyEventRequest, None),
        "/registry/unsubscribe" => (UnSubscribeRequest, None),
        "/registry/on-unsubscribe" => (UnSubscribeResponse, None),
        "/registry/txn/status" => (TxnStatusRequest, None),
        "/registry/txn/on-status" => (TxnStatusResponse, None),
        "/registry/sync/search" => (SearchRequest, Some(SearchResponse)),
        "/registry/sync/txn/status" => (TxnStatusRequest, Some(TxnStatusResponse)),
        "/registry/sync/enrolled" => (EnrolledRequest, Some(EnrolledResponse)),
        "/registry/sync/enrollment/updates" => (EnrollmentUpdatesRequest, None),
        "/registry/sync/disabled" => (DisabledRequest, Some(DisabledResponse)),
        "/registry/sync/get-disability-support" => (
            GetDisabilitySupportRequest,
            Some(GetDisabilitySupportResponse),
        ),
        "/registry/sync/get-disability-details" => {
            (GetDisabilitySupportRequest, Some(GetDisabilityInfoResponse))
        }
        _ => return None,
    })
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.schema_name())
    }
}

impl FromStr for MessageKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        use MessageKind::*;
        if let Some(k) = MessageKind::from_action(s) {
            return Ok(k);
        }
        if let Some(k) = MessageKind::ALL.iter().find(|k| k.schema_name() == s) {
            return Ok(*k);
        }
        Ok(match s {
            "enrolled" => EnrolledRequest,
            "on-enrolled" => EnrolledResponse,
            "enrollment-updates" | "enrollment/updates" => EnrollmentUpdatesRequest,
            "on-enrollment-updates" => EnrollmentUpdatesResponse,
            "disabled" => DisabledRequest,
            "on-disabled" => DisabledResponse,
            "get-disability-support" | "get-disability-details" => GetDisabilitySupportRequest,
            "on-get-disability-support" => GetDisabilitySupportResponse,
            "on-get-disability-details" => GetDisabilityInfoResponse,
            "ack" | "AckResponse" => Ack,
            other => {
                return Err(Error::Config {
                    field: "kind".into(),
                    reason: format!("unknown message kind {other:?}"),
                })
            }
        })
    }
}

/// Validates raw JSON. `kind` names the message (see [`MessageKind`]); `value` is the whole
/// envelope `{signature, header, message}` (or the ack body for kind `ack`). Returns
/// `Error::Validation` listing every violation by path (`message.search_request[0].timestamp`).
pub fn validate_value(kind: &str, value: &Value) -> Result<()> {
    let kind: MessageKind = kind.parse()?;
    validate_envelope_as(kind, value)
}

/// Validates a raw envelope, choosing the message kind from `header.action` (generic registry
/// endpoints; IBR/DR endpoints reuse `search`, so use [`validate_value`] with their kind).
pub fn validate_envelope_value(value: &Value) -> Result<()> {
    let action = value
        .get("header")
        .and_then(|h| h.get("action"))
        .and_then(Value::as_str);
    match action.and_then(MessageKind::from_action) {
        Some(kind) => validate_envelope_as(kind, value),
        None => {
            // Still report everything else about the envelope.
            let mut c = Checker::default();
            if let Some(env) = c.object(value, "") {
                if let Some(h) = c.req(env, "header", "") {
                    if let Some(h) = c.object(h, "header") {
                        header_fields(&mut c, h, "header", HeaderKind::Request);
                    }
                }
            }
            if action.is_some() {
                c.push("header.action", "an action of the registry API (search, on-search, subscribe, on-subscribe, notify, unsubscribe, on-unsubscribe, txn-status, txn-on-status)");
            }
            c.finish()
        }
    }
}

/// Validates an envelope value as carrying `kind`.
pub fn validate_envelope_as(kind: MessageKind, value: &Value) -> Result<()> {
    let mut c = Checker::default();
    if kind == MessageKind::Ack {
        ack(&mut c, value);
        return c.finish();
    }
    let Some(env) = c.object(value, "") else {
        return c.finish();
    };
    if let Some(sig) = env.get("signature") {
        if !sig.is_string() && !sig.is_null() {
            c.push("signature", "must be a string");
        }
    }
    let header_kind = kind.header_kind().unwrap_or(HeaderKind::Request);
    let mut encrypted = false;
    let mut total_count = None;
    if let Some(h) = c.req(env, "header", "") {
        if let Some(h) = c.object(h, "header") {
            header_fields(&mut c, h, "header", header_kind);
            let actions = kind.actions();
            if let Some(a) = h.get("action").and_then(Value::as_str) {
                if !actions.is_empty() && !actions.contains(&a) {
                    c.push(
                        "header.action",
                        format!("must be {} for {}", one_of(actions), kind),
                    );
                }
            }
            encrypted = h.get("is_msg_encrypted") == Some(&Value::Bool(true));
            total_count = h.get("total_count").and_then(Value::as_i64);
        }
    }
    // The spec requires `message` on requests only; callbacks may carry just a header.
    let message = match header_kind {
        HeaderKind::Request => c.req(env, "message", ""),
        HeaderKind::Callback => env.get("message").filter(|m| !m.is_null()),
    };
    if let Some(m) = message {
        if encrypted || m.get("ciphertext").is_some() {
            encrypted_message(&mut c, m, "message");
        } else {
            message_fields(&mut c, kind, m, "message");
            if let (Some(tc), Some(items)) = (total_count, kind.counted_items()) {
                if let Some(n) = m.get(items).and_then(Value::as_array).map(Vec::len) {
                    if header_kind == HeaderKind::Request && tc >= 0 && (tc as usize) < n {
                        c.push(
                            "header.total_count",
                            format!("must be at least the number of items in message.{items} ({n}), got {tc}"),
                        );
                    }
                }
            }
        }
    }
    c.finish()
}

/// Validates a message body alone (paths start at the message: `search_request[0]...`).
pub fn validate_message_as(kind: MessageKind, value: &Value) -> Result<()> {
    let mut c = Checker::default();
    if kind == MessageKind::Ack {
        ack(&mut c, value);
    } else {
        message_fields(&mut c, kind, value, "");
    }
    c.finish()
}

/// Validates a header value alone (paths start with `header.`).
pub fn validate_header_value(value: &Value, kind: HeaderKind) -> Result<()> {
    let mut c = Checker::default();
    if let Some(h) = c.object(value, "header") {
        header_fields(&mut c, h, "header", kind);
    }
    c.finish()
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Checker {
    out: Vec<Violation>,
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

fn idx(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

fn one_of(values: &[&str]) -> String {
    match values {
        [one] => format!("{one:?}"),
        _ => format!(
            "one of {}",
            values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// How errors name a JSON value's type ("a string", "an object", ...).
pub(crate) fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The integer a JSON number holds exactly: an integer within i64, or an integral float below
/// 2^53 (beyond it neighbouring integers share a float, so `9.2e18` or a u64 past i64::MAX
/// would be read as some other number). `dci::model::Int` reads floats with the same bound.
/// The Jan-2025 specs name a search criteria's record type slot `reg_event_type`, the latest
/// `reg_record_type`: both at once would leave a reader to guess which one holds. The one
/// rule for the validator and the client's request builder; `criteria` is the path of the
/// `search_criteria`.
pub fn both_record_type_names(
    criteria: &str,
    has_record_type: bool,
    has_event_type: bool,
) -> Option<Violation> {
    (has_record_type && has_event_type).then(|| {
        Violation::new(
            join(criteria, "reg_event_type"),
            "is the Jan-2025 name of reg_record_type; send one of them, not both",
        )
    })
}

pub fn exact_int(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// The violation rule for a number [`exact_int`] refuses.
pub fn not_exact_int(n: &serde_json::Number) -> String {
    format!(
        "must be an integer from {} to {} (floats only below 2^53), got {n}",
        i64::MIN,
        i64::MAX
    )
}

/// Whether `s` is an RFC 3339 date-time with a timezone (`Z` or `±hh:mm`).
pub fn is_rfc3339(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// Whether `s` is an ISO 639-3 code as the spec's pattern `^[a-z]{3}$` states.
pub fn is_iso639_3(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_lowercase())
}

impl Checker {
    fn push(&mut self, path: impl Into<String>, rule: impl Into<String>) {
        let path = path.into();
        let path = if path.is_empty() {
            "(root)".to_string()
        } else {
            path
        };
        self.out.push(Violation::new(path, rule));
    }

    fn finish(self) -> Result<()> {
        if self.out.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.out))
        }
    }

    fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.push(
                    path,
                    format!("must be an object, got {}", json_type_name(other)),
                );
                None
            }
        }
    }

    /// A required member; reports `required` when absent or null.
    fn req<'a>(&mut self, m: &'a Map<String, Value>, key: &str, base: &str) -> Option<&'a Value> {
        match m.get(key) {
            None | Some(Value::Null) => {
                self.push(join(base, key), "required");
                None
            }
            Some(v) => Some(v),
        }
    }

    fn get<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        key: &str,
        base: &str,
        required: bool,
    ) -> Option<&'a Value> {
        if required {
            self.req(m, key, base)
        } else {
            m.get(key).filter(|v| !v.is_null())
        }
    }

    fn string<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        key: &str,
        base: &str,
        required: bool,
        max: Option<usize>,
    ) -> Option<&'a str> {
        let v = self.get(m, key, base, required)?;
        let Some(s) = v.as_str() else {
            self.push(
                join(base, key),
                format!("must be a string, got {}", json_type_name(v)),
            );
            return None;
        };
        if let Some(max) = max {
            let n = s.chars().count();
            if n > max {
                self.push(
                    join(base, key),
                    format!("at most {max} characters (got {n})"),
                );
            }
        }
        Some(s)
    }

    fn id(&mut self, m: &Map<String, Value>, key: &str, base: &str, required: bool) {
        self.string(m, key, base, required, Some(MAX_ID_LEN));
    }

    fn text(&mut self, m: &Map<String, Value>, key: &str, base: &str) {
        self.string(m, key, base, false, Some(MAX_MESSAGE_LEN));
    }

    fn timestamp(&mut self, m: &Map<String, Value>, key: &str, base: &str, required: bool) {
        if let Some(s) = self.string(m, key, base, required, None) {
            if !is_rfc3339(s) {
                self.push(
                    join(base, key),
                    format!("must be an RFC 3339 date-time with a timezone, got {s:?}"),
                );
            }
        }
    }

    fn locale(&mut self, m: &Map<String, Value>, base: &str) {
        if let Some(s) = self.string(m, "locale", base, false, None) {
            if !is_iso639_3(s) {
                self.push(
                    join(base, "locale"),
                    format!("must be an ISO 639-3 code (three lowercase letters), got {s:?}"),
                );
            }
        }
    }

    fn enumerated(
        &mut self,
        m: &Map<String, Value>,
        key: &str,
        base: &str,
        required: bool,
        allowed: &[&str],
    ) {
        // Membership implies the length limit, so only one violation is reported.
        if let Some(s) = self.string(m, key, base, required, None) {
            if !allowed.contains(&s) {
                self.push(
                    join(base, key),
                    format!("must be {}, got {s:?}", one_of(allowed)),
                );
            }
        }
    }

    /// An integer with an optional minimum.
    fn integer(
        &mut self,
        m: &Map<String, Value>,
        key: &str,
        base: &str,
        required: bool,
        min: i64,
    ) -> Option<i64> {
        let v = self.get(m, key, base, required)?;
        let n = match v {
            Value::Number(n) => match exact_int(n) {
                Some(i) => Some(i),
                None => {
                    self.push(join(base, key), not_exact_int(n));
                    return None;
                }
            },
            _ => None,
        };
        match n {
            None => {
                self.push(
                    join(base, key),
                    format!("must be an integer, got {}", json_type_name(v)),
                );
                None
            }
            Some(n) if n < min => {
                self.push(join(base, key), format!("must be at least {min}, got {n}"));
                Some(n)
            }
            Some(n) => Some(n),
        }
    }

    fn boolean(&mut self, m: &Map<String, Value>, key: &str, base: &str) {
        if let Some(v) = m.get(key) {
            if !v.is_boolean() && !v.is_null() {
                self.push(
                    join(base, key),
                    format!("must be a boolean, got {}", json_type_name(v)),
                );
            }
        }
    }

    fn array<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        key: &str,
        base: &str,
        required: bool,
    ) -> Option<&'a Vec<Value>> {
        let v = self.get(m, key, base, required)?;
        match v.as_array() {
            Some(a) => Some(a),
            None => {
                self.push(
                    join(base, key),
                    format!("must be an array, got {}", json_type_name(v)),
                );
                None
            }
        }
    }

    fn sub_object<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        key: &str,
        base: &str,
        required: bool,
    ) -> Option<&'a Map<String, Value>> {
        let v = self.get(m, key, base, required)?;
        self.object(v, &join(base, key))
    }

    /// Each item of an array member, with its path (callers check it is an object, in order,
    /// so violations come out in document order).
    fn items<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        key: &str,
        base: &str,
        required: bool,
    ) -> Vec<(String, &'a Value)> {
        let path = join(base, key);
        match self.array(m, key, base, required) {
            Some(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (idx(&path, i), v))
                .collect(),
            None => Vec::new(),
        }
    }
}

fn header_fields(c: &mut Checker, h: &Map<String, Value>, base: &str, kind: HeaderKind) {
    let request = kind == HeaderKind::Request;
    c.string(h, "version", base, false, Some(MAX_ID_LEN));
    c.id(h, "message_id", base, true);
    c.timestamp(h, "message_ts", base, true);
    c.string(h, "action", base, true, Some(MAX_ID_LEN));
    c.id(h, "sender_id", base, request);
    c.string(h, "sender_uri", base, false, None);
    c.id(h, "receiver_id", base, false);
    let total = c.integer(h, "total_count", base, request, 0);
    let completed = c.integer(h, "completed_count", base, false, 0);
    if let (Some(t), Some(done)) = (total, completed) {
        if done > t {
            c.push(
                join(base, "completed_count"),
                format!("must be at most total_count ({t}), got {done}"),
            );
        }
    }
    c.boolean(h, "is_msg_encrypted", base);
    c.enumerated(h, "status", base, !request, RequestStatus::KNOWN);
    c.enumerated(h, "status_reason_code", base, false, HEADER_REASON_CODES);
    c.text(h, "status_reason_message", base);
}

fn encrypted_message(c: &mut Checker, v: &Value, base: &str) {
    let Some(m) = c.object(v, base) else { return };
    if let Some(h) = c.sub_object(m, "header", base, true) {
        let hb = join(base, "header");
        for k in ["alg", "enc", "kid"] {
            c.string(h, k, &hb, true, None);
        }
    }
    for k in ["ciphertext", "encrypted_key", "tag", "iv"] {
        c.string(m, k, base, true, None);
    }
}

fn message_fields(c: &mut Checker, kind: MessageKind, v: &Value, base: &str) {
    use MessageKind::*;
    let Some(m) = c.object(v, base) else {
        return;
    };
    c.id(m, "transaction_id", base, true);
    match kind {
        SearchRequest => {
            for (p, item) in c.items(m, "search_request", base, true) {
                let Some(item) = c.object(item, &p) else {
                    continue;
                };
                item_head(c, item, &p);
                if let Some(sc) = c.sub_object(item, "search_criteria", &p, true) {
                    search_criteria(c, sc, &join(&p, "search_criteria"));
                }
                c.locale(item, &p);
            }
            unique_reference_ids(c, m, "search_request", base);
        }
        SearchResponse | GetDisabilitySupportResponse | GetDisabilityInfoResponse => {
            c.id(m, "correlation_id", base, true);
            search_response_items(c, m, "search_response", base);
        }
        SubscribeRequest => {
            for (p, item) in c.items(m, "subscribe_request", base, true) {
                let Some(item) = c.object(item, &p) else {
                    continue;
                };
                item_head(c, item, &p);
                if let Some(sc) = c.sub_object(item, "subscribe_criteria", &p, true) {
                    let sp = join(&p, "subscribe_criteria");
                    c.string(sc, "version", &sp, false, Some(MAX_ID_LEN));
                    c.string(sc, "reg_type", &sp, false, None);
                    c.string(sc, "reg_event_type", &sp, true, None);
                    frequency(c, sc, &sp);
                    c.enumerated(sc, "filter_type", &sp, false, QueryType::KNOWN);
                    c.req(sc, "filter", &sp);
                    c.string(sc, "notify_record_type", &sp, true, None);
                }
                c.locale(item, &p);
            }
            unique_reference_ids(c, m, "subscribe_request", base);
        }
        SubscribeResponse => {
            c.id(m, "correlation_id", base, true);
            for (p, item) in c.items(m, "subscribe_response", base, true) {
                let Some(item) = c.object(item, &p) else {
                    continue;
                };
                item_status(c, item, &p, SUBSCRIBE_REASON_CODES);
                for (sp, s) in c.items(item, "subscriptions", &p, false) {
                    let Some(s) = c.object(s, &sp) else {
                        continue;
                    };
                    c.string(s, "version", &sp, false, Some(MAX_ID_LEN));
                    c.id(s, "code", &sp, true);
                    c.enumerated(s, "status", &sp, true, SubscriptionStatus::KNOWN);
                    c.timestamp(s, "timestamp", &sp, true);
                    frequency(c, s, &sp);
                    c.enumerated(s, "filter_type", &sp, false, QueryType::KNOWN);
                    c.locale(s, &sp);
                }
                if let Some(pg) = c.sub_object(item, "pagination", &p, false) {
                    pagination(c, pg, &join(&p, "pagination"), true);
                }
                c.locale(item, &p);
            }
        }
        NotifyEventRequest => {
            for (p, item) in c.items(m, "notify_event", base, true) {
                let Some(item) = c.object(item, &p) else {
                    continue;
                };
                item_head(c, item, &p);
                if let Some(d) = c.sub_object(item, "data", &p, true) {
                    let dp = join(&p, "data");
                    c.string(d, "version", &dp, false, Some(MAX_ID_LEN));
                    c.string(d, "reg_record_type", &dp, true, None);
                    c.req(d, "reg_records", &dp);
                }
                c.locale(item, &p);
            }
            unique_reference_ids(c, m, "notify_event", base);
        }
        UnSubscribeRequest => {
            // Jan-2025 spellings are accepted in place of the corrected names.
            if m.contains_key("timesstamp") && !m.contains_key("timestamp") {
                c.timestamp(m, "timesstamp", base, true);
            } else {
                c.timestamp(m, "timestamp", base, true);
            }
            let key =
                if m.contains_key("sunscription_codes") && !m.contains_key("subscription_codes") {
                    "sunscription_codes"
                } else {
                    "subscription_codes"
                };
            let path = join(base, key);
            if let Some(a) = c.array(m, key, base, true) {
                for (i, code) in a.iter().enumerate() {
                    check_code_string(c, code, &idx(&path, i));
                }
            }
        }
        UnSubscribeResponse => {
            c.id(m, "correlation_id", base, true);
            c.timestamp(m, "timestamp", base, true);
            c.enumerated(m, "status", base, true, RequestStatus::KNOWN);
            c.enumerated(
                m,
                "status_reason_code",
                base,
                false,
                UNSUBSCRIBE_REASON_CODES,
            );
            c.text(m, "status_reason_message", base);
            for (p, s) in c.items(m, "subscription_status", base, false) {
                let Some(s) = c.object(s, &p) else {
                    continue;
                };
                c.id(s, "code", &p, true);
                c.enumerated(s, "status", &p, true, SubscriptionStatus::KNOWN);
            }
        }
        TxnStatusRequest => {
            if let Some(t) = c.sub_object(m, "txnstatus_request", base, true) {
                let tp = join(base, "txnstatus_request");
                c.id(t, "reference_id", &tp, true);
                c.enumerated(t, "txn_type", &tp, true, TxnType::KNOWN);
                c.enumerated(t, "attribute_type", &tp, true, TxnAttributeType::KNOWN);
                let vp = join(&tp, "attribute_value");
                match c.req(t, "attribute_value", &tp) {
                    Some(Value::Array(a)) => {
                        for (i, r) in a.iter().enumerate() {
                            check_code_string(c, r, &idx(&vp, i));
                        }
                    }
                    Some(v @ Value::String(_)) => check_code_string(c, v, &vp),
                    Some(other) => c.push(
                        vp,
                        format!(
                            "must be a string or an array of strings, got {}",
                            json_type_name(other)
                        ),
                    ),
                    None => {}
                }
                c.locale(t, &tp);
            }
        }
        TxnStatusResponse => {
            c.id(m, "correlation_id", base, true);
            if let Some(t) = c.sub_object(m, "txnstatus_response", base, true) {
                let tp = join(base, "txnstatus_response");
                c.enumerated(t, "txn_type", &tp, true, TxnType::KNOWN);
                if let Some(s) = c.sub_object(t, "txn_status", &tp, true) {
                    let sp = join(&tp, "txn_status");
                    c.id(s, "transaction_id", &sp, true);
                    // `txn_status` is a search response, or a receipt for txn_type `receipt`.
                    let receipt = t.get("txn_type").and_then(Value::as_str) == Some("receipt")
                        || (s.contains_key("receipt_information")
                            && !s.contains_key("search_response"));
                    if receipt {
                        c.sub_object(s, "receipt_information", &sp, true);
                    } else {
                        c.id(s, "correlation_id", &sp, true);
                        search_response_items(c, s, "search_response", &sp);
                    }
                }
            }
        }
        EnrolledRequest => {
            if let Some((e, ep)) = criteria(c, m, "enrolled_criteria", base) {
                c.enumerated(e, "response_entity", &ep, false, ResponseEntity::KNOWN);
            }
        }
        EnrolledResponse => yes_no_items(c, m, "enrolled_response", base, Some("enrolled_status")),
        EnrollmentUpdatesRequest => {
            if let Some(u) = c.sub_object(m, "enrolled_updates", base, true) {
                let up = join(base, "enrolled_updates");
                for (p, b) in c.items(u, "beneficiaries", &up, false) {
                    c.object(b, &p);
                }
            }
        }
        EnrollmentUpdatesResponse => yes_no_items(c, m, "enrolled_response", base, None),
        DisabledRequest | GetDisabilitySupportRequest => {
            criteria(c, m, "disabled_criteria", base);
        }
        DisabledResponse => yes_no_items(c, m, "disabled_response", base, Some("disabled_status")),
        Ack => ack(c, v),
    }
}

/// The IBR / DR criteria object `key` (required) with its optional `query_type`; returns it and
/// its path for further checks.
fn criteria<'a>(
    c: &mut Checker,
    m: &'a Map<String, Value>,
    key: &str,
    base: &str,
) -> Option<(&'a Map<String, Value>, String)> {
    let obj = c.sub_object(m, key, base, true)?;
    let path = join(base, key);
    c.enumerated(obj, "query_type", &path, false, QueryType::KNOWN);
    Some((obj, path))
}

/// An IBR / DR response: `correlation_id` and a list of status items, each with its required
/// yes/no answer field when the message has one (`enrolled_status`, `disabled_status`).
fn yes_no_items(
    c: &mut Checker,
    m: &Map<String, Value>,
    list: &str,
    base: &str,
    answer: Option<&str>,
) {
    c.id(m, "correlation_id", base, true);
    for (p, item) in c.items(m, list, base, true) {
        let Some(item) = c.object(item, &p) else {
            continue;
        };
        item_status(c, item, &p, SEARCH_REASON_CODES);
        if let Some(field) = answer {
            c.enumerated(item, field, &p, true, YesNo::KNOWN);
        }
    }
}

fn check_code_string(c: &mut Checker, v: &Value, path: &str) {
    match v.as_str() {
        Some(s) if s.chars().count() > MAX_ID_LEN => c.push(
            path,
            format!(
                "at most {MAX_ID_LEN} characters (got {})",
                s.chars().count()
            ),
        ),
        Some(_) => {}
        None => c.push(path, format!("must be a string, got {}", json_type_name(v))),
    }
}

/// `reference_id` and `timestamp`, required on every request and response item.
fn item_head(c: &mut Checker, item: &Map<String, Value>, p: &str) {
    c.id(item, "reference_id", p, true);
    c.timestamp(item, "timestamp", p, true);
}

/// `reference_id` must be unique among a request's items (`rjct.reference_id.duplicate`).
fn unique_reference_ids(c: &mut Checker, m: &Map<String, Value>, key: &str, base: &str) {
    let Some(items) = m.get(key).and_then(Value::as_array) else {
        return;
    };
    let path = join(base, key);
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(r) = item.get("reference_id").and_then(Value::as_str) else {
            continue;
        };
        match seen.iter().find(|(s, _)| *s == r) {
            Some((_, first)) => c.push(
                format!("{}.reference_id", idx(&path, i)),
                format!("duplicate of {}.reference_id {r:?}", idx(&path, *first)),
            ),
            None => seen.push((r, i)),
        }
    }
}

fn item_status(c: &mut Checker, item: &Map<String, Value>, p: &str, codes: &[&str]) {
    item_head(c, item, p);
    c.enumerated(item, "status", p, true, RequestStatus::KNOWN);
    c.enumerated(item, "status_reason_code", p, false, codes);
    c.text(item, "status_reason_message", p);
}

fn search_response_items(c: &mut Checker, m: &Map<String, Value>, key: &str, base: &str) {
    for (p, item) in c.items(m, key, base, true) {
        let Some(item) = c.object(item, &p) else {
            continue;
        };
        item_status(c, item, &p, SEARCH_REASON_CODES);
        if let Some(d) = c.sub_object(item, "data", &p, false) {
            let dp = join(&p, "data");
            c.string(d, "version", &dp, false, Some(MAX_ID_LEN));
            if let Some(r) = c.req(d, "reg_records", &dp) {
                // An array in most specs, an object in FR (a known defect): both accepted.
                if !r.is_array() && !r.is_object() {
                    c.push(
                        join(&dp, "reg_records"),
                        format!("must be an array of records, got {}", json_type_name(r)),
                    );
                }
            }
        }
        if let Some(pg) = c.sub_object(item, "pagination", &p, false) {
            pagination(c, pg, &join(&p, "pagination"), true);
        }
        c.locale(item, &p);
    }
}

fn search_criteria(c: &mut Checker, sc: &Map<String, Value>, sp: &str) {
    c.string(sc, "version", sp, false, Some(MAX_ID_LEN));
    c.string(sc, "reg_type", sp, false, None);
    c.string(sc, "reg_record_type", sp, false, None);
    c.string(sc, "reg_event_type", sp, false, None);
    if let Some(v) = both_record_type_names(
        sp,
        sc.contains_key("reg_record_type"),
        sc.contains_key("reg_event_type"),
    ) {
        c.push(v.path, v.rule);
    }
    c.enumerated(sc, "query_type", sp, true, QueryType::KNOWN);
    c.enumerated(sc, "response_entity", sp, false, ResponseEntity::KNOWN);
    c.req(sc, "query", sp);
    for (p, s) in c.items(sc, "sort", sp, false) {
        let Some(s) = c.object(s, &p) else {
            continue;
        };
        c.string(s, "attribute_name", &p, false, None);
        c.enumerated(s, "sort_order", &p, false, SortOrder::KNOWN);
    }
    if let Some(pg) = c.sub_object(sc, "pagination", sp, false) {
        pagination(c, pg, &join(sp, "pagination"), false);
    }
    for k in ["consent", "authorize"] {
        if let Some(v) = sc.get(k) {
            if !v.is_object() && !v.is_null() {
                c.push(
                    join(sp, k),
                    format!("must be an object, got {}", json_type_name(v)),
                );
            }
        }
    }
}

fn pagination(c: &mut Checker, pg: &Map<String, Value>, p: &str, response: bool) {
    c.integer(pg, "page_size", p, true, 1);
    c.integer(pg, "page_number", p, response, 1);
    if response {
        c.integer(pg, "total_count", p, true, 0);
    }
}

fn frequency(c: &mut Checker, m: &Map<String, Value>, base: &str) {
    if let Some(f) = c.sub_object(m, "frequency", base, false) {
        let fp = join(base, "frequency");
        c.timestamp(f, "start_time", &fp, true);
        c.timestamp(f, "end_time", &fp, true);
        c.string(f, "frequency", &fp, true, None);
    }
}

fn ack(c: &mut Checker, v: &Value) {
    let Some(top) = c.object(v, "") else { return };
    let Some(m) = c.sub_object(top, "message", "", true) else {
        return;
    };
    c.enumerated(m, "ack_status", "message", true, AckStatus::KNOWN);
    c.timestamp(m, "timestamp", "message", true);
    c.id(m, "correlation_id", "message", true);
    if let Some(e) = c.sub_object(m, "error", "message", false) {
        c.enumerated(e, "code", "message.error", true, ErrorCode::KNOWN);
        c.text(e, "message", "message.error");
    }
    if m.get("ack_status").and_then(Value::as_str) == Some("ERR") && m.get("error").is_none() {
        c.push("message.error", "required when ack_status is \"ERR\"");
    }
}
