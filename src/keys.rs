//! Signing and verifying keys: Ed25519 (ed25519-dalek) and RSA (private ops in AWS-LC,
//! public ops in the `rsa` crate); PKCS#8 / SPKI PEM, JWK and JWKS.
//! INTERFACE STUB: owned by the signature work; bodies to be written.

use serde_json::Value;

use crate::error::{Error, Result};

/// A signature algorithm, by its DCI wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `ed25519` (JWS `EdDSA`).
    Ed25519,
    /// `rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256 (JWS `RS256`).
    RsaSha256,
}

impl Algorithm {
    /// The name used in the spdci `algorithm` parameter and in kids: `ed25519`, `rsa-sha256`.
    pub fn dci_name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::RsaSha256 => "rsa-sha256",
        }
    }
    /// The JWS `alg` name: `EdDSA`, `RS256`.
    pub fn jws_name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "EdDSA",
            Algorithm::RsaSha256 => "RS256",
        }
    }
    /// Parses either naming (`ed25519`, `EdDSA`, `rsa-sha256`, `RS256`, case-insensitive).
    pub fn parse(name: &str) -> Result<Self> {
        let _ = name;
        Err(Error::Internal("stub".into()))
    }
}

/// A private key used to sign. Debug output never shows key material.
pub struct SigningKey {
    _private: (),
}

/// A public key used to verify.
#[derive(Clone)]
pub struct VerifyingKey {
    _private: (),
}

impl SigningKey {
    /// A new random key (RSA: 2048 bits).
    pub fn generate(alg: Algorithm) -> Result<Self> {
        let _ = alg;
        todo!()
    }
    /// An Ed25519 key from its 32-byte seed (RFC 8032 secret key).
    pub fn from_ed25519_seed(seed: &[u8; 32]) -> Self {
        let _ = seed;
        todo!()
    }
    /// Loads a PKCS#8 PEM private key (Ed25519 or RSA; `BEGIN PRIVATE KEY`, and for RSA also `BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let _ = pem;
        todo!()
    }
    /// The PKCS#8 PEM of this key.
    pub fn to_pem(&self) -> Result<zeroize::Zeroizing<String>> {
        todo!()
    }
    pub fn algorithm(&self) -> Algorithm {
        todo!()
    }
    pub fn verifying_key(&self) -> VerifyingKey {
        todo!()
    }
    /// Raw signature over `data` (Ed25519: 64 bytes; RSA: PKCS#1 v1.5 over SHA-256(data)).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        let _ = data;
        todo!()
    }
}

impl VerifyingKey {
    /// Loads an SPKI PEM public key (`BEGIN PUBLIC KEY`; RSA also `BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let _ = pem;
        todo!()
    }
    pub fn to_pem(&self) -> Result<String> {
        todo!()
    }
    /// From a JWK (OKP/Ed25519 or RSA) as JSON.
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        let _ = jwk;
        todo!()
    }
    /// The JWK of this key, with `kid` (or the RFC 7638 thumbprint when `kid` is None), `use: sig` and `alg`.
    pub fn to_jwk(&self, kid: Option<&str>) -> Value {
        let _ = kid;
        todo!()
    }
    /// RFC 7638 JWK thumbprint (base64url SHA-256).
    pub fn thumbprint(&self) -> String {
        todo!()
    }
    pub fn algorithm(&self) -> Algorithm {
        todo!()
    }
    /// Checks a raw signature made by [`SigningKey::sign`].
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        let _ = (data, signature);
        todo!()
    }
}

/// A JWK Set: keys with their `kid`s.
#[derive(Clone, Default)]
pub struct Jwks {
    pub keys: Vec<(Option<String>, VerifyingKey)>,
}

impl Jwks {
    /// Parses `{"keys":[...]}`; keys of unknown types are skipped, malformed known ones are errors.
    pub fn from_json(jwks: &Value) -> Result<Self> {
        let _ = jwks;
        todo!()
    }
    pub fn to_json(&self) -> Value {
        todo!()
    }
    /// The key whose kid is `kid`.
    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(k, _)| k.as_deref() == Some(kid))
            .map(|(_, v)| v)
    }
}
