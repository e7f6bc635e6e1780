//! Key loading: PEM (SPKI / PKCS#8, Ed25519 and RSA), a JWK and a JWKS. A key that loads must
//! write out and load back as the same key (same RFC 7638 thumbprint).
#![no_main]

use dci::keys::{Jwks, SigningKey, VerifyingKey};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = VerifyingKey::from_pem(text) {
            let pem = key.to_pem().expect("a loaded public key writes as PEM");
            let back = VerifyingKey::from_pem(&pem).expect("written PEM loads");
            assert_eq!(key.thumbprint(), back.thumbprint());
        }
        if let Ok(key) = SigningKey::from_pem(text) {
            let public = key.verifying_key();
            let sig = key.sign(b"fuzz").expect("a loaded key signs");
            public
                .verify(b"fuzz", &sig)
                .expect("its public key verifies");
        }
    }
    let Ok(json) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(key) = VerifyingKey::from_jwk(&json) {
        let back = VerifyingKey::from_jwk(&key.to_jwk(Some("k"))).expect("written JWK loads");
        assert_eq!(key.thumbprint(), back.thumbprint());
    }
    if let Ok(jwks) = Jwks::from_json(&json) {
        let back = Jwks::from_json(&jwks.to_json()).expect("written JWKS loads");
        assert_eq!(jwks.keys.len(), back.keys.len());
    }
});
