//! The client's side of encrypted messages: requests encrypted to the registry's key before
//! they are signed, answers and callbacks opened with our key after they are verified
//! (docs/spec-decisions.md, "Encrypted messages").

use std::sync::RwLock;

use serde_json::Value;

use super::datasource::DataSource;
use crate::encryption::{self, DecryptionKey, EncryptionKey};
use crate::error::{Error, Result};

/// The registry's key: given, or read once from a JWKS URL.
enum RegistryKey {
    None,
    Given(EncryptionKey),
    Url {
        url: String,
        kid: Option<String>,
        cached: RwLock<Option<EncryptionKey>>,
    },
}

pub(crate) struct Encryption {
    encrypt: bool,
    registry: RegistryKey,
    keys: Vec<DecryptionKey>,
    timeout: std::time::Duration,
    verify_tls: bool,
}

fn config(field: &str, reason: impl Into<String>) -> Error {
    Error::Config {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Encryption {
    /// From the data source's `encryption` section (None when it has none).
    pub(crate) fn new(ds: &DataSource) -> Result<Option<Self>> {
        let Some(e) = &ds.encryption else {
            return Ok(None);
        };
        let registry = match (&e.registry_jwk, &e.registry_jwks_url) {
            (Some(jwk), _) => RegistryKey::Given(
                EncryptionKey::from_jwk(jwk)
                    .map_err(|err| config("encryption.registry_jwk", err.to_string()))?,
            ),
            (None, url) => match url
                .as_ref()
                .or(ds.registry_key.as_ref().and_then(|k| k.jwks_url.as_ref()))
            {
                Some(u) => RegistryKey::Url {
                    url: ds.url(u),
                    kid: e.registry_kid.clone(),
                    cached: RwLock::new(None),
                },
                None => RegistryKey::None,
            },
        };
        let pem = match (&e.key_pem, &e.key_file) {
            (Some(p), _) => Some(zeroize::Zeroizing::new(p.expose().to_string())),
            (None, Some(f)) => Some(zeroize::Zeroizing::new(
                std::fs::read_to_string(f)
                    .map_err(|err| config("encryption.key_file", format!("{f}: {err}")))?,
            )),
            (None, None) => None,
        };
        let keys = match pem {
            Some(pem) => vec![DecryptionKey::from_pem(&pem, &e.key_id)
                .map_err(|err| config("encryption.key_pem", err.to_string()))?],
            None => Vec::new(),
        };
        Ok(Some(Encryption {
            encrypt: e.encrypt,
            registry,
            keys,
            timeout: ds.timeout(),
            verify_tls: ds.verify_tls,
        }))
    }

    /// Our public encryption key, to register with the registry (None without a key).
    pub(crate) fn public_key(&self) -> Option<EncryptionKey> {
        self.keys.first().and_then(|k| k.public_key().ok())
    }

    fn registry_key(&self) -> Result<EncryptionKey> {
        match &self.registry {
            RegistryKey::Given(k) => Ok(k.clone()),
            RegistryKey::None => Err(config(
                "encryption.registry_jwk",
                "the registry's encryption key is not configured",
            )),
            RegistryKey::Url { url, kid, cached } => {
                if let Some(k) = cached.read().ok().and_then(|g| g.clone()) {
                    return Ok(k);
                }
                let jwks = super::fetch_jwks_json(url, self.timeout, self.verify_tls)?;
                let keys = encryption::encryption_keys(&jwks)
                    .map_err(|e| Error::Key(format!("the JWKS at {url}: {e}")))?;
                let key = encryption::find_key(&keys, kid.as_deref())
                    .map_err(|e| Error::Key(format!("the JWKS at {url}: {e}")))?
                    .clone();
                if let Ok(mut g) = cached.write() {
                    *g = Some(key.clone());
                }
                Ok(key)
            }
        }
    }

    /// Encrypts the request's message when the data source says so (before it is signed).
    pub(crate) fn seal(&self, env: &mut Value) -> Result<()> {
        if !self.encrypt {
            return Ok(());
        }
        encryption::seal_envelope(env, &self.registry_key()?)
    }
}

/// Opens `env` when it is encrypted: with `enc`'s keys, or an error saying none is configured.
pub(crate) fn open_with(enc: Option<&Encryption>, env: &mut Value) -> Result<bool> {
    if !encryption::is_encrypted(env) {
        return Ok(false);
    }
    match enc {
        Some(e) if !e.keys.is_empty() => encryption::open_envelope(env, &e.keys),
        _ => Err(Error::Encryption(
            "the message is encrypted (header.is_msg_encrypted), but the data source has no decryption key (encryption.key_pem or key_file)".into(),
        )),
    }
}
