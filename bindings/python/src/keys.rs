//! Keys: generate, load and save PEM, JWK and JWKS (dci::keys).

use std::sync::Arc;

use dci::keys::{Algorithm, Jwks, SigningKey, VerifyingKey};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::conv;
use crate::errors::IntoPy;

fn algorithm(name: &str) -> PyResult<Algorithm> {
    Algorithm::parse(name).py_err()
}

fn io_err(path: &str, e: std::io::Error) -> PyErr {
    crate::errors::to_pyerr(dci::Error::Io(format!("{path}: {e}")))
}

/// A private key that signs: Ed25519 (``"ed25519"``) or RSA (``"rsa-sha256"``).
/// ``repr()`` never shows key material.
#[pyclass(frozen, module = "dci._dci", name = "SigningKey")]
pub struct PySigningKey {
    pub inner: Arc<SigningKey>,
}

impl PySigningKey {
    /// An owned copy of the key (the core's Signer owns its key).
    pub fn to_owned_key(&self) -> PyResult<SigningKey> {
        let pem = self.inner.to_pem().py_err()?;
        SigningKey::from_pem(&pem).py_err()
    }
}

#[pymethods]
impl PySigningKey {
    /// A new random key. ``algorithm``: ``"ed25519"`` (default) or ``"rsa-sha256"``
    /// (2048 bits); JWS names (``"EdDSA"``, ``"RS256"``) are accepted too.
    #[staticmethod]
    #[pyo3(signature = (algorithm = "ed25519"))]
    fn generate(py: Python<'_>, algorithm: &str) -> PyResult<Self> {
        let alg = self::algorithm(algorithm)?;
        let key = py.detach(|| SigningKey::generate(alg)).py_err()?;
        Ok(PySigningKey {
            inner: Arc::new(key),
        })
    }

    /// An Ed25519 key from its 32-byte seed (the RFC 8032 secret key).
    #[staticmethod]
    fn from_ed25519_seed(seed: &[u8]) -> PyResult<Self> {
        let seed: &[u8; 32] = seed.try_into().map_err(|_| {
            crate::errors::to_pyerr(dci::Error::Key(format!(
                "an Ed25519 seed is 32 bytes, got {}",
                seed.len()
            )))
        })?;
        Ok(PySigningKey {
            inner: Arc::new(SigningKey::from_ed25519_seed(seed)),
        })
    }

    /// Loads a PKCS#8 PEM private key (RSA also as ``BEGIN RSA PRIVATE KEY``).
    #[staticmethod]
    fn from_pem(pem: &str) -> PyResult<Self> {
        Ok(PySigningKey {
            inner: Arc::new(SigningKey::from_pem(pem).py_err()?),
        })
    }

    /// Loads a PEM private key file.
    #[staticmethod]
    fn load(path: &str) -> PyResult<Self> {
        let pem = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
        Self::from_pem(&pem)
    }

    /// The PKCS#8 PEM of this key.
    fn to_pem(&self) -> PyResult<String> {
        Ok(self.inner.to_pem().py_err()?.to_string())
    }

    /// Writes the PKCS#8 PEM to ``path`` (created readable by the owner only on Unix).
    fn save(&self, path: &str) -> PyResult<()> {
        let pem = self.inner.to_pem().py_err()?;
        write_private(path, pem.as_bytes()).map_err(|e| io_err(path, e))
    }

    /// ``"ed25519"`` or ``"rsa-sha256"``.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().dci_name()
    }

    /// The matching public key.
    fn verifying_key(&self) -> PyVerifyingKey {
        PyVerifyingKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// The raw signature over ``data`` (Ed25519: 64 bytes; RSA: PKCS#1 v1.5 over SHA-256).
    fn sign<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let sig = if data.len() >= crate::canonical::LARGE {
            let owned = data.to_vec();
            let key = Arc::clone(&self.inner);
            py.detach(move || key.sign(&owned))
        } else {
            self.inner.sign(data)
        }
        .py_err()?;
        Ok(PyBytes::new(py, &sig))
    }

    fn __repr__(&self) -> String {
        format!(
            "SigningKey(algorithm={:?}, thumbprint={:?})",
            self.inner.algorithm().dci_name(),
            self.inner.verifying_key().thumbprint()
        )
    }
}

#[cfg(unix)]
fn write_private(path: &str, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &str, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

/// A public key that verifies.
#[pyclass(frozen, module = "dci._dci", name = "VerifyingKey")]
#[derive(Clone)]
pub struct PyVerifyingKey {
    pub inner: VerifyingKey,
}

#[pymethods]
impl PyVerifyingKey {
    /// Loads an SPKI PEM public key (RSA also as ``BEGIN RSA PUBLIC KEY``).
    #[staticmethod]
    fn from_pem(pem: &str) -> PyResult<Self> {
        Ok(PyVerifyingKey {
            inner: VerifyingKey::from_pem(pem).py_err()?,
        })
    }

    /// Loads a PEM public key file.
    #[staticmethod]
    fn load(path: &str) -> PyResult<Self> {
        let pem = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
        Self::from_pem(&pem)
    }

    /// From a JWK (``OKP``/``Ed25519`` or ``RSA``) given as a dict.
    #[staticmethod]
    fn from_jwk(jwk: &Bound<'_, PyAny>) -> PyResult<Self> {
        let v = conv::to_value(jwk, "jwk")?;
        Ok(PyVerifyingKey {
            inner: VerifyingKey::from_jwk(&v).py_err()?,
        })
    }

    /// The SPKI PEM of this key.
    fn to_pem(&self) -> PyResult<String> {
        self.inner.to_pem().py_err()
    }

    /// Writes the SPKI PEM to ``path``.
    fn save(&self, path: &str) -> PyResult<()> {
        let pem = self.inner.to_pem().py_err()?;
        std::fs::write(path, pem).map_err(|e| io_err(path, e))
    }

    /// The JWK as a dict, with ``kid`` (the RFC 7638 thumbprint when None), ``use`` and ``alg``.
    #[pyo3(signature = (kid = None))]
    fn to_jwk<'py>(&self, py: Python<'py>, kid: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        conv::to_py(py, &self.inner.to_jwk(kid))
    }

    /// The RFC 7638 JWK thumbprint (base64url SHA-256).
    #[getter]
    fn thumbprint(&self) -> String {
        self.inner.thumbprint()
    }

    /// ``"ed25519"`` or ``"rsa-sha256"``.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().dci_name()
    }

    /// Checks a raw signature made by ``SigningKey.sign``; raises SignatureError if it fails.
    fn verify(&self, py: Python<'_>, data: &[u8], signature: &[u8]) -> PyResult<()> {
        if data.len() >= crate::canonical::LARGE {
            let (d, s, k) = (data.to_vec(), signature.to_vec(), self.inner.clone());
            py.detach(move || k.verify(&d, &s))
        } else {
            self.inner.verify(data, signature)
        }
        .py_err()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyVerifyingKey>() {
            Ok(o) => o.get().inner.thumbprint() == self.inner.thumbprint(),
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.thumbprint().hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifyingKey(algorithm={:?}, thumbprint={:?})",
            self.inner.algorithm().dci_name(),
            self.inner.thumbprint()
        )
    }
}

/// A JWK Set: public keys with their ``kid``.
#[pyclass(frozen, module = "dci._dci", name = "Jwks")]
#[derive(Clone)]
pub struct PyJwks {
    pub inner: Jwks,
}

#[pymethods]
impl PyJwks {
    /// A set of ``(kid, key)`` pairs or bare keys (kid = the key's thumbprint).
    #[new]
    #[pyo3(signature = (keys = None))]
    fn new(keys: Option<&Bound<'_, PyList>>) -> PyResult<Self> {
        let mut set = Jwks::default();
        if let Some(keys) = keys {
            for item in keys.iter() {
                let (kid, key) = if let Ok(k) = item.cast::<PyVerifyingKey>() {
                    (None, k.get().inner.clone())
                } else {
                    let (kid, k): (Option<String>, PyRef<'_, PyVerifyingKey>) = item.extract()?;
                    (kid, k.inner.clone())
                };
                let kid = kid.or_else(|| Some(key.thumbprint()));
                set.keys.push((kid, key));
            }
        }
        Ok(PyJwks { inner: set })
    }

    /// Parses ``{"keys": [...]}`` (a dict, or JSON text); keys of unknown types are skipped.
    #[staticmethod]
    fn from_dict(jwks: &Bound<'_, PyAny>) -> PyResult<Self> {
        let v = conv::to_value(jwks, "jwks")?;
        Ok(PyJwks {
            inner: Jwks::from_json(&v).py_err()?,
        })
    }

    /// The JWKS published at ``url`` (GIL released); SignatureError (kind ``key``) when
    /// it cannot be fetched or read.
    #[staticmethod]
    #[pyo3(signature = (url, timeout = 30.0, verify_tls = true))]
    fn fetch(py: Python<'_>, url: &str, timeout: f64, verify_tls: bool) -> PyResult<Self> {
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(crate::errors::to_pyerr(dci::Error::Config {
                field: "timeout".into(),
                reason: "must be a positive number of seconds".into(),
            }));
        }
        let t = std::time::Duration::from_secs_f64(timeout);
        let inner = py
            .detach(|| dci::client::fetch_jwks(url, t, verify_tls))
            .py_err()?;
        Ok(PyJwks { inner })
    }

    /// Parses the JSON text of a JWK Set.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(dci::Error::from)
            .py_err()?;
        Ok(PyJwks {
            inner: Jwks::from_json(&v).py_err()?,
        })
    }

    /// ``{"keys": [...]}`` as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::to_py(py, &self.inner.to_json())
    }

    /// The key whose kid is ``kid``, or None.
    fn find(&self, kid: &str) -> Option<PyVerifyingKey> {
        self.inner
            .find(kid)
            .map(|k| PyVerifyingKey { inner: k.clone() })
    }

    /// The kids, in order.
    fn kids(&self) -> Vec<Option<String>> {
        self.inner.keys.iter().map(|(k, _)| k.clone()).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.keys.len()
    }

    fn __repr__(&self) -> String {
        format!("Jwks({} keys)", self.inner.keys.len())
    }
}
