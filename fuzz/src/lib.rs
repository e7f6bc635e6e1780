//! What the fuzz targets share: fixed keys that never signed anything in the corpora, and the
//! fixed records the query target evaluates against.

use std::sync::OnceLock;

use dci::keys::{Jwks, SigningKey, VerifyingKey};
use serde_json::{json, Value};

/// The Ed25519 key every verifying target checks against (seed 7 x 32; no seed is signed by it).
pub fn ed25519_key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_ed25519_seed(&[7; 32]).verifying_key())
}

/// An RSA public key whose private half was thrown away (so RS256 paths are reached, never passed).
pub fn rsa_key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        VerifyingKey::from_pem(RSA_PUBLIC_PEM).expect("the fixed RSA public key parses")
    })
}

/// Both keys under the kids the spdci vectors use.
pub fn jwks() -> &'static Jwks {
    static JWKS: OnceLock<Jwks> = OnceLock::new();
    JWKS.get_or_init(|| {
        let keys = json!({"keys": [
            ed25519_key().to_jwk(Some("registry.example.org|key1|ed25519")),
            rsa_key().to_jwk(Some("registry.example.org|key1|rsa-sha256")),
        ]});
        Jwks::from_json(&keys).expect("the fixed JWKS parses")
    })
}

/// The records of tests/fixtures/query/records.json (persons, a group, nested members).
pub fn records() -> &'static [Value] {
    static RECORDS: OnceLock<Vec<Value>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        serde_json::from_str(include_str!("../../tests/fixtures/query/records.json"))
            .expect("records.json is a JSON array")
    })
}

const RSA_PUBLIC_PEM: &str = include_str!("rsa_public.pem");
