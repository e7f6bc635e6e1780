//! Verifying the registry's signatures on responses and callbacks, over the bytes received.
//!
//! One exception, in the `openspp2` dialect only: OpenSPP 2 signs the header with its defaulted
//! fields but sends it without them, so a signature that fails over the received bytes is tried
//! once more over the received header plus only those documented defaults
//! ([`dialect::openspp2_signed_header`]) and the message as received.

use std::sync::RwLock;

use serde_json::Value;

use crate::canonical::{self, Node};
use crate::client::datasource::{DataSource, RegistryKeyConfig, VerifyMode};
use crate::client::dialect::{self, Dialect};
use crate::client::response::SignatureCheck;
use crate::client::transport::Transport;
use crate::error::{Error, Result};
use crate::keys::{Algorithm, Jwks, VerifyingKey};
use crate::signature::{self, spdci, KeyResolver, Profile, Verified, VerifyOptions};

enum Source {
    Key(VerifyingKey),
    Jwks(Jwks),
    /// Fetched on first use; fetched again once when a kid is not found.
    Url(String, RwLock<Option<Jwks>>),
}

pub(crate) struct RegistryKeys {
    source: Source,
    pub(crate) mode: VerifyMode,
    max_retries: u32,
    dialect: Dialect,
}

fn config(field: &str, reason: impl Into<String>) -> Error {
    Error::Config {
        field: field.into(),
        reason: reason.into(),
    }
}

impl RegistryKeys {
    /// Loads the configured key now, so a bad PEM or JWKS fails at construction.
    pub(crate) fn new(ds: &DataSource) -> Result<Option<Self>> {
        let Some(k) = &ds.registry_key else {
            return Ok(None);
        };
        let source = load(ds, k)?;
        Ok(Some(RegistryKeys {
            source,
            mode: k.mode,
            max_retries: ds.max_retries,
            dialect: ds.dialect,
        }))
    }

    /// Verifies an envelope. `Required`: unsigned is an error; `IfPresent`: unsigned passes.
    /// Errors name the endpoint and the envelope's transaction.
    pub(crate) fn verify(
        &self,
        t: &Transport,
        body: &[u8],
        env: &Value,
        endpoint: &str,
    ) -> Result<SignatureCheck> {
        let txn = env
            .pointer("/message/transaction_id")
            .and_then(Value::as_str)
            .map(|t| format!(" (transaction {t})"))
            .unwrap_or_default();
        let sig = env.get("signature").and_then(Value::as_str);
        if signature::is_missing(sig) {
            return match self.mode {
                VerifyMode::Required => Err(Error::SignatureMissing(format!(
                    "the response from {endpoint}{txn} is unsigned and a registry signature is required"
                ))),
                VerifyMode::IfPresent => Ok(SignatureCheck::default()),
            };
        }
        self.verify_signed(t, body)
            .map_err(|e| with_context(e, &format!("{endpoint}{txn}")))
    }

    fn verify_signed(&self, t: &Transport, body: &[u8]) -> Result<SignatureCheck> {
        let opts = VerifyOptions::default();
        let verified = match &self.source {
            Source::Key(k) => self.check(body, k, &opts)?,
            Source::Jwks(j) => self.check(body, &ByKid(j), &opts)?,
            Source::Url(url, cache) => {
                let first = self.cached_or_fetch(t, url, cache, false)?;
                match self.check(body, &ByKid(&first), &opts) {
                    Err(Error::Key(_)) => {
                        // The registry may have rotated its key: fetch the set again, once.
                        let fresh = self.cached_or_fetch(t, url, cache, true)?;
                        self.check(body, &ByKid(&fresh), &opts)?
                    }
                    other => other?,
                }
            }
        };
        Ok(SignatureCheck {
            verified: true,
            kid: verified.kid,
        })
    }

    /// Verifies over the received bytes; in the `openspp2` dialect, an invalid signature is
    /// tried once more over the header as OpenSPP 2 signed it. The first error is kept.
    fn check(&self, body: &[u8], keys: &dyn KeyResolver, opts: &VerifyOptions) -> Result<Verified> {
        match signature::verify_bytes(body, keys, opts) {
            Err(Error::SignatureInvalid(m)) if self.dialect == Dialect::Openspp2 => {
                match openspp2_signed_form(body, keys, opts) {
                    Some(Ok(v)) => Ok(v),
                    Some(Err(_)) => Err(Error::SignatureInvalid(format!(
                        "{m} (also over the header with OpenSPP 2's defaults)"
                    ))),
                    None => Err(Error::SignatureInvalid(m)),
                }
            }
            other => other,
        }
    }

    fn cached_or_fetch(
        &self,
        t: &Transport,
        url: &str,
        cache: &RwLock<Option<Jwks>>,
        force: bool,
    ) -> Result<Jwks> {
        if !force {
            if let Ok(g) = cache.read() {
                if let Some(j) = g.as_ref() {
                    return Ok(j.clone());
                }
            }
        }
        let r = t.get_retrying(url, self.max_retries)?;
        if !(200..300).contains(&r.status) {
            return Err(Error::Key(format!(
                "fetching the registry JWKS from {url}: HTTP {}",
                r.status
            )));
        }
        let v: Value = serde_json::from_slice(&r.body)
            .map_err(|e| Error::Key(format!("the JWKS at {url} is not JSON: {e}")))?;
        let j = Jwks::from_json(&v)?;
        if let Ok(mut g) = cache.write() {
            *g = Some(j.clone());
        }
        Ok(j)
    }
}

/// Verifies an spdci signature over the received header completed with OpenSPP 2's defaults
/// and the message as received. `None` when there is nothing different to try (not an spdci
/// signature, or no default is absent from the header).
fn openspp2_signed_form(
    body: &[u8],
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
) -> Option<Result<Verified>> {
    let root = canonical::parse(body).ok()?;
    let Some(Node::String(sig)) = root.get("signature") else {
        return None;
    };
    let sig = sig.decode();
    if signature::detect_profile(&sig) != Profile::Spdci {
        return None;
    }
    let (header, message) = signature::envelope_parts(&root).ok()?;
    let signed = match dialect::openspp2_signed_header(header) {
        Ok(Some(h)) => h,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    let signed = match canonical::parse(&signed) {
        Ok(n) => n,
        Err(e) => return Some(Err(e)),
    };
    Some(spdci::verify_pair(&sig, &signed, message, keys, opts))
}

/// Prefixes a signature or key error with where it happened.
fn with_context(e: Error, at: &str) -> Error {
    match e {
        Error::SignatureMissing(m) => Error::SignatureMissing(format!("{at}: {m}")),
        Error::SignatureMalformed(m) => Error::SignatureMalformed(format!("{at}: {m}")),
        Error::SignatureInvalid(m) => Error::SignatureInvalid(format!("{at}: {m}")),
        Error::Key(m) => Error::Key(format!("{at}: {m}")),
        Error::UnsupportedAlgorithm(m) => Error::UnsupportedAlgorithm(format!("{at}: {m}")),
        other => other,
    }
}

fn load(ds: &DataSource, k: &RegistryKeyConfig) -> Result<Source> {
    if let Some(u) = &k.jwks_url {
        return Ok(Source::Url(ds.url(u), RwLock::new(None)));
    }
    if let Some(j) = &k.jwks {
        let jwks = Jwks::from_json(j).map_err(|e| config("registry_key.jwks", e.to_string()))?;
        return Ok(Source::Jwks(jwks));
    }
    if let Some(p) = &k.pem {
        let key =
            VerifyingKey::from_pem(p).map_err(|e| config("registry_key.pem", e.to_string()))?;
        return Ok(Source::Key(key));
    }
    if let Some(f) = &k.pem_file {
        let p = std::fs::read_to_string(f)
            .map_err(|e| config("registry_key.pem_file", format!("{f}: {e}")))?;
        let key = VerifyingKey::from_pem(&p)
            .map_err(|e| config("registry_key.pem_file", e.to_string()))?;
        return Ok(Source::Key(key));
    }
    Err(config(
        "registry_key",
        "exactly one of jwks_url, jwks, pem, pem_file",
    ))
}

/// Finds a key in a JWKS by the signature's kid. The spdci kid is `{sender_id}|{key_id}|{alg}`
/// while registries publish JWKs under either that whole kid or just `key_id`: both are tried.
struct ByKid<'a>(&'a Jwks);

impl KeyResolver for ByKid<'_> {
    fn resolve(&self, kid: Option<&str>, alg: Algorithm) -> Result<VerifyingKey> {
        if let Some(k) = kid {
            if let Some(key) = self.0.find(k) {
                return Ok(key.clone());
            }
            let parts: Vec<&str> = k.split('|').collect();
            if parts.len() == 3 {
                if let Some(key) = self.0.find(parts[1]) {
                    return Ok(key.clone());
                }
            }
        }
        self.0.resolve(kid, alg)
    }
}
