//! Verifying the registry's signatures on responses and callbacks, over the bytes received.

use std::sync::RwLock;

use serde_json::Value;

use crate::client::datasource::{DataSource, RegistryKeyConfig, VerifyMode};
use crate::client::response::SignatureCheck;
use crate::client::transport::Transport;
use crate::error::{Error, Result};
use crate::keys::{Algorithm, Jwks, VerifyingKey};
use crate::signature::{self, KeyResolver, VerifyOptions};

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
            Source::Key(k) => signature::verify_bytes(body, k, &opts)?,
            Source::Jwks(j) => signature::verify_bytes(body, &ByKid(j), &opts)?,
            Source::Url(url, cache) => {
                let first = self.cached_or_fetch(t, url, cache, false)?;
                match signature::verify_bytes(body, &ByKid(&first), &opts) {
                    Err(Error::Key(_)) => {
                        // The registry may have rotated its key: fetch the set again, once.
                        let fresh = self.cached_or_fetch(t, url, cache, true)?;
                        signature::verify_bytes(body, &ByKid(&fresh), &opts)?
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
