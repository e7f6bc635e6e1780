//! Spec checks of incoming envelopes, listing every violation (field path and rule).
//!
//! The rules are those of the latest bundled specs (../shared/spec/latest-bundled): the
//! required fields of MsgHeader and of each request schema, maxLength 99 for ids and codes,
//! timestamps with a timezone, page_size and page_number at least 1, the query_type enum.

use dci::Violation;
use serde_json::Value;

fn is_ts(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

struct V(Vec<Violation>);

impl V {
    fn add(&mut self, path: impl Into<String>, rule: impl Into<String>) {
        self.0.push(Violation::new(path, rule));
    }
    fn string(
        &mut self,
        obj: &Value,
        key: &str,
        path: &str,
        required: bool,
        max: usize,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.add(format!("{path}.{key}"), "required");
                }
                None
            }
            Some(Value::String(s)) => {
                if s.chars().count() > max {
                    self.add(format!("{path}.{key}"), format!("at most {max} characters"));
                }
                Some(s.clone())
            }
            Some(_) => {
                self.add(format!("{path}.{key}"), "must be a string");
                None
            }
        }
    }
    fn timestamp(&mut self, obj: &Value, key: &str, path: &str, required: bool) {
        if let Some(s) = self.string(obj, key, path, required, 99) {
            if !is_ts(&s) {
                self.add(
                    format!("{path}.{key}"),
                    "must be an ISO 8601 / RFC 3339 date-time with a timezone",
                );
            }
        }
    }
    fn object<'a>(&mut self, obj: &'a Value, key: &str, path: &str) -> Option<&'a Value> {
        match obj.get(key) {
            Some(v @ Value::Object(_)) => Some(v),
            None | Some(Value::Null) => {
                self.add(format!("{path}.{key}"), "required");
                None
            }
            Some(_) => {
                self.add(format!("{path}.{key}"), "must be an object");
                None
            }
        }
    }
    fn array<'a>(&mut self, obj: &'a Value, key: &str, path: &str) -> Option<&'a Vec<Value>> {
        match obj.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => Some(a),
            Some(Value::Array(_)) => {
                self.add(format!("{path}.{key}"), "must not be empty");
                None
            }
            None | Some(Value::Null) => {
                self.add(format!("{path}.{key}"), "required");
                None
            }
            Some(_) => {
                self.add(format!("{path}.{key}"), "must be an array");
                None
            }
        }
    }
}

/// Checks MsgHeader (required message_id, message_ts, action, sender_id, total_count).
pub fn header(h: &Value) -> Vec<Violation> {
    let mut v = V(Vec::new());
    if !h.is_object() {
        v.add("header", "must be an object");
        return v.0;
    }
    v.string(h, "message_id", "header", true, 99);
    v.timestamp(h, "message_ts", "header", true);
    v.string(h, "action", "header", true, 99);
    v.string(h, "sender_id", "header", true, 99);
    v.string(h, "receiver_id", "header", false, 99);
    match h.get("total_count") {
        None | Some(Value::Null) => v.add("header.total_count", "required"),
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        Some(_) => v.add("header.total_count", "must be a non-negative integer"),
    }
    v.0
}

fn pagination(v: &mut V, c: &Value, path: &str) {
    if let Some(p) = c.get("pagination") {
        for k in ["page_size", "page_number"] {
            match p.get(k) {
                None => {}
                Some(n) if n.as_f64().is_some_and(|x| x >= 1.0 && x.fract() == 0.0) => {}
                Some(_) => v.add(
                    format!("{path}.pagination.{k}"),
                    "must be an integer of at least 1",
                ),
            }
        }
    }
}

/// Checks MsgCallbackHeader (required message_id, message_ts, action, status; we also need
/// sender_id to find the sender's keys).
pub fn callback_header(h: &Value) -> Vec<Violation> {
    let mut v = V(Vec::new());
    if !h.is_object() {
        v.add("header", "must be an object");
        return v.0;
    }
    v.string(h, "message_id", "header", true, 99);
    v.timestamp(h, "message_ts", "header", true);
    v.string(h, "action", "header", true, 99);
    v.string(h, "sender_id", "header", true, 99);
    if let Some(s) = v.string(h, "status", "header", true, 99) {
        if !["rcvd", "pdng", "succ", "rjct"].contains(&s.as_str()) {
            v.add("header.status", "must be one of rcvd, pdng, succ, rjct");
        }
    }
    v.0
}

/// A query_type without namespace or case (`ns:org:QueryType:IDTYPE-VALUE` -> `idtype-value`);
/// the spec's own examples send the namespaced form.
pub fn query_type_name(s: &str) -> String {
    s.rsplit(':').next().unwrap_or(s).to_ascii_lowercase()
}

const QUERY_TYPES: &[&str] = &["idtype-value", "expression", "predicate", "graphql"];

/// Checks a message for `op` (the operation names of [`super::routes::Op`]).
pub fn message(op: &str, m: &Value) -> Vec<Violation> {
    let mut v = V(Vec::new());
    if !m.is_object() {
        v.add("message", "must be an object");
        return v.0;
    }
    // An encrypted message (EncryptedMessage) cannot be checked or served here.
    if m.get("ciphertext").is_some() {
        v.add(
            "message",
            "encrypted messages are not supported by this server",
        );
        return v.0;
    }
    v.string(m, "transaction_id", "message", true, 99);
    match op {
        "search" => {
            if let Some(items) = v.array(m, "search_request", "message") {
                for (i, it) in items.iter().enumerate() {
                    let p = format!("message.search_request[{i}]");
                    v.string(it, "reference_id", &p, true, 99);
                    v.timestamp(it, "timestamp", &p, true);
                    v.string(it, "locale", &p, false, 3);
                    if let Some(c) = v.object(it, "search_criteria", &p) {
                        let cp = format!("{p}.search_criteria");
                        if let Some(qt) = v.string(c, "query_type", &cp, true, 99) {
                            if !QUERY_TYPES.contains(&query_type_name(&qt).as_str()) {
                                v.add(
                                    format!("{cp}.query_type"),
                                    format!("must be one of {}", QUERY_TYPES.join(", ")),
                                );
                            }
                        }
                        if c.get("query").is_none_or(Value::is_null) {
                            v.add(format!("{cp}.query"), "required");
                        }
                        pagination(&mut v, c, &cp);
                    }
                }
            }
        }
        "verify" => {
            if let Some(items) = v.array(m, "verify_request", "message") {
                for (i, it) in items.iter().enumerate() {
                    let p = format!("message.verify_request[{i}]");
                    v.string(it, "reference_id", &p, true, 99);
                    v.timestamp(it, "timestamp", &p, true);
                    if let Some(c) = v.object(it, "verify_criteria", &p) {
                        let cp = format!("{p}.verify_criteria");
                        if let Some(id) = v.object(c, "identifier", &cp) {
                            v.string(id, "identifier_type", &format!("{cp}.identifier"), true, 99);
                            if id.get("identifier_value").is_none() {
                                v.add(format!("{cp}.identifier.identifier_value"), "required");
                            }
                        }
                        if let Some(cl) = v.object(c, "claims", &cp) {
                            if cl.as_object().is_some_and(|o| o.is_empty()) {
                                v.add(format!("{cp}.claims"), "must name at least one claim");
                            }
                        }
                    }
                }
            }
        }
        "subscribe" => {
            if let Some(items) = v.array(m, "subscribe_request", "message") {
                for (i, it) in items.iter().enumerate() {
                    let p = format!("message.subscribe_request[{i}]");
                    v.string(it, "reference_id", &p, true, 99);
                    v.timestamp(it, "timestamp", &p, true);
                    if let Some(c) = v.object(it, "subscribe_criteria", &p) {
                        let cp = format!("{p}.subscribe_criteria");
                        v.string(c, "reg_event_type", &cp, false, 99);
                        if let Some(ft) = v.string(c, "filter_type", &cp, false, 99) {
                            if !QUERY_TYPES.contains(&query_type_name(&ft).as_str()) {
                                v.add(
                                    format!("{cp}.filter_type"),
                                    format!("must be one of {}", QUERY_TYPES.join(", ")),
                                );
                            }
                        }
                    }
                }
            }
        }
        "unsubscribe" => {
            v.timestamp(m, "timestamp", "message", true);
            if let Some(codes) = v.array(m, "subscription_codes", "message") {
                for (i, c) in codes.iter().enumerate() {
                    match c.as_str() {
                        Some(s) if s.chars().count() <= 99 => {}
                        Some(_) => v.add(
                            format!("message.subscription_codes[{i}]"),
                            "at most 99 characters",
                        ),
                        None => v.add(
                            format!("message.subscription_codes[{i}]"),
                            "must be a string",
                        ),
                    }
                }
            }
        }
        "txn-status" => {
            if let Some(r) = v.object(m, "txnstatus_request", "message") {
                let p = "message.txnstatus_request";
                v.string(r, "reference_id", p, true, 99);
                if let Some(t) = v.string(r, "txn_type", p, true, 99) {
                    if !["search", "subscribe", "unsubscribe"].contains(&t.as_str()) {
                        v.add(
                            format!("{p}.txn_type"),
                            "must be one of search, subscribe, unsubscribe",
                        );
                    }
                }
                if let Some(t) = v.string(r, "attribute_type", p, true, 99) {
                    if ![
                        "transaction_id",
                        "reference_id_list",
                        "correlation_id",
                        "subscription_code_list",
                    ]
                    .contains(&t.as_str())
                    {
                        v.add(
                            format!("{p}.attribute_type"),
                            "must be one of transaction_id, reference_id_list, correlation_id, subscription_code_list",
                        );
                    }
                }
                if r.get("attribute_value").is_none_or(Value::is_null) {
                    v.add(format!("{p}.attribute_value"), "required");
                }
            }
        }
        "enrolled" => {
            if let Some(c) = v.object(m, "enrolled_criteria", "message") {
                v.object(c, "query", "message.enrolled_criteria");
            }
        }
        "disabled" | "disability-support" | "disability-details" => {
            if let Some(c) = v.object(m, "disabled_criteria", "message") {
                v.object(c, "query", "message.disabled_criteria");
            }
        }
        "enrollment-updates" => {
            if let Some(u) = v.object(m, "enrolled_updates", "message") {
                v.array(u, "beneficiaries", "message.enrolled_updates");
            }
        }
        _ => {}
    }
    v.0
}

/// `search_request[i].pagination`: not where the spec puts pagination (it is in
/// `search_criteria`), but where the OpenSPP spdci-compliance suite sends it; checked with the
/// same rule (page_size and page_number at least 1).
pub fn item_pagination(message: &Value) -> Vec<Violation> {
    let mut v = V(Vec::new());
    if let Some(items) = message.get("search_request").and_then(Value::as_array) {
        for (i, it) in items.iter().enumerate() {
            pagination(&mut v, it, &format!("message.search_request[{i}]"));
        }
    }
    v.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_violations_name_fields() {
        let v = header(
            &json!({"message_id": "m", "message_ts": "2024-01-01T00:00:00", "action": "search"}),
        );
        let got: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "header.message_ts: must be an ISO 8601 / RFC 3339 date-time with a timezone",
                "header.sender_id: required",
                "header.total_count: required",
            ]
        );
    }

    #[test]
    fn search_violations() {
        let m = json!({"transaction_id": "t", "search_request": [
            {"reference_id": "r", "timestamp": "2024-01-01T00:00:00Z",
             "search_criteria": {"query_type": "sql", "pagination": {"page_size": 0}}}
        ]});
        let got: Vec<String> = message("search", &m)
            .iter()
            .map(|x| x.to_string())
            .collect();
        assert_eq!(
            got,
            vec![
                "message.search_request[0].search_criteria.query_type: must be one of idtype-value, expression, predicate, graphql",
                "message.search_request[0].search_criteria.query: required",
                "message.search_request[0].search_criteria.pagination.page_size: must be an integer of at least 1",
            ]
        );
    }
}
