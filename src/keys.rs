//! Signing and verifying keys: Ed25519 (ed25519-dalek) and RSA (private ops in AWS-LC,
//! public ops in the `rsa` crate); PKCS#8 / SPKI PEM, JWK and JWKS.
//!
//! RSA private-key operations (generate, load, sign) go only through aws-lc-rs, whose RSA
//! code is constant time; the `rsa` crate carries RUSTSEC-2023-0071 (a timing side channel
//! in private-key operations) and is used here only for public keys, where there is no secret.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer as _, Verifier as _};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

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
        match name.trim().to_ascii_lowercase().as_str() {
            "ed25519" | "eddsa" => Ok(Algorithm::Ed25519),
            "rsa-sha256" | "rs256" | "rsa" => Ok(Algorithm::RsaSha256),
            _ => Err(Error::UnsupportedAlgorithm(format!(
                "{name:?} (expected ed25519/EdDSA or rsa-sha256/RS256)"
            ))),
        }
    }

    fn key_type(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::RsaSha256 => "RSA",
        }
    }
}

/// RSA key sizes AWS-LC generates.
const RSA_BITS: [usize; 4] = [2048, 3072, 4096, 8192];

enum SigningInner {
    Ed25519(ed25519_dalek::SigningKey),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

/// A private key used to sign. Debug output never shows key material.
pub struct SigningKey {
    inner: SigningInner,
    public: VerifyingKey,
}

#[derive(Clone, PartialEq, Eq)]
enum VerifyingInner {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

/// A public key used to verify.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    inner: VerifyingInner,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm())
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

fn key_err(what: impl fmt::Display) -> Error {
    Error::Key(what.to_string())
}

impl SigningKey {
    /// A new random key (RSA: 2048 bits).
    pub fn generate(alg: Algorithm) -> Result<Self> {
        match alg {
            Algorithm::Ed25519 => {
                let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
                Ok(Self::from_dalek(key))
            }
            Algorithm::RsaSha256 => Self::generate_rsa(2048),
        }
    }

    /// A new random RSA key of `bits` (2048, 3072, 4096 or 8192).
    pub fn generate_rsa(bits: usize) -> Result<Self> {
        use aws_lc_rs::rsa::KeySize;
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => {
                return Err(key_err(format!(
                    "unsupported RSA key size {bits} (use one of {RSA_BITS:?})"
                )))
            }
        };
        let pair = aws_lc_rs::rsa::KeyPair::generate(size)
            .map_err(|_| key_err("RSA key generation failed"))?;
        Self::from_rsa(pair)
    }

    /// An Ed25519 key from its 32-byte seed (RFC 8032 secret key).
    pub fn from_ed25519_seed(seed: &[u8; 32]) -> Self {
        Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_dalek(key: ed25519_dalek::SigningKey) -> Self {
        let public = VerifyingKey {
            inner: VerifyingInner::Ed25519(key.verifying_key()),
        };
        SigningKey {
            inner: SigningInner::Ed25519(key),
            public,
        }
    }

    fn from_rsa(pair: aws_lc_rs::rsa::KeyPair) -> Result<Self> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair as _;
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| key_err("cannot encode the RSA public key"))?;
        let public = VerifyingKey::from_rsa_spki_der(spki.as_ref())?;
        Ok(SigningKey {
            inner: SigningInner::Rsa(pair),
            public,
        })
    }

    /// Loads a PKCS#8 PEM private key (Ed25519 or RSA; `BEGIN PRIVATE KEY`, and for RSA also `BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let block = pem::parse(pem.trim()).map_err(|e| key_err(format!("not a PEM key: {e}")))?;
        let der = zeroize::Zeroizing::new(block.contents().to_vec());
        match block.tag() {
            "PRIVATE KEY" => {
                if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
                    return Ok(Self::from_dalek(key));
                }
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).map_err(|e| {
                    key_err(format!(
                        "PKCS#8 private key is neither Ed25519 nor a usable RSA key ({e})"
                    ))
                })?;
                Self::from_rsa(pair)
            }
            "RSA PRIVATE KEY" => {
                let pair = aws_lc_rs::rsa::KeyPair::from_der(&der)
                    .map_err(|e| key_err(format!("invalid PKCS#1 RSA private key ({e})")))?;
                Self::from_rsa(pair)
            }
            "ENCRYPTED PRIVATE KEY" => Err(key_err(
                "encrypted private keys are not supported; decrypt it first (openssl pkcs8)",
            )),
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(key_err(
                "this PEM holds a public key; signing needs the private key",
            )),
            other => Err(key_err(format!(
                "unexpected PEM block {other:?} (expected PRIVATE KEY or RSA PRIVATE KEY)"
            ))),
        }
    }

    /// The PKCS#8 PEM of this key.
    pub fn to_pem(&self) -> Result<zeroize::Zeroizing<String>> {
        match &self.inner {
            SigningInner::Ed25519(key) => {
                // PKCS#8 v1 (no embedded public key): the form OpenSSL and Python write.
                let bytes = ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: key.to_bytes(),
                    public_key: None,
                };
                bytes
                    .to_pkcs8_pem(Default::default())
                    .map_err(|e| key_err(format!("cannot encode the Ed25519 key: {e}")))
            }
            SigningInner::Rsa(pair) => {
                use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
                let der: Pkcs8V1Der<'static> = pair
                    .as_der()
                    .map_err(|_| key_err("cannot encode the RSA key"))?;
                let block = pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec());
                Ok(zeroize::Zeroizing::new(pem::encode_config(
                    &block,
                    pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
                )))
            }
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            SigningInner::Ed25519(_) => Algorithm::Ed25519,
            SigningInner::Rsa(_) => Algorithm::RsaSha256,
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }

    /// Raw signature over `data` (Ed25519: 64 bytes; RSA: PKCS#1 v1.5 over SHA-256(data)).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        match &self.inner {
            SigningInner::Ed25519(key) => Ok(key.sign(data).to_bytes().to_vec()),
            SigningInner::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                let rng = aws_lc_rs::rand::SystemRandom::new();
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    data,
                    &mut sig,
                )
                .map_err(|_| Error::Internal("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }
}

impl VerifyingKey {
    fn from_rsa_spki_der(der: &[u8]) -> Result<Self> {
        use rsa::pkcs8::DecodePublicKey as _;
        let key = rsa::RsaPublicKey::from_public_key_der(der)
            .map_err(|e| key_err(format!("invalid RSA public key: {e}")))?;
        Self::from_rsa_public(key)
    }

    fn from_rsa_public(key: rsa::RsaPublicKey) -> Result<Self> {
        if key.size() * 8 < 2048 {
            return Err(key_err(format!(
                "RSA key of {} bits is too small (at least 2048)",
                key.size() * 8
            )));
        }
        Ok(VerifyingKey {
            inner: VerifyingInner::Rsa(key),
        })
    }

    /// An Ed25519 public key from its 32 raw bytes.
    pub fn from_ed25519_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            key_err(format!(
                "Ed25519 public key must be 32 bytes, got {}",
                bytes.len()
            ))
        })?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&arr)
            .map_err(|_| key_err("invalid Ed25519 public key (not a curve point)"))?;
        Ok(VerifyingKey {
            inner: VerifyingInner::Ed25519(key),
        })
    }

    /// Loads an SPKI PEM public key (`BEGIN PUBLIC KEY`; RSA also `BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let block = pem::parse(pem.trim()).map_err(|e| key_err(format!("not a PEM key: {e}")))?;
        match block.tag() {
            "PUBLIC KEY" => {
                if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_der(block.contents())
                {
                    return Ok(VerifyingKey {
                        inner: VerifyingInner::Ed25519(key),
                    });
                }
                Self::from_rsa_spki_der(block.contents()).map_err(|_| {
                    key_err("SPKI public key is neither Ed25519 nor RSA (or is malformed)")
                })
            }
            "RSA PUBLIC KEY" => {
                let key = rsa::RsaPublicKey::from_pkcs1_der(block.contents())
                    .map_err(|e| key_err(format!("invalid PKCS#1 RSA public key: {e}")))?;
                Self::from_rsa_public(key)
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" => {
                // A private key file also names its public key; accept it for convenience.
                Ok(SigningKey::from_pem(pem)?.verifying_key())
            }
            other => Err(key_err(format!(
                "unexpected PEM block {other:?} (expected PUBLIC KEY)"
            ))),
        }
    }

    pub fn to_pem(&self) -> Result<String> {
        match &self.inner {
            VerifyingInner::Ed25519(key) => key
                .to_public_key_pem(Default::default())
                .map_err(|e| key_err(format!("cannot encode the Ed25519 public key: {e}"))),
            VerifyingInner::Rsa(key) => {
                use rsa::pkcs8::EncodePublicKey as _;
                key.to_public_key_pem(Default::default())
                    .map_err(|e| key_err(format!("cannot encode the RSA public key: {e}")))
            }
        }
    }

    /// From a JWK (OKP/Ed25519 or RSA) as JSON.
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| key_err("JWK must be a JSON object"))?;
        let field = |name: &str| -> Result<Vec<u8>> {
            let text = obj
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| key_err(format!("JWK is missing the string member {name:?}")))?;
            URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| key_err(format!("JWK member {name:?} is not base64url")))
        };
        let kty = obj.get("kty").and_then(Value::as_str).unwrap_or("");
        let key = match kty {
            "OKP" => {
                let crv = obj.get("crv").and_then(Value::as_str).unwrap_or("");
                if crv != "Ed25519" {
                    return Err(key_err(format!(
                        "unsupported OKP curve {crv:?} (only Ed25519)"
                    )));
                }
                Self::from_ed25519_bytes(&field("x")?)?
            }
            "RSA" => {
                let n = rsa::BigUint::from_bytes_be(&field("n")?);
                let e = rsa::BigUint::from_bytes_be(&field("e")?);
                let key = rsa::RsaPublicKey::new(n, e)
                    .map_err(|e| key_err(format!("invalid RSA JWK: {e}")))?;
                Self::from_rsa_public(key)?
            }
            other => {
                return Err(key_err(format!(
                    "unsupported JWK kty {other:?} (expected OKP or RSA)"
                )))
            }
        };
        if let Some(alg) = obj.get("alg").and_then(Value::as_str) {
            // Some peers publish the misspelled "RSA-256" (opencrvs); read it as RS256.
            let declared = if alg == "RSA-256" {
                Ok(Algorithm::RsaSha256)
            } else {
                Algorithm::parse(alg)
            };
            match declared {
                Ok(a) if a == key.algorithm() => {}
                _ => {
                    return Err(key_err(format!(
                        "JWK alg {alg:?} does not fit its {} key",
                        key.algorithm().key_type()
                    )))
                }
            }
        }
        Ok(key)
    }

    /// The JWK of this key, with `kid` (or the RFC 7638 thumbprint when `kid` is None), `use: sig` and `alg`.
    pub fn to_jwk(&self, kid: Option<&str>) -> Value {
        let kid = kid.map(str::to_owned).unwrap_or_else(|| self.thumbprint());
        let alg = self.algorithm().jws_name();
        match &self.inner {
            VerifyingInner::Ed25519(key) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
                "use": "sig",
                "alg": alg,
                "kid": kid,
            }),
            VerifyingInner::Rsa(key) => json!({
                "kty": "RSA",
                "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
                "use": "sig",
                "alg": alg,
                "kid": kid,
            }),
        }
    }

    /// RFC 7638 JWK thumbprint (base64url SHA-256).
    pub fn thumbprint(&self) -> String {
        // The required members in lexicographic order, no whitespace (RFC 7638 section 3.2).
        let text = match &self.inner {
            VerifyingInner::Ed25519(key) => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(key.as_bytes())
            ),
            VerifyingInner::Rsa(key) => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
                URL_SAFE_NO_PAD.encode(key.n().to_bytes_be())
            ),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            VerifyingInner::Ed25519(_) => Algorithm::Ed25519,
            VerifyingInner::Rsa(_) => Algorithm::RsaSha256,
        }
    }

    /// Fails with [`Error::Key`] when this key cannot be used for `alg`.
    pub fn check_algorithm(&self, alg: Algorithm) -> Result<()> {
        if self.algorithm() == alg {
            Ok(())
        } else {
            Err(key_err(format!(
                "wrong key type: the signature uses {} but the key is {}",
                alg.dci_name(),
                self.algorithm().key_type()
            )))
        }
    }

    /// Checks a raw signature made by [`SigningKey::sign`].
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        match &self.inner {
            VerifyingInner::Ed25519(key) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| {
                    Error::SignatureMalformed(format!(
                        "Ed25519 signature must be 64 bytes, got {}",
                        signature.len()
                    ))
                })?;
                key.verify(data, &sig).map_err(|_| {
                    Error::SignatureInvalid(
                        "signature does not match (tampered content or wrong key)".into(),
                    )
                })
            }
            VerifyingInner::Rsa(key) => {
                if signature.len() != key.size() {
                    return Err(Error::SignatureMalformed(format!(
                        "RSA signature must be {} bytes, got {}",
                        key.size(),
                        signature.len()
                    )));
                }
                let hashed = Sha256::digest(data);
                key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &hashed, signature)
                    .map_err(|_| {
                        Error::SignatureInvalid(
                            "signature does not match (tampered content or wrong key)".into(),
                        )
                    })
            }
        }
    }
}

/// A JWK Set: keys with their `kid`s.
#[derive(Clone, Default, Debug)]
pub struct Jwks {
    pub keys: Vec<(Option<String>, VerifyingKey)>,
}

impl Jwks {
    /// Parses `{"keys":[...]}`; keys of unknown types are skipped, malformed known ones are errors.
    pub fn from_json(jwks: &Value) -> Result<Self> {
        let list = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| key_err("JWKS must be an object with a \"keys\" array"))?;
        let mut keys = Vec::new();
        for (i, jwk) in list.iter().enumerate() {
            let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
            let crv = jwk.get("crv").and_then(Value::as_str);
            let known = kty == "RSA" || (kty == "OKP" && crv == Some("Ed25519"));
            // Encryption keys (use "enc") sit in the same set; they never verify signatures.
            let for_enc = jwk.get("use").and_then(Value::as_str) == Some("enc");
            if !known || for_enc {
                continue;
            }
            let key =
                VerifyingKey::from_jwk(jwk).map_err(|e| key_err(format!("keys[{i}]: {e}")))?;
            let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
            keys.push((kid, key));
        }
        Ok(Jwks { keys })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "keys": self
                .keys
                .iter()
                .map(|(kid, key)| key.to_jwk(kid.as_deref()))
                .collect::<Vec<_>>()
        })
    }

    /// The key whose kid is `kid`.
    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(k, _)| k.as_deref() == Some(kid))
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    #[test]
    fn ed25519_jwk_matches_rfc8037() {
        let key = SigningKey::from_ed25519_seed(&SEED);
        let jwk = key.verifying_key().to_jwk(Some("k"));
        assert_eq!(jwk["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        // RFC 8037 appendix A.3 thumbprint of this key.
        assert_eq!(
            key.verifying_key().thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert_eq!(VerifyingKey::from_jwk(&jwk).unwrap(), key.verifying_key());
    }

    #[test]
    fn debug_hides_secrets() {
        let key = SigningKey::from_ed25519_seed(&SEED);
        let text = format!("{key:?}");
        assert!(!text.contains("9d61"), "{text}");
        assert!(text.contains("Ed25519"));
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::parse("EdDSA").unwrap(), Algorithm::Ed25519);
        assert_eq!(Algorithm::parse("RS256").unwrap(), Algorithm::RsaSha256);
        assert!(matches!(
            Algorithm::parse("HS256"),
            Err(Error::UnsupportedAlgorithm(_))
        ));
    }
}
