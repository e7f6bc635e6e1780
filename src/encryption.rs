//! Encrypted messages: the spec's `EncryptedMessage`, a JWE (RFC 7516) in the flattened JSON
//! form `{header: {alg, enc, kid, ...}, encrypted_key, iv, ciphertext, tag}`, carried as an
//! envelope's `message` with `header.is_msg_encrypted: true`.
//!
//! Two key management algorithms, one content encryption:
//! - `RSA-OAEP-256`: the content key encrypted with RSAES-OAEP, SHA-256 and MGF1-SHA-256
//!   (what opencrvs/dci-crvs-api uses);
//! - `ECDH-ES+A256KW` with an X25519 key: an ephemeral X25519 agreement (`epk` in the header),
//!   the Concat KDF of RFC 7518 section 4.6.2, and AES-256 key wrap (RFC 3394);
//! - `A256GCM` for the content.
//!
//! Every primitive is AWS-LC's (constant time). The header is the JWE's unprotected header, so
//! the AEAD's additional data is empty (RFC 7516 section 5.1 step 14, the opencrvs form); the
//! envelope signature, computed over the ciphertext and its header, is what protects the
//! header. A `protected` member (other JWE producers) is honoured when decrypting: its
//! parameters join the header and its encoded form is the additional data.
//! docs/spec-decisions.md ("Encrypted messages") says why.

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::agreement::{self, UnparsedPublicKey, X25519};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, Curve25519SeedBin, Pkcs8V1Der};
use aws_lc_rs::key_wrap::{KeyEncryptionKey, KeyWrap, AES_256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, OAEP_SHA256_MGF1SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The one content encryption algorithm (`enc`).
pub const A256GCM: &str = "A256GCM";

/// PKCS#8 `PrivateKeyInfo` of an X25519 key (RFC 8410 section 7) up to the 32 key bytes.
const X25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

fn invalid(reason: impl Into<String>) -> Error {
    Error::Encryption(reason.into())
}

/// A key management algorithm (`alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// `RSA-OAEP-256`, an RSA key.
    RsaOaep256,
    /// `ECDH-ES+A256KW`, an X25519 key.
    EcdhEsA256Kw,
}

impl KeyAlgorithm {
    /// The JWA name.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::RsaOaep256 => "RSA-OAEP-256",
            KeyAlgorithm::EcdhEsA256Kw => "ECDH-ES+A256KW",
        }
    }

    /// `RSA-OAEP-256` or `ECDH-ES+A256KW`, or an [`Error::Encryption`] naming `alg`.
    pub fn parse(alg: &str) -> Result<Self> {
        match alg {
            "RSA-OAEP-256" => Ok(KeyAlgorithm::RsaOaep256),
            "ECDH-ES+A256KW" => Ok(KeyAlgorithm::EcdhEsA256Kw),
            other => Err(invalid(format!(
                "unknown alg {other:?} (supported: RSA-OAEP-256, ECDH-ES+A256KW)"
            ))),
        }
    }

    fn key_type(self) -> &'static str {
        match self {
            KeyAlgorithm::RsaOaep256 => "RSA",
            KeyAlgorithm::EcdhEsA256Kw => "X25519",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A recipient's public encryption key, with its `kid`.
#[derive(Clone)]
pub struct EncryptionKey {
    kid: String,
    inner: PublicInner,
}

#[derive(Clone)]
enum PublicInner {
    Rsa {
        key: PublicEncryptingKey,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    X25519([u8; 32]),
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({} {})", self.algorithm(), self.kid)
    }
}

impl PartialEq for EncryptionKey {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid && self.to_jwk() == other.to_jwk()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(what: &str, text: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| invalid(format!("{what} is not base64url")))
}

fn rsa_public_from_parts(n: &[u8], e: &[u8]) -> Result<PublicEncryptingKey> {
    use rsa::pkcs8::EncodePublicKey as _;
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
    )
    .map_err(|e| Error::Key(format!("invalid RSA encryption JWK: {e}")))?;
    let der = key
        .to_public_key_der()
        .map_err(|e| Error::Key(format!("cannot encode the RSA key: {e}")))?;
    PublicEncryptingKey::from_der(der.as_bytes())
        .map_err(|e| Error::Key(format!("RSA encryption key refused: {e}")))
}

fn rsa_parts(key: &PublicEncryptingKey) -> Result<(Vec<u8>, Vec<u8>)> {
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    let der = key
        .as_der()
        .map_err(|_| Error::Key("cannot encode the RSA encryption key".into()))?;
    let key = rsa::RsaPublicKey::from_public_key_der(der.as_ref())
        .map_err(|e| Error::Key(format!("cannot read the RSA encryption key: {e}")))?;
    Ok((key.n().to_bytes_be(), key.e().to_bytes_be()))
}

impl EncryptionKey {
    /// From a JWK: `kty` RSA (`n`, `e`) or OKP with `crv` X25519 (`x`), and a `kid`. A `use`
    /// other than `enc` and an `alg` that does not fit the key are refused.
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| Error::Key("encryption JWK must be a JSON object".into()))?;
        let text = |name: &str| -> Result<&str> {
            obj.get(name).and_then(Value::as_str).ok_or_else(|| {
                Error::Key(format!(
                    "encryption JWK is missing the string member {name:?}"
                ))
            })
        };
        let field = |name: &str| -> Result<Vec<u8>> {
            URL_SAFE_NO_PAD
                .decode(text(name)?.trim_end_matches('='))
                .map_err(|_| Error::Key(format!("JWK member {name:?} is not base64url")))
        };
        if let Some(u) = obj.get("use").and_then(Value::as_str) {
            if u != "enc" {
                return Err(Error::Key(format!(
                    "JWK use is {u:?}; an encryption key has use \"enc\""
                )));
            }
        }
        let kid = text("kid")?.to_string();
        let inner = match text("kty")? {
            "RSA" => {
                let (n, e) = (field("n")?, field("e")?);
                let key = rsa_public_from_parts(&n, &e)?;
                PublicInner::Rsa { key, n, e }
            }
            "OKP" if obj.get("crv").and_then(Value::as_str) == Some("X25519") => {
                let x: [u8; 32] = field("x")?.try_into().map_err(|_| {
                    Error::Key("X25519 JWK member \"x\" must be 32 bytes".into())
                })?;
                PublicInner::X25519(x)
            }
            other => {
                return Err(Error::Key(format!(
                    "unsupported encryption JWK kty {other:?} with crv {:?} (expected RSA or OKP X25519)",
                    obj.get("crv").and_then(Value::as_str).unwrap_or("")
                )))
            }
        };
        let key = EncryptionKey { kid, inner };
        if let Some(alg) = obj.get("alg").and_then(Value::as_str) {
            if KeyAlgorithm::parse(alg).ok() != Some(key.algorithm()) {
                return Err(Error::Key(format!(
                    "JWK alg {alg:?} does not fit its {} key (expected {})",
                    key.algorithm().key_type(),
                    key.algorithm()
                )));
            }
        }
        Ok(key)
    }

    /// The JWK with `use: enc`, `alg` and `kid`.
    pub fn to_jwk(&self) -> Value {
        let alg = self.algorithm().name();
        match &self.inner {
            PublicInner::Rsa { n, e, .. } => json!({
                "kty": "RSA", "n": b64(n), "e": b64(e),
                "use": "enc", "alg": alg, "kid": self.kid,
            }),
            PublicInner::X25519(x) => json!({
                "kty": "OKP", "crv": "X25519", "x": b64(x),
                "use": "enc", "alg": alg, "kid": self.kid,
            }),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key is used with.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            PublicInner::Rsa { .. } => KeyAlgorithm::RsaOaep256,
            PublicInner::X25519(_) => KeyAlgorithm::EcdhEsA256Kw,
        }
    }
}

/// A private key that opens messages encrypted to its `kid`.
pub struct DecryptionKey {
    kid: String,
    inner: PrivateInner,
}

enum PrivateInner {
    Rsa(PrivateDecryptingKey),
    X25519(agreement::PrivateKey),
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecryptionKey({} {})", self.algorithm(), self.kid)
    }
}

impl DecryptionKey {
    /// A new key: RSA 2048 for `RSA-OAEP-256`, X25519 for `ECDH-ES+A256KW`.
    pub fn generate(alg: KeyAlgorithm, kid: &str) -> Result<Self> {
        let inner = match alg {
            KeyAlgorithm::RsaOaep256 => PrivateInner::Rsa(
                PrivateDecryptingKey::generate(KeySize::Rsa2048)
                    .map_err(|_| Error::Key("RSA key generation failed".into()))?,
            ),
            KeyAlgorithm::EcdhEsA256Kw => PrivateInner::X25519(
                agreement::PrivateKey::generate(&X25519)
                    .map_err(|_| Error::Key("X25519 key generation failed".into()))?,
            ),
        };
        Ok(DecryptionKey {
            kid: kid.to_string(),
            inner,
        })
    }

    /// From a PKCS#8 PEM (`PRIVATE KEY`) holding an RSA or an X25519 key.
    pub fn from_pem(pem_text: &str, kid: &str) -> Result<Self> {
        let block = pem::parse(pem_text.trim())
            .map_err(|e| Error::Key(format!("encryption key is not PEM: {e}")))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(Error::Key(format!(
                "encryption key PEM is {:?}; expected a PKCS#8 \"PRIVATE KEY\"",
                block.tag()
            )));
        }
        let der = Zeroizing::new(block.into_contents());
        let inner = if der.len() == 48 && der[..16] == X25519_PKCS8_PREFIX {
            PrivateInner::X25519(
                agreement::PrivateKey::from_private_key(&X25519, &der[16..])
                    .map_err(|e| Error::Key(format!("X25519 key refused: {e}")))?,
            )
        } else {
            PrivateInner::Rsa(PrivateDecryptingKey::from_pkcs8(&der).map_err(|e| {
                Error::Key(format!(
                    "encryption key is neither an RSA nor an X25519 PKCS#8 key: {e}"
                ))
            })?)
        };
        Ok(DecryptionKey {
            kid: kid.to_string(),
            inner,
        })
    }

    /// The PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pem(&self) -> Result<Zeroizing<String>> {
        let der: Zeroizing<Vec<u8>> = match &self.inner {
            PrivateInner::Rsa(k) => {
                let der: Pkcs8V1Der = k
                    .as_der()
                    .map_err(|_| Error::Key("cannot encode the RSA key".into()))?;
                Zeroizing::new(der.as_ref().to_vec())
            }
            PrivateInner::X25519(k) => {
                let seed: Curve25519SeedBin = k
                    .as_be_bytes()
                    .map_err(|_| Error::Key("cannot encode the X25519 key".into()))?;
                let mut der = Zeroizing::new(X25519_PKCS8_PREFIX.to_vec());
                der.extend_from_slice(seed.as_ref());
                der
            }
        };
        Ok(Zeroizing::new(pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            der.to_vec(),
        ))))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            PrivateInner::Rsa(_) => KeyAlgorithm::RsaOaep256,
            PrivateInner::X25519(_) => KeyAlgorithm::EcdhEsA256Kw,
        }
    }

    /// The public half, to publish (`to_jwk`) or encrypt to.
    pub fn public_key(&self) -> Result<EncryptionKey> {
        let inner = match &self.inner {
            PrivateInner::Rsa(k) => {
                let key = k.public_key();
                let (n, e) = rsa_parts(&key)?;
                PublicInner::Rsa { key, n, e }
            }
            PrivateInner::X25519(k) => {
                let public = k
                    .compute_public_key()
                    .map_err(|_| Error::Key("cannot compute the X25519 public key".into()))?;
                PublicInner::X25519(
                    public
                        .as_ref()
                        .try_into()
                        .map_err(|_| Error::Key("X25519 public key is not 32 bytes".into()))?,
                )
            }
        };
        Ok(EncryptionKey {
            kid: self.kid.clone(),
            inner,
        })
    }
}

/// The `use: enc` keys of a JWKS (the others are signature keys, read by [`crate::keys::Jwks`]).
/// Keys of types this module does not use are skipped; malformed known ones are errors.
pub fn encryption_keys(jwks: &Value) -> Result<Vec<EncryptionKey>> {
    let list = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Key("JWKS must be an object with a \"keys\" array".into()))?;
    let mut out = Vec::new();
    for (i, jwk) in list.iter().enumerate() {
        if jwk.get("use").and_then(Value::as_str) != Some("enc") {
            continue;
        }
        let kty = jwk.get("kty").and_then(Value::as_str);
        let crv = jwk.get("crv").and_then(Value::as_str);
        if !(kty == Some("RSA") || (kty == Some("OKP") && crv == Some("X25519"))) {
            continue;
        }
        out.push(EncryptionKey::from_jwk(jwk).map_err(|e| Error::Key(format!("keys[{i}]: {e}")))?);
    }
    Ok(out)
}

/// Picks the key named `kid` among `keys`, or the first one when `kid` is None.
pub fn find_key<'a>(keys: &'a [EncryptionKey], kid: Option<&str>) -> Result<&'a EncryptionKey> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid == kid).ok_or_else(|| {
            Error::Key(format!(
                "no encryption key (use \"enc\") with kid {kid:?} in the JWKS"
            ))
        }),
        None => keys
            .first()
            .ok_or_else(|| Error::Key("the JWKS has no encryption key (use \"enc\")".into())),
    }
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    SystemRandom::new()
        .fill(out.as_mut())
        .map_err(|_| Error::Internal("the system random generator failed".into()))?;
    Ok(out)
}

/// The Concat KDF of RFC 7518 section 4.6.2 (NIST SP 800-56A), for a 256-bit key: one SHA-256
/// round over `counter 1 || Z || AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo`.
pub fn concat_kdf(z: &[u8], algorithm_id: &str, apu: &[u8], apv: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z);
    for part in [algorithm_id.as_bytes(), apu, apv] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    h.update(256u32.to_be_bytes());
    Zeroizing::new(h.finalize().into())
}

fn x25519_kek(
    private: &agreement::PrivateKey,
    peer: &[u8],
    apu: &[u8],
    apv: &[u8],
) -> Result<Zeroizing<[u8; 32]>> {
    agreement::agree(
        private,
        UnparsedPublicKey::new(&X25519, peer),
        invalid("the X25519 agreement failed (epk is not a valid X25519 public key)"),
        |z| {
            // An all-zero shared secret means a small-order point (RFC 7748 section 6.1).
            if z.iter().all(|b| *b == 0) {
                return Err(invalid("epk is a small-order X25519 point"));
            }
            Ok(concat_kdf(z, KeyAlgorithm::EcdhEsA256Kw.name(), apu, apv))
        },
    )
}

fn aes_kw_wrap(kek: &[u8; 32], cek: &[u8; 32]) -> Result<Vec<u8>> {
    let kek = KeyEncryptionKey::new(&AES_256, kek)
        .map_err(|_| Error::Internal("AES key wrap key refused".into()))?;
    let mut out = vec![0u8; 40];
    let n = kek
        .wrap(cek, &mut out)
        .map_err(|_| Error::Internal("AES key wrap failed".into()))?
        .len();
    out.truncate(n);
    Ok(out)
}

fn aes_kw_unwrap(kek: &[u8; 32], wrapped: &[u8], kid: &str) -> Result<Zeroizing<Vec<u8>>> {
    let kek = KeyEncryptionKey::new(&AES_256, kek)
        .map_err(|_| Error::Internal("AES key wrap key refused".into()))?;
    let mut out = Zeroizing::new(vec![0u8; wrapped.len()]);
    let n = kek
        .unwrap(wrapped, &mut out)
        .map_err(|_| {
            invalid(format!(
                "encrypted_key does not unwrap with key {kid:?} (wrong key, or a tampered encrypted_key or epk)"
            ))
        })?
        .len();
    out.truncate(n);
    Ok(out)
}

/// Encrypts `plaintext` to `to`: the spec's `EncryptedMessage` (header `alg`, `enc`, `kid`,
/// and `epk` for ECDH-ES).
pub fn encrypt(plaintext: &[u8], to: &EncryptionKey) -> Result<Value> {
    let cek = random::<32>()?;
    let mut header = Map::new();
    header.insert("alg".into(), to.algorithm().name().into());
    header.insert("enc".into(), A256GCM.into());
    header.insert("kid".into(), to.kid.clone().into());
    let encrypted_key = match &to.inner {
        PublicInner::Rsa { key, .. } => {
            let key = OaepPublicEncryptingKey::new(key.clone())
                .map_err(|_| Error::Key("RSA key refused for OAEP".into()))?;
            let mut out = vec![0u8; key.ciphertext_size()];
            key.encrypt(&OAEP_SHA256_MGF1SHA256, cek.as_ref(), &mut out, None)
                .map_err(|_| Error::Internal("RSA-OAEP encryption failed".into()))?
                .to_vec()
        }
        PublicInner::X25519(peer) => {
            let eph = agreement::PrivateKey::generate(&X25519)
                .map_err(|_| Error::Internal("X25519 key generation failed".into()))?;
            let epk = eph
                .compute_public_key()
                .map_err(|_| Error::Internal("X25519 public key failed".into()))?;
            header.insert(
                "epk".into(),
                json!({"kty": "OKP", "crv": "X25519", "x": b64(epk.as_ref())}),
            );
            let kek = x25519_kek(&eph, peer, b"", b"")?;
            aes_kw_wrap(&kek, &cek)?
        }
    };
    let iv = random::<12>()?;
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, cek.as_ref())
            .map_err(|_| Error::Internal("AES-GCM key refused".into()))?,
    );
    let mut data = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::empty(), &mut data)
        .map_err(|_| Error::Internal("AES-GCM encryption failed".into()))?;
    Ok(json!({
        "header": header,
        "encrypted_key": b64(&encrypted_key),
        "iv": b64(iv.as_ref()),
        "ciphertext": b64(&data),
        "tag": b64(tag.as_ref()),
    }))
}

fn member<'a>(jwe: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    jwe.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{name} is missing (or not a string)")))
}

/// Opens an `EncryptedMessage` with the key among `keys` whose kid is the header's `kid`.
pub fn decrypt(jwe: &Value, keys: &[DecryptionKey]) -> Result<Zeroizing<Vec<u8>>> {
    let jwe = jwe
        .as_object()
        .ok_or_else(|| invalid("the encrypted message must be a JSON object"))?;
    let mut header = match jwe.get("header") {
        Some(Value::Object(h)) => h.clone(),
        None => Map::new(),
        Some(_) => return Err(invalid("header must be an object")),
    };
    // A protected header joins the header (RFC 7516 section 7.2.1: their names are disjoint)
    // and, as encoded, is the additional authenticated data.
    let mut aad = String::new();
    if let Some(p) = jwe.get("protected") {
        let p = p
            .as_str()
            .ok_or_else(|| invalid("protected must be a string"))?;
        let parsed: Value = serde_json::from_slice(&unb64("protected", p)?)
            .map_err(|_| invalid("protected is not a JSON object"))?;
        let Value::Object(parsed) = parsed else {
            return Err(invalid("protected is not a JSON object"));
        };
        for (k, v) in parsed {
            if header.insert(k.clone(), v).is_some() {
                return Err(invalid(format!(
                    "header parameter {k:?} is both protected and unprotected"
                )));
            }
        }
        aad.push_str(p);
    }
    if let Some(extra) = jwe.get("aad") {
        let extra = extra
            .as_str()
            .ok_or_else(|| invalid("aad must be a string"))?;
        aad.push('.');
        aad.push_str(extra);
    }
    if header.is_empty() {
        return Err(invalid("header is missing"));
    }
    let text = |name: &str| -> Result<&str> {
        header
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("header.{name} is missing (or not a string)")))
    };
    let alg = KeyAlgorithm::parse(text("alg")?)?;
    let enc = text("enc")?;
    if enc != A256GCM {
        return Err(invalid(format!("unknown enc {enc:?} (supported: A256GCM)")));
    }
    if let Some(zip) = header.get("zip") {
        return Err(invalid(format!("header.zip {zip} is not supported")));
    }
    if let Some(crit) = header.get("crit") {
        return Err(invalid(format!(
            "header.crit {crit} names extensions this receiver does not understand"
        )));
    }
    let kid = text("kid")?;
    let key = keys.iter().find(|k| k.kid == kid).ok_or_else(|| {
        let known: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
        invalid(format!(
            "unknown kid {kid:?} (this receiver's encryption keys: {known:?})"
        ))
    })?;
    if key.algorithm() != alg {
        return Err(invalid(format!(
            "wrong key: kid {kid:?} is an {} key, but alg is {alg}",
            key.algorithm().key_type()
        )));
    }
    let encrypted_key = unb64("encrypted_key", member(jwe, "encrypted_key")?)?;
    let iv = unb64("iv", member(jwe, "iv")?)?;
    let mut data = unb64("ciphertext", member(jwe, "ciphertext")?)?;
    let tag = unb64("tag", member(jwe, "tag")?)?;
    let iv: [u8; 12] = iv.try_into().map_err(|v: Vec<u8>| {
        invalid(format!("iv must be 12 bytes for A256GCM, got {}", v.len()))
    })?;
    if tag.len() != 16 {
        return Err(invalid(format!(
            "tag must be 16 bytes for A256GCM, got {}",
            tag.len()
        )));
    }
    let cek: Zeroizing<Vec<u8>> = match &key.inner {
        PrivateInner::Rsa(k) => {
            let k = OaepPrivateDecryptingKey::new(k.clone())
                .map_err(|_| Error::Key("RSA key refused for OAEP".into()))?;
            let mut out = Zeroizing::new(vec![0u8; k.min_output_size()]);
            // A key that does not decrypt gives a random content key, so the failure shows
            // as the tag's and says nothing about the RSA step (RFC 7516 section 11.5).
            match k.decrypt(&OAEP_SHA256_MGF1SHA256, &encrypted_key, &mut out, None) {
                Ok(cek) if cek.len() == 32 => Zeroizing::new(cek.to_vec()),
                _ => Zeroizing::new(random::<32>()?.to_vec()),
            }
        }
        PrivateInner::X25519(k) => {
            let epk = header
                .get("epk")
                .and_then(Value::as_object)
                .ok_or_else(|| invalid("header.epk is missing (ECDH-ES needs it)"))?;
            if epk.get("kty").and_then(Value::as_str) != Some("OKP")
                || epk.get("crv").and_then(Value::as_str) != Some("X25519")
            {
                return Err(invalid("header.epk must be an OKP X25519 key"));
            }
            let x = unb64(
                "header.epk.x",
                epk.get("x")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("header.epk.x is missing"))?,
            )?;
            let party = |name: &str| -> Result<Vec<u8>> {
                match header.get(name) {
                    None => Ok(Vec::new()),
                    Some(Value::String(s)) => unb64(&format!("header.{name}"), s),
                    Some(_) => Err(invalid(format!("header.{name} must be a string"))),
                }
            };
            let kek = x25519_kek(k, &x, &party("apu")?, &party("apv")?)?;
            let cek = aes_kw_unwrap(&kek, &encrypted_key, kid)?;
            if cek.len() != 32 {
                return Err(invalid(format!(
                    "the unwrapped content key is {} bytes; A256GCM needs 32",
                    cek.len()
                )));
            }
            cek
        }
    };
    let gcm = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &cek)
            .map_err(|_| Error::Internal("AES-GCM key refused".into()))?,
    );
    data.extend_from_slice(&tag);
    let n = gcm
        .open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(aad.as_bytes()),
            &mut data,
        )
        .map_err(|_| {
            invalid(format!(
                "the content does not decrypt with key {kid:?}: the tag does not match (tampered ciphertext, tag, iv, encrypted_key or header, or the wrong key)"
            ))
        })?
        .len();
    data.truncate(n);
    Ok(Zeroizing::new(data))
}

/// Whether the envelope says its message is encrypted (`header.is_msg_encrypted: true`).
pub fn is_encrypted(envelope: &Value) -> bool {
    envelope.pointer("/header/is_msg_encrypted") == Some(&Value::Bool(true))
}

/// Replaces the envelope's `message` by its encryption to `to` and sets
/// `header.is_msg_encrypted`. Sign afterwards: the signature covers the ciphertext.
pub fn seal_envelope(envelope: &mut Value, to: &EncryptionKey) -> Result<()> {
    let obj = envelope
        .as_object_mut()
        .ok_or_else(|| invalid("the envelope must be a JSON object"))?;
    let message = obj
        .get("message")
        .ok_or_else(|| invalid("the envelope has no message to encrypt"))?;
    let sealed = encrypt(message.to_string().as_bytes(), to)?;
    obj.insert("message".into(), sealed);
    match obj.get_mut("header").and_then(Value::as_object_mut) {
        Some(h) => {
            h.insert("is_msg_encrypted".into(), Value::Bool(true));
        }
        None => return Err(invalid("the envelope has no header to mark encrypted")),
    }
    Ok(())
}

/// When `header.is_msg_encrypted` is true: decrypts `message` with `keys`, puts the plaintext
/// message in its place and sets the flag to false (the envelope then reads, and validates, as
/// the message in clear). Verify the signature first: it covers the ciphertext. Returns whether
/// the message was encrypted.
pub fn open_envelope(envelope: &mut Value, keys: &[DecryptionKey]) -> Result<bool> {
    if !is_encrypted(envelope) {
        return Ok(false);
    }
    let message = envelope
        .get("message")
        .ok_or_else(|| invalid("header.is_msg_encrypted is true but there is no message"))?;
    let plain = decrypt(message, keys)?;
    // The core's parser first: it refuses duplicate keys, as for a message in clear.
    crate::canonical::parse(&plain)
        .map_err(|e| invalid(format!("the decrypted message is not JSON: {e}")))?;
    let value: Value = serde_json::from_slice(&plain)
        .map_err(|e| invalid(format!("the decrypted message is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(invalid("the decrypted message is not a JSON object"));
    }
    if let Some(obj) = envelope.as_object_mut() {
        obj.insert("message".into(), value);
    }
    if let Some(h) = envelope.get_mut("header").and_then(Value::as_object_mut) {
        h.insert("is_msg_encrypted".into(), Value::Bool(false));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn aes_key_wrap_matches_rfc3394_4_6() {
        // RFC 3394 section 4.6: 256 bits of key data with a 256-bit KEK.
        let kek: [u8; 32] = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
            .try_into()
            .unwrap();
        let data: [u8; 32] =
            hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
                .try_into()
                .unwrap();
        let want =
            hex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
        assert_eq!(aes_kw_wrap(&kek, &data).unwrap(), want);
        assert_eq!(aes_kw_unwrap(&kek, &want, "k").unwrap().as_slice(), &data);
        let mut bad = want.clone();
        bad[0] ^= 1;
        assert!(aes_kw_unwrap(&kek, &bad, "k")
            .unwrap_err()
            .to_string()
            .contains("does not unwrap"));
    }

    #[test]
    fn concat_kdf_matches_rfc7518_appendix_c() {
        // RFC 7518 appendix C: Z of the P-256 agreement, "A128GCM", apu "Alice", apv "Bob",
        // 128 bits. Our KDF is for 256 bits; the first 16 bytes of a one-round 256-bit
        // derivation differ only in SuppPubInfo, so check the vector with 128 directly.
        let z: [u8; 32] = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let mut h = Sha256::new();
        h.update(1u32.to_be_bytes());
        h.update(z);
        for part in [&b"A128GCM"[..], b"Alice", b"Bob"] {
            h.update((part.len() as u32).to_be_bytes());
            h.update(part);
        }
        h.update(128u32.to_be_bytes());
        let out = h.finalize();
        assert_eq!(b64(&out[..16]), "VqqN6vgjbSBcIijNcacQGg");
        // And concat_kdf is that same construction with 256 bits.
        let mut h = Sha256::new();
        h.update(1u32.to_be_bytes());
        h.update(z);
        for part in [&b"ECDH-ES+A256KW"[..], b"", b""] {
            h.update((part.len() as u32).to_be_bytes());
            h.update(part);
        }
        h.update(256u32.to_be_bytes());
        let want: [u8; 32] = h.finalize().into();
        assert_eq!(*concat_kdf(&z, "ECDH-ES+A256KW", b"", b""), want);
    }

    #[test]
    fn x25519_matches_rfc7748_6_1() {
        let alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob_pub = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        let alice = agreement::PrivateKey::from_private_key(&X25519, &alice).unwrap();
        let z = agreement::agree(&alice, UnparsedPublicKey::new(&X25519, &bob_pub), (), |z| {
            Ok(z.to_vec())
        })
        .unwrap();
        assert_eq!(
            z,
            hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        );
    }

    #[test]
    fn a256gcm_matches_rfc7516_appendix_a1() {
        // RFC 7516 A.1: the CEK, IV and AAD (the encoded protected header) of its example.
        let cek: [u8; 32] = [
            177, 161, 244, 128, 84, 143, 225, 115, 63, 180, 3, 255, 107, 154, 212, 246, 138, 7,
            110, 91, 112, 46, 34, 105, 47, 130, 203, 46, 122, 234, 64, 252,
        ];
        let iv: [u8; 12] = [227, 197, 117, 252, 2, 219, 233, 68, 180, 225, 77, 219];
        let aad = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ";
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).unwrap());
        let mut data = b"The true sign of intelligence is not knowledge but imagination.".to_vec();
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(aad.as_bytes()),
                &mut data,
            )
            .unwrap();
        assert_eq!(
            b64(&data),
            "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A"
        );
        assert_eq!(b64(tag.as_ref()), "XFBoMYUZodetZdvTiFvSkQ");
    }

    fn roundtrip(alg: KeyAlgorithm) {
        let key = DecryptionKey::generate(alg, "enc-1").unwrap();
        let public = key.public_key().unwrap();
        let jwk = public.to_jwk();
        assert_eq!(jwk["use"], "enc");
        assert_eq!(jwk["alg"], alg.name());
        assert_eq!(EncryptionKey::from_jwk(&jwk).unwrap(), public);
        let jwe = encrypt(br#"{"transaction_id":"t1"}"#, &public).unwrap();
        assert_eq!(jwe["header"]["alg"], alg.name());
        assert_eq!(jwe["header"]["enc"], "A256GCM");
        assert_eq!(jwe["header"]["kid"], "enc-1");
        let plain = decrypt(&jwe, std::slice::from_ref(&key)).unwrap();
        assert_eq!(plain.as_slice(), br#"{"transaction_id":"t1"}"#);
        // The PEM round trip keeps the key.
        let again = DecryptionKey::from_pem(&key.to_pem().unwrap(), "enc-1").unwrap();
        assert_eq!(again.public_key().unwrap(), public);
        assert_eq!(
            decrypt(&jwe, &[again]).unwrap().as_slice(),
            br#"{"transaction_id":"t1"}"#
        );
    }

    #[test]
    fn rsa_oaep_256_roundtrip() {
        roundtrip(KeyAlgorithm::RsaOaep256);
    }

    #[test]
    fn ecdh_es_a256kw_x25519_roundtrip() {
        roundtrip(KeyAlgorithm::EcdhEsA256Kw);
    }

    fn reason(jwe: &Value, keys: &[DecryptionKey]) -> String {
        match decrypt(jwe, keys) {
            Err(e @ Error::Encryption(_)) => {
                assert_eq!(e.dci_code(), Some("err.encryption.invalid"));
                e.to_string()
            }
            other => panic!("expected an encryption error, got {other:?}"),
        }
    }

    #[test]
    fn bad_input_names_the_reason() {
        for alg in [KeyAlgorithm::RsaOaep256, KeyAlgorithm::EcdhEsA256Kw] {
            let key = DecryptionKey::generate(alg, "k1").unwrap();
            let other_alg = match alg {
                KeyAlgorithm::RsaOaep256 => KeyAlgorithm::EcdhEsA256Kw,
                KeyAlgorithm::EcdhEsA256Kw => KeyAlgorithm::RsaOaep256,
            };
            let keys = [key];
            let jwe = encrypt(b"{}", &keys[0].public_key().unwrap()).unwrap();

            let mut j = jwe.clone();
            j["header"]["alg"] = "RSA1_5".into();
            assert!(reason(&j, &keys).contains("unknown alg \"RSA1_5\""));
            let mut j = jwe.clone();
            j["header"]["enc"] = "A128CBC-HS256".into();
            assert!(reason(&j, &keys).contains("unknown enc \"A128CBC-HS256\""));
            let mut j = jwe.clone();
            j["header"]["kid"] = "nope".into();
            assert!(reason(&j, &keys).contains("unknown kid \"nope\""));
            let mut j = jwe.clone();
            j["header"]["alg"] = other_alg.name().into();
            assert!(reason(&j, &keys).contains("wrong key"));
            // Another key under the same kid: the content does not open.
            let stranger = [DecryptionKey::generate(alg, "k1").unwrap()];
            let r = reason(&jwe, &stranger);
            assert!(
                r.contains("tag does not match") || r.contains("does not unwrap"),
                "{r}"
            );
            for field in ["ciphertext", "tag", "iv", "encrypted_key"] {
                let mut j = jwe.clone();
                let mut bytes = unb64(field, j[field].as_str().unwrap()).unwrap();
                bytes[0] ^= 0x80;
                j[field] = b64(&bytes).into();
                let r = reason(&j, &keys);
                assert!(
                    r.contains("tag does not match") || r.contains("does not unwrap"),
                    "{field}: {r}"
                );
            }
            let mut j = jwe.clone();
            j.as_object_mut().unwrap().remove("tag");
            assert!(reason(&j, &keys).contains("tag is missing"));
            let mut j = jwe.clone();
            j["iv"] = "!!".into();
            assert!(reason(&j, &keys).contains("iv is not base64url"));
        }
        // A tampered epk does not unwrap.
        let keys = [DecryptionKey::generate(KeyAlgorithm::EcdhEsA256Kw, "x").unwrap()];
        let mut j = encrypt(b"{}", &keys[0].public_key().unwrap()).unwrap();
        let other = DecryptionKey::generate(KeyAlgorithm::EcdhEsA256Kw, "y")
            .unwrap()
            .public_key()
            .unwrap();
        j["header"]["epk"]["x"] = other.to_jwk()["x"].clone();
        assert!(reason(&j, &keys).contains("does not unwrap"));
    }

    #[test]
    fn a_protected_header_is_the_additional_data() {
        // The form other JWE producers write: alg/enc/kid in `protected`, bound by the tag.
        let key = DecryptionKey::generate(KeyAlgorithm::EcdhEsA256Kw, "p").unwrap();
        let mut jwe = encrypt(b"{}", &key.public_key().unwrap()).unwrap();
        let header = jwe["header"].clone();
        let protected = b64(header.to_string().as_bytes());
        jwe.as_object_mut().unwrap().remove("header");
        jwe["protected"] = protected.clone().into();
        // The old tag was computed with empty AAD: the protected header must now fail it.
        assert!(reason(&jwe, std::slice::from_ref(&key)).contains("tag does not match"));
        // A parameter both protected and unprotected is refused.
        jwe["header"] = json!({"kid": "p"});
        assert!(reason(&jwe, std::slice::from_ref(&key)).contains("both protected"));
    }

    #[test]
    fn envelopes_seal_and_open() {
        let key = DecryptionKey::generate(KeyAlgorithm::RsaOaep256, "r").unwrap();
        let mut env = json!({"header": {"action": "search"}, "message": {"transaction_id": "t"}});
        assert!(!open_envelope(&mut env.clone(), &[]).unwrap());
        seal_envelope(&mut env, &key.public_key().unwrap()).unwrap();
        assert!(is_encrypted(&env));
        assert!(env["message"]["ciphertext"].is_string());
        assert!(open_envelope(&mut env, std::slice::from_ref(&key)).unwrap());
        assert_eq!(env["message"], json!({"transaction_id": "t"}));
        assert_eq!(env["header"]["is_msg_encrypted"], false);
    }

    #[test]
    fn jwks_enc_keys() {
        let rsa = DecryptionKey::generate(KeyAlgorithm::RsaOaep256, "r").unwrap();
        let x = DecryptionKey::generate(KeyAlgorithm::EcdhEsA256Kw, "x").unwrap();
        let jwks = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "use": "sig", "kid": "s"},
            rsa.public_key().unwrap().to_jwk(),
            x.public_key().unwrap().to_jwk(),
        ]});
        let keys = encryption_keys(&jwks).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            find_key(&keys, Some("x")).unwrap().algorithm(),
            KeyAlgorithm::EcdhEsA256Kw
        );
        assert_eq!(find_key(&keys, None).unwrap().kid(), "r");
        assert!(find_key(&keys, Some("s"))
            .unwrap_err()
            .to_string()
            .contains("kid \"s\""));
        let mut bad = x.public_key().unwrap().to_jwk();
        bad["alg"] = "RSA-OAEP-256".into();
        assert!(EncryptionKey::from_jwk(&bad)
            .unwrap_err()
            .to_string()
            .contains("does not fit"));
    }
}
