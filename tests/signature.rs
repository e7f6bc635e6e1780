//! The signature API: signing values and bytes, verification outcomes, the tolerant parser,
//! placeholders, profile detection, and no panics on hostile input.

use dci::keys::{Algorithm, Jwks, SigningKey};
use dci::signature::{
    detect_profile, is_missing, spdci, verify_bytes, KeyWithKid, Profile, Signer, VerifyOptions,
};
use dci::{Error, ErrorKind};
use serde_json::{json, Value};

const T: i64 = 1_735_689_600;

fn ed_key() -> SigningKey {
    SigningKey::from_ed25519_seed(&[7u8; 32])
}

/// A signer of `profile` and the test envelope it signed at time T.
fn signed(profile: Profile) -> (Signer, Value) {
    let s = signer(profile);
    let mut env = envelope();
    s.sign_value(&mut env, Some(T)).unwrap();
    (s, env)
}

/// The error of verifying `env` with the Ed25519 test key at time T.
fn ed_verify_err(env: &serde_json::Value) -> dci::error::Error {
    verify_bytes(
        &serde_json::to_vec(env).unwrap(),
        &ed_key().verifying_key(),
        &opts(T),
    )
    .unwrap_err()
}

fn opts(now: i64) -> VerifyOptions {
    VerifyOptions {
        now: Some(now),
        ..Default::default()
    }
}

fn envelope() -> Value {
    json!({
        "header": {"message_id": "m-1", "action": "search", "sender_id": "sp.example.org",
                   "extension": {"x": [1, 2.5, "é"]}},
        "message": {"transaction_id": "t-1", "search_request": [{"reference_id": "r-1"}]}
    })
}

fn signer(profile: Profile) -> Signer {
    let mut s = Signer::new(ed_key(), "sp.example.org", "k1");
    s.profile = profile;
    s
}

#[test]
fn sign_value_then_verify_bytes_each_profile() {
    for profile in [Profile::Spdci, Profile::JwsDetached, Profile::JwsCompact] {
        let (s, env) = signed(profile);
        let bytes = serde_json::to_vec_pretty(&env).unwrap();
        let v = verify_bytes(&bytes, &s.key.verifying_key(), &opts(T + 1)).unwrap();
        assert_eq!(v.profile, profile);
        assert_eq!(v.algorithm, Algorithm::Ed25519);
        assert_eq!(v.kid.as_deref(), Some("sp.example.org|k1|ed25519"));
        assert_eq!(detect_profile(env["signature"].as_str().unwrap()), profile);
    }
}

#[test]
fn spdci_value_has_the_openspp_shape() {
    let value = signer(Profile::Spdci)
        .signature_for(&envelope()["header"], &envelope()["message"], Some(T))
        .unwrap();
    let prefix = format!(
        "namespace=\"dci\", kidId=\"sp.example.org|k1|ed25519\", algorithm=\"ed25519\", created=\"{T}\", expires=\"{}\", headers=\"(created) (expires) digest\", signature=\"",
        T + 300
    );
    assert!(value.starts_with(&prefix), "{value}");
    let p = spdci::parse(&value).unwrap();
    assert_eq!(p.signature.len(), 64);
    assert_eq!(p.namespace.as_deref(), Some("dci"));
}

#[test]
fn jws_headers_are_what_peers_write() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let env = envelope();
    let d = signer(Profile::JwsDetached)
        .signature_for(&env["header"], &env["message"], None)
        .unwrap();
    let (h, rest) = d.split_once('.').unwrap();
    assert!(rest.starts_with('.'), "{d}");
    assert_eq!(
        b64.decode(h).unwrap(),
        br#"{"alg":"EdDSA","kid":"sp.example.org|k1|ed25519","typ":"JWT"}"#
    );
    let c = signer(Profile::JwsCompact)
        .signature_for(&env["header"], &env["message"], None)
        .unwrap();
    let parts: Vec<&str> = c.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        b64.decode(parts[0]).unwrap(),
        br#"{"alg":"EdDSA","kid":"sp.example.org|k1|ed25519"}"#
    );
    let payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        payload,
        json!({"header": env["header"], "message": env["message"]})
    );
}

#[test]
fn sign_bytes_keeps_numbers_and_order_exact() {
    let text = r#"{ "header": {"z": 1, "a": 18446744073709551617},
                   "message": {"f": 1.0, "g": 1e21, "s": "\u00e9\/"}, "extra": [true] }"#;
    for profile in [Profile::Spdci, Profile::JwsDetached, Profile::JwsCompact] {
        let s = signer(profile);
        let out = String::from_utf8(s.sign_bytes(text.as_bytes(), Some(T)).unwrap()).unwrap();
        let sig = serde_json::from_str::<Value>(&out).unwrap()["signature"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut sig_json = Vec::new();
        dci::canonical::write_str(&mut sig_json, &sig, dci::canonical::Style::Utf8);
        assert_eq!(
            out,
            format!(
                r#"{{"signature":{},"header":{{"z":1,"a":18446744073709551617}},"message":{{"f":1.0,"g":1e21,"s":"\u00e9\/"}},"extra":[true]}}"#,
                String::from_utf8(sig_json).unwrap()
            )
        );
        verify_bytes(out.as_bytes(), &s.key.verifying_key(), &opts(T)).unwrap();
        // Re-signing replaces the signature in place.
        let again = s.sign_bytes(out.as_bytes(), Some(T)).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), out);
    }
}

#[test]
fn big_integers_are_signed_exactly() {
    // 2^64+1 and 2^64+2 differ only beyond f64 precision: the signature must tell them apart.
    let a = r#"{"header":{},"message":{"n":18446744073709551617}}"#;
    let s = signer(Profile::Spdci);
    let signed = String::from_utf8(s.sign_bytes(a.as_bytes(), Some(T)).unwrap()).unwrap();
    let forged = signed.replace("18446744073709551617", "18446744073709551618");
    assert_ne!(forged, signed);
    let err = verify_bytes(forged.as_bytes(), &s.key.verifying_key(), &opts(T)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureInvalid);
}

#[test]
fn expiry_and_clock_skew() {
    let (s, env) = signed(Profile::Spdci);
    let bytes = serde_json::to_vec(&env).unwrap();
    let key = s.key.verifying_key();
    assert!(verify_bytes(&bytes, &key, &opts(T + 300)).is_ok());
    match verify_bytes(&bytes, &key, &opts(T + 301)).unwrap_err() {
        Error::SignatureExpired { expires, now } => assert_eq!((expires, now), (T + 300, T + 301)),
        e => panic!("{e:?}"),
    }
    let mut o = opts(T - 61);
    assert_eq!(
        verify_bytes(&bytes, &key, &o).unwrap_err().kind(),
        ErrorKind::SignatureNotYetValid
    );
    o.clock_skew_secs = 120;
    assert!(verify_bytes(&bytes, &key, &o).is_ok());
}

#[test]
fn tampering_anywhere_is_detected() {
    for profile in [Profile::Spdci, Profile::JwsDetached, Profile::JwsCompact] {
        let (s, env) = signed(profile);
        for path in ["header.message_id", "message.transaction_id"] {
            let mut t = env.clone();
            let (a, b) = path.split_once('.').unwrap();
            t[a][b] = json!("changed");
            let err = verify_bytes(
                &serde_json::to_vec(&t).unwrap(),
                &s.key.verifying_key(),
                &opts(T),
            )
            .unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::SignatureInvalid,
                "{profile:?} {path}"
            );
            assert!(err.to_string().contains("tampered"), "{profile:?}: {err}");
        }
        // Adding an unknown field also breaks the signature: nothing is silently dropped.
        let mut t = env.clone();
        t["message"]["new"] = json!(1);
        assert!(verify_bytes(
            &serde_json::to_vec(&t).unwrap(),
            &s.key.verifying_key(),
            &opts(T)
        )
        .is_err());
    }
}

#[test]
fn resolvers_check_kids() {
    let (s, env) = signed(Profile::Spdci);
    let bytes = serde_json::to_vec(&env).unwrap();
    let named = KeyWithKid {
        kid: "sp.example.org|k1|ed25519".into(),
        key: s.key.verifying_key(),
    };
    assert!(verify_bytes(&bytes, &named, &opts(T)).is_ok());
    let other = KeyWithKid {
        kid: "sp.example.org|k2|ed25519".into(),
        key: s.key.verifying_key(),
    };
    let err = verify_bytes(&bytes, &other, &opts(T)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("unknown key"), "{err}");
    let jwks = Jwks {
        keys: vec![(None, s.key.verifying_key())],
    };
    let err = verify_bytes(&bytes, &jwks, &opts(T)).unwrap_err();
    assert!(
        err.to_string().contains("sp.example.org|k1|ed25519"),
        "{err}"
    );
}

#[test]
fn placeholders_count_as_missing() {
    for p in [
        None,
        Some(""),
        Some("  "),
        Some("unsigned-stub"),
        Some("TODO"),
        Some("null"),
        Some("Signature:"),
    ] {
        assert!(is_missing(p), "{p:?}");
    }
    for p in [
        "invalid-signature",
        "garbage",
        "namespace=\"dci\"",
        "Signature: keyId=\"x\"",
        "eyJhbGciOiJFZERTQSJ9..c2ln",
        "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
    ] {
        assert!(!is_missing(Some(p)), "{p}");
    }
    let env = json!({"signature": "unsigned-stub", "header": {}, "message": {}});
    let err = ed_verify_err(&env);
    assert_eq!(err.kind(), ErrorKind::SignatureMissing);
    assert_eq!(err.dci_code(), Some("err.signature.missing"));

    // A value that is neither a placeholder nor a signature is a bad signature, not a missing one.
    let env = json!({"signature": "invalid-signature", "header": {}, "message": {}});
    let err = ed_verify_err(&env);
    assert_eq!(err.kind(), ErrorKind::SignatureMalformed);
    assert_eq!(err.dci_code(), Some("err.signature.invalid"));
}

#[test]
fn parser_errors_name_the_problem() {
    let cases = [
        (
            "created=\"1\", created=\"2\"",
            "duplicate parameter \"created\"",
        ),
        (
            "algorithm=\"ed25519\", expires=\"2\", signature=\"AA==\"",
            "missing parameter \"created\"",
        ),
        (
            "algorithm=\"ed25519\", created=\"1\", expires=\"2\", signature=\"AAAA",
            "unterminated",
        ),
        (
            "algorithm=\"ed25519\" created=\"x\" expires=\"2\" signature=\"AA==\"",
            "not an integer",
        ),
        ("algorithm", "no '=' value"),
    ];
    for (value, needle) in cases {
        let err = spdci::parse(value).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SignatureMalformed, "{value}");
        assert!(err.to_string().contains(needle), "{value}: {err}");
    }
}

#[test]
fn hostile_input_never_panics() {
    let key = ed_key().verifying_key();
    let (_, env) = signed(Profile::Spdci);
    let good = serde_json::to_string(&env).unwrap();
    // Every prefix of a signed envelope, and every prefix of its signature value.
    for cut in 0..good.len() {
        if good.is_char_boundary(cut) {
            let _ = verify_bytes(&good.as_bytes()[..cut], &key, &opts(T));
        }
    }
    let sig = env["signature"].as_str().unwrap().to_owned();
    for cut in 0..sig.len() {
        let mut t = env.clone();
        t["signature"] = json!(&sig[..cut]);
        let r = verify_bytes(&serde_json::to_vec(&t).unwrap(), &key, &opts(T));
        assert!(r.is_err(), "cut {cut}");
    }
    for junk in [
        "eyJ..",
        "eyJ.",
        "eyJhbGciOiJub25lIn0.e30.",
        "eyJhbGciOiJFZERTQSJ9.!!.x",
        "a=\"",
        "=",
        "Signature: ,,,,",
        "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
    ] {
        let mut t = env.clone();
        t["signature"] = json!(junk);
        assert!(
            verify_bytes(&serde_json::to_vec(&t).unwrap(), &key, &opts(T)).is_err(),
            "{junk}"
        );
    }
    for bytes in [
        &b""[..],
        b"[]",
        b"null",
        b"{\"signature\":1}",
        b"\xff\xfe",
        b"{\"header\":{}}",
    ] {
        assert!(verify_bytes(bytes, &key, &opts(T)).is_err());
    }
}

#[test]
fn envelope_shape_errors() {
    let key = ed_key().verifying_key();
    let err = verify_bytes(
        b"{\"signature\":\"a=\\\"b\\\"\",\"header\":{}}",
        &key,
        &opts(T),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Json);
    assert!(err.to_string().contains("message"), "{err}");
    let err = signer(Profile::Spdci).sign_bytes(b"[1]", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Json);
    let mut not_obj = json!([1]);
    assert!(signer(Profile::Spdci)
        .sign_value(&mut not_obj, None)
        .is_err());
}

#[test]
fn profile_names() {
    for p in [Profile::Spdci, Profile::JwsDetached, Profile::JwsCompact] {
        assert_eq!(Profile::parse(p.name()).unwrap(), p);
    }
    let err = Profile::parse("xml-dsig").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn rsa_signs_in_every_profile() {
    let pem = serde_json::from_str::<Value>(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/vectors/dci-signature-libdci.json"),
        )
        .unwrap(),
    )
    .unwrap()["keys"]["rsa"]["private_pem"]
        .as_str()
        .unwrap()
        .to_owned();
    for profile in [Profile::Spdci, Profile::JwsDetached, Profile::JwsCompact] {
        let mut s = Signer::new(SigningKey::from_pem(&pem).unwrap(), "sp.example.org", "k");
        s.profile = profile;
        let mut env = envelope();
        s.sign_value(&mut env, Some(T)).unwrap();
        let v = verify_bytes(
            &serde_json::to_vec(&env).unwrap(),
            &s.key.verifying_key(),
            &opts(T),
        )
        .unwrap();
        assert_eq!(v.algorithm, Algorithm::RsaSha256);
        assert_eq!(v.kid.as_deref(), Some("sp.example.org|k|rsa-sha256"));
        // An Ed25519 key given for an RSA signature is a key error, not a crash.
        let err = ed_verify_err(&env);
        assert_eq!(err.kind(), ErrorKind::Key, "{profile:?}");
    }
}

#[test]
fn the_kid_must_name_the_header_sender_unless_turned_off() {
    use dci::signature::{kid_sender, verify_bytes_with, SenderBinding};
    let key = SigningKey::from_ed25519_seed(&[7; 32]);
    let other = Signer::new(
        SigningKey::from_ed25519_seed(&[7; 32]),
        "someone-else",
        "k1",
    );
    let mut env = envelope();
    other.sign_value(&mut env, Some(T)).unwrap();
    let bytes = serde_json::to_vec(&env).unwrap();
    let e = verify_bytes(&bytes, &key.verifying_key(), &opts(T)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, dci::Error::SignatureInvalid(_)), "{e:?}");
    assert!(
        msg.contains("\"someone-else\"") && msg.contains("sp.example.org"),
        "{msg}"
    );
    let v = verify_bytes_with(&bytes, &key.verifying_key(), &opts(T), SenderBinding::Off).unwrap();
    assert_eq!(v.kid.as_deref(), Some("someone-else|k1|ed25519"));
    assert_eq!(kid_sender("a|b|ed25519"), Some("a"));
    assert_eq!(kid_sender("thumbprint"), None);
}
