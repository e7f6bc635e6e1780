//! The bundled OpenAPI documents of the five registry types (`spec/*.json`, made from
//! `tests/spec/latest-bundled/*.yaml` by `scripts/conformance-specs`) and a validator for the
//! part of JSON Schema they use: `$ref` (any JSON pointer), `type`, `properties`, `required`,
//! `items`, `enum`, `allOf`, `anyOf`, `oneOf`, `maxLength`, `minLength`, `pattern` and the
//! formats `date-time`, `uri` and `int32`. Embedded, so the tool needs no file at run time.

use std::sync::OnceLock;

use serde_json::Value;

use super::Registry;
#[cfg(test)]
use super::ALL_REGISTRIES;

const CRVS: &str = include_str!("spec/crvs.json");
const SOCIAL: &str = include_str!("spec/social.json");
const IBR: &str = include_str!("spec/ibr.json");
const DR: &str = include_str!("spec/dr.json");
const FR: &str = include_str!("spec/fr.json");

/// One registry type's OpenAPI document.
pub struct Spec {
    doc: Value,
}

/// The document of `r`, parsed once.
pub fn spec(r: Registry) -> &'static Spec {
    static DOCS: [OnceLock<Spec>; 5] = [const { OnceLock::new() }; 5];
    let (i, text) = match r {
        Registry::Crvs => (0, CRVS),
        Registry::Social => (1, SOCIAL),
        Registry::Ibr => (2, IBR),
        Registry::Dr => (3, DR),
        Registry::Fr => (4, FR),
    };
    DOCS[i].get_or_init(|| {
        // The documents are committed and checked by the unit test below.
        let mut doc = serde_json::from_str(text).unwrap_or(Value::Null);
        errata(&mut doc);
        Spec { doc }
    })
}

/// Fixes of the bundled documents, each where the bundle contradicts the spec itself.
///
/// 1. `TxnStatusResponse.txnstatus_response.txn_status` (the status of a search) points at
///    the bundler's copy of an *example* (`.../txnstatus_response/example`), whose
///    `reg_records` is typed `object`, while the search answer it describes is a
///    `SearchResponse`, whose `reg_records` is an array: a registry answering the same
///    search by `sync/search` and by `txn/status` could not satisfy both. It is checked as a
///    `SearchResponse`.
/// 2. `reg_records` is an array in most search responses but an object in some (DR
///    `SearchResponse`, `NotifyEventRequest`); docs/spec-decisions.md takes either, so each
///    `reg_records` schema accepts its own form and the other (the same record schema as a
///    single object or as the items of an array).
fn errata(doc: &mut Value) {
    either_records(doc);
    let p = "/components/schemas/TxnStatusResponse/properties/txnstatus_response/properties/txn_status/oneOf/0/$ref";
    if let Some(r) = doc.pointer_mut(p) {
        if r.as_str().is_some_and(|s| s.ends_with("/example")) {
            *r = Value::String("#/components/schemas/SearchResponse".into());
        }
    }
}

/// Erratum 2: every `properties.reg_records` schema becomes `anyOf` its object and array forms.
fn either_records(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(props)) = o.get_mut("properties") {
                if let Some(r) = props.get_mut("reg_records") {
                    let orig = r.clone();
                    let other = match orig.get("type").and_then(Value::as_str) {
                        Some("object") => Some(serde_json::json!({"type": "array", "items": orig})),
                        Some("array") => orig.get("items").cloned(),
                        _ => None,
                    };
                    if let Some(other) = other {
                        *r = serde_json::json!({"anyOf": [orig, other]});
                    }
                }
            }
            for (k, child) in o.iter_mut() {
                if k != "reg_records" {
                    either_records(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(either_records),
        _ => {}
    }
}

/// The pointer `#/a/b~1c` as a path into `doc`.
fn pointer<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    doc.pointer(r.strip_prefix('#')?)
}

impl Spec {
    /// Whether the document has `POST path`.
    pub fn has_path(&self, path: &str) -> bool {
        self.doc["paths"].get(path).is_some()
    }

    fn deref<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => match pointer(&self.doc, r) {
                    Some(t) => v = t,
                    None => return &Value::Null,
                },
                None => return v,
            }
        }
        v
    }

    /// The JSON schema of the answer to `POST path` with HTTP `status` (the status's own
    /// response, else `default`).
    pub fn response_schema(&self, path: &str, status: u16) -> Option<&Value> {
        let responses = &self.doc["paths"].get(path)?["post"]["responses"];
        let r = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))?;
        let schema = &self.deref(r)["content"]["application/json"]["schema"];
        (!schema.is_null()).then_some(schema)
    }

    /// The spec's generic answer (`components/responses/Response`, the Ack), which also
    /// carries an error (`message.error`).
    pub fn ack_schema(&self) -> Option<&Value> {
        let schema = &self.doc["components"]["responses"]["Response"]["content"]
            ["application/json"]["schema"];
        (!schema.is_null()).then_some(schema)
    }

    /// The JSON schema of the JSON body of `POST path` (what a callback to it must be).
    pub fn request_schema(&self, path: &str) -> Option<&Value> {
        let body = &self.doc["paths"].get(path)?["post"]["requestBody"];
        let schema = &self.deref(body)["content"]["application/json"]["schema"];
        (!schema.is_null()).then_some(schema)
    }

    /// The violations of `v` against `schema`, as `path: rule` (empty: valid).
    pub fn validate(&self, schema: &Value, v: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check(schema, v, "$", &mut out, 0);
        out
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>, depth: usize) {
        if depth > 64 {
            out.push(format!("{at}: schema nesting deeper than 64"));
            return;
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            match pointer(&self.doc, r) {
                Some(t) => self.check(t, v, at, out, depth + 1),
                None => out.push(format!("{at}: the spec's $ref {r} does not resolve")),
            }
            return;
        }
        let Some(s) = schema.as_object() else { return };
        if let Some(t) = s.get("type").and_then(Value::as_str) {
            if !type_fits(t, v) {
                out.push(format!("{at}: must be {t}, not {}", kind(v)));
                return;
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                out.push(format!(
                    "{at}: {} is not one of {}",
                    short(v),
                    short_list(e)
                ));
            }
        }
        if let Value::String(text) = v {
            let n = text.chars().count();
            if let Some(m) = s.get("maxLength").and_then(Value::as_u64) {
                if n as u64 > m {
                    out.push(format!("{at}: longer than {m} characters ({n})"));
                }
            }
            if let Some(m) = s.get("minLength").and_then(Value::as_u64) {
                if (n as u64) < m {
                    out.push(format!("{at}: shorter than {m} characters"));
                }
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(p) {
                    Ok(re) if !re.is_match(text) => {
                        out.push(format!("{at}: {} does not match {p}", short(v)))
                    }
                    _ => {}
                }
            }
        }
        if let Some(f) = s.get("format").and_then(Value::as_str) {
            if let Some(rule) = format_violation(f, v) {
                out.push(format!("{at}: {rule}"));
            }
        }
        if let Value::Object(o) = v {
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for k in req.iter().filter_map(Value::as_str) {
                    if !o.contains_key(k) {
                        out.push(format!("{at}.{k}: required"));
                    }
                }
            }
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, ps) in props {
                    if let Some(pv) = o.get(k) {
                        self.check(ps, pv, &format!("{at}.{k}"), out, depth + 1);
                    }
                }
            }
        }
        if let (Value::Array(a), Some(items)) = (v, s.get("items")) {
            for (i, it) in a.iter().enumerate() {
                self.check(items, it, &format!("{at}[{i}]"), out, depth + 1);
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check(sub, v, at, out, depth + 1);
            }
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let results: Vec<Vec<String>> =
                any.iter().map(|sub| self.sub(sub, v, at, depth)).collect();
            if !results.iter().any(Vec::is_empty) {
                out.push(format!(
                    "{at}: matches none of anyOf ({})",
                    closest(&results)
                ));
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let results: Vec<Vec<String>> =
                one.iter().map(|sub| self.sub(sub, v, at, depth)).collect();
            match results.iter().filter(|r| r.is_empty()).count() {
                1 => {}
                0 => out.push(format!(
                    "{at}: matches none of oneOf ({})",
                    closest(&results)
                )),
                n => out.push(format!("{at}: matches {n} of oneOf, exactly one allowed")),
            }
        }
    }

    fn sub(&self, schema: &Value, v: &Value, at: &str, depth: usize) -> Vec<String> {
        let mut o = Vec::new();
        self.check(schema, v, at, &mut o, depth + 1);
        o
    }
}

/// The violations of the alternative that came closest, for the message.
fn closest(results: &[Vec<String>]) -> String {
    results
        .iter()
        .min_by_key(|r| r.len())
        .map(|r| r.iter().take(3).cloned().collect::<Vec<_>>().join("; "))
        .unwrap_or_default()
}

fn type_fits(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "null" => v.is_null(),
        _ => true,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn format_violation(f: &str, v: &Value) -> Option<String> {
    match (f, v) {
        ("date-time", Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .is_err()
            .then(|| format!("{} is not an RFC 3339 date-time", short(v))),
        ("uri", Value::String(s)) => {
            let scheme = s.split_once(':').map(|(a, _)| a).unwrap_or("");
            let ok = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
            (!ok).then(|| format!("{} is not a URI", short(v)))
        }
        ("int32", Value::Number(n)) => {
            let fits = n
                .as_i64()
                .is_some_and(|i| i >= i32::MIN as i64 && i <= i32::MAX as i64);
            (!fits).then(|| format!("{n} is not an int32"))
        }
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn short_list(e: &[Value]) -> String {
    let items: Vec<String> = e.iter().take(12).map(short).collect();
    let more = if e.len() > 12 { ", ..." } else { "" };
    format!("[{}{more}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_embedded_document_parses_and_has_sync_search() {
        for r in ALL_REGISTRIES {
            let s = spec(r);
            assert!(s.doc.is_object(), "{r:?}");
            assert!(s.has_path("/registry/sync/search"), "{r:?}");
            assert!(s.response_schema("/registry/sync/search", 200).is_some());
            assert!(s.response_schema("/registry/search", 401).is_some());
            assert!(s.request_schema("/registry/on-search").is_some());
        }
    }

    #[test]
    fn the_ack_schema_finds_a_bad_ack_status_and_timestamp() {
        let s = spec(Registry::Crvs);
        let ack = s.response_schema("/registry/search", 200).unwrap();
        let good = json!({"message": {"ack_status": "ACK", "timestamp": "2025-01-01T00:00:00Z", "correlation_id": "c1"}});
        assert_eq!(s.validate(ack, &good), Vec::<String>::new());
        let bad = json!({"message": {"ack_status": "OK", "timestamp": "yesterday", "correlation_id": "c1"}});
        let v = s.validate(ack, &bad);
        assert!(
            v.iter()
                .any(|e| e.starts_with("$.message.ack_status: \"OK\" is not one of")),
            "{v:?}"
        );
        assert!(
            v.iter()
                .any(|e| e.contains("$.message.timestamp: \"yesterday\" is not an RFC 3339")),
            "{v:?}"
        );
    }

    #[test]
    fn the_sync_answer_schema_wants_the_callback_header_and_action() {
        let s = spec(Registry::Social);
        let schema = s.response_schema("/registry/sync/search", 200).unwrap();
        let v = s.validate(schema, &json!({"header": {"message_id": "m", "message_ts": "2025-01-01T00:00:00Z", "action": "search"}}));
        assert!(v.iter().any(|e| e == "$.header.status: required"), "{v:?}");
        assert!(v.iter().any(|e| e.starts_with("$.header.action: \"search\" is not one of [\"on-search\"]")), "{v:?}");
    }
}

#[cfg(test)]
mod errata_tests {
    use super::*;
    use serde_json::json;

    fn search_answer(records: Value) -> Value {
        search_answer_of("Person", records)
    }

    fn search_answer_of(record_type: &str, records: Value) -> Value {
        json!({"header": {"message_id": "m", "message_ts": "2025-01-01T00:00:00Z", "action": "on-search", "status": "succ"},
               "message": {"transaction_id": "t", "correlation_id": "c", "search_response": [{
                   "reference_id": "r", "timestamp": "2025-01-01T00:00:00Z", "status": "succ",
                   "data": {"reg_record_type": record_type, "reg_records": records}}]}})
    }

    #[test]
    fn reg_records_may_be_an_array_or_an_object_in_every_registry_type() {
        for r in ALL_REGISTRIES {
            let s = spec(r);
            let schema = s.response_schema("/registry/sync/search", 200).unwrap();
            for recs in [json!([]), json!({})] {
                assert_eq!(
                    s.validate(schema, &search_answer(recs.clone())),
                    Vec::<String>::new(),
                    "{r:?} {recs}"
                );
            }
            let v = s.validate(schema, &search_answer(json!("none")));
            assert!(!v.is_empty(), "{r:?}");
        }
    }

    #[test]
    fn a_search_txn_status_is_checked_as_a_search_response() {
        let s = spec(Registry::Crvs);
        let schema = s.response_schema("/registry/sync/txn/status", 200).unwrap();
        let mut a = search_answer(json!([{"@type": "Person"}]));
        let inner = a["message"].clone();
        a["header"]["action"] = json!("txn-on-status");
        a["message"] = json!({"transaction_id": "t2", "correlation_id": "c2",
            "txnstatus_response": {"txn_type": "search", "txn_status": inner}});
        assert_eq!(s.validate(schema, &a), Vec::<String>::new());
    }
}
