//! Keys: generation, PEM and JWK round trips, kids, wrong key types, no secrets in Debug.

use dci::keys::{Algorithm, Jwks, SigningKey, VerifyingKey};
use dci::ErrorKind;
use serde_json::json;

const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn seed() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&SEED_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn rsa_pem() -> String {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/vectors/dci-signature-libdci.json"),
        )
        .unwrap(),
    )
    .unwrap();
    v["keys"]["rsa"]["private_pem"].as_str().unwrap().to_owned()
}

#[test]
fn ed25519_pem_round_trip_is_pkcs8_v1() {
    let key = SigningKey::from_ed25519_seed(&seed());
    let pem = key.to_pem().unwrap();
    // RFC 8410 section 10.3: the PKCS#8 v1 encoding of the RFC 8032 test key 1.
    assert_eq!(
        pem.as_str(),
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"
    );
    let back = SigningKey::from_pem(&pem).unwrap();
    assert_eq!(back.verifying_key(), key.verifying_key());
    let public = key.verifying_key().to_pem().unwrap();
    assert_eq!(
        public,
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"
    );
    assert_eq!(
        VerifyingKey::from_pem(&public).unwrap(),
        key.verifying_key()
    );
}

#[test]
fn ed25519_signature_is_rfc8032_test_1() {
    let key = SigningKey::from_ed25519_seed(&seed());
    let sig = key.sign(b"").unwrap();
    let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    key.verifying_key().verify(b"", &sig).unwrap();
    let err = key.verifying_key().verify(b"x", &sig).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureInvalid);
}

#[test]
fn rsa_pem_round_trip_and_sign() {
    let key = SigningKey::from_pem(&rsa_pem()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::RsaSha256);
    let again = SigningKey::from_pem(&key.to_pem().unwrap()).unwrap();
    assert_eq!(again.verifying_key(), key.verifying_key());
    let sig = key.sign(b"hello").unwrap();
    assert_eq!(sig.len(), 256);
    // PKCS#1 v1.5 is deterministic.
    assert_eq!(sig, again.sign(b"hello").unwrap());
    let public = VerifyingKey::from_pem(&key.verifying_key().to_pem().unwrap()).unwrap();
    public.verify(b"hello", &sig).unwrap();
    assert_eq!(
        public.verify(b"hellO", &sig).unwrap_err().kind(),
        ErrorKind::SignatureInvalid
    );
    assert_eq!(
        public.verify(b"hello", &sig[..255]).unwrap_err().kind(),
        ErrorKind::SignatureMalformed
    );
}

#[test]
fn rsa_generate_sizes() {
    let key = SigningKey::generate(Algorithm::RsaSha256).unwrap();
    assert_eq!(key.sign(b"x").unwrap().len(), 256);
    let err = SigningKey::generate_rsa(1024).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("1024"), "{err}");
}

#[test]
fn pkcs1_rsa_private_key_loads() {
    // Convert our PKCS#8 to PKCS#1 by stripping the PKCS#8 wrapper with the pem crate's view
    // of the DER: PrivateKeyInfo { version, algorithm, privateKey OCTET STRING }.
    let pem = rsa_pem();
    let block = pem::parse(pem.trim()).unwrap();
    let der = block.contents();
    // The OCTET STRING holding RSAPrivateKey starts at a fixed offset for a 2048-bit key:
    // 30 82 LL LL | 02 01 00 | 30 0d ...(15 bytes) | 04 82 LL LL | RSAPrivateKey
    let start = 4 + 3 + 15 + 4;
    assert_eq!(der[start - 4], 0x04);
    let pkcs1 = pem::encode(&pem::Pem::new("RSA PRIVATE KEY", der[start..].to_vec()));
    let key = SigningKey::from_pem(&pkcs1).unwrap();
    let orig = SigningKey::from_pem(&pem).unwrap();
    assert_eq!(key.verifying_key(), orig.verifying_key());
}

#[test]
fn jwk_round_trips_and_thumbprints() {
    let ed = SigningKey::from_ed25519_seed(&seed()).verifying_key();
    let jwk = ed.to_jwk(None);
    assert_eq!(
        jwk,
        json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
               "use":"sig","alg":"EdDSA","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"})
    );
    let rsa = SigningKey::from_pem(&rsa_pem()).unwrap().verifying_key();
    let rjwk = rsa.to_jwk(Some("a|b|rsa-sha256"));
    assert_eq!(rjwk["e"], "AQAB");
    assert_eq!(rjwk["alg"], "RS256");
    assert_eq!(VerifyingKey::from_jwk(&rjwk).unwrap(), rsa);
    assert_eq!(rsa.thumbprint().len(), 43);

    let jwks = Jwks {
        keys: vec![
            (Some("a|b|ed25519".into()), ed.clone()),
            (Some("a|b|rsa-sha256".into()), rsa.clone()),
        ],
    };
    let back = Jwks::from_json(&jwks.to_json()).unwrap();
    assert_eq!(back.find("a|b|rsa-sha256"), Some(&rsa));
    assert_eq!(back.find("a|b|ed25519"), Some(&ed));
    assert!(back.find("nope").is_none());
}

#[test]
fn jwks_skips_unknown_and_encryption_keys() {
    let ed = SigningKey::from_ed25519_seed(&seed()).verifying_key();
    let set = json!({"keys": [
        {"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty":"oct","k":"c2VjcmV0"},
        {"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"},
        {"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB","kid":"enc-1"},
        ed.to_jwk(Some("k1")),
    ]});
    let jwks = Jwks::from_json(&set).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.find("k1"), Some(&ed));

    // A malformed key of a known type is an error naming its index.
    let bad = json!({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]});
    let err = Jwks::from_json(&bad).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("keys[0]"), "{err}");
    assert_eq!(
        Jwks::from_json(&json!({"nokeys":[]})).unwrap_err().kind(),
        ErrorKind::Key
    );
}

#[test]
fn jwk_alg_must_fit_the_key() {
    let ed = SigningKey::from_ed25519_seed(&seed()).verifying_key();
    let mut jwk = ed.to_jwk(None);
    jwk["alg"] = json!("RS256");
    let err = VerifyingKey::from_jwk(&jwk).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("does not fit"), "{err}");
    let err = ed.check_algorithm(Algorithm::RsaSha256).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains("wrong key type"), "{err}");
}

#[test]
fn bad_pem_gives_clear_key_errors() {
    for (pem, needle) in [
        ("not a pem", "not a PEM"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "CERTIFICATE",
        ),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "encrypted",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "neither Ed25519",
        ),
    ] {
        let err = SigningKey::from_pem(pem).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Key, "{pem}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    let public = SigningKey::from_ed25519_seed(&seed())
        .verifying_key()
        .to_pem()
        .unwrap();
    let err = SigningKey::from_pem(&public).unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
}

#[test]
fn debug_never_prints_secrets() {
    let ed = SigningKey::from_ed25519_seed(&seed());
    let rsa = SigningKey::from_pem(&rsa_pem()).unwrap();
    for text in [format!("{ed:?}"), format!("{rsa:?}")] {
        assert!(text.starts_with("SigningKey {"), "{text}");
        assert!(!text.contains("9d61b1"), "{text}");
        assert!(!text.contains("MII"), "{text}");
        assert!(text.len() < 200, "{text}");
    }
}
