//! The client's typed path without a registry: requests built through `dci::model` and the
//! dialect adapter, the one `SearchSpec` the C ABI and Python convert into, the callback
//! answer, the flat data-source form and the structured errors.

use chrono::TimeZone;
use serde_json::{json, Map, Value};

use dci::client::callback::{ack, error_ack};
use dci::client::request::{self, Ids};
use dci::client::{
    CallbackAnswer, DataSource, Dialect, RegistryType, SearchSpec, SubscribeSpec, TxnStatusQuery,
};
use dci::error::{Error, ErrorKind, TransportKind, Violation};
use dci::model::{
    DciMessage, SearchRequest, SubscribeRequest, TxnStatusRequest, UnSubscribeRequest,
};
use dci::query::Query;

fn ds(dialect: Dialect) -> DataSource {
    let mut d = DataSource::new("https://registry.example.org/api", "openspp.example.org");
    d.dialect = dialect;
    d.our_callback_uri = Some("https://spp.example.org/cb".into());
    d
}

fn ids() -> Ids {
    Ids {
        transaction_id: "t-1".into(),
        message_id: "m-1".into(),
        reference_ids: vec!["r-1".into()],
        time: chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
    }
}

/// The bytes of the search message a spec becomes on a data source.
fn search_bytes(d: &DataSource, spec: &SearchSpec) -> String {
    let m = request::search_request(d, spec, &mut ids()).unwrap();
    serde_json::to_string(&m).unwrap()
}

const ALL_DIALECTS: [Dialect; 4] = [
    Dialect::Spdci,
    Dialect::Opencrvs,
    Dialect::Openg2p,
    Dialect::Openspp2,
];

#[test]
fn the_farmer_registry_is_reg_type_fr_as_the_spec_and_our_server_say() {
    assert_eq!(RegistryType::Fr.reg_type(), "ns:org:RegistryType:FR");
    let mut d = ds(Dialect::Spdci);
    d.registry_type = RegistryType::parse("farmer").unwrap();
    let m = request::search_request(&d, &SearchSpec::by_id("UIN", "1"), &mut ids()).unwrap();
    assert_eq!(
        m.search_request[0].search_criteria.reg_type.as_deref(),
        Some("ns:org:RegistryType:FR")
    );
    let s = request::subscribe_request(&d, &[SubscribeSpec::event("e")], &mut ids()).unwrap();
    assert_eq!(
        s.subscribe_request[0]
            .subscribe_criteria
            .reg_type
            .as_deref(),
        Some("ns:org:RegistryType:FR")
    );
}

#[test]
fn c_and_python_searches_become_the_same_bytes_on_every_dialect() {
    // What dci_client_search_sync deserialises from search_json ...
    let c_path = SearchSpec::from_json_str(
        r#"{"query_type":"idtype-value","query":{"type":"UIN","value":"1003"},"page_size":10}"#,
        "search_json",
    )
    .unwrap();
    // ... what Python's search(Query.idtype_value(...)) converts into, and search_by_id.
    let q = Query::parse("idtype-value", &json!({"type": "UIN", "value": "1003"})).unwrap();
    let py_query = SearchSpec::from_query(&q).page(1, 10);
    let py_by_id = SearchSpec::by_id("UIN", "1003").page(1, 10);
    assert_eq!(c_path, py_query);
    assert_eq!(c_path, py_by_id);
    for d in ALL_DIALECTS {
        let want = search_bytes(&ds(d), &c_path);
        assert_eq!(search_bytes(&ds(d), &py_query), want, "{d:?}");
        assert_eq!(search_bytes(&ds(d), &py_by_id), want, "{d:?}");
    }
    // On openg2p every path sends OpenG2P's search_text form.
    let m: Value = serde_json::from_str(&search_bytes(&ds(Dialect::Openg2p), &py_query)).unwrap();
    let c = &m["search_request"][0]["search_criteria"];
    assert_eq!(c["query_type"], "expression");
    assert_eq!(
        c["query"],
        json!({"type": "ns:org:QueryType:expression",
               "value": {"expression": {"query": {"search_text": {"$eq": "1003"}}}}})
    );
    assert_eq!(
        (&c["reg_type"], &c["reg_record_type"]),
        (&json!("Individual"), &json!("Individual"))
    );
    // The spec form elsewhere.
    let m: Value = serde_json::from_str(&search_bytes(&ds(Dialect::Spdci), &c_path)).unwrap();
    assert_eq!(
        m["search_request"][0]["search_criteria"]["query"],
        json!({"type": "UIN", "value": "1003"})
    );
}

#[test]
fn a_date_range_sent_as_json_is_recognised_like_the_shortcut() {
    let shortcut = SearchSpec::date_range("birth_date", "2024-01-01", "2024-04-30");
    let as_json =
        SearchSpec::from_json_str(&serde_json::to_string(&shortcut).unwrap(), "x").unwrap();
    assert_eq!(
        as_json.date_range_parts(),
        Some((
            "birth_date".into(),
            "2024-01-01".into(),
            "2024-04-30".into()
        ))
    );
    let d = ds(Dialect::Opencrvs);
    assert_eq!(search_bytes(&d, &as_json), search_bytes(&d, &shortcut));
    let m: Value = serde_json::from_str(&search_bytes(&d, &as_json)).unwrap();
    let item = &m["search_request"][0];
    assert_eq!(
        item["search_criteria"]["query"],
        json!({"type": "ns:org:QueryType:expression",
               "value": {"birth_date": {"type": "range", "gte": "2024-01-01", "lte": "2024-04-30"}}})
    );
    assert_eq!(item["search_criteria"]["reg_type"], "birth");
    assert_eq!(item["consent"]["id"], "consent-r-1");
    assert_eq!(item["locale"], "eng");
    // An "or" of the same bounds is not a range: sent as the predicate it is.
    let mut or = serde_json::to_value(&shortcut).unwrap();
    or["query"][0]["condition"] = json!("or");
    let or: SearchSpec = serde_json::from_value(or).unwrap();
    assert_eq!(or.date_range_parts(), None);
}

#[test]
fn search_json_defaults_and_refusals() {
    let s = SearchSpec::from_json_str(r#"{"query_type":"expression","query":{}}"#, "search_json")
        .unwrap();
    assert_eq!((s.page_number, s.page_size), (1, 100));
    let e = SearchSpec::from_json_str(r#"{"query_type":"x","query":{},"pages":1}"#, "search_json")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Json);
    assert!(e.to_string().contains("unknown field `pages`"), "{e}");
    let e =
        SearchSpec::from_json_str(r#"{"query_type":"idtype-value"}"#, "search_json").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("invalid JSON: search_json: missing field `query`"),
        "{e}"
    );
}

#[test]
fn every_message_is_the_model_type_and_the_header_is_the_dialects() {
    let d = ds(Dialect::Spdci);
    let mut i = ids();
    let search = request::search_request(&d, &SearchSpec::by_id("UIN", "1"), &mut i).unwrap();
    let env = request::request_envelope(&d, "search", &search, 1, &i).unwrap();
    assert_eq!(
        serde_json::to_string(&env).unwrap(),
        concat!(
            r#"{"signature":"","header":{"version":"1.0.0","message_id":"m-1","message_ts":"2025-01-02T03:04:05.000Z","#,
            r#""action":"search","sender_id":"openspp.example.org","sender_uri":"https://spp.example.org/cb","#,
            r#""receiver_id":"registry.example.org","total_count":1,"is_msg_encrypted":false},"#,
            r#""message":{"transaction_id":"t-1","search_request":[{"reference_id":"r-1","timestamp":"2025-01-02T03:04:05.000Z","#,
            r#""search_criteria":{"version":"1.0.0","reg_type":"ns:org:RegistryType:Social","query_type":"idtype-value","#,
            r#""query":{"type":"UIN","value":"1"},"pagination":{"page_size":100,"page_number":1}}}]}}"#
        )
    );
    // Each message reads back as its model type and passes the model's validation.
    let back: SearchRequest = serde_json::from_value(env["message"].clone()).unwrap();
    back.validate().unwrap();
    let sub = request::subscribe_request(
        &d,
        &[SubscribeSpec::event("e1"), SubscribeSpec::event("e2")],
        &mut ids(),
    )
    .unwrap();
    assert_eq!(sub.subscribe_request.len(), 2);
    let v = serde_json::to_value(&sub).unwrap();
    assert_eq!(
        v["subscribe_request"][1]["subscribe_criteria"]["filter"],
        json!({"type": "*", "value": "*"})
    );
    let _: SubscribeRequest = serde_json::from_value(v).unwrap();
    let un = request::unsubscribe_request(&d, &["c1".to_string()], &ids());
    let v = serde_json::to_value(&un).unwrap();
    assert_eq!(
        v,
        json!({"transaction_id": "t-1", "timestamp": "2025-01-02T03:04:05.000Z", "subscription_codes": ["c1"]})
    );
    let _: UnSubscribeRequest = serde_json::from_value(v).unwrap();
    let txn = request::txn_status_request(&TxnStatusQuery::search_transaction("t-0"), &mut ids());
    let v = serde_json::to_value(&txn).unwrap();
    assert_eq!(
        v,
        json!({"transaction_id": "t-1", "txnstatus_request": {"reference_id": "r-1", "txn_type": "search",
               "attribute_type": "transaction_id", "attribute_value": "t-0"}})
    );
    let _: TxnStatusRequest = serde_json::from_value(v).unwrap();
    // OpenSPP 2: every DCIMessageHeader field, null where absent.
    let mut d2 = ds(Dialect::Openspp2);
    d2.our_callback_uri = None;
    let h = request::request_header(&d2, "search", &ids(), 1);
    assert_eq!(
        serde_json::to_string(&h).unwrap(),
        r#"{"version":"1.0.0","message_id":"m-1","message_ts":"2025-01-02T03:04:05Z","action":"search","sender_id":"openspp.example.org","sender_uri":null,"receiver_id":"registry.example.org","total_count":1,"is_msg_encrypted":false,"meta":null}"#
    );
}

#[test]
fn the_callback_answer_has_the_same_keys_for_accepted_and_refused() {
    let refused = CallbackAnswer::new(Err(Error::SignatureMissing("unsigned".into())));
    let v = serde_json::to_value(&refused).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "accepted",
            "http_status",
            "ack",
            "action",
            "transaction_id",
            "correlation_id",
            "matched",
            "result",
            "error"
        ]
    );
    assert_eq!(v["accepted"], false);
    assert_eq!(v["http_status"], 401);
    assert_eq!(v["ack"]["message"]["ack_status"], "ERR");
    assert_eq!(
        v["ack"]["message"]["error"]["code"],
        "err.signature.missing"
    );
    assert_eq!(v["error"]["kind"], "signature_missing");
    assert_eq!(v["error"]["code"], "err.signature.missing");
    // The ACK is the model's AckResponse.
    let a = ack(Some("c-1"));
    let typed: dci::model::AckResponse = serde_json::from_value(a.clone()).unwrap();
    typed.validate().unwrap();
    assert_eq!(a["message"]["correlation_id"], "c-1");
    let e = error_ack(&Error::Json("x".into()));
    assert_eq!(
        e["message"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["ack_status", "timestamp", "error", "correlation_id"]
    );
}

#[test]
fn the_flat_openspp_form_and_redaction_are_in_the_core() {
    let flat: Map<String, Value> = serde_json::from_value(json!({
        "base_url": "https://crvs.example.org/api",
        "our_sender_id": "openspp.example.org",
        "code": "crvs_main",
        "registry_type": "crvs",
        "oauth2_client_id": "openspp",
        "oauth2_client_secret": "s3cret",
        "signing_key_id": "k1",
        "signature_profile": "spdci",
        "search_endpoint": "/dci/sync/search",
        "endpoints": {"token": "/dci/token"},
        "timeout": 12,
        "verify_ssl": false,
        "locale": null,
    }))
    .unwrap();
    let e = DataSource::from_flat(flat.clone()).unwrap_err();
    // A signing section without a key names the field.
    assert_eq!(e.field(), Some("signing.key_pem"));
    let mut flat = flat;
    flat.remove("signing_key_id");
    flat.remove("signature_profile");
    let d = DataSource::from_flat(flat).unwrap();
    assert_eq!(d.registry_type, RegistryType::Crvs);
    assert_eq!(d.endpoints.sync_search, "/dci/sync/search");
    assert_eq!(d.endpoints.token, "/dci/token");
    assert_eq!((d.timeout_secs, d.verify_tls), (12.0, false));
    let shown = serde_json::to_value(d.redacted()).unwrap();
    // The OAuth2 type is implied by the credentials; the secret is hidden.
    assert_eq!(
        shown["auth"],
        json!({"type": "oauth2", "token_url": null, "client_id": "openspp", "client_secret": "***", "scope": null})
    );
    match &d.auth {
        dci::client::AuthConfig::OAuth2 { client_secret, .. } => {
            assert_eq!(client_secret.expose(), "s3cret")
        }
        other => panic!("{other:?}"),
    }
    let only_id: Map<String, Value> = serde_json::from_value(json!({
        "base_url": "http://x", "our_sender_id": "me", "auth_type": "oauth2", "oauth2_client_id": "c"
    }))
    .unwrap();
    assert_eq!(
        DataSource::from_flat(only_id).unwrap_err().field(),
        Some("auth.client_secret")
    );
}

#[test]
fn errors_carry_their_parts_and_kinds_have_one_name_table() {
    assert_eq!(ErrorKind::ALL.len(), 21);
    assert_eq!(ErrorKind::Encryption.name(), "encryption");
    for (i, k) in ErrorKind::ALL.into_iter().enumerate() {
        assert_eq!(k.code(), i as u32 + 1);
        assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        assert_eq!(ErrorKind::from_name(k.name()), Some(k));
    }
    assert_eq!(
        ErrorKind::SignatureNotYetValid.name(),
        "signature_not_yet_valid"
    );
    assert_eq!(ErrorKind::from_code(0), None);

    let t = Error::Transport {
        kind: TransportKind::Timeout,
        endpoint: "http://r/registry/sync/search".into(),
        message: "timed out".into(),
        transaction_id: Some("t-9".into()),
    };
    let i = t.info();
    assert_eq!(i.kind, ErrorKind::Timeout);
    assert_eq!(i.transaction_id.as_deref(), Some("t-9"));
    assert_eq!(i.endpoint.as_deref(), Some("http://r/registry/sync/search"));
    assert_eq!(
        t.to_string(),
        "Timeout error calling http://r/registry/sync/search: timed out (transaction t-9)"
    );
    let h = Error::Http {
        status: 503,
        endpoint: "e".into(),
        body: "b".into(),
        transaction_id: None,
    };
    assert_eq!(h.info().status, Some(503));
    let q = Error::Query("query[1].expression1.operator: unknown operator \"like\"".into());
    assert_eq!(q.field(), Some("query[1].expression1.operator"));
    assert_eq!(
        q.violations(),
        [Violation::new(
            "query[1].expression1.operator",
            "unknown operator \"like\""
        )]
    );
    assert_eq!(Error::Query("no path here: x".into()).field(), None);
    let c = Error::Config {
        field: "base_url".into(),
        reason: "required".into(),
    };
    assert_eq!(
        serde_json::to_value(c.info()).unwrap()["violations"],
        json!([{"path": "base_url", "rule": "required"}])
    );
}

#[test]
fn openspp_conditions_and_reference_id_status() {
    let spec = SearchSpec::conditions(&[
        json!({"attribute": "age", "operator": ">=", "value": 18}),
        json!({"attribute": "region", "operator": "!=", "value": "R2"}),
    ])
    .unwrap();
    assert_eq!(spec.query_type, "predicate");
    let q = Query::parse(&spec.query_type, &spec.query).unwrap();
    assert!(q.matches(&json!({"age": 20, "region": "R1"})).unwrap());
    assert!(!q.matches(&json!({"age": 20, "region": "R2"})).unwrap());
    let e = SearchSpec::conditions(&[json!({"attribute": "a", "operator": "like", "value": 1})])
        .unwrap_err();
    assert_eq!(e.field(), Some("conditions[0].operator"));
    let q = TxnStatusQuery {
        txn_type: "search".into(),
        attribute_type: "reference_id".into(),
        attribute_value: json!("r-1"),
        locale: None,
    }
    .normalized();
    assert_eq!(
        (q.attribute_type.as_str(), q.attribute_value),
        ("reference_id_list", json!(["r-1"]))
    );
}
