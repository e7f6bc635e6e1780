//! The signature test vectors: the shared OpenSPP 2-style vector (byte for byte), the project's
//! own vectors (tests/vectors/dci-signature-libdci.json) and the vectors made independently by
//! Python (tests/vectors/dci-signature-python-made.json, from python_tests/test_vectors.py).
//!
//! Regenerate the project's vectors with
//! `cargo test -p libdci --test signature_vectors -- --ignored generate_vectors`
//! (the keys in the existing file are kept, so the output is identical unless the code changed).

use std::path::PathBuf;

use dci::canonical::{self, Style};
use dci::keys::{Algorithm, Jwks, SigningKey};
use dci::signature::{
    spdci, verify_bytes, DigestAlgorithm, KeyResolver, Profile, Signer, VerifyOptions,
};
use dci::{Error, ErrorKind};
use serde_json::{json, Value};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(vectors_dir().join(name)).expect("vector file");
    serde_json::from_str(&text).expect("vector JSON")
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

// ---------------------------------------------------------------- the shared vector

fn check_shared(v: &Value) {
    let seed = hex32(v["key"]["private_seed_hex"].as_str().unwrap());
    let key = SigningKey::from_ed25519_seed(&seed);
    let jwk = key
        .verifying_key()
        .to_jwk(Some("spmis.example.org|key1|ed25519"));
    assert_eq!(jwk, v["key"]["jwk_public"]);

    let envelope = &v["envelope"];
    let header = &envelope["header"];
    let message = &envelope["message"];
    let canonical_json = v["canonical_json"].as_str().unwrap();
    let pair = json!({"header": header, "message": message});
    assert_eq!(
        String::from_utf8(canonical::canonicalize_value(&pair, Style::Ascii)).unwrap(),
        canonical_json
    );
    assert_eq!(
        spdci::digest(canonical_json.as_bytes(), DigestAlgorithm::Sha256),
        v["digest_sha256_b64"].as_str().unwrap()
    );
    let created = v["created"].as_i64().unwrap();
    let expires = v["expires"].as_i64().unwrap();
    assert_eq!(
        spdci::signing_string(created, expires, v["digest_sha256_b64"].as_str().unwrap()),
        v["signing_string"].as_str().unwrap()
    );

    // Signing reproduces the signature value byte for byte.
    let signer = Signer::new(key, "spmis.example.org", "key1");
    let value = signer
        .signature_for(header, message, Some(created))
        .unwrap();
    assert_eq!(value, envelope["signature"].as_str().unwrap());

    // Verification from the bytes as received.
    let bytes = serde_json::to_vec_pretty(envelope).unwrap();
    let opts = VerifyOptions {
        now: Some(created + 10),
        ..Default::default()
    };
    let jwks = Jwks::from_json(&json!({"keys": [v["key"]["jwk_public"]]})).unwrap();
    let verified = verify_bytes(&bytes, &jwks, &opts).unwrap();
    assert_eq!(verified.profile, Profile::Spdci);
    assert_eq!(verified.algorithm, Algorithm::Ed25519);
    assert_eq!(
        verified.kid.as_deref(),
        Some("spmis.example.org|key1|ed25519")
    );
    assert_eq!(verified.created, Some(created));
    assert_eq!(verified.expires, Some(expires));

    // The BLAKE-512 variant.
    let beckn = &v["beckn_variant"];
    assert_eq!(
        spdci::digest(canonical_json.as_bytes(), DigestAlgorithm::Blake512),
        format!(
            "BLAKE-512={}",
            beckn["digest_blake2b512_b64"].as_str().unwrap()
        )
    );
    let mut blake_signer = signer;
    blake_signer.digest = DigestAlgorithm::Blake512;
    let value = blake_signer
        .signature_for(header, message, Some(created))
        .unwrap();
    let params = spdci::parse(&value).unwrap();
    assert_eq!(
        base64_std(&params.signature),
        beckn["signature_b64"].as_str().unwrap()
    );
    let mut blake_env = envelope.clone();
    blake_env["signature"] = Value::String(value);
    verify_bytes(&serde_json::to_vec(&blake_env).unwrap(), &jwks, &opts).unwrap();
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn shared_openspp2_vector_reproduces() {
    check_shared(&load("dci-signature-ed25519-openspp2-style.json"));
}

// ---------------------------------------------------------------- the project's own vectors

struct Keys {
    ed: SigningKey,
    rsa: SigningKey,
    other_ed: SigningKey,
}

const SENDER: &str = "registry.example.org";

fn kid(alg: Algorithm) -> String {
    format!("{SENDER}|key1|{}", alg.dci_name())
}

fn keys_from(v: &Value) -> Keys {
    let k = &v["keys"];
    Keys {
        ed: SigningKey::from_ed25519_seed(&hex32(k["ed25519"]["seed_hex"].as_str().unwrap())),
        rsa: SigningKey::from_pem(k["rsa"]["private_pem"].as_str().unwrap()).unwrap(),
        other_ed: SigningKey::from_ed25519_seed(&hex32(
            k["ed25519_other"]["seed_hex"].as_str().unwrap(),
        )),
    }
}

/// The verifier a case names.
fn resolver(keys: &Keys, name: &str) -> Box<dyn KeyResolver> {
    let jwks = |pairs: Vec<(&SigningKey, Algorithm)>| Jwks {
        keys: pairs
            .into_iter()
            .map(|(k, a)| (Some(kid(a)), k.verifying_key()))
            .collect(),
    };
    match name {
        "jwks" => Box::new(jwks(vec![
            (&keys.ed, Algorithm::Ed25519),
            (&keys.rsa, Algorithm::RsaSha256),
        ])),
        // Another key published under the same kid: the signature must not verify.
        "jwks-other" => Box::new(jwks(vec![(&keys.other_ed, Algorithm::Ed25519)])),
        "pubkey-other" => Box::new(keys.other_ed.verifying_key()),
        "pubkey-ed25519" => Box::new(keys.ed.verifying_key()),
        "pubkey-rsa" => Box::new(keys.rsa.verifying_key()),
        "jwks-empty" => Box::new(Jwks::default()),
        other => panic!("unknown verifier {other}"),
    }
}

fn kind_name(e: &Error) -> String {
    format!("{:?}", e.kind())
}

fn check_cases(v: &Value, keys: &Keys) -> usize {
    let mut n = 0;
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let envelope = case["envelope"].as_str().unwrap();
        let now = case["now"].as_i64().unwrap();
        let profile = case
            .get("profile")
            .and_then(Value::as_str)
            .map(|p| Profile::parse(p).unwrap());
        let opts = VerifyOptions {
            now: Some(now),
            clock_skew_secs: 60,
            profile: None,
        };
        let res = resolver(keys, case["verify_with"].as_str().unwrap());
        let got = verify_bytes(envelope.as_bytes(), res.as_ref(), &opts);
        let expect = case["expect"].as_str().unwrap();
        match (&got, expect) {
            (Ok(verified), "valid") => {
                assert_eq!(Some(verified.profile), profile, "{name}");
                assert_eq!(
                    verified.algorithm.dci_name(),
                    case["alg"].as_str().unwrap(),
                    "{name}"
                );
            }
            (Err(e), kind) if kind != "valid" => {
                assert_eq!(kind_name(e), kind, "{name}: {e}");
                if kind == "SignatureMissing" {
                    assert!(matches!(e.kind(), ErrorKind::SignatureMissing));
                }
            }
            _ => panic!("{name}: expected {expect}, got {got:?}"),
        }
        // With the profile given explicitly the outcome is the same.
        if let Some(p) = profile {
            let forced = VerifyOptions {
                profile: Some(p),
                ..opts.clone()
            };
            let again = verify_bytes(envelope.as_bytes(), res.as_ref(), &forced);
            assert_eq!(again.is_ok(), got.is_ok(), "{name} with explicit profile");
        }
        // The canonical bytes the profile hashes or signs, where the vector records them.
        if let Some(expected) = case.get("canonical").and_then(Value::as_str) {
            let style = if profile == Some(Profile::Spdci) {
                Style::Ascii
            } else {
                Style::Utf8
            };
            assert_eq!(canonical_of(envelope, style), expected, "{name}");
        }
        n += 1;
    }
    n
}

#[test]
fn own_vectors_verify_with_expected_outcomes() {
    let v = load("dci-signature-libdci.json");
    let keys = keys_from(&v);
    assert!(check_cases(&v, &keys) >= 40);
}

#[test]
fn own_vectors_regenerate_identically() {
    // Ed25519 and RSA PKCS#1 v1.5 are deterministic: the same inputs give the same file.
    let v = load("dci-signature-libdci.json");
    let keys = keys_from(&v);
    let fresh = build_vectors(&v["keys"], &keys);
    assert_eq!(fresh["cases"], v["cases"]);
}

#[test]
fn python_made_vectors_verify_in_rust() {
    let v = load("dci-signature-python-made.json");
    let own = load("dci-signature-libdci.json");
    let keys = keys_from(&own);
    assert!(check_cases(&v, &keys) >= 6);
    // Python and Rust make the very same signatures for the valid cases.
    for case in v["cases"].as_array().unwrap() {
        if case["expect"] != "valid" {
            continue;
        }
        let profile = Profile::parse(case["profile"].as_str().unwrap()).unwrap();
        let key = match case["alg"].as_str().unwrap() {
            "ed25519" => SigningKey::from_ed25519_seed(&hex32(
                own["keys"]["ed25519"]["seed_hex"].as_str().unwrap(),
            )),
            _ => SigningKey::from_pem(own["keys"]["rsa"]["private_pem"].as_str().unwrap()).unwrap(),
        };
        let mut signer = Signer::new(key, SENDER, "key1");
        signer.profile = profile;
        // Made with Python's json module, so with Python's float spelling.
        signer.jws_floats = dci::canonical::FloatStyle::Python;
        let envelope = case["envelope"].as_str().unwrap();
        let now = case["created"].as_i64();
        let signed = signer.sign_bytes(envelope.as_bytes(), now).unwrap();
        let root = canonical::parse(&signed).unwrap();
        let ours = root.get("signature").unwrap().as_str().unwrap();
        let theirs = canonical::parse(envelope.as_bytes()).unwrap();
        let theirs = theirs.get("signature").unwrap().as_str().unwrap();
        assert_eq!(ours, theirs, "{}", case["name"]);
    }
}

#[test]
#[ignore = "writes tests/vectors/dci-signature-libdci.json"]
fn generate_vectors() {
    let path = vectors_dir().join("dci-signature-libdci.json");
    let key_block = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<Value>(&text).unwrap()["keys"].clone(),
        Err(_) => new_key_block(),
    };
    let keys = keys_from(&json!({ "keys": key_block }));
    let v = build_vectors(&key_block, &keys);
    let mut text = serde_json::to_string_pretty(&v).unwrap();
    text.push('\n');
    std::fs::write(&path, text).unwrap();
}

fn new_key_block() -> Value {
    let rsa = SigningKey::generate(Algorithm::RsaSha256).unwrap();
    let seed_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let other_hex = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    let ed = SigningKey::from_ed25519_seed(&hex32(seed_hex));
    let other = SigningKey::from_ed25519_seed(&hex32(other_hex));
    json!({
        "ed25519": {
            "seed_hex": seed_hex,
            "private_pem": ed.to_pem().unwrap().as_str(),
            "public_pem": ed.verifying_key().to_pem().unwrap(),
            "jwk": ed.verifying_key().to_jwk(Some(&kid(Algorithm::Ed25519))),
        },
        "ed25519_other": {
            "seed_hex": other_hex,
            "public_pem": other.verifying_key().to_pem().unwrap(),
        },
        "rsa": {
            "private_pem": rsa.to_pem().unwrap().as_str(),
            "public_pem": rsa.verifying_key().to_pem().unwrap(),
            "jwk": rsa.verifying_key().to_jwk(Some(&kid(Algorithm::RsaSha256))),
        },
    })
}

const CREATED: i64 = 1735689600;
const NOW: i64 = CREATED + 100;

/// Unsigned envelopes, as text: what the vectors exercise in the canonical form.
fn payloads() -> Vec<(&'static str, String)> {
    let header = r#"{"version":"1.0.0","message_id":"msg-0001","message_ts":"2025-01-01T00:00:00Z","action":"search","sender_id":"registry.example.org","sender_uri":"https://registry.example.org/callback","receiver_id":"crvs.example.org","total_count":1,"is_msg_encrypted":false}"#;
    let env = |message: &str| format!(r#"{{"header": {header}, "message": {message}}}"#);
    vec![
        (
            "basic",
            env(r#"{"transaction_id":"txn-001","search_request":[{"reference_id":"ref-001","timestamp":"2025-01-01T00:00:00Z","search_criteria":{"reg_type":"ns:org:RegistryType:Civil","query_type":"idtype-value","query":{"type":"UIN","value":"847951632"}},"locale":"eng"}]}"#),
        ),
        (
            "unicode",
            // Raw UTF-8 and escaped forms of é, 中文 and an emoji; control characters; an escaped slash.
            env("{\"transaction_id\":\"txn-ü\",\"names\":[\"José Ñúñez\",\"王小明 中文\",\"😀 emoji\",\"\\u00e9\\u4e2d\\ud83d\\ude00\"],\"control\":\"tab\\there\\nnew\\u0001\\u001f\\u007f\\\"q\\\\\",\"slash\":\"a\\/b\",\"ключ\":\"значение\",\"é\":1,\"e\":2}"),
        ),
        (
            "numbers",
            // Python float spelling, integers beyond 2^63 and 2^64, negative zero.
            env(r#"{"transaction_id":"txn-num","floats":[1.0,0.1,1e21,1e-07,1.5E16,100.0,-0.0,2.5e-5,123456789012345678.0],"big":[18446744073709551617,-9223372036854775809,123456789012345678901234567890],"ints":[0,-0,9007199254740993,-1]}"#),
        ),
        (
            "nested",
            env(r#"{"transaction_id":"txn-nest","deep":[[[]],[1,[2,[3,{"b":[{},{"z":null,"a":true}],"a":[[],[[]]]}]]]],"empty":{},"list":[]}"#),
        ),
    ]
}

fn signer_for(keys: &Keys, alg: Algorithm, profile: Profile) -> Signer {
    let key = match alg {
        Algorithm::Ed25519 => SigningKey::from_ed25519_seed(&keys.ed_seed()),
        Algorithm::RsaSha256 => SigningKey::from_pem(&keys.rsa.to_pem().unwrap()).unwrap(),
    };
    let mut s = Signer::new(key, SENDER, "key1");
    s.profile = profile;
    // These vectors were made with Python's float spelling, which the independent check in
    // python_tests/test_vectors.py (json module only) reproduces; the orjson default is covered
    // by tests/vectors/dci-signature-peers.json.
    s.jws_floats = dci::canonical::FloatStyle::Python;
    s
}

trait Seed {
    fn ed_seed(&self) -> [u8; 32];
}
impl Seed for Keys {
    fn ed_seed(&self) -> [u8; 32] {
        hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    }
}

fn canonical_of(envelope: &str, style: Style) -> String {
    let root = canonical::parse(envelope.as_bytes()).unwrap();
    let mut out = b"{\"header\":".to_vec();
    root.get("header")
        .unwrap()
        .write_canonical(&mut out, style)
        .unwrap();
    out.extend_from_slice(b",\"message\":");
    root.get("message")
        .unwrap()
        .write_canonical(&mut out, style)
        .unwrap();
    out.push(b'}');
    String::from_utf8(out).unwrap()
}

fn signature_of(envelope: &str) -> String {
    let root = canonical::parse(envelope.as_bytes()).unwrap();
    root.get("signature")
        .unwrap()
        .as_str()
        .unwrap()
        .into_owned()
}

/// Replaces the envelope's signature value (the text is compact JSON from `sign_bytes`).
fn with_signature(envelope: &str, signature: &str) -> String {
    let old = signature_of(envelope);
    let mut old_json = Vec::new();
    canonical::write_str(&mut old_json, &old, Style::Utf8);
    let mut new_json = Vec::new();
    canonical::write_str(&mut new_json, signature, Style::Utf8);
    envelope.replacen(
        std::str::from_utf8(&old_json).unwrap(),
        std::str::from_utf8(&new_json).unwrap(),
        1,
    )
}

fn build_vectors(key_block: &Value, keys: &Keys) -> Value {
    let mut cases = Vec::new();
    let mut push = |name: String,
                    profile: Option<Profile>,
                    alg: Option<Algorithm>,
                    envelope: String,
                    verify_with: &str,
                    now: i64,
                    expect: &str,
                    canonical: Option<String>| {
        let mut case = json!({
            "name": name,
            "envelope": envelope,
            "verify_with": verify_with,
            "now": now,
            "expect": expect,
        });
        if let Some(p) = profile {
            case["profile"] = json!(p.name());
        }
        if let Some(a) = alg {
            case["alg"] = json!(a.dci_name());
        }
        if let Some(c) = canonical {
            case["canonical"] = json!(c);
        }
        cases.push(case);
    };
    let profiles = [Profile::Spdci, Profile::JwsDetached, Profile::JwsCompact];
    let algs = [Algorithm::Ed25519, Algorithm::RsaSha256];
    let mut basic_signed = std::collections::HashMap::new();
    for profile in profiles {
        for alg in algs {
            let signer = signer_for(keys, alg, profile);
            for (pname, unsigned) in payloads() {
                let signed = String::from_utf8(
                    signer
                        .sign_bytes(unsigned.as_bytes(), Some(CREATED))
                        .unwrap(),
                )
                .unwrap();
                let style = if profile == Profile::Spdci {
                    Style::Ascii
                } else {
                    Style::Utf8
                };
                let canonical = canonical_of(&signed, style);
                push(
                    format!("{}-{}-{pname}", profile.name(), alg.dci_name()),
                    Some(profile),
                    Some(alg),
                    signed.clone(),
                    "jwks",
                    NOW,
                    "valid",
                    Some(canonical),
                );
                if pname == "basic" {
                    basic_signed.insert((profile, alg), signed.clone());
                }
            }
            // Negative cases common to every profile and algorithm.
            let signed = basic_signed[&(profile, alg)].clone();
            let tampered = signed.replace("847951632", "847951633");
            assert_ne!(tampered, signed);
            let p = Some(profile);
            let a = Some(alg);
            let base = format!("{}-{}", profile.name(), alg.dci_name());
            push(
                format!("{base}-tampered"),
                p,
                a,
                tampered,
                "jwks",
                NOW,
                "SignatureInvalid",
                None,
            );
            let wrong_key_expect = if alg == Algorithm::Ed25519 {
                "SignatureInvalid"
            } else {
                "Key"
            };
            push(
                format!("{base}-wrong-key-same-kid"),
                p,
                a,
                signed.clone(),
                "jwks-other",
                NOW,
                if alg == Algorithm::Ed25519 {
                    "SignatureInvalid"
                } else {
                    "Key"
                },
                None,
            );
            push(
                format!("{base}-wrong-key"),
                p,
                a,
                signed.clone(),
                "pubkey-other",
                NOW,
                wrong_key_expect,
                None,
            );
            push(
                format!("{base}-unknown-kid"),
                p,
                a,
                signed.clone(),
                "jwks-empty",
                NOW,
                "Key",
                None,
            );
            // A truncated signature value.
            let sig = signature_of(&signed);
            let truncated = with_signature(&signed, &sig[..sig.len() - 10]);
            push(
                format!("{base}-truncated"),
                p,
                a,
                truncated,
                "jwks",
                NOW,
                "SignatureMalformed",
                None,
            );
        }
    }

    // spdci: time checks, parser tolerance and strictness, BLAKE-512, placeholders.
    let signed = basic_signed[&(Profile::Spdci, Algorithm::Ed25519)].clone();
    let sp = Some(Profile::Spdci);
    let ed = Some(Algorithm::Ed25519);
    push(
        "spdci-expired".into(),
        sp,
        ed,
        signed.clone(),
        "jwks",
        CREATED + 301,
        "SignatureExpired",
        None,
    );
    push(
        "spdci-expires-boundary".into(),
        sp,
        ed,
        signed.clone(),
        "jwks",
        CREATED + 300,
        "valid",
        None,
    );
    push(
        "spdci-created-in-future".into(),
        sp,
        ed,
        signed.clone(),
        "jwks",
        CREATED - 61,
        "SignatureNotYetValid",
        None,
    );
    push(
        "spdci-created-within-skew".into(),
        sp,
        ed,
        signed.clone(),
        "jwks",
        CREATED - 60,
        "valid",
        None,
    );
    let params = spdci::parse(&signature_of(&signed)).unwrap();
    let sig_b64 = base64_std(&params.signature);
    let kid_ed = kid(Algorithm::Ed25519);
    let e = CREATED + 300;
    let tolerant = [
        ("prefix", format!("Signature: namespace=\"dci\", kidId=\"{kid_ed}\", algorithm=\"ed25519\", created=\"{CREATED}\", expires=\"{e}\", headers=\"(created) (expires) digest\", signature=\"{sig_b64}\"")),
        ("keyid-bare-numbers-reordered", format!("signature=\"{sig_b64}\",keyId=\"{kid_ed}\",expires={e},created={CREATED},algorithm=ed25519,namespace=\"other\"")),
        ("spacing", format!("  namespace = \"dci\" ,  kidId=\"{kid_ed}\"  ,algorithm=\"ED25519\",created=\"{CREATED}\" , expires=\"{e}\",headers=\"(created)  (expires) digest\",  signature=\"{sig_b64}\"  ")),
    ];
    for (tname, value) in tolerant {
        push(
            format!("spdci-parse-{tname}"),
            sp,
            ed,
            with_signature(&signed, &value),
            "jwks",
            NOW,
            "valid",
            None,
        );
    }
    let strict = [
        ("duplicate-param", format!("namespace=\"dci\", kidId=\"{kid_ed}\", algorithm=\"ed25519\", created=\"{CREATED}\", created=\"{CREATED}\", expires=\"{e}\", signature=\"{sig_b64}\""), "SignatureMalformed"),
        ("keyid-and-kidid", format!("kidId=\"{kid_ed}\", keyId=\"{kid_ed}\", algorithm=\"ed25519\", created=\"{CREATED}\", expires=\"{e}\", signature=\"{sig_b64}\""), "SignatureMalformed"),
        ("missing-created", format!("kidId=\"{kid_ed}\", algorithm=\"ed25519\", expires=\"{e}\", signature=\"{sig_b64}\""), "SignatureMalformed"),
        ("missing-signature", format!("kidId=\"{kid_ed}\", algorithm=\"ed25519\", created=\"{CREATED}\", expires=\"{e}\""), "SignatureMalformed"),
        ("created-not-a-number", format!("kidId=\"{kid_ed}\", algorithm=\"ed25519\", created=\"soon\", expires=\"{e}\", signature=\"{sig_b64}\""), "SignatureMalformed"),
        ("signature-not-base64", format!("kidId=\"{kid_ed}\", algorithm=\"ed25519\", created=\"{CREATED}\", expires=\"{e}\", signature=\"!!notbase64!!\""), "SignatureMalformed"),
        ("unknown-algorithm", format!("kidId=\"{kid_ed}\", algorithm=\"hmac-sha256\", created=\"{CREATED}\", expires=\"{e}\", signature=\"{sig_b64}\""), "UnsupportedAlgorithm"),
        ("other-headers", format!("kidId=\"{kid_ed}\", algorithm=\"ed25519\", created=\"{CREATED}\", expires=\"{e}\", headers=\"digest\", signature=\"{sig_b64}\""), "SignatureMalformed"),
        // The kid names an RSA key but the value declares ed25519: the key does not fit.
        ("key-type-mismatch", format!("kidId=\"{}\", algorithm=\"ed25519\", created=\"{CREATED}\", expires=\"{e}\", signature=\"{sig_b64}\"", kid(Algorithm::RsaSha256)), "Key"),
        // Our Ed25519 signature declared as rsa-sha256, checked against the Ed25519 key.
        ("declared-rsa-with-ed25519-key", format!("kidId=\"{kid_ed}\", algorithm=\"rsa-sha256\", created=\"{CREATED}\", expires=\"{e}\", signature=\"{sig_b64}\""), "Key"),
    ];
    for (sname, value, expect) in strict {
        push(
            format!("spdci-parse-{sname}"),
            sp,
            ed,
            with_signature(&signed, &value),
            "jwks",
            NOW,
            expect,
            None,
        );
    }
    for (pname, placeholder) in [
        ("empty", ""),
        ("unsigned-stub", "unsigned-stub"),
        ("spaces", "   "),
        ("todo", "TODO"),
    ] {
        push(
            format!("placeholder-{pname}"),
            None,
            None,
            with_signature(&signed, placeholder),
            "jwks",
            NOW,
            "SignatureMissing",
            None,
        );
    }
    let no_sig = payloads()[0].1.clone();
    push(
        "no-signature-member".into(),
        None,
        None,
        no_sig,
        "jwks",
        NOW,
        "SignatureMissing",
        None,
    );
    push(
        "signature-null".into(),
        None,
        None,
        with_signature(&signed, "@@").replacen("\"@@\"", "null", 1),
        "jwks",
        NOW,
        "SignatureMissing",
        None,
    );
    // BLAKE-512 digest (the spec example's form) verifies too.
    let mut blake = signer_for(keys, Algorithm::Ed25519, Profile::Spdci);
    blake.digest = DigestAlgorithm::Blake512;
    let blake_signed = String::from_utf8(
        blake
            .sign_bytes(payloads()[0].1.as_bytes(), Some(CREATED))
            .unwrap(),
    )
    .unwrap();
    push(
        "spdci-ed25519-blake512".into(),
        sp,
        ed,
        blake_signed,
        "jwks",
        NOW,
        "valid",
        None,
    );
    // Malformed envelopes.
    push(
        "envelope-not-json".into(),
        None,
        None,
        "{\"signature\":\"x\",".into(),
        "jwks",
        NOW,
        "Json",
        None,
    );
    push(
        "envelope-duplicate-key".into(),
        None,
        None,
        signed.replacen("{\"signature\"", "{\"header\":{},\"signature\"", 1),
        "jwks",
        NOW,
        "Json",
        None,
    );

    // JWS: refused algorithms and forms.
    let detached = basic_signed[&(Profile::JwsDetached, Algorithm::Ed25519)].clone();
    let dsig = signature_of(&detached);
    let sig_part = dsig.rsplit('.').next().unwrap().to_owned();
    let b64u = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    for (jname, hdr, expect) in [
        ("alg-none", r#"{"alg":"none"}"#, "UnsupportedAlgorithm"),
        (
            "alg-hs256",
            r#"{"alg":"HS256","kid":"registry.example.org|key1|ed25519"}"#,
            "UnsupportedAlgorithm",
        ),
        ("alg-es256", r#"{"alg":"ES256"}"#, "UnsupportedAlgorithm"),
        (
            "crit",
            r#"{"alg":"EdDSA","crit":["exp"],"exp":1}"#,
            "SignatureMalformed",
        ),
    ] {
        push(
            format!("jws-detached-{jname}"),
            Some(Profile::JwsDetached),
            ed,
            with_signature(&detached, &format!("{}..{sig_part}", b64u(hdr))),
            "jwks",
            NOW,
            expect,
            None,
        );
    }
    // A compact JWS that signs a different message than the envelope carries.
    let compact = basic_signed[&(Profile::JwsCompact, Algorithm::Ed25519)].clone();
    let other_env = payloads()[3].1.clone();
    let other_signed = String::from_utf8(
        signer_for(keys, Algorithm::Ed25519, Profile::JwsCompact)
            .sign_bytes(other_env.as_bytes(), Some(CREATED))
            .unwrap(),
    )
    .unwrap();
    push(
        "jws-compact-payload-mismatch".into(),
        Some(Profile::JwsCompact),
        ed,
        with_signature(&compact, &signature_of(&other_signed)),
        "jwks",
        NOW,
        "SignatureInvalid",
        None,
    );

    json!({
        "_note": "libdci signature vectors. Generated by `cargo test -p libdci --test signature_vectors -- --ignored generate_vectors`; checked by tests/signature_vectors.rs and, independently, python_tests/test_vectors.py. Each case: the envelope as exact text, the verifier (verify_with: jwks = both keys under kid '{sender}|key1|{alg}'; jwks-other = another Ed25519 key under the Ed25519 kid; pubkey-other = that other key alone; jwks-empty = no keys), the time to verify at, and the expected outcome (valid or a dci::ErrorKind name). canonical = the bytes the profile hashes (spdci: Python json.dumps sort_keys, compact, ensure_ascii=True) or signs (jws: ensure_ascii=False).",
        "keys": key_block,
        "created": CREATED,
        "cases": cases,
    })
}
