//! DCIClient: configuration; every call, pagination and callbacks against the in-process
//! reference server (demo dataset); OAuth2 renewal, dialects, what is sent and every error
//! path against the mock registry of tests/support (unsigned mode, no keys).
//! The signed mode (response verification, request signing) is in tests/client_signed.rs.

mod support;

use std::time::Duration;

use dci::client::dialect::{self, HeaderFields};
use dci::client::{
    AuthConfig, CallbackListener, CallbackResult, DCIClient, DataSource, Dialect, RegistryType,
    SearchSpec, Secret, SubscribeSpec, TxnStatusQuery,
};
use dci::error::{Error, ErrorKind};
use serde_json::{json, Value};
use support::{reference_server, with_callbacks, Config, TestRegistry, CLIENT_ID, REGISTRY_ID};

fn ds(reg: &TestRegistry) -> DataSource {
    let mut d = reg.data_source();
    d.name = "Test CRVS".into();
    d.code = "crvs_main".into();
    d.registry_type = RegistryType::Crvs;
    d.timeout_secs = 1.0;
    d
}

/// The error of an identifier search through a new client for `d`.
fn search_err(d: DataSource, id: &str) -> Error {
    DCIClient::new(d)
        .unwrap()
        .search_by_id("UIN", id)
        .unwrap_err()
}

/// Asserts that `e` names the registry's sync search endpoint and the transaction of the last
/// search it received; returns that transaction_id.
fn assert_from_the_sent_search(e: &Error, reg: &TestRegistry) -> String {
    let sent = reg.last_request("/registry/sync/search").json();
    let txn = sent["message"]["transaction_id"].as_str().unwrap();
    let endpoint = format!("{}/registry/sync/search", reg.base_url);
    assert_eq!(e.endpoint(), Some(endpoint.as_str()), "{e}");
    assert_eq!(e.transaction_id(), Some(txn), "{e}");
    txn.to_string()
}

/// The error of a search at `base_url`, which cannot answer, with `max_retries`.
fn unreachable_search_err(base_url: String, max_retries: u32) -> Error {
    let mut d = DataSource::new(base_url, "me");
    d.max_retries = max_retries;
    search_err(d, "1")
}

fn client(reg: &TestRegistry) -> DCIClient {
    DCIClient::new(ds(reg)).expect("client")
}

/// A client whose callbacks land on an embedded listener.
fn with_listener(
    reg: &TestRegistry,
    f: impl FnOnce(&mut DataSource),
) -> (DCIClient, CallbackListener, String) {
    with_callbacks(ds(reg), f)
}

/// A client of one registry type of the in-process reference server (demo dataset).
fn reference(registry: &str) -> DCIClient {
    DCIClient::new(reference_server().data_source(registry)).unwrap()
}

/// The same, with callbacks landing on an embedded listener.
fn reference_with_listener(registry: &str) -> (DCIClient, CallbackListener, String) {
    reference_with_listener_as(registry, |_| {})
}

fn reference_with_listener_as(
    registry: &str,
    f: impl FnOnce(&mut DataSource),
) -> (DCIClient, CallbackListener, String) {
    with_callbacks(reference_server().data_source(registry), f)
}

/// Subscribes `c` to live births; the codes its listener `l` received.
fn subscribe_to_births(c: &DCIClient, l: &CallbackListener) -> Vec<String> {
    let ack = c
        .subscribe(&[SubscribeSpec::event(
            "spdci-common:RegistryEventType:LiveBirth",
        )])
        .unwrap();
    match l.wait_for(&ack.transaction_id, WAIT).unwrap() {
        CallbackResult::Subscribe(s) => s.codes(),
        other => panic!("{other:?}"),
    }
}

fn ids(records: impl Iterator<Item = Value>) -> Vec<String> {
    records
        .map(|r| {
            r["identifier"][0]["identifier_value"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn construction_fails_naming_the_missing_or_malformed_field() {
    let field = |d: DataSource| DCIClient::new(d).unwrap_err().field().map(str::to_string);
    for (base_url, sender_id, named) in [
        ("", "me", "base_url"),
        ("ftp://x.org", "me", "base_url"),
        ("not a url", "me", "base_url"),
        ("https://x.org?a=b", "me", "base_url"),
        ("https://x.org", "", "our_sender_id"),
        ("https://x.org", "  ", "our_sender_id"),
        ("https://x.org", "a|b", "our_sender_id"),
    ] {
        assert_eq!(
            field(DataSource::new(base_url, sender_id)),
            Some(named.into()),
            "{base_url:?} {sender_id:?}"
        );
    }
    // A good data source with one field changed by `f`.
    let changed = |f: fn(&mut DataSource)| {
        let mut d = DataSource::new("https://x.org", "me");
        f(&mut d);
        field(d)
    };
    let no_secret = changed(|d| {
        d.auth = AuthConfig::OAuth2 {
            token_url: None,
            client_id: "c".into(),
            client_secret: Secret::new(""),
            scope: None,
        }
    });
    assert_eq!(no_secret, Some("auth.client_secret".into()));
    assert_eq!(
        changed(|d| d.timeout_secs = 0.0),
        Some("timeout_secs".into())
    );
    assert_eq!(
        changed(|d| d.timeout_secs = 1e300),
        Some("timeout_secs".into())
    );
    assert_eq!(
        changed(|d| d.our_callback_uri = Some("nope".into())),
        Some("our_callback_uri".into())
    );
    let e = DCIClient::new(DataSource::new("", "me")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}

#[test]
fn loads_toml_and_json_and_names_missing_fields() {
    let toml = r#"
        name = "National CRVS"
        code = "crvs_main"
        registry_type = "crvs"
        base_url = "https://crvs.example.org/api"
        our_sender_id = "openspp.example.org"
        receiver_id = "crvs.example.org"
        dialect = "opencrvs"
        timeout_secs = 12.5
        verify_tls = false
        our_callback_uri = "https://openspp.example.org/dci/callback"

        [auth]
        type = "oauth2"
        client_id = "abc"
        client_secret = "xyz"
        scope = "search"

        [endpoints]
        sync_search = "/v2/sync/search"
    "#;
    let d = DataSource::from_toml_str(toml).unwrap();
    assert_eq!(d.name, "National CRVS");
    assert_eq!(d.registry_type, RegistryType::Crvs);
    assert_eq!(d.dialect, Dialect::Opencrvs);
    assert_eq!(d.timeout_secs, 12.5);
    assert!(!d.verify_tls);
    assert_eq!(d.endpoints.sync_search, "/v2/sync/search");
    assert_eq!(d.endpoints.search, "/registry/search");
    assert_eq!(d.endpoints.token, "/oauth2/client/token");
    assert_eq!(d.max_retries, 2);
    match &d.auth {
        AuthConfig::OAuth2 {
            client_id,
            client_secret,
            scope,
            ..
        } => {
            assert_eq!(client_id, "abc");
            assert_eq!(client_secret.expose(), "xyz");
            assert_eq!(scope.as_deref(), Some("search"));
        }
        other => panic!("{other:?}"),
    }
    // Secrets never show in Debug output.
    assert!(!format!("{d:?}").contains("xyz"));
    assert_eq!(d.url("/x"), "https://crvs.example.org/api/x");

    let e = DataSource::from_toml_str("our_sender_id = \"me\"").unwrap_err();
    assert_eq!(e.field(), Some("base_url"));
    let e = DataSource::from_json_str(r#"{"base_url": "https://x.org"}"#).unwrap_err();
    assert_eq!(e.field(), Some("our_sender_id"));
    let e = DataSource::from_json_str(
        r#"{"base_url": "https://x.org", "our_sender_id": "m", "dialect": "klingon"}"#,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let e = DataSource::from_json_str(
        r#"{"base_url": "https://x.org", "our_sender_id": "m", "registry_key": {"pem": "a", "jwks_url": "/j"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("registry_key"));

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ds.json");
    std::fs::write(
        &p,
        r#"{"base_url": "http://127.0.0.1:9", "our_sender_id": "me", "auth": {"type": "bearer", "token": "t0k"}}"#,
    )
    .unwrap();
    let d = DataSource::from_file(&p).unwrap();
    assert_eq!(
        d.auth,
        AuthConfig::Bearer {
            token: Secret::new("t0k")
        }
    );
    let p = dir.path().join("ds.toml");
    std::fs::write(&p, toml).unwrap();
    assert_eq!(DataSource::from_file(&p).unwrap().code, "crvs_main");
    let e = DataSource::from_file(dir.path().join("missing.toml")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
}

#[test]
fn several_data_sources_are_found_by_code_and_type() {
    let toml = r#"
        [[data_source]]
        code = "crvs_main"
        registry_type = "crvs"
        base_url = "https://crvs.example.org"
        our_sender_id = "me"

        [[data_source]]
        code = "dr_main"
        registry_type = "dr"
        base_url = "https://dr.example.org"
        our_sender_id = "me"
        [data_source.endpoints]
        disabled = "/registry/sync/disabled"
    "#;
    let all = dci::client::DataSources::from_toml_str(toml).unwrap();
    assert_eq!(
        all.get_by_code("dr_main").unwrap().base_url,
        "https://dr.example.org"
    );
    assert_eq!(
        all.get_by_code("dr_main")
            .unwrap()
            .endpoints
            .disabled
            .as_deref(),
        Some("/registry/sync/disabled")
    );
    assert!(all.get_by_code("ibr_main").is_none());
    assert_eq!(all.by_registry_type(RegistryType::Crvs).len(), 1);
    let dup = toml.replace("dr_main", "crvs_main");
    let e = dci::client::DataSources::from_toml_str(&dup).unwrap_err();
    assert_eq!(e.field(), Some("data_source[1].code"));
    let bad = toml.replace("https://dr.example.org", "");
    let e = dci::client::DataSources::from_toml_str(&bad).unwrap_err();
    assert_eq!(e.field(), Some("data_source[1].base_url"));
}

// ---------------------------------------------------------------------------------------------
// Search and OAuth2

#[test]
fn search_by_id_sends_a_spec_envelope_and_returns_typed_records() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    let r = c.search_by_id("BRN", "BR-2024-0042").unwrap();
    assert_eq!(r.record_count(), 1);
    let rec = r.first_record().unwrap();
    assert_eq!(rec["name"]["given_name"], "Amina");
    assert_eq!(r.items[0].status, "succ");
    assert_eq!(r.items[0].reg_record_type.as_deref(), Some("Person"));
    let page = r.page_info().unwrap();
    assert_eq!((page.page_number, page.total_count), (1, 1));
    assert!(r.correlation_id.as_deref().unwrap().starts_with("corr-"));
    assert!(!r.signature.verified);

    let sent = reg.last_request("/registry/sync/search");
    assert_eq!(sent.authorization.as_deref(), Some("Bearer tok-1"));
    let env = sent.json();
    assert!(
        env.get("signature").is_none(),
        "unsigned spdci requests carry no signature"
    );
    let h = &env["header"];
    assert_eq!(h["version"], "1.0.0");
    assert_eq!(h["action"], "search");
    assert_eq!(h["sender_id"], "openspp.test");
    assert_eq!(h["receiver_id"], REGISTRY_ID);
    assert_eq!(h["total_count"], 1);
    assert_eq!(h["is_msg_encrypted"], false);
    assert!(h["message_ts"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        r.transaction_id,
        env["message"]["transaction_id"]
            .as_str()
            .map(str::to_string)
    );
    let item = &env["message"]["search_request"][0];
    assert!(item["reference_id"].as_str().unwrap().len() >= 32);
    let c0 = &item["search_criteria"];
    assert_eq!(c0["version"], "1.0.0");
    assert_eq!(c0["reg_type"], "ns:org:RegistryType:Civil");
    assert_eq!(c0["query_type"], "idtype-value");
    assert_eq!(c0["query"], json!({"type": "BRN", "value": "BR-2024-0042"}));
    assert_eq!(
        c0["pagination"],
        json!({"page_size": 100, "page_number": 1})
    );
    assert!(c0.get("consent").is_none());

    // The token is cached: a second call asks for none.
    assert_eq!(c.oauth2_token().unwrap().as_deref(), Some("tok-1"));
    let r2 = c.search_by_id("UIN", "1002").unwrap();
    assert_eq!(r2.first_record().unwrap()["death_date"], "2024-09-01");
    assert_eq!(reg.tokens_issued(), 1);
    // The token request is a form body (RFC 6749).
    let tok = reg.last_request("/oauth2/client/token");
    let body = String::from_utf8(tok.body).unwrap();
    assert!(body.contains("grant_type=client_credentials"), "{body}");
    assert!(body.contains("client_id=client-1"), "{body}");
    assert_eq!(tok.query, None);
}

#[test]
fn not_found_is_an_empty_result() {
    let r = reference("crvs")
        .search_by_id("UIN", "no-such-person")
        .unwrap();
    assert_eq!(r.record_count(), 0);
    assert!(r.first_record().is_none());
    assert_eq!(r.items[0].status, "succ");
}

#[test]
fn an_expired_token_is_renewed_once_on_401() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    c.search_by_id("UIN", "1001").unwrap();
    reg.expire_tokens();
    let r = c.search_by_id("UIN", "1001").unwrap();
    assert_eq!(r.record_count(), 1);
    assert_eq!(reg.tokens_issued(), 2);
    let calls = reg.requests_to("/registry/sync/search");
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1].authorization.as_deref(), Some("Bearer tok-1"));
    assert_eq!(calls[2].authorization.as_deref(), Some("Bearer tok-2"));
    // The retry resends the same envelope.
    assert_eq!(calls[1].body, calls[2].body);
}

#[test]
fn a_401_refusing_our_signature_is_its_code_at_once_without_a_new_token() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    let e = c.search_by_id("UIN", "SIG401").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert_eq!(e.dci_code(), Some("err.signature.invalid"));
    assert_eq!(
        e.endpoint(),
        Some(format!("{}/registry/sync/search", reg.base_url).as_str())
    );
    assert!(e.to_string().contains("unknown kid"), "{e}");
    assert_eq!(reg.tokens_issued(), 1);
    assert_eq!(reg.requests_to("/oauth2/client/token").len(), 1);
    assert_eq!(reg.requests_to("/registry/sync/search").len(), 1);
}

#[test]
fn expires_in_zero_means_unknown_and_the_token_is_cached() {
    // expires_in 0 means "unknown": the client assumes an hour and caches it (the refresh
    // schedule itself is unit-tested in client::auth).
    let reg = TestRegistry::start(Config {
        token_lifetime_secs: 0,
        ..Config::default()
    });
    let c = client(&reg);
    c.search_by_id("UIN", "1001").unwrap();
    c.search_by_id("UIN", "1001").unwrap();
    assert_eq!(reg.tokens_issued(), 1);
}

#[test]
fn a_transient_token_failure_is_retried_and_a_lasting_one_is_an_auth_error() {
    let reg = TestRegistry::start(Config::default());
    reg.fail_token_requests(1);
    let c = client(&reg);
    assert_eq!(c.search_by_id("UIN", "1001").unwrap().record_count(), 1);
    assert_eq!(reg.requests_to("/oauth2/client/token").len(), 2);
    // More failures than retries (max_retries 2): three attempts, then the error.
    c.clear_token_cache();
    reg.fail_token_requests(5);
    let e = c.search_by_id("UIN", "1001").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("503"), "{e}");
    assert_eq!(reg.requests_to("/oauth2/client/token").len(), 5);
}

#[test]
fn clear_token_cache_forces_a_new_token() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    c.search_by_id("UIN", "1001").unwrap();
    c.clear_token_cache();
    c.search_by_id("UIN", "1001").unwrap();
    assert_eq!(reg.tokens_issued(), 2);
    assert_eq!(
        reg.last_request("/registry/sync/search")
            .authorization
            .as_deref(),
        Some("Bearer tok-2")
    );
}

#[test]
fn bad_credentials_are_an_auth_error_naming_the_token_endpoint() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
    d.auth = AuthConfig::OAuth2 {
        token_url: None,
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new("wrong"),
        scope: None,
    };
    let e = search_err(d, "1001");
    assert_eq!(e.kind(), ErrorKind::Auth);
    match e {
        Error::Auth {
            endpoint, message, ..
        } => {
            assert_eq!(endpoint, format!("{}/oauth2/client/token", reg.base_url));
            assert!(message.contains("401"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(reg.requests_to("/registry/sync/search").is_empty());
}

#[test]
fn a_rejected_static_bearer_token_is_an_auth_error() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
    d.auth = AuthConfig::Bearer {
        token: Secret::new("not-issued"),
    };
    let e = search_err(d, "1001");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(
        reg.requests_to("/registry/sync/search").len(),
        1,
        "no retry for a static token"
    );
}

#[test]
fn no_auth_sends_no_authorization_header() {
    let reg = TestRegistry::start(Config {
        require_token: false,
        ..Config::default()
    });
    let mut d = ds(&reg);
    d.auth = AuthConfig::None;
    DCIClient::new(d)
        .unwrap()
        .search_by_id("UIN", "1001")
        .unwrap();
    assert_eq!(
        reg.last_request("/registry/sync/search").authorization,
        None
    );
    assert_eq!(reg.tokens_issued(), 0);
}

// ---------------------------------------------------------------------------------------------
// Error paths

#[test]
fn a_slow_registry_is_a_timeout_naming_endpoint_and_transaction() {
    let reg = TestRegistry::start(Config::default());
    let e = client(&reg).search_by_id("UIN", "SLOW").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let txn = assert_from_the_sent_search(&e, &reg);
    assert!(e.to_string().contains(&txn), "{e}");
    // Timeouts are not retried.
    assert_eq!(reg.requests_to("/registry/sync/search").len(), 1);
}

#[test]
fn http_500_is_an_http_error_with_the_transaction() {
    let reg = TestRegistry::start(Config::default());
    let e = client(&reg).search_by_id("UIN", "ERR500").unwrap_err();
    assert_eq!(e.status(), Some(500), "{e}");
    assert_from_the_sent_search(&e, &reg);
    let Error::Http { body, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(body.contains("err.service.unavailable"));
    assert_eq!(reg.requests_to("/registry/sync/search").len(), 1);
}

#[test]
fn a_503_on_a_sync_search_is_retried_with_the_same_envelope() {
    let reg = TestRegistry::start(Config::default());
    let r = client(&reg).search_by_id("UIN", "UNAVAILABLE").unwrap();
    assert_eq!(r.record_count(), 0);
    let calls = reg.requests_to("/registry/sync/search");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body, calls[1].body);
}

#[test]
fn a_refused_connection_is_a_connection_error_after_retries() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = unreachable_search_err(format!("http://127.0.0.1:{port}"), 1);
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
}

#[test]
fn a_failed_tls_handshake_is_a_tls_error() {
    // https:// to a plain-HTTP server: the handshake fails.
    let reg = TestRegistry::start(Config::default());
    let e = unreachable_search_err(format!("https://{}", reg.addr), 0);
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[test]
fn invalid_json_is_a_json_error_naming_the_endpoint() {
    let reg = TestRegistry::start(Config::default());
    let e = client(&reg).search_by_id("UIN", "NOTJSON").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Json);
    assert!(e.to_string().contains("/registry/sync/search"), "{e}");
}

#[test]
fn rejected_items_headers_and_error_acks_are_protocol_errors() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    for (id, want) in [
        ("RJCT", "rjct.search_criteria.invalid"),
        ("HDRRJCT", "rjct.action.not_supported"),
        ("NACK", "err.request.bad"),
    ] {
        let e = c.search_by_id("UIN", id).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{id}: {e:?}");
        assert_eq!(e.dci_code(), Some(want));
        assert_from_the_sent_search(&e, &reg);
    }
}

#[test]
fn bad_requests_are_refused_before_sending() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    let e = c
        .search_sync(&SearchSpec::by_id("UIN", "1").page(1, 0))
        .unwrap_err();
    assert_eq!(e.field(), Some("pagination.page_size"));
    let e = c.unsubscribe(&[]).unwrap_err();
    assert_eq!(e.field(), Some("subscription_codes"));
    let e = c.subscribe(&[]).unwrap_err();
    assert_eq!(e.field(), Some("subscribe_request"));
    let mut q = TxnStatusQuery::search_transaction("t");
    q.txn_type = "delete".into();
    assert_eq!(
        c.txn_status(&q).unwrap_err().field(),
        Some("txnstatus_request.txn_type")
    );
    // Async calls need a callback URI.
    let e = c.search_async(&SearchSpec::by_id("UIN", "1")).unwrap_err();
    assert_eq!(e.field(), Some("our_callback_uri"));
    assert!(reg.requests_to("/registry/sync/search").is_empty());
    assert!(reg.requests_to("/registry/search").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Query shapes and pagination

#[test]
fn predicate_expression_and_date_range_searches() {
    let c = reference("crvs");
    // 29 demo persons are born in January 2024.
    let r = c
        .search_by_date_range("birth_date", "2024-01-01", "2024-01-31")
        .unwrap();
    assert_eq!(r.page_info().unwrap().total_count, 29);
    assert!(r.records().all(|p| {
        let d = p["birth_date"].as_str().unwrap();
        ("2024-01-01"..="2024-01-31").contains(&d)
    }));
    let pred = json!([{"seq_num": 1,
        "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2024-01-01"},
        "condition": "and",
        "expression2": {"attribute_name": "birth_date", "operator": "le", "attribute_value": "2024-01-31"}}]);
    let by_pred = c.search_by_predicate(pred).unwrap();
    assert_eq!(ids(by_pred.records().cloned()), ids(r.records().cloned()));

    let r = c
        .search_by_expression(json!({"birth_date": {"$eq": "1955-12-27"}}))
        .unwrap();
    assert_eq!(ids(r.records().cloned()), ["100000001"]);

    // A query built with dci::query.
    let q = dci::query::Query::parse(
        "idtype-value",
        &json!({"type": "UIN", "value": "100000002"}),
    )
    .unwrap();
    let r = c.search_sync(&SearchSpec::from_query(&q)).unwrap();
    assert_eq!(r.first_record().unwrap()["name"]["given_name"], "Joy");

    // Extra criteria are accepted by the registry (which validates every request).
    let spec = SearchSpec::by_id("UIN", "100000001")
        .reg_record_type("Person")
        .sort(json!([{"attribute_name": "birth_date", "sort_order": "asc"}]))
        .locale("fra");
    assert_eq!(
        ids(c.search_sync(&spec).unwrap().records().cloned()),
        ["100000001"]
    );
    // reg_event_type (the Jan-2025 name of the same slot) alone is accepted too ...
    let old = SearchSpec::by_id("UIN", "100000001")
        .reg_event_type("spdci-common:RegistryEventType:LiveBirth");
    assert_eq!(
        ids(c.search_sync(&old).unwrap().records().cloned()),
        ["100000001"]
    );
    // ... but both at once are refused before sending, naming the field.
    match c.search_sync(&old.reg_record_type("Person")) {
        Err(dci::Error::Validation(v)) => {
            assert_eq!(v[0].path, "search_criteria.reg_event_type");
            assert!(
                v[0].rule.contains("Jan-2025 name of reg_record_type"),
                "{v:?}"
            );
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn search_criteria_are_sent_as_built() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    let criteria = |reg: &TestRegistry| {
        reg.last_request("/registry/sync/search").json()["message"]["search_request"][0]
            ["search_criteria"]
            .clone()
    };
    c.search_by_date_range("birth_date", "2024-01-01", "2024-04-30")
        .unwrap();
    let q = criteria(&reg);
    assert_eq!(q["query_type"], "predicate");
    assert_eq!(
        q["query"],
        json!([{"seq_num": 1,
            "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2024-01-01"},
            "condition": "and",
            "expression2": {"attribute_name": "birth_date", "operator": "le", "attribute_value": "2024-04-30"}}])
    );
    c.search_by_expression(json!({"sex": {"$eq": "female"}}))
        .unwrap();
    assert_eq!(criteria(&reg)["query_type"], "expression");
    let spec = SearchSpec::by_id("UIN", "1001")
        .reg_record_type("Person")
        .sort(json!([{"attribute_name": "birth_date", "sort_order": "asc"}]))
        .locale("fra");
    c.search_sync(&spec).unwrap();
    let item = &reg.last_request("/registry/sync/search").json()["message"]["search_request"][0];
    assert_eq!(item["locale"], "fra");
    assert_eq!(item["search_criteria"]["reg_record_type"], "Person");
    assert!(item["search_criteria"].get("reg_event_type").is_none());
    assert_eq!(item["search_criteria"]["sort"][0]["sort_order"], "asc");
    c.search_sync(
        &SearchSpec::by_id("UIN", "1001")
            .reg_event_type("spdci-common:RegistryEventType:LiveBirth"),
    )
    .unwrap();
    let item = &reg.last_request("/registry/sync/search").json()["message"]["search_request"][0];
    assert_eq!(
        item["search_criteria"]["reg_event_type"],
        "spdci-common:RegistryEventType:LiveBirth"
    );
}

#[test]
fn pages_walk_the_whole_result_set() {
    let c = reference("crvs");
    // January 2024: 29 demo births, in pages of 10.
    let spec = SearchSpec::date_range("birth_date", "2024-01-01", "2024-01-31").page(1, 10);
    let pages: Vec<_> = c.pages(spec.clone()).map(|p| p.unwrap()).collect();
    assert_eq!(pages.len(), 3);
    let numbers: Vec<u64> = pages
        .iter()
        .map(|p| p.page_info().unwrap().page_number)
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(pages[0].page_info().unwrap().total_count, 29);
    let sizes: Vec<usize> = pages.iter().map(|p| p.record_count()).collect();
    assert_eq!(sizes, [10, 10, 9]);
    let all = ids(c.search_all(spec).unwrap().into_iter());
    let paged: Vec<String> = pages
        .iter()
        .flat_map(|p| ids(p.records().cloned()))
        .collect();
    assert_eq!(all, paged);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 29);
    // From page 2 on.
    let spec = SearchSpec::date_range("birth_date", "2024-01-01", "2024-01-31").page(2, 10);
    assert_eq!(ids(c.search_all(spec).unwrap().into_iter()), all[10..]);
}

#[test]
fn an_error_ends_the_page_iteration_after_being_yielded() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    let mut it = c.pages(SearchSpec::by_id("UIN", "ERR500"));
    assert_eq!(it.next().unwrap().unwrap_err().kind(), ErrorKind::Http);
    assert!(it.next().is_none());
}

// ---------------------------------------------------------------------------------------------
// Dialects

#[test]
fn openg2p_dialect_sends_its_envelope() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
    d.dialect = Dialect::Openg2p;
    d.our_callback_uri = Some("https://spp.example.org/cb".into());
    let r = DCIClient::new(d)
        .unwrap()
        .search_by_id("UIN", "1003")
        .unwrap();
    assert_eq!(r.first_record().unwrap()["name"]["given_name"], "Lea");
    let c0 = &reg.last_request("/registry/sync/search").json()["message"]["search_request"][0]
        ["search_criteria"];
    assert_eq!(c0["reg_type"], "Individual");
    assert_eq!(c0["reg_record_type"], "Individual");
    assert_eq!(c0["query_type"], "expression");
    assert_eq!(
        c0["query"],
        json!({"type": "ns:org:QueryType:expression",
               "value": {"expression": {"query": {"search_text": {"$eq": "1003"}}}}})
    );
    assert_eq!(c0["consent"]["@type"], "Consent");
    assert_eq!(
        c0["consent"]["purpose"]["ref_uri"],
        "https://spp.example.org/cb"
    );
    assert_eq!(c0["authorize"]["@type"], "Authorize");
}

#[test]
fn opencrvs_dialect_sends_its_envelope_and_query_string_credentials() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
    d.dialect = Dialect::Opencrvs;
    let c = DCIClient::new(d).unwrap();
    let spec = SearchSpec::date_range("birth_date", "2024-01-01", "2024-04-30")
        .reg_event_type("spdci-common:RegistryEventType:LiveBirth");
    let r = c.search_sync(&spec).unwrap();
    assert_eq!(ids(r.records().cloned()), ["1001", "1002"]);
    let item = &reg.last_request("/registry/sync/search").json()["message"]["search_request"][0];
    assert_eq!(item["locale"], "eng");
    let c0 = &item["search_criteria"];
    assert_eq!(c0["reg_type"], "birth");
    assert!(c0.get("reg_event_type").is_none());
    assert_eq!(c0["query_type"], "expression");
    assert_eq!(
        c0["query"],
        json!({"type": "ns:org:QueryType:expression",
               "value": {"birth_date": {"type": "range", "gte": "2024-01-01", "lte": "2024-04-30"}}})
    );
    assert!(c0.get("consent").is_none());
    let consent = &item["consent"];
    assert_eq!(
        consent["id"],
        format!("consent-{}", item["reference_id"].as_str().unwrap())
    );
    assert_eq!(consent["ts"], item["timestamp"]);
    assert_eq!(consent["purpose"]["code"], "ELIGIBILITY_CHECK");
    assert!(consent["purpose"]["refUri"].is_string());
    let tok = reg.last_request("/oauth2/client/token");
    let q = tok.query.unwrap();
    assert!(
        q.contains("client_id=client-1") && q.contains("client_secret=s3cret"),
        "{q}"
    );
    assert!(tok.body.is_empty());
    assert_eq!(dialect::opencrvs_reg_type(Some("Death")), "death");
}

#[test]
fn openspp2_dialect_sends_the_pydantic_header_form() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
    d.dialect = Dialect::Openspp2;
    DCIClient::new(d)
        .unwrap()
        .search_by_id("UIN", "1001")
        .unwrap();
    let env = reg.last_request("/registry/sync/search").json();
    let keys: Vec<&str> = env
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["signature", "header", "message"]);
    assert_eq!(env["signature"], "");
    let h = env["header"].as_object().unwrap();
    let hk: Vec<&str> = h.keys().map(String::as_str).collect();
    assert_eq!(
        hk,
        [
            "version",
            "message_id",
            "message_ts",
            "action",
            "sender_id",
            "sender_uri",
            "receiver_id",
            "total_count",
            "is_msg_encrypted",
            "meta"
        ]
    );
    assert_eq!(h["sender_uri"], Value::Null);
    assert_eq!(h["meta"], Value::Null);
    assert_eq!(h["receiver_id"], REGISTRY_ID);
}

#[test]
fn openspp2_header_bytes_are_exactly_pydantics() {
    use chrono::{TimeZone, Timelike};
    let t = chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
    let f = |ts, uri| HeaderFields {
        message_id: "m-1",
        message_ts: ts,
        action: "search",
        sender_id: "openspp.example.org",
        sender_uri: uri,
        receiver_id: Some("registry.example.org"),
        total_count: 1,
    };
    let h = dialect::build_header(Dialect::Openspp2, &f(t, None));
    assert_eq!(
        serde_json::to_string(&h).unwrap(),
        r#"{"version":"1.0.0","message_id":"m-1","message_ts":"2025-01-02T03:04:05Z","action":"search","sender_id":"openspp.example.org","sender_uri":null,"receiver_id":"registry.example.org","total_count":1,"is_msg_encrypted":false,"meta":null}"#
    );
    let t2 = t.with_nanosecond(120_000_000).unwrap();
    let h = dialect::build_header(
        Dialect::Openspp2,
        &f(t2, Some("https://spp.example.org/cb")),
    );
    assert_eq!(
        serde_json::to_string(&h).unwrap(),
        r#"{"version":"1.0.0","message_id":"m-1","message_ts":"2025-01-02T03:04:05.120000Z","action":"search","sender_id":"openspp.example.org","sender_uri":"https://spp.example.org/cb","receiver_id":"registry.example.org","total_count":1,"is_msg_encrypted":false,"meta":null}"#
    );
    // Sub-microsecond digits are dropped, as pydantic keeps microseconds only.
    let t3 = t.with_nanosecond(5_999).unwrap();
    assert_eq!(dialect::pydantic_utc(t3), "2025-01-02T03:04:05.000005Z");
    // The spdci form: milliseconds, Z; absent fields are omitted.
    let h = dialect::build_header(Dialect::Spdci, &f(t2, None));
    assert_eq!(
        serde_json::to_string(&h).unwrap(),
        r#"{"version":"1.0.0","message_id":"m-1","message_ts":"2025-01-02T03:04:05.120Z","action":"search","sender_id":"openspp.example.org","receiver_id":"registry.example.org","total_count":1,"is_msg_encrypted":false}"#
    );
    assert_eq!(Dialect::parse("OpenSPP2").unwrap(), Dialect::Openspp2);
    assert_eq!(Dialect::parse("x").unwrap_err().field(), Some("dialect"));
}

// ---------------------------------------------------------------------------------------------
// Async calls, callbacks, listener

#[test]
fn upload_searches_reports_each_row_and_each_result_arrives_by_callback() {
    let (c, l, _) = reference_with_listener("crvs");
    let (report, txns) = c
        .upload_searches(&[
            SearchSpec::by_id("UIN", "100000002"),
            SearchSpec::by_id("UIN", "100000003"),
        ])
        .unwrap();
    assert_eq!(report.ack_status, "ACK", "{report:?}");
    assert_eq!((report.file_format.as_str(), report.rows), ("json", 2));
    assert!(report.rejected.is_empty());
    assert_eq!(
        report.accepted.iter().map(|a| a.row).collect::<Vec<_>>(),
        [1, 2]
    );
    for (i, txn) in txns.iter().enumerate() {
        match l.wait_for(txn, WAIT).unwrap() {
            CallbackResult::Search(r) => {
                assert_eq!(
                    r.correlation_id.as_deref(),
                    Some(report.accepted[i].correlation_id.as_str())
                );
                assert!(r.signature.verified);
                let uin = &r.first_record().unwrap()["identifier"][0]["identifier_value"];
                assert_eq!(uin, ["100000002", "100000003"][i]);
            }
            other => panic!("expected an on-search, got {other:?}"),
        }
    }
    // A file as given: an envelope without a sender, then junk; each reported by its row.
    let file = br#"{"header": {"action": "search"}, "message": {}} 42"#.to_vec();
    let r = c
        .upload(
            "search",
            dci::client::FileFormat::Json,
            "bad.json",
            std::io::Cursor::new(file),
        )
        .unwrap();
    assert_eq!(r.ack_status, "ERR");
    assert_eq!(r.rows, 2);
    assert!(r.accepted.is_empty());
    assert_eq!(r.rejected[1].code, "err.request.bad");
    assert!(
        r.rejected[1]
            .message
            .starts_with("not a JSON envelope: found '4'"),
        "{r:?}"
    );
    let e = c
        .upload(
            "verify",
            dci::client::FileFormat::Json,
            "x.json",
            std::io::Cursor::new(Vec::new()),
        )
        .unwrap_err();
    assert_eq!(e.field(), Some("action"));
}

#[test]
fn search_async_acks_then_the_callback_delivers_the_result() {
    let (c, l, _) = reference_with_listener("crvs");
    let ack = c
        .search_async(&SearchSpec::by_id("UIN", "100000002"))
        .unwrap();
    assert_eq!(ack.ack_status, "ACK");
    let corr = ack.correlation_id.clone().unwrap();
    assert!(!corr.is_empty());
    assert_eq!(ack.reference_ids.len(), 1);
    // The callback comes to our sender_uri, for our transaction, with the ACK's correlation id.
    match l.wait_for(&ack.transaction_id, WAIT).unwrap() {
        CallbackResult::Search(r) => {
            assert_eq!(r.correlation_id.as_deref(), Some(corr.as_str()));
            assert_eq!(r.first_record().unwrap()["name"]["given_name"], "Joy");
            assert!(r.signature.verified);
            assert_eq!(
                r.items[0].reference_id.as_deref(),
                Some(ack.reference_ids[0].as_str())
            );
        }
        other => panic!("{other:?}"),
    }
    // Taken once.
    assert_eq!(
        c.wait_for(&ack.transaction_id, WAIT).unwrap_err().kind(),
        ErrorKind::Validation
    );
}

#[test]
fn a_rejected_callback_reaches_the_waiter_as_a_protocol_error() {
    let reg = TestRegistry::start(Config::default());
    let (c, l, _) = with_listener(&reg, |_| {});
    let ack = c
        .search_async(&SearchSpec::by_id("UIN", "CBREJECT"))
        .unwrap();
    match l.wait_for(&ack.transaction_id, WAIT).unwrap_err() {
        Error::Protocol {
            code,
            transaction_id,
            ..
        } => {
            assert_eq!(code, "rjct.search.too_many_records_found");
            assert_eq!(transaction_id.as_deref(), Some(ack.transaction_id.as_str()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn subscribe_and_unsubscribe_round_trip() {
    let (c, l, _) = reference_with_listener("crvs");
    let ack = c
        .subscribe(&[
            SubscribeSpec::event("spdci-common:RegistryEventType:LiveBirth"),
            SubscribeSpec::event("spdci-common:RegistryEventType:Death"),
        ])
        .unwrap();
    assert_eq!(ack.reference_ids.len(), 2);
    let codes = match l.wait_for(&ack.transaction_id, WAIT).unwrap() {
        CallbackResult::Subscribe(s) => {
            assert_eq!(s.items.len(), 2);
            assert_eq!(
                s.items[1].subscriptions[0].reg_event_type.as_deref(),
                Some("spdci-common:RegistryEventType:Death")
            );
            s.codes()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(codes.len(), 2);
    assert_ne!(codes[0], codes[1]);

    let ack = c.unsubscribe(&codes).unwrap();
    match l.wait_for(&ack.transaction_id, WAIT).unwrap() {
        CallbackResult::Unsubscribe(u) => {
            assert_eq!(u.status, "succ");
            let want: Vec<(String, String)> = codes
                .iter()
                .map(|c| (c.clone(), "unsubscribe".to_string()))
                .collect();
            assert_eq!(u.subscription_status, want);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn subscribe_and_unsubscribe_requests_are_sent_as_built() {
    let reg = TestRegistry::start(Config::default());
    let (c, _l, _) = with_listener(&reg, |_| {});
    c.subscribe(&[
        SubscribeSpec::event("spdci-common:RegistryEventType:LiveBirth"),
        SubscribeSpec::event("spdci-common:RegistryEventType:Death"),
    ])
    .unwrap();
    let sent = reg.last_request("/registry/subscribe").json();
    assert_eq!(sent["header"]["action"], "subscribe");
    assert_eq!(sent["header"]["total_count"], 2);
    let crit = &sent["message"]["subscribe_request"][0]["subscribe_criteria"];
    assert_eq!(
        crit["reg_event_type"],
        "spdci-common:RegistryEventType:LiveBirth"
    );
    assert_eq!(crit["filter_type"], "idtype-value");
    assert_eq!(crit["filter"], json!({"type": "*", "value": "*"}));
    assert_eq!(crit["notify_record_type"], "Person");
    c.unsubscribe(&["sub-1".to_string(), "sub-2".to_string()])
        .unwrap();
    let sent = reg.last_request("/registry/unsubscribe").json();
    assert_eq!(
        sent["message"]["subscription_codes"],
        json!(["sub-1", "sub-2"])
    );
}

#[test]
fn txn_status_sync_and_async() {
    let (c, l, _) = reference_with_listener("crvs");
    // The status of an earlier search, from the registry's audit log.
    let earlier = c.search_by_id("UIN", "100000001").unwrap();
    let txn = earlier.transaction_id.clone().unwrap();
    let r = c
        .txn_status(&TxnStatusQuery::search_transaction(txn.clone()))
        .unwrap();
    assert_eq!(r.txn_type.as_deref(), Some("search"));
    assert_eq!(r.txn_status["transaction_id"], txn.as_str());
    assert!(r.signature.verified);

    let ack = c
        .txn_status_async(&TxnStatusQuery::search_transaction(txn.clone()))
        .unwrap();
    match l.wait_for(&ack.transaction_id, WAIT).unwrap() {
        CallbackResult::TxnStatus(t) => {
            assert_eq!(t.txn_type.as_deref(), Some("search"));
            assert_eq!(t.txn_status["transaction_id"], txn.as_str());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_subscriber_is_notified_when_the_reference_server_records_a_birth() {
    let (c, l, _) = reference_with_listener("crvs");
    let (tx, rx) = std::sync::mpsc::channel();
    l.on_notify(move |ev| {
        let _ = tx.send(ev.clone());
    });
    let codes = subscribe_to_births(&c, &l);
    // A birth recorded through the server's admin API (the demo client has the admin scope);
    // born in 2025, outside the date ranges the other tests count.
    let r = reference_server();
    let token = c.oauth2_token().unwrap().unwrap();
    let birth = json!({
        "registry": "crvs",
        "record_type": "Person",
        "event_type": "spdci-common:RegistryEventType:LiveBirth",
        "records": [{
            "identifier": [{"identifier_type": "UIN", "identifier_value": "NOTIFY-TEST-1"}],
            "name": {"given_name": "Nia", "surname": "Okafor"},
            "birth_date": "2025-06-01",
        }],
    });
    let status = reqwest::blocking::Client::new()
        .post(format!("{}/admin/records", r.base_url))
        .bearer_auth(token.as_str())
        .json(&birth)
        .send()
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    let ev = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(ev.sender_id.as_deref(), Some(r.server_id.as_str()));
    assert!(ev.signature.verified);
    let item = &ev.items[0];
    assert_eq!(
        item.reg_event_type.as_deref(),
        Some("spdci-common:RegistryEventType:LiveBirth")
    );
    assert_eq!(
        item.records[0]["identifier"][0]["identifier_value"],
        "NOTIFY-TEST-1"
    );
    assert_eq!(item.records[0]["name"]["given_name"], "Nia");
    let ack = c.unsubscribe(&codes).unwrap();
    assert!(matches!(
        l.wait_for(&ack.transaction_id, WAIT).unwrap(),
        CallbackResult::Unsubscribe(_)
    ));
}

#[test]
fn the_listener_refuses_what_is_not_a_callback() {
    let reg = TestRegistry::start(Config::default());
    let (_c, _l, base) = with_listener(&reg, |_| {});
    let (s, b) = reg.post_raw(
        &format!("{base}/on-search"),
        "application/json",
        b"{oops".to_vec(),
    );
    assert_eq!(s, 400);
    assert_eq!(b["message"]["ack_status"], "ERR");
    assert_eq!(b["message"]["error"]["code"], "err.request.bad");
    let (s, _) = reg.post_raw(
        &format!("{base}/elsewhere"),
        "application/json",
        b"{}".to_vec(),
    );
    assert_eq!(s, 404);
    let (s, _) = reg.post_raw(&format!("{base}/on-search"), "text/plain", b"{}".to_vec());
    assert_eq!(s, 400);
}

#[test]
fn handle_callback_checks_action_transaction_and_correlation() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
    d.our_callback_uri = Some("http://127.0.0.1:9/cb".into());
    let c = DCIClient::new(d).unwrap();
    let hdr = [("Content-Type", "application/json")];

    // Not JSON, no action, unknown action.
    assert_eq!(
        c.handle_callback(b"[", &hdr).unwrap_err().kind(),
        ErrorKind::Json
    );
    let e = c
        .handle_callback(br#"{"header": {}, "message": {}}"#, &hdr)
        .unwrap_err();
    assert_eq!(e.field(), Some("header.action"));
    let body = reg.signed_callback("on-frobnicate", "succ", json!({}));
    assert_eq!(
        c.handle_callback(&body, &hdr).unwrap_err().field(),
        Some("header.action")
    );

    // An on-search for a transaction nobody waits for: accepted, not matched.
    let msg = json!({"transaction_id": "t-unknown", "correlation_id": "c-1",
        "search_response": [{"reference_id": "r", "timestamp": "2025-01-01T00:00:00Z", "status": "succ",
                             "data": {"reg_records": [{"a": 1}]}}]});
    let out = c
        .handle_callback(&reg.signed_callback("on-search", "succ", msg), &hdr)
        .unwrap();
    assert!(!out.matched);
    assert_eq!(out.action, "on-search");
    assert_eq!(out.ack["message"]["ack_status"], "ACK");
    assert_eq!(out.ack["message"]["correlation_id"], "c-1");
    match out.result.unwrap() {
        CallbackResult::Search(r) => assert_eq!(r.first_record().unwrap()["a"], 1),
        other => panic!("{other:?}"),
    }

    // A malformed on-search is refused.
    let bad = json!({"transaction_id": "t", "search_response": "no"});
    let e = c
        .handle_callback(&reg.signed_callback("on-search", "succ", bad), &hdr)
        .unwrap_err();
    assert_eq!(e.field(), Some("message.search_response"));
    assert_eq!(dci::client::callback::error_status(&e), 400);
    assert_eq!(
        dci::client::callback::error_ack(&e)["message"]["error"]["code"],
        "err.request.bad"
    );
}

#[test]
fn callbacks_for_a_pending_transaction_must_match_its_action_and_correlation() {
    let reg = TestRegistry::start(Config::default());
    // A callback URI where nothing listens: the registry's own callback is lost.
    let (c, l, _) = with_listener(&reg, |_| {});
    drop(l);
    let ack = c.search_async(&SearchSpec::by_id("UIN", "1001")).unwrap();
    let hdr = [("content-type", "application/json")];
    let sr = |corr: &str| {
        json!({"transaction_id": ack.transaction_id, "correlation_id": corr,
            "search_response": [{"reference_id": "r", "timestamp": "2025-01-01T00:00:00Z", "status": "succ",
                                 "data": {"reg_records": []}}]})
    };
    let e = c
        .handle_callback(
            &reg.signed_callback("on-search", "succ", sr("corr-other")),
            &hdr,
        )
        .unwrap_err();
    assert_eq!(e.field(), Some("message.correlation_id"));
    let sub = json!({"transaction_id": ack.transaction_id, "correlation_id": ack.correlation_id,
        "subscribe_response": []});
    let e = c
        .handle_callback(&reg.signed_callback("on-subscribe", "succ", sub), &hdr)
        .unwrap_err();
    assert_eq!(e.field(), Some("header.action"));
    // Nothing arrived: the wait times out.
    let e = c
        .wait_for(&ack.transaction_id, Duration::from_millis(50))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    // The right one matches.
    let out = c
        .handle_callback(
            &reg.signed_callback(
                "on-search",
                "succ",
                sr(ack.correlation_id.as_deref().unwrap()),
            ),
            &hdr,
        )
        .unwrap();
    assert!(out.matched);
    assert!(matches!(
        c.wait_for(&ack.transaction_id, WAIT).unwrap(),
        CallbackResult::Search(_)
    ));
}

#[test]
fn test_connection_reports_auth_and_reachability() {
    let rep = reference("crvs").test_connection().unwrap();
    assert!(rep.authenticated);
    assert!(rep.reachable);
    assert_eq!(rep.item_rejection, None);
    // The probe asks for one record (the mock registry records what it is sent).
    let reg = TestRegistry::start(Config::default());
    client(&reg).test_connection().unwrap();
    let probe = reg.last_request("/registry/sync/search").json();
    assert_eq!(
        probe["message"]["search_request"][0]["search_criteria"]["pagination"]["page_size"],
        1
    );
    let mut d = ds(&reg);
    d.base_url = "http://127.0.0.1:9".into();
    d.max_retries = 0;
    assert_eq!(
        DCIClient::new(d)
            .unwrap()
            .test_connection()
            .unwrap_err()
            .kind(),
        ErrorKind::Connection
    );
}

#[test]
fn one_client_serves_many_threads_with_one_token() {
    let reg = TestRegistry::start(Config::default());
    let c = client(&reg);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            std::thread::spawn(move || {
                let id = format!("100{}", i % 5 + 1);
                c.search_by_id("UIN", &id).unwrap().record_count()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 1);
    }
    assert_eq!(reg.tokens_issued(), 1);
}

#[test]
fn every_request_the_client_sends_is_accepted_by_the_reference_server() {
    // The reference server validates every request against the spec (dci::model) before
    // answering, naming each violation: every call succeeding is the check.
    for dialect in [Dialect::Spdci, Dialect::Openspp2] {
        let (c, l, _) = reference_with_listener_as("crvs", |d| d.dialect = dialect);
        assert_eq!(
            c.search_by_id("UIN", "100000001").unwrap().record_count(),
            1
        );
        let r = c
            .search_by_date_range("birth_date", "2024-01-01", "2024-01-31")
            .unwrap();
        assert_eq!(r.page_info().unwrap().total_count, 29, "{dialect:?}");
        let a = c
            .search_async(&SearchSpec::by_id("UIN", "100000001"))
            .unwrap();
        assert!(matches!(
            l.wait_for(&a.transaction_id, WAIT).unwrap(),
            CallbackResult::Search(_)
        ));
        let codes = subscribe_to_births(&c, &l);
        let a = c.unsubscribe(&codes).unwrap();
        assert!(matches!(
            l.wait_for(&a.transaction_id, WAIT).unwrap(),
            CallbackResult::Unsubscribe(_)
        ));
        let t = c
            .txn_status(&TxnStatusQuery::search_transaction(
                a.transaction_id.clone(),
            ))
            .unwrap();
        assert_eq!(t.txn_type.as_deref(), Some("search"), "{dialect:?}");
        let a = c
            .txn_status_async(&TxnStatusQuery::search_transaction("t"))
            .unwrap();
        assert!(matches!(
            l.wait_for(&a.transaction_id, WAIT).unwrap(),
            CallbackResult::TxnStatus(_)
        ));
        let as_dialect = |registry: &str| {
            let mut d = reference_server().data_source(registry);
            d.dialect = dialect;
            d.endpoints.disabled = Some("/registry/sync/disabled".into());
            DCIClient::new(d).unwrap()
        };
        let ibr = dci::services::IbrService::new(as_dialect("ibr"));
        assert!(ibr.enrolled("UIN", "TEST-001").unwrap(), "{dialect:?}");
        let dr = dci::services::DrService::new(as_dialect("dr"));
        assert!(
            dr.get_disability_status("UIN", "100000002")
                .unwrap()
                .unwrap()
                .has_disability
        );
        assert_eq!(dr.disabled("UIN", "100000002").unwrap(), Some(true));
    }
}

#[test]
fn the_listener_speaks_plain_http_1_1_with_expect_continue() {
    use std::io::{Read, Write};
    let reg = TestRegistry::start(Config::default());
    let (_c, l, _) = with_listener(&reg, |_| {});
    let mut s = std::net::TcpStream::connect(l.local_addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let body = b"{oops";
    write!(
        s,
        "POST /dci/callback/notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 25];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(body).unwrap();
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{rest}");
    assert!(rest.contains("\"ack_status\":\"ERR\""), "{rest}");
}

#[test]
fn openspp2_header_matches_the_derived_openspp2_signature_vector() {
    // The header of tests/vectors/dci-signature-ed25519-openspp2-style.json (already
    // in the form OpenSPP 2's server re-serialises and verifies), copied here.
    use chrono::TimeZone;
    let want = r#"{"version":"1.0.0","message_id":"msg-001","message_ts":"2025-01-01T00:00:00Z","action":"search","sender_id":"spmis.example.org","sender_uri":"https://spmis.example.org/callback","receiver_id":"crvs.example.org","total_count":1,"is_msg_encrypted":false,"meta":null}"#;
    let h = dialect::build_header(
        Dialect::Openspp2,
        &HeaderFields {
            message_id: "msg-001",
            message_ts: chrono::Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            action: "search",
            sender_id: "spmis.example.org",
            sender_uri: Some("https://spmis.example.org/callback"),
            receiver_id: Some("crvs.example.org"),
            total_count: 1,
        },
    );
    assert_eq!(serde_json::to_string(&h).unwrap(), want);
    // Cross-check against the vector (the committed copy, tests/vectors/).
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/dci-signature-ed25519-openspp2-style.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    assert_eq!(v["envelope"]["header"], h);
}

#[test]
fn a_rate_limited_search_waits_for_retry_after_and_then_succeeds() {
    // One request a second per client, no burst beyond it: the second search in a row is
    // refused with 429 and Retry-After: 1, which the client waits out within its retries.
    let server = support::reference::start_with("rate-limited", |c| {
        c.rate_limit_client = Some(dci_server::ratelimit::Rate {
            rate: 1.0,
            burst: 1.0,
        });
    });
    let mut d = server.data_source("crvs");
    d.max_retries = 2;
    let c = DCIClient::new(d.clone()).unwrap();
    let spec = SearchSpec::by_id("UIN", "TEST-001");
    let t0 = std::time::Instant::now();
    for _ in 0..2 {
        let r = c.search_sync(&spec).unwrap();
        assert_eq!(ids(r.records().cloned()), ["TEST-001"]);
    }
    let took = t0.elapsed();
    assert!(took >= std::time::Duration::from_millis(900), "{took:?}");
    // Without retries the refusal reaches the caller as the HTTP error it is.
    d.max_retries = 0;
    let c = DCIClient::new(d).unwrap();
    c.search_sync(&spec).ok();
    match c.search_sync(&spec) {
        Err(Error::Http { status, body, .. }) => {
            assert_eq!(status, 429);
            // The body is clipped in the error; its header names the client first.
            assert!(body.contains(r#""status":"rjct""#), "{body}");
            assert!(
                body.contains(r#""status_reason_message":"client demo-clien"#),
                "{body}"
            );
        }
        other => panic!("expected HTTP 429, got {other:?}"),
    }
}
