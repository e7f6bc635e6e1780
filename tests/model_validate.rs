//! validate() and validate_value(): every violation, by field path and rule.

use dci::model::*;
use dci::{Error, ErrorKind};
use serde_json::{json, Value};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/model");

fn load(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{ROOT}/{rel}")).unwrap()).unwrap()
}

fn violations(r: dci::Result<()>) -> Vec<(String, String)> {
    match r {
        Err(Error::Validation(v)) => v.into_iter().map(|x| (x.path, x.rule)).collect(),
        other => panic!("expected validation error, got {other:?}"),
    }
}

fn v(path: &str, rule: &str) -> (String, String) {
    (path.to_string(), rule.to_string())
}

/// Each valid fixture with the kind it is valid for.
const FIXTURES: &[(&str, &str)] = &[
    ("search", "search.json"),
    ("on-search", "on-search.json"),
    ("subscribe", "subscribe.json"),
    ("on-subscribe", "on-subscribe.json"),
    ("notify", "notify.json"),
    ("unsubscribe", "unsubscribe.json"),
    ("on-unsubscribe", "on-unsubscribe.json"),
    ("txn-status", "txn-status.json"),
    ("txn-on-status", "txn-on-status.json"),
    ("enrolled", "enrolled.json"),
    ("on-enrolled", "on-enrolled.json"),
    ("enrollment-updates", "enrollment-updates.json"),
    ("disabled", "disabled.json"),
    ("on-disabled", "on-disabled.json"),
    ("get-disability-support", "get-disability-support.json"),
    ("get-disability-details", "get-disability-support.json"),
    (
        "on-get-disability-details",
        "on-get-disability-details.json",
    ),
    ("DisabledResponse", "on-disabled.json"),
    ("ack", "ack.json"),
];

#[test]
fn every_valid_fixture_passes_for_its_kind() {
    let cases = FIXTURES.iter().copied();
    for (kind, file) in cases {
        let value = load(&format!("valid/{file}"));
        assert_eq!(
            validate_value(kind, &value).ok(),
            Some(()),
            "{kind} {file}: {:?}",
            validate_value(kind, &value)
        );
    }
    for file in [
        "search.json",
        "on-search.json",
        "unsubscribe.json",
        "txn-on-status.json",
    ] {
        validate_envelope_value(&load(&format!("valid/{file}"))).unwrap();
    }
}

#[test]
fn missing_required_fields_are_reported_by_path() {
    let bad = json!({
        "header": {"message_ts": "2025-01-29T10:20:30Z", "action": "search"},
        "message": {"search_request": [{"search_criteria": {"query_type": "idtype-value"}}, 7]}
    });
    assert_eq!(
        violations(validate_value("search", &bad)),
        vec![
            v("header.message_id", "required"),
            v("header.sender_id", "required"),
            v("header.total_count", "required"),
            v("message.transaction_id", "required"),
            v("message.search_request[0].reference_id", "required"),
            v("message.search_request[0].timestamp", "required"),
            v(
                "message.search_request[0].search_criteria.query",
                "required"
            ),
            v(
                "message.search_request[1]",
                "must be an object, got a number"
            ),
        ]
    );
    assert_eq!(
        violations(validate_value("search", &json!({"header": {}}))),
        vec![
            v("header.message_id", "required"),
            v("header.message_ts", "required"),
            v("header.action", "required"),
            v("header.sender_id", "required"),
            v("header.total_count", "required"),
            v("message", "required"),
        ]
    );
    assert_eq!(
        violations(validate_value("search", &json!([1]))),
        vec![v("(root)", "must be an object, got an array")]
    );
}

#[test]
fn every_rule_is_named() {
    let long_id = "x".repeat(100);
    let long_msg = "m".repeat(1000);
    let mut e = load("valid/search.json");
    e["header"]["message_id"] = json!(long_id);
    e["header"]["message_ts"] = json!("2025-01-29T10:20:30");
    e["header"]["action"] = json!("on-search");
    e["header"]["total_count"] = json!(0);
    let item = &mut e["message"]["search_request"][0];
    item["timestamp"] = json!("29/01/2025");
    item["locale"] = json!("en");
    let c = &mut item["search_criteria"];
    c["query_type"] = json!("sql");
    c["pagination"] = json!({"page_size": 0, "page_number": "1"});
    c["sort"] = json!([{"attribute_name": "a", "sort_order": "up"}]);
    c["consent"] = json!("");
    assert_eq!(
        violations(validate_value("search", &e)),
        vec![
            v("header.message_id", "at most 99 characters (got 100)"),
            v("header.message_ts", "must be an RFC 3339 date-time with a timezone, got \"2025-01-29T10:20:30\""),
            v("header.action", "must be \"search\" for SearchRequest"),
            v("message.search_request[0].timestamp", "must be an RFC 3339 date-time with a timezone, got \"29/01/2025\""),
            v("message.search_request[0].search_criteria.query_type", "must be one of \"idtype-value\", \"expression\", \"predicate\", \"graphql\", got \"sql\""),
            v("message.search_request[0].search_criteria.sort[0].sort_order", "must be one of \"asc\", \"desc\", got \"up\""),
            v("message.search_request[0].search_criteria.pagination.page_size", "must be at least 1, got 0"),
            v("message.search_request[0].search_criteria.pagination.page_number", "must be an integer, got a string"),
            v("message.search_request[0].search_criteria.consent", "must be an object, got a string"),
            v("message.search_request[0].locale", "must be an ISO 639-3 code (three lowercase letters), got \"en\""),
            v("header.total_count", "must be at least the number of items in message.search_request (1), got 0"),
        ]
    );

    let mut r = load("valid/on-search.json");
    r["header"]["status"] = json!("done");
    r["header"]["completed_count"] = json!(5);
    r["header"]["status_reason_code"] = json!("rjct.search.too_many_records_found");
    let item = &mut r["message"]["search_response"][0];
    item["status_reason_message"] = json!(long_msg);
    item["status_reason_code"] = json!("rjct.version.invalid");
    item["pagination"] = json!({"page_size": 10, "page_number": 0});
    item["data"]["reg_records"] = json!("none");
    assert_eq!(
        violations(validate_value("on-search", &r)),
        vec![
            v("header.completed_count", "must be at most total_count (1), got 5"),
            v("header.status", "must be one of \"rcvd\", \"pdng\", \"succ\", \"rjct\", got \"done\""),
            v("header.status_reason_code", "must be one of \"rjct.version.invalid\", \"rjct.message_id.duplicate\", \"rjct.message_ts.invalid\", \"rjct.action.invalid\", \"rjct.action.not_supported\", \"rjct.total_count.invalid\", \"rjct.total_count.limit_exceeded\", \"rjct.errors.too_many\", got \"rjct.search.too_many_records_found\""),
            v("message.search_response[0].status_reason_code", "must be one of \"rjct.reference_id.invalid\", \"rjct.reference_id.duplicate\", \"rjct.timestamp.invalid\", \"rjct.search_criteria.invalid\", \"rjct.filter.invalid\", \"rjct.sort.invalid\", \"rjct.pagination.invalid\", \"rjct.search.too_many_records_found\", got \"rjct.version.invalid\""),
            v("message.search_response[0].status_reason_message", "at most 999 characters (got 1000)"),
            v("message.search_response[0].data.reg_records", "must be an array of records, got a string"),
            v("message.search_response[0].pagination.page_number", "must be at least 1, got 0"),
            v("message.search_response[0].pagination.total_count", "required"),
        ]
    );
}

#[test]
fn other_kinds_check_their_enums_and_ids() {
    let mut u = load("valid/unsubscribe.json");
    u["message"]["subscription_codes"] = json!(["ok", "y".repeat(100), 3]);
    assert_eq!(
        violations(validate_value("unsubscribe", &u)),
        vec![
            v(
                "message.subscription_codes[1]",
                "at most 99 characters (got 100)"
            ),
            v(
                "message.subscription_codes[2]",
                "must be a string, got a number"
            ),
        ]
    );
    // The Jan-2025 spellings are accepted by the raw validator too.
    let mut old = load("valid/unsubscribe.json");
    let m = old["message"].as_object_mut().unwrap();
    let ts = m.remove("timestamp").unwrap();
    let codes = m.remove("subscription_codes").unwrap();
    m.insert("timesstamp".into(), ts);
    m.insert("sunscription_codes".into(), codes);
    validate_value("unsubscribe", &old).unwrap();

    let mut t = load("valid/txn-status.json");
    t["message"]["txnstatus_request"]["txn_type"] = json!("disburse");
    t["message"]["txnstatus_request"]["attribute_value"] = json!({"id": 1});
    assert_eq!(
        violations(validate_value("txn-status", &t)),
        vec![
            v(
                "message.txnstatus_request.txn_type",
                "must be one of \"search\", \"subscribe\", \"unsubscribe\", \"receipt\", got \"disburse\""
            ),
            v(
                "message.txnstatus_request.attribute_value",
                "must be a string or an array of strings, got an object"
            ),
        ]
    );

    let mut s = load("valid/on-subscribe.json");
    s["message"]["subscribe_response"][0]["subscriptions"][0]["status"] = json!("paused");
    s["message"]["subscribe_response"][0]["status_reason_code"] =
        json!("rjct.event.already_subscribed");
    assert_eq!(
        violations(validate_value("on-subscribe", &s)),
        vec![v(
            "message.subscribe_response[0].subscriptions[0].status",
            "must be one of \"subscribe\", \"unsubscribe\", got \"paused\""
        )]
    );

    let mut d = load("valid/on-disabled.json");
    d["message"]["disabled_response"][0]["disabled_status"] = json!("maybe");
    d["message"]
        .as_object_mut()
        .unwrap()
        .remove("correlation_id");
    assert_eq!(
        violations(validate_value("on-disabled", &d)),
        vec![
            v("message.correlation_id", "required"),
            v(
                "message.disabled_response[0].disabled_status",
                "must be one of \"yes\", \"no\", got \"maybe\""
            ),
        ]
    );

    let mut n = load("valid/notify.json");
    n["header"].as_object_mut().unwrap().remove("status");
    n["message"]["notify_event"][0]["data"]
        .as_object_mut()
        .unwrap()
        .remove("reg_record_type");
    assert_eq!(
        violations(validate_value("notify", &n)),
        vec![
            v("header.status", "required"),
            v("message.notify_event[0].data.reg_record_type", "required"),
        ]
    );

    let mut sub = load("valid/subscribe.json");
    let c = sub["message"]["subscribe_request"][0]["subscribe_criteria"]
        .as_object_mut()
        .unwrap();
    c.remove("filter");
    c.insert("frequency".into(), json!({"start_time": "tomorrow"}));
    assert_eq!(
        violations(validate_value("subscribe", &sub)),
        vec![
            v(
                "message.subscribe_request[0].subscribe_criteria.frequency.start_time",
                "must be an RFC 3339 date-time with a timezone, got \"tomorrow\""
            ),
            v(
                "message.subscribe_request[0].subscribe_criteria.frequency.end_time",
                "required"
            ),
            v(
                "message.subscribe_request[0].subscribe_criteria.frequency.frequency",
                "required"
            ),
            v(
                "message.subscribe_request[0].subscribe_criteria.filter",
                "required"
            ),
        ]
    );
}

#[test]
fn ack_and_encrypted_message_rules() {
    assert_eq!(
        violations(validate_value(
            "ack",
            &json!({"message": {"ack_status": "ERR", "timestamp": "2025-01-29T10:20:30+05:30", "correlation_id": "c"}})
        )),
        vec![v("message.error", "required when ack_status is \"ERR\"")]
    );
    assert_eq!(
        violations(validate_value("ack", &json!({"message": {"ack_status": "OK", "error": {"code": "err.nope"}}}))),
        vec![
            v("message.ack_status", "must be one of \"ACK\", \"NACK\", \"ERR\", got \"OK\""),
            v("message.timestamp", "required"),
            v("message.correlation_id", "required"),
            v("message.error.code", "must be one of \"err.request.bad\", \"err.request.unauthorized\", \"err.request.forbidden\", \"err.request.not_found\", \"err.request.timeout\", \"err.version.not_supported\", \"err.request.too_many_requests\", \"err.sender_id.invalid\", \"err.sender_uri.invalid\", \"err.receiver_id.invalid\", \"err.signature.missing\", \"err.signature.invalid\", \"err.encryption.invalid\", \"err.service.unavailable\", got \"err.nope\""),
        ]
    );
    let mut e = load("valid/search.json");
    e["header"]["is_msg_encrypted"] = json!(true);
    e["message"] = json!({"header": {"alg": "RSA-OAEP-256", "enc": "A256GCM"}, "ciphertext": "x", "encrypted_key": "k", "tag": "t"});
    assert_eq!(
        violations(validate_value("search", &e)),
        vec![
            v("message.header.kid", "required"),
            v("message.iv", "required")
        ]
    );
}

#[test]
fn typed_validate_uses_the_same_rules() {
    let mut e: Envelope<SearchRequest> = serde_json::from_value(load("valid/search.json")).unwrap();
    e.validate().unwrap();
    e.message.search_request[0].locale = Some("EN".into());
    e.message.search_request[0].search_criteria.query_type = QueryType::Other("sql".into());
    e.header.total_count = Int(-1);
    let expected = vec![
        v("header.total_count", "must be at least 0, got -1"),
        v("message.search_request[0].search_criteria.query_type", "must be one of \"idtype-value\", \"expression\", \"predicate\", \"graphql\", got \"sql\""),
        v("message.search_request[0].locale", "must be an ISO 639-3 code (three lowercase letters), got \"EN\""),
    ];
    assert_eq!(violations(e.validate()), expected);
    // On the message alone, paths start at the message.
    assert_eq!(
        violations(e.message.validate()),
        vec![
            v("search_request[0].search_criteria.query_type", "must be one of \"idtype-value\", \"expression\", \"predicate\", \"graphql\", got \"sql\""),
            v("search_request[0].locale", "must be an ISO 639-3 code (three lowercase letters), got \"EN\""),
        ]
    );
    let err = e.validate().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.dci_code(), Some("err.request.bad"));
    assert_eq!(err.field(), Some("header.total_count"));
}

#[test]
fn spec_examples_are_flagged_where_they_break_the_spec() {
    let e = load("examples/social/processflow1-1req.json");
    assert_eq!(
        violations(validate_value("search", &e)),
        vec![
            v("header.total_count", "must be an integer, got a string"),
            v(
                "message.search_request[0].search_criteria.consent",
                "must be an object, got a string"
            ),
            v(
                "message.search_request[0].search_criteria.authorize",
                "must be an object, got a string"
            ),
            v(
                "message.search_request[0].locale",
                "must be an ISO 639-3 code (three lowercase letters), got \"EN/GB\""
            ),
        ]
    );
    // After the lenient parse, the typed form only keeps the real problems.
    let typed: Envelope<SearchRequest> = serde_json::from_value(e).unwrap();
    assert_eq!(violations(typed.validate()).len(), 3);
}

#[test]
fn unknown_kind_and_action() {
    let err = validate_value("disburse", &json!({})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("unknown message kind \"disburse\""),
        "{err}"
    );
    let mut e = load("valid/search.json");
    e["header"]["action"] = json!("verify");
    assert_eq!(
        violations(validate_envelope_value(&e)),
        vec![v("header.action", "an action of the registry API (search, on-search, subscribe, on-subscribe, notify, unsubscribe, on-unsubscribe, txn-status, txn-on-status)")]
    );
    assert_eq!(
        "search".parse::<MessageKind>().unwrap(),
        MessageKind::SearchRequest
    );
    assert_eq!(
        "SearchResponse".parse::<MessageKind>().unwrap(),
        MessageKind::SearchResponse
    );
    assert_eq!(
        MessageKind::SubscribeResponse.header_kind(),
        Some(HeaderKind::Request)
    );
    assert_eq!(
        MessageKind::NotifyEventRequest.header_kind(),
        Some(HeaderKind::Callback)
    );
}

#[test]
fn helpers() {
    assert!(is_rfc3339("2022-12-04T17:20:07-04:00"));
    assert!(is_rfc3339("2023-07-19T12:15:04.555Z"));
    assert!(!is_rfc3339("2023-07-19T12:15:04"));
    assert!(!is_rfc3339("2023-07-19"));
    assert!(is_iso639_3("eng"));
    assert!(!is_iso639_3("en"));
    assert!(!is_iso639_3("ENG"));
    assert!(!is_iso639_3("éng"));
}

#[test]
fn duplicate_reference_ids_are_named() {
    let mut e = load("valid/search.json");
    let item = e["message"]["search_request"][0].clone();
    let arr = e["message"]["search_request"].as_array_mut().unwrap();
    arr.push(item.clone());
    arr.push(item);
    e["header"]["total_count"] = json!(3);
    assert_eq!(
        violations(validate_value("search", &e)),
        vec![
            v(
                "message.search_request[1].reference_id",
                "duplicate of message.search_request[0].reference_id \"ref-1\""
            ),
            v(
                "message.search_request[2].reference_id",
                "duplicate of message.search_request[0].reference_id \"ref-1\""
            ),
        ]
    );
}

#[test]
fn headers_and_acks_validate_alone() {
    let e: Envelope<SearchRequest> = serde_json::from_value(load("valid/search.json")).unwrap();
    e.header.validate().unwrap();
    let mut h = e.header.clone();
    h.message_ts = "yesterday".into();
    assert_eq!(
        violations(h.validate()),
        vec![v(
            "header.message_ts",
            "must be an RFC 3339 date-time with a timezone, got \"yesterday\""
        )]
    );
    let cb: Envelope<SearchResponse, MsgCallbackHeader> =
        serde_json::from_value(load("valid/on-search.json")).unwrap();
    cb.header.validate().unwrap();
    let ack: AckResponse = serde_json::from_value(load("valid/ack.json")).unwrap();
    ack.validate().unwrap();
    let bad = AckResponse::ack("c").with_timestamp("now");
    assert_eq!(
        violations(bad.validate()),
        vec![v(
            "message.timestamp",
            "must be an RFC 3339 date-time with a timezone, got \"now\""
        )]
    );
}

#[test]
fn callback_without_message() {
    let mut raw = load("valid/on-search.json");
    raw.as_object_mut().unwrap().remove("message");
    validate_value("on-search", &raw).unwrap();
    let e: Envelope<Option<SearchResponse>, MsgCallbackHeader> =
        serde_json::from_value(raw).unwrap();
    assert!(e.message.is_none());
    e.validate().unwrap();
    // A request without a message is not valid.
    let mut req = load("valid/search.json");
    req.as_object_mut().unwrap().remove("message");
    assert_eq!(
        violations(validate_value("search", &req)),
        vec![v("message", "required")]
    );
}

#[test]
fn endpoints_map_to_kinds() {
    use MessageKind::*;
    assert_eq!(
        endpoint_kinds("/registry/sync/search"),
        Some((SearchRequest, Some(SearchResponse)))
    );
    assert_eq!(
        endpoint_kinds("/registry/on-search"),
        Some((SearchResponse, None))
    );
    assert_eq!(
        endpoint_kinds("/registry/sync/enrolled/"),
        Some((EnrolledRequest, Some(EnrolledResponse)))
    );
    assert_eq!(
        endpoint_kinds("/registry/sync/get-disability-details"),
        Some((GetDisabilitySupportRequest, Some(GetDisabilityInfoResponse)))
    );
    assert_eq!(endpoint_kinds("/registry/disburse"), None);
    // Every kind's schema name parses back to the kind.
    for k in MessageKind::ALL {
        assert_eq!(k.schema_name().parse::<MessageKind>().unwrap(), *k);
    }
}

/// Every key path of `v`, as (validator-style path, pointer segments).
fn key_paths(v: &Value, path: &str, ptr: Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let mut q = ptr.clone();
                q.push(k.clone());
                out.push((p.clone(), q.clone()));
                key_paths(x, &p, q, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut q = ptr.clone();
                q.push(i.to_string());
                key_paths(x, &format!("{path}[{i}]"), q, out);
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, ptr: &[String]) -> &'a mut Value {
    ptr.iter().fold(v, |v, s| match v {
        Value::Array(a) => &mut a[s.parse::<usize>().unwrap()],
        other => &mut other[s.as_str()],
    })
}

#[test]
fn removing_any_required_field_names_it_and_nothing_panics() {
    // The same request and response fixtures, each once under one kind.
    let again = [
        "get-disability-support",
        "get-disability-details",
        "DisabledResponse",
    ];
    let cases = FIXTURES.iter().copied().filter(|(k, _)| !again.contains(k));
    let mut required_seen = 0;
    for (kind, file) in cases {
        let base = load(&format!("valid/{file}"));
        let mut paths = Vec::new();
        key_paths(&base, "", Vec::new(), &mut paths);
        for (path, ptr) in paths {
            // Removing the key: either still valid (optional) or reported at that path.
            let mut m = base.clone();
            let (last, parent) = ptr.split_last().unwrap();
            at(&mut m, parent).as_object_mut().unwrap().remove(last);
            if let Err(e) = validate_value(kind, &m) {
                let Error::Validation(vs) = e else {
                    panic!("{kind} {path}: {e}")
                };
                assert!(
                    vs.iter().any(|x| x.path == path && x.rule == "required"),
                    "{kind} {path}: {vs:?}"
                );
                required_seen += 1;
            }
            // Replacing it with any other JSON type never panics.
            for junk in [
                json!(null),
                json!(-1),
                json!("x"),
                json!([1]),
                json!({"a": 1}),
                json!(1e300),
            ] {
                let mut m = base.clone();
                *at(&mut m, &ptr) = junk;
                let _ = validate_value(kind, &m);
                let _ = validate_envelope_value(&m);
                let _ = serde_json::from_value::<RawEnvelope>(m);
            }
        }
    }
    // The fixtures hold plenty of required fields; each was named when removed.
    assert!(required_seen > 100, "{required_seen}");
}

/// The latest crvs and fr specs list `txn_type` `unsubscribe` and `attribute_type`
/// `subscription_code_list`; both validate and parse as known values.
#[test]
fn txn_status_knows_the_latest_spec_values() {
    let mut t = load("valid/txn-status.json");
    t["message"]["txnstatus_request"]["txn_type"] = json!("unsubscribe");
    t["message"]["txnstatus_request"]["attribute_type"] = json!("subscription_code_list");
    t["message"]["txnstatus_request"]["attribute_value"] = json!(["SUB-1", "SUB-2"]);
    validate_value("txn-status", &t).unwrap();
    let typed: dci::model::TxnStatusRequest = serde_json::from_value(t["message"].clone()).unwrap();
    assert_eq!(
        typed.txnstatus_request.txn_type,
        dci::model::TxnType::Unsubscribe
    );
    assert_eq!(
        typed.txnstatus_request.attribute_type,
        dci::model::TxnAttributeType::SubscriptionCodeList
    );
}

/// `reg_event_type` is the Jan-2025 name of `reg_record_type`: one of them validates, both at
/// once are a violation naming the older one.
#[test]
fn search_criteria_take_one_name_of_the_record_type() {
    let mut e = load("valid/search.json");
    let sc = &mut e["message"]["search_request"][0]["search_criteria"];
    sc["reg_record_type"] = json!("Person");
    sc.as_object_mut().unwrap().remove("reg_event_type");
    validate_value("search", &e).unwrap();
    let sc = &mut e["message"]["search_request"][0]["search_criteria"];
    sc["reg_event_type"] = json!("spdci-common:RegistryEventType:LiveBirth");
    assert_eq!(
        violations(validate_value("search", &e)),
        vec![v(
            "message.search_request[0].search_criteria.reg_event_type",
            "is the Jan-2025 name of reg_record_type; send one of them, not both"
        )]
    );
}
