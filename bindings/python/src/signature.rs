//! The DCI `signature` field in three profiles: spdci, jws-detached, jws-compact
//! (dci::signature). `now` arguments are the clock for tests (unix seconds).

use dci::client::Dialect;
use dci::signature::{
    self, DigestAlgorithm, KeyResolver, Profile, SenderBinding, Signer, VerifyOptions,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::canonical::LARGE;
use crate::conv;
use crate::errors::IntoPy;
use crate::keys::{PyJwks, PySigningKey, PyVerifyingKey};

pub fn profile(name: &str) -> PyResult<Profile> {
    Profile::parse(name).py_err()
}

fn digest(name: &str) -> PyResult<DigestAlgorithm> {
    match name.to_ascii_lowercase().as_str() {
        "sha256" | "sha-256" => Ok(DigestAlgorithm::Sha256),
        "blake512" | "blake-512" | "blake2b-512" => Ok(DigestAlgorithm::Blake512),
        other => Err(crate::errors::to_pyerr(dci::Error::Config {
            field: "digest".into(),
            reason: format!("unknown digest {other:?} (expected sha256 or blake512)"),
        })),
    }
}

/// Who signs and how: the key, the kid parts (``{sender_id}|{key_id}|{algorithm}``) and the
/// profile (``"spdci"``, ``"jws-detached"``, ``"jws-compact"``). For the spdci profile,
/// ``digest`` is ``"sha256"`` (OpenSPP) or ``"blake512"`` and ``validity_secs`` the time
/// between ``created`` and ``expires``. Safe to share between threads.
#[pyclass(frozen, module = "dci._dci", name = "Signer")]
pub struct PySigner {
    pub inner: Signer,
    /// The header normal form `sign` writes before signing (`openspp2`: OpenSPP 2's).
    pub dialect: Dialect,
}

/// A dialect by name (None = spdci).
pub fn dialect(name: Option<&str>) -> PyResult<Dialect> {
    name.map(Dialect::parse)
        .transpose()
        .py_err()
        .map(Option::unwrap_or_default)
}

/// A signing key from a SigningKey, PEM (bytes or str), or a raw 32-byte Ed25519 seed (the
/// forms OpenSPP's ``DCISigner`` takes).
fn signing_key_of(key: &Bound<'_, PyAny>) -> PyResult<dci::keys::SigningKey> {
    if let Ok(k) = key.cast::<PySigningKey>() {
        return k.get().to_owned_key();
    }
    let bytes: Vec<u8> = if let Ok(s) = key.cast::<PyString>() {
        s.to_cow()?.as_bytes().to_vec()
    } else if let Ok(b) = key.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        return Err(PyTypeError::new_err(
            "key: expected a SigningKey, PEM (bytes or str) or a 32-byte Ed25519 seed",
        ));
    };
    if bytes.len() == 32 && !bytes.starts_with(b"-----") {
        let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            crate::errors::to_pyerr(dci::Error::Key("an Ed25519 seed is 32 bytes".into()))
        })?;
        return Ok(dci::keys::SigningKey::from_ed25519_seed(&seed));
    }
    let pem = String::from_utf8(bytes)
        .map_err(|_| crate::errors::to_pyerr(dci::Error::Key("the key PEM is not UTF-8".into())))?;
    dci::keys::SigningKey::from_pem(&pem).py_err()
}

/// Refuses an algorithm name that is not the key's (``ed25519``, ``rsa-sha256``, JWS names).
fn check_algorithm(key: &dci::keys::SigningKey, name: &str) -> PyResult<()> {
    let want = dci::keys::Algorithm::parse(name).py_err()?;
    if want != key.algorithm() {
        return Err(crate::errors::to_pyerr(dci::Error::Config {
            field: "algorithm".into(),
            reason: format!(
                "{name:?} is not the key's algorithm ({})",
                key.algorithm().dci_name()
            ),
        }));
    }
    Ok(())
}

impl PySigner {
    /// A copy for a client (the core's client owns its signer; keys are not Clone, so the
    /// key is copied through its PEM).
    pub fn clone_signer(&self) -> PyResult<Signer> {
        let pem = self.inner.key.to_pem().py_err()?;
        let mut s = Signer::new(
            dci::keys::SigningKey::from_pem(&pem).py_err()?,
            self.inner.sender_id.clone(),
            self.inner.key_id.clone(),
        );
        s.profile = self.inner.profile;
        s.digest = self.inner.digest;
        s.validity_secs = self.inner.validity_secs;
        Ok(s)
    }
}

#[pymethods]
impl PySigner {
    #[new]
    #[pyo3(signature = (key, sender_id, key_id, algorithm = None, *, profile = "spdci", digest = "sha256", validity_secs = 300, dialect = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        key: &Bound<'_, PyAny>,
        sender_id: &str,
        key_id: &str,
        algorithm: Option<&str>,
        profile: &str,
        digest: &str,
        validity_secs: i64,
        dialect: Option<&str>,
    ) -> PyResult<Self> {
        let key = signing_key_of(key)?;
        if let Some(a) = algorithm {
            check_algorithm(&key, a)?;
        }
        let mut s = Signer::new(key, sender_id, key_id);
        s.profile = self::profile(profile)?;
        s.digest = self::digest(digest)?;
        if validity_secs <= 0 {
            return Err(crate::errors::to_pyerr(dci::Error::Config {
                field: "validity_secs".into(),
                reason: "must be positive".into(),
            }));
        }
        s.validity_secs = validity_secs;
        Ok(PySigner {
            inner: s,
            dialect: self::dialect(dialect)?,
        })
    }

    /// The header normal form ``sign`` writes (``spdci``, ``openspp2``, ...).
    #[getter]
    fn dialect(&self) -> &'static str {
        self.dialect.name()
    }

    /// The signing algorithm (``ed25519``, ``rsa-sha256``), the third part of the kid.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.key.algorithm().dci_name()
    }

    /// ``{sender_id}|{key_id}|{algorithm}``.
    #[getter]
    fn kid(&self) -> String {
        self.inner.kid()
    }

    /// ``"spdci"``, ``"jws-detached"`` or ``"jws-compact"``.
    #[getter]
    fn profile(&self) -> &'static str {
        self.inner.profile.name()
    }

    /// The first part of the kid.
    #[getter]
    fn sender_id(&self) -> String {
        self.inner.sender_id.clone()
    }

    /// The second part of the kid.
    #[getter]
    fn key_id(&self) -> String {
        self.inner.key_id.clone()
    }

    /// The public key that verifies this signer's signatures.
    fn verifying_key(&self) -> PyVerifyingKey {
        PyVerifyingKey {
            inner: self.inner.key.verifying_key(),
        }
    }

    /// The ``signature`` value for ``header`` and ``message`` (dicts), created at ``now``
    /// (unix seconds; None = the system clock).
    #[pyo3(signature = (header, message, now = None))]
    fn signature_for(
        &self,
        py: Python<'_>,
        header: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
        now: Option<i64>,
    ) -> PyResult<String> {
        let h = conv::to_value(header, "header")?;
        let m = conv::to_value(message, "message")?;
        py.detach(|| self.inner.signature_for(&h, &m, now)).py_err()
    }

    /// Sets ``envelope["signature"]`` over its ``header`` and ``message`` and returns the
    /// same dict. With a ``dialect`` (``openspp2``), the header is first rewritten in that
    /// dialect's normal form (what OpenSPP 2 re-serialises and verifies).
    #[pyo3(signature = (envelope, now = None))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        envelope: &Bound<'py, PyDict>,
        now: Option<i64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let part = |k: &str| -> PyResult<Bound<'py, PyAny>> {
            envelope.get_item(k)?.ok_or_else(|| {
                crate::errors::to_pyerr(dci::Error::Validation(vec![dci::Violation::new(
                    k, "required",
                )]))
            })
        };
        let (header, message) = (part("header")?, part("message")?);
        // The canonical `{"header":..,"message":..}` written straight from the dicts (no
        // intermediate Value), then digested and signed with the GIL released.
        let (style, floats) = self.inner.canonical_form();
        let mut payload = Vec::with_capacity(256);
        payload.extend_from_slice(b"{\"header\":");
        if self.dialect != Dialect::Spdci {
            // Signed as sent: the header in the dialect's normal form replaces the given one.
            let h = self
                .dialect
                .adapt_header(conv::to_value(&header, "header")?);
            envelope.set_item("header", conv::to_py(py, &h)?)?;
            dci::canonical::write_value_floats(&mut payload, &h, style, floats);
        } else {
            crate::canonical::write_py(&mut payload, &header, style, floats, "header")?;
        }
        payload.extend_from_slice(b",\"message\":");
        crate::canonical::write_py(&mut payload, &message, style, floats, "message")?;
        payload.push(b'}');
        let sig = if payload.len() >= LARGE {
            py.detach(|| self.inner.sign_canonical(&payload, now))
        } else {
            self.inner.sign_canonical(&payload, now)
        }
        .py_err()?;
        envelope.set_item("signature", sig)?;
        Ok(envelope.clone())
    }

    /// Signs an envelope given as JSON bytes (or str), numbers kept exactly as written;
    /// returns the signed envelope's bytes.
    #[pyo3(signature = (envelope, now = None))]
    fn sign_bytes<'py>(
        &self,
        py: Python<'py>,
        envelope: &Bound<'py, PyAny>,
        now: Option<i64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = conv::json_bytes(envelope)?;
        let out = py.detach(|| self.inner.sign_bytes(&bytes, now)).py_err()?;
        Ok(PyBytes::new(py, &out))
    }

    fn __repr__(&self) -> String {
        format!(
            "Signer(kid={:?}, profile={:?})",
            self.inner.kid(),
            self.inner.profile.name()
        )
    }
}

/// Keys given to verify: a VerifyingKey, a Jwks, or a JWKS / JWK dict.
pub enum Keys {
    One(dci::keys::VerifyingKey),
    Set(dci::keys::Jwks),
}

impl Keys {
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Keys> {
        if let Ok(k) = obj.cast::<PyVerifyingKey>() {
            return Ok(Keys::One(k.get().inner.clone()));
        }
        if let Ok(j) = obj.cast::<PyJwks>() {
            return Ok(Keys::Set(j.get().inner.clone()));
        }
        if obj.cast::<PyDict>().is_ok() {
            let v = conv::to_value(obj, "keys")?;
            return Ok(if v.get("keys").is_some() {
                Keys::Set(dci::keys::Jwks::from_json(&v).py_err()?)
            } else {
                Keys::One(dci::keys::VerifyingKey::from_jwk(&v).py_err()?)
            });
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Keys::One(
                dci::keys::VerifyingKey::from_pem(&s.to_cow()?).py_err()?,
            ));
        }
        Err(PyTypeError::new_err(
            "keys: expected a VerifyingKey, a Jwks, a JWK or JWKS dict, or a PEM string",
        ))
    }

    pub fn resolver(&self) -> &dyn KeyResolver {
        match self {
            Keys::One(k) => k,
            Keys::Set(s) => s,
        }
    }
}

/// The bytes of an envelope given as bytes, str or dict.
fn envelope_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if obj.cast::<PyDict>().is_ok() {
        let v = conv::to_value(obj, "envelope")?;
        return serde_json::to_vec(&v).map_err(dci::Error::from).py_err();
    }
    conv::json_bytes(obj)
}

/// Verifies the signature of an envelope over its ``header`` and ``message``.
///
/// ``envelope``: the bytes as received (best: numbers and escapes kept exactly), a str, or a
/// dict. ``keys``: a VerifyingKey, a Jwks, a JWK or JWKS dict, or a PEM public key.
/// ``now``: the time to check against (unix seconds; None = the system clock);
/// ``clock_skew``: how far in the future ``created`` may be; ``profile``: the profile to
/// expect (None = detect). Returns ``{"profile", "algorithm", "kid", "created", "expires"}``;
/// raises SignatureError (``kind`` says why: ``signature_missing``, ``signature_invalid``,
/// ``signature_expired``, ...).
///
/// A kid of the DCI form ``{sender_id}|{key_id}|{alg}`` must name ``header.sender_id``
/// (SignatureError naming both); ``bind_sender=False`` turns that off.
///
/// OpenSPP's shape ``verify(signature, header, message, key)`` is accepted too and returns
/// True or False (never raises for a bad signature).
#[pyfunction]
#[pyo3(signature = (envelope, keys, message = None, key = None, *, now = None, clock_skew = 60, profile = None, bind_sender = true))]
#[allow(clippy::too_many_arguments)]
pub fn verify<'py>(
    py: Python<'py>,
    envelope: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
    message: Option<&Bound<'py, PyAny>>,
    key: Option<&Bound<'py, PyAny>>,
    now: Option<i64>,
    clock_skew: i64,
    profile: Option<&str>,
    bind_sender: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let opts = VerifyOptions {
        now,
        clock_skew_secs: clock_skew,
        profile: profile.map(self::profile).transpose()?,
    };
    let binding = if bind_sender {
        SenderBinding::KidMatchesHeader
    } else {
        SenderBinding::Off
    };
    if let Some(message) = message {
        // OpenSPP's shape: verify(signature, header, message, key) -> bool.
        let key = key.ok_or_else(|| {
            PyTypeError::new_err("verify(signature, header, message, key): key is required")
        })?;
        let sig: String = envelope.extract().map_err(|_| {
            PyTypeError::new_err("verify(signature, header, message, key): signature is a str")
        })?;
        let env = serde_json::json!({
            "signature": sig,
            "header": conv::to_value(keys, "header")?,
            "message": conv::to_value(message, "message")?,
        });
        let bytes = serde_json::to_vec(&env)
            .map_err(dci::Error::from)
            .py_err()?;
        let keys = Keys::extract(key)?;
        let ok = signature::verify_bytes_with(&bytes, keys.resolver(), &opts, binding).is_ok();
        return Ok(pyo3::types::PyBool::new(py, ok).to_owned().into_any());
    }
    if key.is_some() {
        return Err(PyTypeError::new_err(
            "verify: give (envelope, keys) or (signature, header, message, key)",
        ));
    }
    let bytes = envelope_bytes(envelope)?;
    let keys = Keys::extract(keys)?;
    let v = if bytes.len() >= LARGE {
        py.detach(|| signature::verify_bytes_with(&bytes, keys.resolver(), &opts, binding))
    } else {
        signature::verify_bytes_with(&bytes, keys.resolver(), &opts, binding)
    }
    .py_err()?;
    let d = PyDict::new(py);
    d.set_item("profile", v.profile.name())?;
    d.set_item("algorithm", v.algorithm.dci_name())?;
    d.set_item("kid", v.kid)?;
    d.set_item("created", v.created)?;
    d.set_item("expires", v.expires)?;
    Ok(d.into_any())
}

/// Whether a ``signature`` value is absent in substance (None, empty, or a placeholder such
/// as ``"unsigned-stub"``).
#[pyfunction]
#[pyo3(signature = (signature))]
pub fn is_missing_signature(signature: Option<&str>) -> bool {
    signature::is_missing(signature)
}
