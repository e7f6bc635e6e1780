//! Strict mode (`dci serve --strict`, on with `--demo`): for each request it accepts, the
//! server lists every deviation from the spec it tolerated, so a team testing its client sees
//! every issue at once. The list goes back in the `X-DCI-Deviations` response header (JSON,
//! ASCII); nothing is refused for it.
//!
//! What counts as a deviation: a field the spec does not define (unknown or misspelt), a field
//! the server reads from a place or under a name the spec does not use (tolerated for peers
//! that send it so), a recommended optional field left out, a timestamp without milliseconds
//! (peers write and some expect `...T12:00:00.000Z`), and an unsigned request accepted under
//! a sender's `optional` signature policy.

use crate::Violation;
use serde_json::{Map, Value};

use super::op::{Mode, Op};

/// The response header carrying the list.
pub const HEADER: &str = "x-dci-deviations";

/// Longest header value sent; a longer list is cut at a whole entry and ends with a count.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// The request header fields of the spec (`MsgHeader`).
const HEADER_FIELDS: &[&str] = &[
    "version",
    "message_id",
    "message_ts",
    "action",
    "sender_id",
    "sender_uri",
    "receiver_id",
    "total_count",
    "is_msg_encrypted",
    "meta",
];

const SEARCH_MESSAGE: &[&str] = &["transaction_id", "search_request"];
const SEARCH_ITEM: &[&str] = &["reference_id", "timestamp", "search_criteria", "locale"];
const SEARCH_CRITERIA: &[&str] = &[
    "version",
    "reg_type",
    "reg_record_type",
    "reg_sub_type",
    "query_type",
    "query",
    "sort",
    "pagination",
    "consent",
    "authorize",
    "response_entity",
];
const PAGINATION: &[&str] = &["page_size", "page_number"];

/// Every deviation of an accepted request `env` to `op`; `signed` tells whether it carried a
/// signature.
pub fn deviations(op: Op, env: &Value, signed: bool) -> Vec<Violation> {
    let mut out = Vec::new();
    if !signed {
        out.push(Violation::new(
            "signature",
            "missing: the spec requires signed requests (accepted under this sender's optional signature policy)",
        ));
    }
    let null = Value::Null;
    let header = env.get("header").unwrap_or(&null);
    if let Some(h) = header.as_object() {
        unknown(h, "header", HEADER_FIELDS, &mut out);
        if !h.contains_key("receiver_id") {
            out.push(Violation::new(
                "header.receiver_id",
                "recommended: the id of the registry the message is for",
            ));
        }
        if op.mode() == Mode::Async && !h.contains_key("sender_uri") {
            out.push(Violation::new(
                "header.sender_uri",
                "recommended for async requests: without it the answer goes to the callback URI registered for the sender, or waits for txn/status",
            ));
        }
    }
    if let Some(ts) = header.get("message_ts").and_then(Value::as_str) {
        millis("header.message_ts", ts, &mut out);
    }
    let message = env.get("message").unwrap_or(&null);
    timestamps(message, "message", &mut out);
    if matches!(op, Op::Search | Op::SyncSearch) {
        search(message, &mut out);
    }
    out
}

/// The search message's fields against the spec's.
fn search(message: &Value, out: &mut Vec<Violation>) {
    let Some(m) = message.as_object() else { return };
    unknown(m, "message", SEARCH_MESSAGE, out);
    let items = m.get("search_request").and_then(Value::as_array);
    for (i, it) in items.into_iter().flatten().enumerate() {
        let Some(it) = it.as_object() else { continue };
        let at = format!("message.search_request[{i}]");
        let own_pagination = it.contains_key("pagination");
        if own_pagination {
            out.push(Violation::new(
                format!("{at}.pagination"),
                "belongs in search_criteria.pagination (read from here for the OpenSPP compliance suite)",
            ));
        }
        let known: Vec<&str> = SEARCH_ITEM
            .iter()
            .copied()
            .chain(own_pagination.then_some("pagination"))
            .collect();
        unknown(it, &at, &known, out);
        let Some(c) = it.get("search_criteria").and_then(Value::as_object) else {
            continue;
        };
        let at = format!("{at}.search_criteria");
        if c.contains_key("reg_event_type") {
            out.push(Violation::new(
                format!("{at}.reg_event_type"),
                "is the Jan-2025 name of reg_record_type: the latest spec names it reg_record_type",
            ));
        }
        let known: Vec<&str> = SEARCH_CRITERIA
            .iter()
            .copied()
            .chain(["reg_event_type"])
            .collect();
        unknown(c, &at, &known, out);
        for (field, why) in [
            (
                "version",
                "recommended: the spec version of the query (1.0.0)",
            ),
            (
                "reg_type",
                "recommended: the registry type asked (ns:org:RegistryType:...)",
            ),
        ] {
            if !c.contains_key(field) {
                out.push(Violation::new(format!("{at}.{field}"), why));
            }
        }
        if let Some(p) = c.get("pagination").and_then(Value::as_object) {
            unknown(p, &format!("{at}.pagination"), PAGINATION, out);
        }
    }
}

/// One deviation per key of `obj` that is not in `known`, naming the closest known one.
fn unknown(obj: &Map<String, Value>, at: &str, known: &[&str], out: &mut Vec<Violation>) {
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        let rule = match closest(k, known) {
            Some(c) => format!("not a field of the spec here (did you mean {c}?); ignored"),
            None => "not a field of the spec here; ignored".to_string(),
        };
        out.push(Violation::new(format!("{at}.{k}"), rule));
    }
}

/// The known name within two edits of `k`, if any (a misspelling).
fn closest<'a>(k: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|c| (edits(k, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance (names are short).
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Every `timestamp` field under `v` without milliseconds.
fn timestamps(v: &Value, at: &str, out: &mut Vec<Violation>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let path = format!("{at}.{k}");
                match (k.as_str(), x) {
                    ("timestamp", Value::String(ts)) => millis(&path, ts, out),
                    _ => timestamps(x, &path, out),
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                timestamps(x, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// A date-time without a fraction of a second.
fn millis(path: &str, ts: &str, out: &mut Vec<Violation>) {
    let time = ts.split_once('T').map_or("", |(_, t)| t);
    if !time.is_empty() && !time.contains('.') {
        out.push(Violation::new(
            path,
            format!("{ts:?} has no milliseconds; peers write and some expect them (2025-01-01T12:00:00.000Z)"),
        ));
    }
}

/// The header value for a list: a JSON array of `{field, rule}`, non-ASCII escaped, cut at a
/// whole entry to fit (then ending with `{"more": N}`).
pub fn header_value(list: &[Violation]) -> String {
    let mut out = String::from("[");
    for (i, v) in list.iter().enumerate() {
        let entry = ascii(&serde_json::json!({"field": v.path, "rule": v.rule}).to_string());
        if i > 0 {
            out.push(',');
        }
        if out.len() + entry.len() + 32 > MAX_HEADER_BYTES {
            out.push_str(&format!("{{\"more\":{}}}", list.len() - i));
            break;
        }
        out.push_str(&entry);
    }
    out.push(']');
    out
}

/// JSON text with every non-ASCII character as a `\u` escape (header values are ASCII).
fn ascii(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(op: Op, env: Value, signed: bool) -> Vec<(String, String)> {
        deviations(op, &env, signed)
            .into_iter()
            .map(|v| (v.path, v.rule))
            .collect()
    }

    #[test]
    fn a_clean_request_has_none() {
        let env = json!({"header": {"version": "1.0.0", "message_id": "m", "message_ts": "2025-01-01T00:00:00.000Z",
            "action": "search", "sender_id": "s", "receiver_id": "r", "total_count": 1},
            "message": {"transaction_id": "t", "search_request": [{"reference_id": "r1",
            "timestamp": "2025-01-01T00:00:00.123+01:00", "search_criteria": {"version": "1.0.0",
            "reg_type": "ns:org:RegistryType:Civil", "query_type": "idtype-value",
            "query": {"type": "UIN", "value": "1"}, "pagination": {"page_size": 1, "page_number": 1}}}]}});
        assert_eq!(
            rules(Op::SyncSearch, env, true),
            Vec::<(String, String)>::new()
        );
    }

    #[test]
    fn every_tolerated_deviation_is_listed() {
        let env = json!({"header": {"message_id": "m", "message_ts": "2025-01-01T00:00:00Z",
            "action": "search", "sender_id": "s", "total_cont": 1},
            "message": {"transaction_id": "t", "search_request": [{"reference_id": "r1",
            "timestamp": "2025-01-01T00:00:00Z", "pagination": {"page_size": 1},
            "search_criteria": {"query_type": "idtype-value", "reg_event_type": "x",
            "query": {"type": "UIN", "value": "1"}, "sortt": []}}]}});
        let got = rules(Op::Search, env, false);
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "signature",
                "header.total_cont",
                "header.receiver_id",
                "header.sender_uri",
                "header.message_ts",
                "message.search_request[0].timestamp",
                "message.search_request[0].pagination",
                "message.search_request[0].search_criteria.reg_event_type",
                "message.search_request[0].search_criteria.sortt",
                "message.search_request[0].search_criteria.version",
                "message.search_request[0].search_criteria.reg_type",
            ]
        );
        assert_eq!(
            got[1].1,
            "not a field of the spec here (did you mean total_count?); ignored"
        );
        assert_eq!(
            got[4].1,
            "\"2025-01-01T00:00:00Z\" has no milliseconds; peers write and some expect them (2025-01-01T12:00:00.000Z)"
        );
        assert_eq!(
            got[8].1,
            "not a field of the spec here (did you mean sort?); ignored"
        );
    }

    #[test]
    fn the_header_value_is_ascii_json_cut_at_a_whole_entry() {
        let one = [Violation::new("header.naïve", "x")];
        assert_eq!(
            header_value(&one),
            r#"[{"field":"header.na\u00efve","rule":"x"}]"#
        );
        let many: Vec<Violation> = (0..1000)
            .map(|i| {
                Violation::new(
                    format!("message.f{i}"),
                    "not a field of the spec here; ignored",
                )
            })
            .collect();
        let v = header_value(&many);
        assert!(v.len() <= MAX_HEADER_BYTES, "{}", v.len());
        let parsed: Vec<Value> = serde_json::from_str(&v).unwrap();
        let more = parsed.last().unwrap()["more"].as_u64().unwrap() as usize;
        assert_eq!(parsed.len() - 1 + more, 1000);
    }
}
