//! Response checks: the required fields, enums and formats of the latest bundled specs, with
//! small checkers (no network, no schema library).

use dci::model::{
    ErrorCode, RequestStatus, HEADER_REASON_CODES, SEARCH_REASON_CODES, SUBSCRIBE_REASON_CODES,
    UNSUBSCRIBE_REASON_CODES,
};
use serde_json::Value;

/// The spec's code lists, from the library (src/model/codes.rs, cross-checked against the
/// bundled specs by tests/model_spec_crosscheck.rs).
const ERROR_CODES: &[&str] = ErrorCode::KNOWN;
const STATUS: &[&str] = RequestStatus::KNOWN;
const HEADER_REASONS: &[&str] = HEADER_REASON_CODES;
const SEARCH_REASONS: &[&str] = SEARCH_REASON_CODES;
const SUBSCRIBE_REASONS: &[&str] = SUBSCRIBE_REASON_CODES;
const UNSUBSCRIBE_REASONS: &[&str] = UNSUBSCRIBE_REASON_CODES;

/// Collects schema violations as `path: rule`.
#[derive(Default)]
pub struct Schema(Vec<String>);

impl Schema {
    pub fn bad(&mut self, path: &str, rule: impl std::fmt::Display) {
        self.0.push(format!("{path}: {rule}"));
    }
    pub fn obj<'a>(
        &mut self,
        v: &'a Value,
        path: &str,
    ) -> Option<&'a serde_json::Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.bad(path, "must be an object");
        }
        o
    }
    /// A string field: required or not, at most `max` characters, one of `one_of` if given.
    pub fn str(
        &mut self,
        o: &serde_json::Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
        max: Option<usize>,
        one_of: Option<&[&str]>,
    ) -> Option<String> {
        let p = format!("{path}.{key}");
        match o.get(key) {
            None if required => {
                self.bad(&p, "required");
                None
            }
            None => None,
            Some(Value::String(s)) => {
                if max.is_some_and(|m| s.chars().count() > m) {
                    self.bad(&p, format!("longer than {} characters", max.unwrap_or(0)));
                }
                if let Some(e) = one_of {
                    if !e.contains(&s.as_str()) {
                        self.bad(&p, format!("{s:?} is not one of {e:?}"));
                    }
                }
                Some(s.clone())
            }
            Some(other) => {
                self.bad(&p, format!("must be a string, not {other}"));
                None
            }
        }
    }
    pub fn date_time(
        &mut self,
        o: &serde_json::Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) {
        if let Some(s) = self.str(o, key, path, required, None, None) {
            if chrono::DateTime::parse_from_rfc3339(&s).is_err() {
                self.bad(
                    &format!("{path}.{key}"),
                    format!("{s:?} is not a date-time with a timezone"),
                );
            }
        }
    }
    pub fn locale(&mut self, o: &serde_json::Map<String, Value>, path: &str) {
        if let Some(s) = self.str(o, "locale", path, false, None, None) {
            if !(s.len() == 3 && s.bytes().all(|b| b.is_ascii_lowercase())) {
                self.bad(
                    &format!("{path}.locale"),
                    format!("{s:?} does not match ^[a-z]{{3}}$"),
                );
            }
        }
    }
    pub fn int(
        &mut self,
        o: &serde_json::Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) {
        self.typed(o, key, path, required, "an integer", |v| {
            v.is_i64() || v.is_u64()
        });
    }
    pub fn number(
        &mut self,
        o: &serde_json::Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) {
        self.typed(o, key, path, required, "a number", Value::is_number);
    }
    /// A field that must be `what` (`is` says whether a value is).
    fn typed(
        &mut self,
        o: &serde_json::Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
        what: &str,
        is: fn(&Value) -> bool,
    ) {
        match o.get(key) {
            None if required => self.bad(&format!("{path}.{key}"), "required"),
            None => {}
            Some(v) if is(v) => {}
            Some(v) => self.bad(&format!("{path}.{key}"), format!("must be {what}, not {v}")),
        }
    }
    pub fn array<'a>(
        &mut self,
        o: &'a serde_json::Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<&'a Vec<Value>> {
        match o.get(key) {
            None if required => {
                self.bad(&format!("{path}.{key}"), "required");
                None
            }
            None => None,
            Some(Value::Array(a)) => Some(a),
            Some(v) => {
                self.bad(
                    &format!("{path}.{key}"),
                    format!("must be an array, not {v}"),
                );
                None
            }
        }
    }
    /// transaction_id and correlation_id: required, at most 99 characters.
    pub fn txn_ids(&mut self, o: &serde_json::Map<String, Value>, path: &str) {
        for k in ["transaction_id", "correlation_id"] {
            self.str(o, k, path, true, Some(99), None);
        }
    }
    /// The fields every response item has: reference_id, timestamp, status, its reason
    /// (one of `reasons`) and locale.
    pub fn item_status<'a>(
        &mut self,
        it: &'a Value,
        p: &str,
        reasons: &[&str],
    ) -> Option<&'a serde_json::Map<String, Value>> {
        let it = self.obj(it, p)?;
        self.str(it, "reference_id", p, true, None, None);
        self.date_time(it, "timestamp", p, true);
        self.str(it, "status", p, true, None, Some(STATUS));
        self.str(it, "status_reason_code", p, false, None, Some(reasons));
        self.str(it, "status_reason_message", p, false, Some(999), None);
        self.locale(it, p);
        Some(it)
    }
    pub fn done(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("schema: {}", self.0.join("; ")))
        }
    }
}

/// components/responses/Response (the Ack).
pub fn check_ack_schema(body: &Value) -> Result<(), String> {
    let mut s = Schema::default();
    if let Some(root) = s.obj(body, "body") {
        match root.get("message") {
            None => {}
            Some(m) => {
                if let Some(m) = s.obj(m, "message") {
                    s.str(
                        m,
                        "ack_status",
                        "message",
                        true,
                        None,
                        Some(&["ACK", "NACK", "ERR"]),
                    );
                    s.date_time(m, "timestamp", "message", true);
                    s.str(m, "correlation_id", "message", true, Some(99), None);
                    if let Some(e) = m.get("error") {
                        if let Some(e) = s.obj(e, "message.error") {
                            s.str(e, "code", "message.error", false, None, Some(ERROR_CODES));
                            s.str(e, "message", "message.error", false, Some(999), None);
                        }
                    }
                }
            }
        }
    }
    s.done()
}

/// MsgCallbackHeader_V1.0.0 with the action the operation fixes.
pub fn check_callback_header(s: &mut Schema, h: &Value, action: &str) {
    if let Some(h) = s.obj(h, "header") {
        s.str(h, "message_id", "header", true, None, None);
        s.date_time(h, "message_ts", "header", true);
        s.str(h, "action", "header", true, None, Some(&[action]));
        s.str(h, "status", "header", true, None, Some(STATUS));
        s.str(
            h,
            "status_reason_code",
            "header",
            false,
            None,
            Some(HEADER_REASONS),
        );
        s.str(h, "status_reason_message", "header", false, Some(999), None);
        s.int(h, "total_count", "header", false);
        s.int(h, "completed_count", "header", false);
        s.str(h, "sender_id", "header", false, None, None);
        s.str(h, "receiver_id", "header", false, None, None);
    }
}

/// MsgHeader_V1.0.0 (on-subscribe and on-unsubscribe use it).
pub fn check_msg_header(s: &mut Schema, h: &Value, action: &str) {
    if let Some(h) = s.obj(h, "header") {
        s.str(h, "message_id", "header", true, None, None);
        s.date_time(h, "message_ts", "header", true);
        s.str(h, "action", "header", true, None, Some(&[action]));
        s.str(h, "sender_id", "header", true, None, None);
        s.int(h, "total_count", "header", true);
    }
}

pub fn check_search_items(s: &mut Schema, items: &[Value], path: &str) {
    for (i, it) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(it) = s.item_status(it, &p, SEARCH_REASONS) else {
            continue;
        };
        if let Some(data) = it.get("data") {
            let dp = format!("{p}.data");
            if let Some(data) = s.obj(data, &dp) {
                s.str(data, "version", &dp, false, None, None);
                s.str(data, "reg_type", &dp, false, None, None);
                s.str(data, "reg_record_type", &dp, false, None, None);
                if let Some(recs) = s.array(data, "reg_records", &dp, true) {
                    for (j, r) in recs.iter().enumerate() {
                        s.obj(r, &format!("{dp}.reg_records[{j}]"));
                    }
                }
            }
        }
        if let Some(pg) = it.get("pagination") {
            let pp = format!("{p}.pagination");
            if let Some(pg) = s.obj(pg, &pp) {
                for k in ["page_size", "page_number", "total_count"] {
                    s.number(pg, k, &pp, true);
                }
            }
        }
    }
}

/// SearchResponse.
pub fn check_search_response(s: &mut Schema, m: &Value) {
    if let Some(m) = s.obj(m, "message") {
        s.txn_ids(m, "message");
        if let Some(items) = s.array(m, "search_response", "message", true) {
            check_search_items(s, items, "message.search_response");
        }
    }
}

/// TxnStatusResponse (txn_type search: txn_status is a search response).
pub fn check_txn_status_response(s: &mut Schema, m: &Value) {
    let Some(m) = s.obj(m, "message") else { return };
    s.txn_ids(m, "message");
    let Some(r) = m.get("txnstatus_response") else {
        s.bad("message.txnstatus_response", "required");
        return;
    };
    let p = "message.txnstatus_response";
    let Some(r) = s.obj(r, p) else { return };
    let t = s.str(
        r,
        "txn_type",
        p,
        true,
        None,
        Some(&["search", "subscribe", "receipt"]),
    );
    let Some(ts) = r.get("txn_status") else {
        s.bad(&format!("{p}.txn_status"), "required");
        return;
    };
    let tp = format!("{p}.txn_status");
    if let Some(ts) = s.obj(ts, &tp) {
        if t.as_deref() == Some("search") {
            s.txn_ids(ts, &tp);
            if let Some(items) = s.array(ts, "search_response", &tp, true) {
                check_search_items(s, items, &format!("{tp}.search_response"));
            }
        }
    }
}

/// SubscribeResponse.
pub fn check_subscribe_response(s: &mut Schema, m: &Value) {
    let Some(m) = s.obj(m, "message") else { return };
    s.txn_ids(m, "message");
    let Some(items) = s.array(m, "subscribe_response", "message", true) else {
        return;
    };
    for (i, it) in items.iter().enumerate() {
        let p = format!("message.subscribe_response[{i}]");
        let Some(it) = s.item_status(it, &p, SUBSCRIBE_REASONS) else {
            continue;
        };
        for (j, sub) in s
            .array(it, "subscriptions", &p, false)
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let sp = format!("{p}.subscriptions[{j}]");
            let Some(sub) = s.obj(sub, &sp) else { continue };
            s.str(sub, "code", &sp, true, Some(99), None);
            s.str(
                sub,
                "status",
                &sp,
                true,
                None,
                Some(&["subscribe", "unsubscribe"]),
            );
            s.date_time(sub, "timestamp", &sp, true);
            s.str(sub, "version", &sp, false, None, None);
            s.str(sub, "reg_type", &sp, false, None, None);
            s.str(sub, "reg_event_type", &sp, false, None, None);
            s.str(
                sub,
                "filter_type",
                &sp,
                false,
                None,
                Some(&["idtype-value", "expression", "predicate", "graphql"]),
            );
            s.str(sub, "notify_record_type", &sp, false, None, None);
            s.locale(sub, &sp);
        }
    }
}

/// UnSubscribeResponse.
pub fn check_unsubscribe_response(s: &mut Schema, m: &Value) {
    let Some(m) = s.obj(m, "message") else { return };
    s.txn_ids(m, "message");
    s.date_time(m, "timestamp", "message", true);
    s.str(m, "status", "message", true, None, Some(STATUS));
    s.str(
        m,
        "status_reason_code",
        "message",
        false,
        None,
        Some(UNSUBSCRIBE_REASONS),
    );
    s.str(
        m,
        "status_reason_message",
        "message",
        false,
        Some(999),
        None,
    );
    for (i, st) in s
        .array(m, "subscription_status", "message", false)
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = format!("message.subscription_status[{i}]");
        if let Some(st) = s.obj(st, &p) {
            s.str(st, "code", &p, true, Some(99), None);
            s.str(
                st,
                "status",
                &p,
                true,
                None,
                Some(&["subscribe", "unsubscribe"]),
            );
        }
    }
}
