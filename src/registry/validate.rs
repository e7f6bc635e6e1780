//! Spec checks of incoming envelopes, listing every violation (field path and rule).
//!
//! The spec's request kinds are checked by the core (`crate::model::validate_envelope_as`, the
//! latest bundled specs' schemas). What is left here is what the core has no schema for:
//! `verify` (our own message), the receiving side (the core lets a callback omit its message;
//! we log messages, so we want one), encrypted messages (refused: we cannot decrypt), and
//! `search_request[i].pagination` (where the OpenSPP compliance suite puts pagination).

use crate::model::{is_rfc3339, validate_envelope_as, validate_header_value, HeaderKind};
use crate::Violation;
use serde_json::Value;

use super::op::{Mode, Op};

/// The violations of a core check (none when it passes).
fn violations(r: crate::Result<()>) -> Vec<Violation> {
    match r {
        Ok(()) => Vec::new(),
        Err(crate::Error::Validation(v)) => v,
        Err(e) => vec![Violation::new("message", e.to_string())],
    }
}

/// The header alone (MsgHeader or MsgCallbackHeader).
pub fn header(h: &Value, kind: HeaderKind) -> Vec<Violation> {
    violations(validate_header_value(h, kind))
}

/// Every violation of the envelope `env` received on the endpoint of `op`.
pub fn envelope(op: Op, env: &Value) -> Vec<Violation> {
    let null = Value::Null;
    let message = env.get("message").unwrap_or(&null);
    let mut v = match op.kind() {
        Some(kind) if op.mode() != Mode::Receive => {
            let mut v = violations(validate_envelope_as(kind, env));
            // The core lets a callback-header kind omit its message (enrollment-updates travels
            // with MsgCallbackHeader), but a request we answer must carry one.
            if message.is_null() && !v.iter().any(|x| x.path == "message") {
                v.push(Violation::new("message", "required"));
            }
            v
        }
        // verify and the receiving side.
        _ => {
            let mut v = header(env.get("header").unwrap_or(&null), op.header_kind());
            let mut c = V(Vec::new());
            if !message.is_object() {
                c.add("message", "must be an object");
            } else {
                c.string(message, "transaction_id", "message", true, 99);
                if op == Op::Verify {
                    verify_message(&mut c, message);
                }
            }
            v.extend(c.0);
            v
        }
    };
    // An encrypted message (EncryptedMessage) cannot be checked or served here.
    if message.get("ciphertext").is_some() {
        v.push(Violation::new(
            "message",
            "encrypted messages are not supported by this server",
        ));
    }
    if matches!(op, Op::Search | Op::SyncSearch) {
        v.extend(item_pagination(message));
    }
    if op == Op::Subscribe {
        let now_ms = chrono::Utc::now().timestamp_millis();
        for x in frequencies(message, now_ms) {
            // The core already named what is missing or malformed.
            if !v.iter().any(|y| y.path == x.path) {
                v.push(x);
            }
        }
    }
    v
}

/// Each `subscribe_criteria.frequency` must be one the registry can schedule: a cron
/// expression in the spec's (Quartz) form and a window that ends after it starts and after
/// `now_ms` (schedule.rs).
fn frequencies(message: &Value, now_ms: i64) -> Vec<Violation> {
    let items = message.get("subscribe_request").and_then(Value::as_array);
    let mut out = Vec::new();
    for (i, it) in items.into_iter().flatten().enumerate() {
        let Some(f) = it.pointer("/subscribe_criteria/frequency") else {
            continue;
        };
        let path = format!("message.subscribe_request[{i}].subscribe_criteria.frequency");
        let Ok(f) = serde_json::from_value::<crate::model::Frequency>(f.clone()) else {
            // Not an object of strings: the core's schema check says so.
            continue;
        };
        if let Err(errs) = super::schedule::Schedule::from_frequency(&f, now_ms) {
            out.extend(
                errs.into_iter()
                    .map(|(field, rule)| Violation::new(format!("{path}.{field}"), rule)),
            );
        }
    }
    out
}

struct V(Vec<Violation>);

impl V {
    fn add(&mut self, path: impl Into<String>, rule: impl Into<String>) {
        self.0.push(Violation::new(path, rule));
    }
    fn string(&mut self, obj: &Value, key: &str, path: &str, required: bool, max: usize) {
        match obj.get(key) {
            None | Some(Value::Null) if required => self.add(format!("{path}.{key}"), "required"),
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.chars().count() > max => {
                self.add(format!("{path}.{key}"), format!("at most {max} characters"))
            }
            Some(Value::String(_)) => {}
            Some(_) => self.add(format!("{path}.{key}"), "must be a string"),
        }
    }
    fn timestamp(&mut self, obj: &Value, key: &str, path: &str) {
        self.string(obj, key, path, true, 99);
        if obj
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|s| !is_rfc3339(s))
        {
            self.add(
                format!("{path}.{key}"),
                "must be an ISO 8601 / RFC 3339 date-time with a timezone",
            );
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
}

/// The verify request (docs/server.md): items with a reference id, a timestamp, an identifier
/// and at least one claim.
fn verify_message(v: &mut V, m: &Value) {
    let items = match m.get("verify_request") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => return v.add("message.verify_request", "must not be empty"),
        None | Some(Value::Null) => return v.add("message.verify_request", "required"),
        Some(_) => return v.add("message.verify_request", "must be an array"),
    };
    for (i, it) in items.iter().enumerate() {
        let p = format!("message.verify_request[{i}]");
        v.string(it, "reference_id", &p, true, 99);
        v.timestamp(it, "timestamp", &p);
        let Some(c) = v.object(it, "verify_criteria", &p) else {
            continue;
        };
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

/// `search_request[i].pagination`: not where the spec puts pagination (it is in
/// `search_criteria`), but where the OpenSPP spdci-compliance suite sends it; checked with the
/// same rule (page_size and page_number at least 1).
fn item_pagination(message: &Value) -> Vec<Violation> {
    let mut v = V(Vec::new());
    let items = message.get("search_request").and_then(Value::as_array);
    for (i, it) in items.into_iter().flatten().enumerate() {
        let Some(p) = it.get("pagination") else {
            continue;
        };
        for k in ["page_size", "page_number"] {
            let path = format!("message.search_request[{i}].pagination.{k}");
            match p.get(k) {
                None => {}
                Some(Value::Number(n)) => match crate::model::exact_int(n) {
                    Some(x) if x >= 1 => {}
                    Some(_) => v.add(path, "must be an integer of at least 1"),
                    None => v.add(path, crate::model::not_exact_int(n)),
                },
                Some(_) => v.add(path, "must be an integer of at least 1"),
            }
        }
    }
    v.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Vec<Violation>) -> Vec<String> {
        v.into_iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn verify_violations_name_fields() {
        let env = json!({"header": {"message_id": "m", "message_ts": "2024-01-01T00:00:00Z",
            "action": "verify", "sender_id": "s", "total_count": 1},
            "message": {"transaction_id": "t", "verify_request": [
                {"reference_id": "r", "timestamp": "yesterday",
                 "verify_criteria": {"identifier": {"identifier_type": "UIN"}, "claims": {}}}]}});
        assert_eq!(
            paths(envelope(Op::Verify, &env)),
            [
                "message.verify_request[0].timestamp: must be an ISO 8601 / RFC 3339 date-time with a timezone",
                "message.verify_request[0].verify_criteria.identifier.identifier_value: required",
                "message.verify_request[0].verify_criteria.claims: must name at least one claim",
            ]
        );
    }

    #[test]
    fn answered_requests_need_a_message_whatever_their_header() {
        // Found by the envelope fuzz target: enrollment-updates (MsgCallbackHeader) without a
        // message passed the checks, then failed as "invalid JSON" when typed.
        let header = json!({"version": "1.0.0", "message_id": "m",
            "message_ts": "2024-01-01T00:00:00Z", "action": "notify", "status": "succ",
            "total_count": 1, "completed_count": 1, "sender_id": "s", "receiver_id": "r"});
        for env in [
            json!({"header": header}),
            json!({"header": header, "message": null}),
        ] {
            assert_eq!(
                paths(envelope(Op::EnrollmentUpdates, &env)),
                ["message: required"]
            );
        }
    }

    #[test]
    fn received_callbacks_need_a_message_and_no_ciphertext() {
        let header = json!({"message_id": "m", "message_ts": "2024-01-01T00:00:00Z",
            "action": "on-search", "status": "succ", "sender_id": "s"});
        assert_eq!(
            paths(envelope(Op::OnSearch, &json!({"header": header}))),
            ["message: must be an object"]
        );
        let env = json!({"header": header, "message": {"transaction_id": "t", "ciphertext": "x"}});
        assert_eq!(
            paths(envelope(Op::OnSearch, &env)),
            ["message: encrypted messages are not supported by this server"]
        );
    }

    #[test]
    fn frequencies_name_the_field_and_the_expected_form() {
        let m = json!({"subscribe_request": [
            {"subscribe_criteria": {"frequency": {"start_time": "2030-01-01T00:00:00Z",
                "end_time": "2031-01-01T00:00:00Z", "frequency": "*/10 * * * * ?"}}},
            {"subscribe_criteria": {"frequency": {"start_time": "2030-01-01T00:00:00Z",
                "end_time": "2031-01-01T00:00:00Z", "frequency": "0 0 * * *"}}}]});
        let v = paths(frequencies(&m, 0));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].starts_with(
                "message.subscribe_request[1].subscribe_criteria.frequency.frequency: \"0 0 * * *\" is not a cron expression"
            ),
            "{}",
            v[0]
        );
        assert!(v[0].ends_with("e.g. \"0 0 0 5,15 * ? *\""), "{}", v[0]);
    }

    #[test]
    fn item_pagination_is_checked() {
        let m = json!({"search_request": [{"pagination": {"page_size": 0, "page_number": 2}}]});
        assert_eq!(
            paths(item_pagination(&m)),
            ["message.search_request[0].pagination.page_size: must be an integer of at least 1"]
        );
    }
}
