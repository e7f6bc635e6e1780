//! DCIClient with signatures: response and callback verification (PEM, inline JWKS, JWKS URL;
//! required and if-present), request signing checked by the in-process reference server, the
//! openspp2 dialect signed, and the key configuration errors. Wrong and missing signatures
//! come from the mock registry of tests/support.

mod support;

use std::time::Duration;

use dci::client::callback::error_status;
use dci::client::{
    CallbackResult, DCIClient, DataSource, Dialect, RegistryKeyConfig, SearchSpec, Secret,
    SigningConfig, VerifyMode,
};
use dci::error::ErrorKind;
use dci::signature::Signer;
use serde_json::json;
use support::{key, reference_server, with_callbacks, Config, TestRegistry, KEY_ID};

const REGISTRY_KID: &str = "registry.test|reg-key-1|ed25519";

fn signed_registry() -> TestRegistry {
    TestRegistry::start(Config {
        signing_key: Some(key(1)),
        ..Config::default()
    })
}

/// A signed registry that checks our request signatures against key 2.
fn checking_registry() -> TestRegistry {
    TestRegistry::start(Config {
        signing_key: Some(key(1)),
        client_key: Some(key(2).verifying_key()),
        ..Config::default()
    })
}

/// Request signing with a PEM key (spdci unless `profile` says otherwise).
fn signing(pem: impl Into<String>, key_id: &str, profile: &str) -> SigningConfig {
    SigningConfig {
        key_pem: Some(Secret::new(pem.into())),
        key_file: None,
        key_id: key_id.into(),
        profile: profile.into(),
    }
}

fn registry_pem() -> String {
    key(1).verifying_key().to_pem().unwrap()
}

fn ds(reg: &TestRegistry, mode: VerifyMode) -> DataSource {
    let mut d = reg.data_source();
    d.registry_key = Some(RegistryKeyConfig {
        pem: Some(registry_pem()),
        mode,
        ..Default::default()
    });
    d
}

/// A data source whose registry key is the default one changed by `f`.
fn with_key(reg: &TestRegistry, f: impl FnOnce(&mut RegistryKeyConfig)) -> DataSource {
    let mut d = reg.data_source();
    let mut k = RegistryKeyConfig::default();
    f(&mut k);
    d.registry_key = Some(k);
    d
}

/// A data source trusting the keys of `jwks` (a document) for the registry.
fn trusting(reg: &TestRegistry, jwks: serde_json::Value) -> DataSource {
    with_key(reg, |k| k.jwks = Some(jwks))
}

#[test]
fn signed_responses_verify_against_the_registry_pem() {
    let reg = signed_registry();
    let c = DCIClient::new(ds(&reg, VerifyMode::Required)).unwrap();
    let r = c.search_by_id("UIN", "1001").unwrap();
    assert!(r.signature.verified);
    assert_eq!(r.signature.kid.as_deref(), Some(REGISTRY_KID));
    assert_eq!(r.record_count(), 1);
}

#[test]
fn the_reference_servers_responses_verify_against_its_jwks() {
    // data_source(): the server's /.well-known/jwks.json, verification required.
    let c = DCIClient::new(reference_server().data_source("crvs")).unwrap();
    let r = c.search_by_id("UIN", "100000001").unwrap();
    assert!(r.signature.verified);
    assert_eq!(
        r.signature.kid.as_deref(),
        Some("registry.example.org|server-key-1|ed25519")
    );
    assert_eq!(r.record_count(), 1);
    let t = c
        .txn_status(&dci::client::TxnStatusQuery::search_transaction(
            r.transaction_id.clone().unwrap(),
        ))
        .unwrap();
    assert!(t.signature.verified);
}

#[test]
fn a_wrong_signature_is_refused_in_both_modes() {
    let reg = signed_registry();
    for mode in [VerifyMode::Required, VerifyMode::IfPresent] {
        let c = DCIClient::new(ds(&reg, mode)).unwrap();
        let e = c.search_by_id("UIN", "BADSIG").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureInvalid, "{mode:?}: {e}");
        assert!(
            e.to_string()
                .contains("/registry/sync/search (transaction "),
            "{e}"
        );
    }
}

#[test]
fn an_unsigned_response_is_refused_only_when_required() {
    let reg = signed_registry();
    let e = DCIClient::new(ds(&reg, VerifyMode::Required))
        .unwrap()
        .search_by_id("UIN", "UNSIGNED")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignatureMissing);
    assert!(e.to_string().contains("/registry/sync/search"), "{e}");
    let r = DCIClient::new(ds(&reg, VerifyMode::IfPresent))
        .unwrap()
        .search_by_id("UIN", "UNSIGNED")
        .unwrap();
    assert!(!r.signature.verified);
}

#[test]
fn the_registry_key_can_come_from_a_jwks_url_or_document() {
    let reg = signed_registry();
    let c = DCIClient::new(with_key(&reg, |k| {
        k.jwks_url = Some("/.well-known/jwks.json".into())
    }))
    .unwrap();
    assert!(c.search_by_id("UIN", "1001").unwrap().signature.verified);
    assert!(c.search_by_id("UIN", "1002").unwrap().signature.verified);
    // Fetched once, then cached.
    assert_eq!(reg.requests_to("/.well-known/jwks.json").len(), 1);

    let jwks = json!({"keys": [key(1).verifying_key().to_jwk(Some(KEY_ID))]});
    let r = DCIClient::new(trusting(&reg, jwks))
        .unwrap()
        .search_by_id("UIN", "1001")
        .unwrap();
    assert!(r.signature.verified);

    // A JWKS without the registry's key: the kid is unknown.
    let other = json!({"keys": [key(9).verifying_key().to_jwk(Some("someone-else"))]});
    let e = DCIClient::new(trusting(&reg, other))
        .unwrap()
        .search_by_id("UIN", "1001")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Key, "{e}");
}

#[test]
fn requests_are_signed_over_the_bytes_sent() {
    let reg = checking_registry();
    let mut d = ds(&reg, VerifyMode::Required);
    d.signing = Some(signing(key(2).to_pem().unwrap().to_string(), "k2", "spdci"));
    let c = DCIClient::new(d).unwrap();
    assert_eq!(c.search_by_id("UIN", "1001").unwrap().record_count(), 1);
    let sent = reg.last_request("/registry/sync/search");
    let sig = sent.json()["signature"].as_str().unwrap().to_string();
    assert!(sig.contains("openspp.test|k2|ed25519"), "{sig}");
    // Signed over exactly the bytes sent.
    dci::signature::verify_bytes(&sent.body, &key(2).verifying_key(), &Default::default()).unwrap();
}

#[test]
fn the_reference_server_checks_our_request_signatures() {
    let r = reference_server();
    for dialect in [Dialect::Spdci, Dialect::Openspp2] {
        let mut d = r.data_source("crvs");
        d.dialect = dialect;
        d.signing = Some(signing(
            r.sender_key.to_pem().unwrap().to_string(),
            r.sender_key_id,
            "spdci",
        ));
        let c = DCIClient::new(d.clone()).unwrap();
        let found = c.search_by_id("UIN", "100000002").unwrap();
        assert_eq!(
            found.first_record().unwrap()["name"]["given_name"],
            "Joy",
            "{dialect:?}"
        );
        assert!(found.signature.verified);

        // A key the registry does not have for this sender: HTTP 401 with the server's
        // err.signature.invalid, reported at once as that code, with no new token fetched
        // (the reference server's tokens carry a jti, so a second fetch gives another token).
        let c =
            DCIClient::with_signer(d, Signer::new(key(3), &r.sender_id, r.sender_key_id)).unwrap();
        let token = c.oauth2_token().unwrap();
        let e = c.search_by_id("UIN", "100000002").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{dialect:?}: {e}");
        assert_eq!(
            e.dci_code(),
            Some("err.signature.invalid"),
            "{dialect:?}: {e}"
        );
        assert_eq!(
            e.endpoint(),
            Some(format!("{}/registry/sync/search", r.base_url).as_str()),
            "{dialect:?}"
        );
        assert!(e.transaction_id().is_some(), "{dialect:?}: {e}");
        assert_eq!(
            c.oauth2_token().unwrap(),
            token,
            "{dialect:?}: token refreshed"
        );
    }
}

#[test]
fn the_openspp2_dialect_signs_the_header_it_sends() {
    let reg = checking_registry();
    let mut d = ds(&reg, VerifyMode::Required);
    d.dialect = Dialect::Openspp2;
    let c = DCIClient::with_signer(d, Signer::new(key(2), "openspp.test", "k2")).unwrap();
    assert!(c.search_by_id("UIN", "1001").unwrap().signature.verified);
    let env = reg.last_request("/registry/sync/search").json();
    assert_eq!(env["header"]["meta"], serde_json::Value::Null);
    assert!(env["signature"].as_str().unwrap().len() > 20);
}

#[test]
fn callbacks_are_verified() {
    let reg = signed_registry();
    let (c, l, _) = with_callbacks(ds(&reg, VerifyMode::Required), |_| {});
    let ack = c.search_async(&SearchSpec::by_id("UIN", "1001")).unwrap();
    match l
        .wait_for(&ack.transaction_id, Duration::from_secs(10))
        .unwrap()
    {
        CallbackResult::Search(r) => {
            assert!(r.signature.verified);
            assert_eq!(r.signature.kid.as_deref(), Some(REGISTRY_KID));
        }
        other => panic!("{other:?}"),
    }

    let msg = json!({"transaction_id": "t-x", "correlation_id": "c",
        "search_response": [{"reference_id": "r", "timestamp": "2025-01-01T00:00:00Z", "status": "succ",
                             "data": {"reg_records": []}}]});
    let hdr = [("Content-Type", "application/json")];
    let e = c
        .handle_callback(&reg.badly_signed_callback("on-search", msg.clone()), &hdr)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignatureInvalid);
    assert_eq!(error_status(&e), 401);

    // Unsigned callbacks are refused when a signature is required.
    let unsigned = serde_json::to_vec(&json!({
        "header": {"action": "on-search", "status": "succ", "message_id": "m", "message_ts": "2025-01-01T00:00:00Z"},
        "message": msg
    }))
    .unwrap();
    let e = c.handle_callback(&unsigned, &hdr).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignatureMissing);

    // Through the listener the refusal is a 401 with an ERR ack.
    let base = c.data_source().our_callback_uri.clone().unwrap();
    let (status, body) = reg.post_raw(&format!("{base}/on-search"), "application/json", unsigned);
    assert_eq!(status, 401);
    assert_eq!(body["message"]["error"]["code"], "err.signature.missing");
}

#[test]
fn bad_keys_fail_at_construction_naming_the_field() {
    let reg = signed_registry();
    let d = with_key(&reg, |k| {
        k.pem = Some("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n".into())
    });
    assert_eq!(
        DCIClient::new(d).unwrap_err().field(),
        Some("registry_key.pem")
    );
    let mut d = ds(&reg, VerifyMode::Required);
    d.signing = Some(signing("garbage", "k", "spdci"));
    assert_eq!(
        DCIClient::new(d).unwrap_err().field(),
        Some("signing.key_pem")
    );
    let mut d = ds(&reg, VerifyMode::Required);
    d.signing = Some(signing(key(2).to_pem().unwrap().to_string(), "k", "rot13"));
    assert_eq!(
        DCIClient::new(d).unwrap_err().field(),
        Some("signing.profile")
    );
}
