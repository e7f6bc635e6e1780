//! Builders, acks, error responses, wire codes and record views.

use dci::model::*;
use dci::{Error, Violation};
use serde_json::{json, Value};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/model");

fn load(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{ROOT}/{rel}")).unwrap()).unwrap()
}

fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s)
        .map(|u| u.get_version_num() == 4)
        .unwrap_or(false)
}

#[test]
fn envelope_builder_fills_header_and_derives_total_count() {
    let msg = SearchRequestBuilder::new()
        .transaction_id("txn-1")
        .reg_type("ns:org:RegistryType:Civil")
        .reg_record_type("Person")
        .pagination(10, 1)
        .sort("birth_date", "asc")
        .consent(json!({}))
        .authorize(json!({}))
        .locale("eng")
        .query("idtype-value", json!({"type": "UIN", "value": "197382465"}))
        .query(
            "expression",
            json!({"type": "ns:org:QueryType:NoSql", "value": {"$and": []}}),
        )
        .build()
        .unwrap();
    let env = EnvelopeBuilder::new("search")
        .sender_id("spp.example.org")
        .sender_uri("https://spp.example.org/callback")
        .receiver_id("registry.example.org")
        .build(msg)
        .unwrap();
    env.validate().unwrap();
    validate_value("search", &env.to_value().unwrap()).unwrap();

    assert!(
        is_uuid_v4(&env.header.message_id),
        "{}",
        env.header.message_id
    );
    assert!(is_rfc3339(&env.header.message_ts));
    assert!(env.header.message_ts.ends_with('Z'));
    assert_eq!(env.header.total_count, Int(2));
    assert_eq!(env.header.version.as_deref(), Some("1.0.0"));
    assert_eq!(env.header.action, Action::Search);
    assert_eq!(env.signature, None);

    let items = &env.message.search_request;
    assert_eq!(items.len(), 2);
    assert!(is_uuid_v4(&items[0].reference_id) && is_uuid_v4(&items[1].reference_id));
    assert_ne!(items[0].reference_id, items[1].reference_id);
    assert!(is_rfc3339(&items[1].timestamp));

    // The exact wire form of an item, with the generated values pinned.
    let mut v = env.to_value().unwrap();
    v["message"]["search_request"][0]["reference_id"] = json!("ref");
    v["message"]["search_request"][0]["timestamp"] = json!("ts");
    assert_eq!(
        v["message"]["search_request"][0],
        json!({
            "reference_id": "ref",
            "timestamp": "ts",
            "search_criteria": {
                "version": "1.0.0",
                "reg_type": "ns:org:RegistryType:Civil",
                "reg_record_type": "Person",
                "query_type": "idtype-value",
                "query": {"type": "UIN", "value": "197382465"},
                "sort": [{"attribute_name": "birth_date", "sort_order": "asc"}],
                "pagination": {"page_size": 10, "page_number": 1},
                "consent": {},
                "authorize": {}
            },
            "locale": "eng"
        })
    );
    assert_eq!(v["message"]["transaction_id"], json!("txn-1"));
    assert_eq!(
        v["message"]["search_request"][1]["search_criteria"]["query_type"],
        json!("expression")
    );
}

#[test]
fn header_builder_pins_values_and_requires_sender() {
    let h = HeaderBuilder::new("txn-status")
        .message_id("m-1")
        .message_ts("2025-01-29T10:20:30.000Z")
        .sender_id("s")
        .total_count(1)
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&h).unwrap(),
        json!({"version": "1.0.0", "message_id": "m-1", "message_ts": "2025-01-29T10:20:30.000Z",
               "action": "txn-status", "sender_id": "s", "total_count": 1})
    );
    match HeaderBuilder::new("search").build() {
        Err(Error::Validation(v)) => {
            assert_eq!(v, vec![Violation::new("header.sender_id", "required")])
        }
        other => panic!("{other:?}"),
    }
    // Explicit total_count wins over the derived one.
    let e = EnvelopeBuilder::new("unsubscribe")
        .sender_id("s")
        .total_count(7)
        .build(UnSubscribeRequest {
            transaction_id: "t".into(),
            timestamp: now_rfc3339(),
            subscription_codes: vec!["a".into()],
            extra: Default::default(),
        })
        .unwrap();
    assert_eq!(e.header.total_count, Int(7));
}

#[test]
fn search_builder_reports_every_problem() {
    match SearchRequestBuilder::new().build() {
        Err(Error::Validation(v)) => assert_eq!(v[0].path, "search_request"),
        other => panic!("{other:?}"),
    }
    let err = SearchRequestBuilder::new()
        .locale("en")
        .pagination(0, 1)
        .query("sql", json!("select 1"))
        .build()
        .unwrap_err();
    match err {
        Error::Validation(v) => assert_eq!(
            v.iter().map(|x| x.path.as_str()).collect::<Vec<_>>(),
            vec![
                "search_request[0].search_criteria.query_type",
                "search_request[0].search_criteria.pagination.page_size",
                "search_request[0].locale",
            ]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn callback_header_answers_a_request() {
    let req: Envelope<SearchRequest> = serde_json::from_value(load("valid/search.json")).unwrap();
    let h = CallbackHeaderBuilder::from_request(&req.header, RequestStatus::Rejected)
        .reason(ReasonCode::TotalCountLimitExceeded, "too many")
        .completed_count(0)
        .build();
    assert_eq!(h.action, Action::OnSearch);
    assert_eq!(h.status.as_str(), "rjct");
    assert_eq!(h.sender_id.as_deref(), Some("registry.example.org"));
    assert_eq!(h.receiver_id.as_deref(), Some("spp.example.org"));
    assert_eq!(h.total_count, Some(Int(1)));
    assert!(is_uuid_v4(&h.message_id));
    assert_ne!(h.message_id, req.header.message_id);
    let v = serde_json::to_value(&h).unwrap();
    assert_eq!(
        v["status_reason_code"],
        json!("rjct.total_count.limit_exceeded")
    );
    assert_eq!(v["completed_count"], json!(0));
    validate_header_value(&v, HeaderKind::Callback).unwrap();
    assert_eq!(callback_action("txn-status"), Some("txn-on-status"));
    assert_eq!(callback_action("notify"), None);
}

#[test]
fn ack_and_http_error_responses() {
    let ack = AckResponse::ack("corr-1").with_timestamp("2025-01-29T10:20:30.000Z");
    assert_eq!(
        serde_json::to_string(&ack).unwrap(),
        r#"{"message":{"ack_status":"ACK","timestamp":"2025-01-29T10:20:30.000Z","correlation_id":"corr-1"}}"#
    );
    let err = AckResponse::err("corr-2", ErrorCode::SignatureInvalid, "digest mismatch")
        .with_timestamp("2025-01-29T10:20:30.000Z");
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({"message": {"ack_status": "ERR", "timestamp": "2025-01-29T10:20:30.000Z",
               "error": {"code": "err.signature.invalid", "message": "digest mismatch"},
               "correlation_id": "corr-2"}})
    );
    validate_value("ack", &serde_json::to_value(&err).unwrap()).unwrap();
    let fresh = AckResponse::nack("c");
    assert!(is_rfc3339(&fresh.message.timestamp));
    assert_eq!(fresh.message.ack_status.as_str(), "NACK");

    let e = Error::Validation(vec![
        Violation::new("header.sender_id", "required"),
        Violation::new("message.search_request[0].locale", "bad"),
    ]);
    assert_eq!(
        serde_json::to_value(HttpErrorResponse::from_error(&e)).unwrap(),
        json!({"errors": [
            {"code": "err.request.bad", "message": "header.sender_id: required"},
            {"code": "err.request.bad", "message": "message.search_request[0].locale: bad"}
        ]})
    );
    assert_eq!(
        serde_json::to_value(HttpErrorResponse::single(
            "err.request.unauthorized",
            "no token"
        ))
        .unwrap(),
        json!({"errors": [{"code": "err.request.unauthorized", "message": "no token"}]})
    );
}

#[test]
fn wire_codes_round_trip() {
    fn check<T>(
        known: &[&str],
        parse: fn(&str) -> T,
        as_str: fn(&T) -> String,
        is_known: fn(&T) -> bool,
    ) where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        for s in known {
            let v = parse(s);
            assert!(is_known(&v), "{s}");
            assert_eq!(as_str(&v), *s);
            assert_eq!(serde_json::to_value(&v).unwrap(), json!(s));
            assert_eq!(serde_json::from_value::<T>(json!(s)).unwrap(), v);
        }
        let o = parse("x.unknown");
        assert!(!is_known(&o));
        assert_eq!(serde_json::to_value(&o).unwrap(), json!("x.unknown"));
    }
    // Every wire enum: parse, as_str, is_known and serde over its KNOWN list.
    macro_rules! check_all {
        ($($t:ident),*) => {
            $(check($t::KNOWN, |s| s.parse().unwrap(), |v: &$t| v.as_str().to_string(), $t::is_known);)*
        };
    }
    check_all!(ReasonCode, ErrorCode, RequestStatus, AckStatus, Action);

    assert_eq!(ReasonCode::KNOWN.len(), 23);
    assert_eq!(ErrorCode::KNOWN.len(), 14);
    for list in [
        HEADER_REASON_CODES,
        SEARCH_REASON_CODES,
        SUBSCRIBE_REASON_CODES,
        UNSUBSCRIBE_REASON_CODES,
    ] {
        for c in list {
            assert!(ReasonCode::from_wire(c).is_known(), "{c}");
        }
    }
    assert_eq!(
        ErrorCode::SignatureMissing.to_string(),
        "err.signature.missing"
    );
    assert_eq!(
        ReasonCode::from_wire("rjct.search.too_many_records_found"),
        ReasonCode::SearchTooManyRecordsFound
    );
    assert_eq!(RequestStatus::from_wire("rjct"), RequestStatus::Rejected);
    assert_eq!(
        SubscriptionStatus::from_wire("subscibe").as_str(),
        "subscribe"
    );
    assert_eq!(ReasonCode::Other("rjct.x".into()).as_str(), "rjct.x");
    // A non-string is a parse error, not an Other.
    assert!(serde_json::from_value::<RequestStatus>(json!(1)).is_err());
}

#[test]
fn int_reads_numbers_and_numeric_strings() {
    assert_eq!(serde_json::from_value::<Int>(json!(5)).unwrap(), Int(5));
    assert_eq!(
        serde_json::from_value::<Int>(json!("21800")).unwrap(),
        Int(21800)
    );
    assert_eq!(serde_json::from_value::<Int>(json!(3.0)).unwrap(), Int(3));
    let e = serde_json::from_value::<Int>(json!("ten")).unwrap_err();
    assert_eq!(e.to_string(), "expected an integer, got string \"ten\"");
    assert!(serde_json::from_value::<Int>(json!(1.5)).is_err());
    assert!(serde_json::from_value::<Int>(json!(u64::MAX)).is_err());
}

#[test]
fn record_views_keep_every_field() {
    let res: Envelope<SearchResponse, MsgCallbackHeader> =
        serde_json::from_value(load("examples/crvs/processflow1res.json")).unwrap();
    let data = res.message.search_response[0].data.as_ref().unwrap();
    let rec = data.records()[0];
    let p = Person::from_record(rec).unwrap();
    assert_eq!(p.name.as_ref().unwrap()["given_name"], json!("Sudarat"));
    assert_eq!(p.sex, Some(json!("female")));
    assert!(p.extra.contains_key("@context"));
    assert_eq!(&p.to_record().unwrap(), rec);

    let g = Group::from_record(&json!({
        "@type": "Group", "group_type": "family", "group_size": 2,
        "member_list": [{"member_identifier": "M1", "demographic_info": {"name": "A"}, "x": 1}]
    }))
    .unwrap();
    let members = g.member_list.as_ref().unwrap();
    assert_eq!(members[0].member_identifier, Some(json!("M1")));
    assert_eq!(members[0].extra["x"], json!(1));
    assert_eq!(g.extra["@type"], json!("Group"));

    let f =
        Farmer::from_record(&json!({"famer_personal_details": {"name": "F"}, "land_details": []}))
            .unwrap();
    assert_eq!(f.farmer_personal_details, Some(json!({"name": "F"})));
    assert_eq!(
        f.to_record().unwrap(),
        json!({"farmer_personal_details": {"name": "F"}, "land_details": []})
    );

    let d =
        DisabledPerson::from_record(&json!({"disability_status": "Approved", "extra_field": true}))
            .unwrap();
    assert_eq!(d.disability_status, Some(json!("Approved")));
    assert_eq!(d.extra["extra_field"], json!(true));

    let b = Beneficiary::from_record(
        &json!({"assistance_unit": "1", "member": {"member_identifier": "M"}}),
    )
    .unwrap();
    assert_eq!(b.assistance_unit, Some(json!("1")));

    // A non-object record is an error naming the record.
    let e = Person::from_record(&json!(3)).unwrap_err();
    assert!(e.to_string().starts_with("invalid JSON: record:"), "{e}");
}

#[test]
fn raw_envelope_dispatch() {
    let raw: RawEnvelope =
        RawEnvelope::from_slice(&std::fs::read(format!("{ROOT}/valid/txn-status.json")).unwrap())
            .unwrap();
    assert_eq!(raw.header.action, Action::TxnStatus);
    assert!(!raw.is_encrypted());
    let m: TxnStatusRequest = raw.message_as().unwrap();
    assert_eq!(
        m.txnstatus_request.attribute_type,
        TxnAttributeType::TransactionId
    );
    let err = raw.message_as::<SearchRequest>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid JSON: message: missing field `search_request`"
    );
    let bad = RawEnvelope::from_slice(b"{\"header\": 1").unwrap_err();
    assert_eq!(bad.kind(), dci::ErrorKind::Json);
}

#[test]
fn query_module_payloads_plug_in() {
    let idq = dci::query::IdTypeValue::new("UIN", "197382465");
    let expr = dci::query::Expression::filter(dci::query::field("birth_date").gte("2000-01-01"));
    let msg = SearchRequestBuilder::new()
        .reg_record_type("Person")
        .query_wire(idq.to_wire())
        .query_wire(expr.to_wire())
        .build()
        .unwrap();
    let c0 = &msg.search_request[0].search_criteria;
    assert_eq!(c0.query_type, QueryType::IdtypeValue);
    assert_eq!(c0.query, idq.to_value());
    let c1 = &msg.search_request[1].search_criteria;
    assert_eq!(c1.query_type, QueryType::Expression);
    // The evaluator accepts what the model carries.
    let rec = json!({"identifier": [{"identifier_type": "UIN", "identifier_value": "197382465"}], "birth_date": "2001-02-03"});
    assert!(dci::query::matches(&rec, c0.query_type.as_str(), &c0.query).unwrap());
    assert!(dci::query::matches(&rec, c1.query_type.as_str(), &c1.query).unwrap());
}
