//! Envelopes signed by emulations of the deployed DCI peers (OpenSPP 2, OpenG2P, opencrvs; see
//! python_tests/test_peers.py and docs/signature-profiles.md) verify here with the expected
//! outcome, and libdci re-makes its own jws-detached cases byte for byte.

use std::path::PathBuf;

use dci::canonical::{self, FloatStyle, Node};
use dci::keys::{Jwks, SigningKey, VerifyingKey};
use dci::signature::{
    self, verify_bytes, JwsKid, KeyResolver, KeyWithKid, Profile, Signer, VerifyOptions,
};
use serde_json::Value;

fn vectors() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/dci-signature-peers.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ed_seed(v: &Value) -> [u8; 32] {
    let hex = v["keys"]["ed25519"]["seed_hex"].as_str().unwrap();
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    seed
}

fn public_key(v: &Value, alg: &str) -> VerifyingKey {
    let name = if alg == "ed25519" { "ed25519" } else { "rsa" };
    VerifyingKey::from_pem(v["keys"][name]["public_pem"].as_str().unwrap()).unwrap()
}

fn opts(v: &Value) -> VerifyOptions {
    VerifyOptions {
        now: v["now"].as_i64(),
        ..VerifyOptions::default()
    }
}

#[test]
fn peer_signed_envelopes_verify_with_the_expected_outcome() {
    let v = vectors();
    let jwks = Jwks::from_json(&v["jwks"]).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let envelope = case["envelope"].as_str().unwrap().as_bytes();
        let key = public_key(&v, case["alg"].as_str().unwrap());
        let by_kid;
        // Cases with a kid resolve through the JWKS (peers' kid forms); the rest by the key alone.
        let resolver: &dyn KeyResolver = match case["kid"].as_str() {
            Some(_) => &jwks,
            None => {
                by_kid = key;
                &by_kid
            }
        };
        let got = verify_bytes(envelope, resolver, &opts(&v));
        let expect = case["expect"].as_str().unwrap();
        match got {
            Ok(found) => {
                assert_eq!(expect, "valid", "{name}");
                assert_eq!(found.profile.name(), case["profile"], "{name}");
                assert_eq!(found.algorithm.dci_name(), case["alg"], "{name}");
                assert_eq!(found.kid.as_deref(), case["kid"].as_str(), "{name}");
                seen.insert(case["peer"].as_str().unwrap().to_owned());
            }
            Err(e) => assert_eq!(format!("{:?}", e.kind()), expect, "{name}: {e}"),
        }
    }
    let all: std::collections::BTreeSet<String> = ["libdci", "opencrvs", "openg2p", "openspp2"]
        .map(String::from)
        .into();
    assert_eq!(seen, all);
}

#[test]
fn openg2p_floats_verify_only_through_the_orjson_spelling() {
    // The wire says 1e-07 (Python's json); OpenG2P signed orjson's 1e-7.
    let v = vectors();
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "openg2p-eddsa-floats-json-compact-utf8")
        .unwrap();
    let text = case["envelope"].as_str().unwrap();
    assert!(text.contains("\"tiny\":1e-07"), "{text}");
    let root = canonical::parse(text.as_bytes()).unwrap();
    let message = root.get("message").unwrap();
    let mut orjson = Vec::new();
    message
        .write_canonical_floats(&mut orjson, canonical::Style::Utf8, FloatStyle::Orjson)
        .unwrap();
    let orjson = String::from_utf8(orjson).unwrap();
    assert!(orjson.contains("\"tiny\":1e-7,"), "{orjson}");
    assert!(orjson.contains("\"small\":0.000015,"), "{orjson}");
    assert!(orjson.contains("\"ratio\":0.00001,"), "{orjson}");
}

#[test]
fn libdci_jws_detached_cases_regenerate_identically() {
    let v = vectors();
    let mut n = 0;
    for case in v["cases"].as_array().unwrap() {
        let Some(unsigned) = case["unsigned"].as_str() else {
            continue;
        };
        let key = match case["alg"].as_str().unwrap() {
            "ed25519" => SigningKey::from_ed25519_seed(&ed_seed(&v)),
            _ => SigningKey::from_pem(v["keys"]["rsa"]["private_pem"].as_str().unwrap()).unwrap(),
        };
        let mut signer = Signer::new(key, "peer.example.org", "k1");
        signer.profile = Profile::JwsDetached;
        let signed = signer
            .sign_bytes(unsigned.as_bytes(), v["now"].as_i64())
            .unwrap();
        let ours = canonical::parse(&signed).unwrap();
        let theirs_text = case["envelope"].as_str().unwrap();
        let theirs = canonical::parse(theirs_text.as_bytes()).unwrap();
        assert_eq!(
            ours.get("signature").and_then(Node::as_str),
            theirs.get("signature").and_then(Node::as_str),
            "{}",
            case["name"]
        );
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn thumbprint_kid_is_what_opencrvs_publishes() {
    let v = vectors();
    let key = SigningKey::from_pem(v["keys"]["rsa"]["private_pem"].as_str().unwrap()).unwrap();
    let thumb = key.verifying_key().thumbprint();
    // The opencrvs cases name their key by this very thumbprint.
    assert!(v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["peer"] == "opencrvs" && c["kid"].as_str() == Some(thumb.as_str())));
    let mut signer = Signer::new(key, "crvs.example.org", "k1");
    signer.profile = Profile::JwsCompact;
    signer.jws_kid = JwsKid::Thumbprint;
    let header =
        serde_json::json!({"sender_id": "crvs.example.org", "message_ts": "2025-06-15T10:00:00Z"});
    let message = serde_json::json!({"transaction_id": "t", "x": 1e-7});
    let jws = signer.signature_for(&header, &message, None).unwrap();
    let first = jws.split('.').next().unwrap();
    let decoded = base64_url(first);
    assert_eq!(
        decoded,
        format!("{{\"alg\":\"RS256\",\"kid\":\"{thumb}\"}}")
    );
    let envelope = serde_json::json!({"signature": jws, "header": header, "message": message});
    let resolver = KeyWithKid {
        kid: thumb.clone(),
        key: signer.key.verifying_key(),
    };
    let found = verify_bytes(
        envelope.to_string().as_bytes(),
        &resolver,
        &VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(found.kid.as_deref(), Some(thumb.as_str()));

    // Omit: the header is {"alg":..} alone, as opencrvs' first releases signed.
    signer.jws_kid = JwsKid::Omit;
    let jws = signer.signature_for(&header, &message, None).unwrap();
    assert_eq!(
        base64_url(jws.split('.').next().unwrap()),
        "{\"alg\":\"RS256\"}"
    );
    assert_eq!(signature::detect_profile(&jws), Profile::JwsCompact);
}

fn base64_url(segment: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}
