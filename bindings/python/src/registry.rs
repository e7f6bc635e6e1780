//! `dci.Registry`: the registry kit (dci::registry) for Python hosts that serve DCI.
//!
//! The host receives a request, calls `admit(path, body, headers)` and gets an `Admission`:
//! refused (the exact spec body and HTTP status to send) or admitted (the operation, the
//! sender, the typed message as a dict). It then answers with `answer` / `on_search` (sync),
//! or `ack` now and `callback` later (async). Admission runs with the GIL released; a host's
//! `senders` lookup and `replay` callables are called with it held again, and an exception in
//! them is an internal refusal (HTTP 500, the cause kept in `Admission.cause` for the log).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, RwLock};

use dci::encryption::DecryptionKey;
use dci::keys::Jwks;
use dci::model::{ErrorCode, ReasonCode, SearchResponse};
use dci::registry::{
    Admitted, ItemResult, MemorySenders, Mode, Op, Refused, Registry, Rejection, ReplayGuard,
    Request, Response, Sender, SenderDirectory,
};
use dci::signature::Signer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::{json, Map, Value};

use crate::client::refuse_unknown;
use crate::conv;
use crate::errors::{to_pyerr, IntoPy};
use crate::query::PyQuery;
use crate::signature::PySigner;

fn config_err(field: &str, reason: impl Into<String>) -> PyErr {
    to_pyerr(dci::Error::Config {
        field: field.into(),
        reason: reason.into(),
    })
}

/// What a Python exception says, for an internal refusal's cause.
fn describe(py: Python<'_>, e: &PyErr) -> String {
    let name = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    format!("{name}: {}", e.value(py))
}

/// A sender given as a dict (the fields of `dci::registry::Sender`; unknown ones refused).
fn sender_of(v: Value, what: &str) -> Result<Sender, String> {
    serde_json::from_value::<Sender>(v).map_err(|e| format!("{what}: {e}"))
}

fn with_keys(s: Sender) -> (Sender, Option<Jwks>) {
    let jwks = Jwks::from_json(&s.jwks).ok();
    (s, jwks)
}

// ---------------------------------------------------------------------------------------------
// Sender directories and replay guards

/// The in-memory sender list, shared with `add_sender` / `remove_sender`.
#[derive(Clone, Default)]
struct SharedSenders(Arc<RwLock<MemorySenders>>);

impl SenderDirectory for SharedSenders {
    fn lookup(&self, sender_id: &str) -> Result<Option<(Sender, Option<Jwks>)>, String> {
        self.0
            .read()
            .map_err(|_| "sender list poisoned".to_string())?
            .lookup(sender_id)
    }
}

/// The host's `lookup(sender_id) -> dict | None`.
struct PyLookup(Py<PyAny>);

impl SenderDirectory for PyLookup {
    fn lookup(&self, sender_id: &str) -> Result<Option<(Sender, Option<Jwks>)>, String> {
        Python::attach(|py| {
            let got = self
                .0
                .call1(py, (sender_id,))
                .map_err(|e| format!("senders lookup raised {}", describe(py, &e)))?;
            let got = got.bind(py);
            if got.is_none() {
                return Ok(None);
            }
            let v = conv::to_value(got, "senders lookup result").map_err(|e| describe(py, &e))?;
            let s = sender_of(v, "senders lookup result")?;
            if s.sender_id != sender_id {
                return Err(format!(
                    "senders lookup for {sender_id:?} returned sender {:?}",
                    s.sender_id
                ));
            }
            Ok(Some(with_keys(s)))
        })
    }
}

/// The host's `first_time(sender_id, message_id, now_ms, window_ms) -> bool`.
struct PyReplay(Py<PyAny>);

impl ReplayGuard for PyReplay {
    fn first_time(
        &self,
        sender: &str,
        message_id: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, String> {
        Python::attach(|py| {
            let got = self
                .0
                .call1(py, (sender, message_id, now_ms, window_ms))
                .map_err(|e| format!("replay callable raised {}", describe(py, &e)))?;
            got.bind(py)
                .extract::<bool>()
                .map_err(|_| "replay callable must return a bool".to_string())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Operations by name

/// The name of an operation in Python: its path after `/registry/` (`sync/search`, `search`,
/// `txn/status`, `on-search`, ...), unique per endpoint.
fn op_name(op: Op) -> &'static str {
    op.path().trim_start_matches("/registry/")
}

fn mode_name(op: Op) -> &'static str {
    match op.mode() {
        Mode::Sync => "sync",
        Mode::Async => "async",
        Mode::Receive => "receive",
    }
}

/// An operation by its name (`sync/search`) or a request path (`/registry/sync/search`,
/// `/dr/registry/sync/disabled`).
fn op_of(name: &str, default_registry: &str) -> PyResult<Op> {
    if let Some(op) = Op::ALL.into_iter().find(|o| op_name(*o) == name) {
        return Ok(op);
    }
    Op::route(name, default_registry)
        .map(|(op, _)| op)
        .ok_or_else(|| {
            let known: Vec<&str> = Op::ALL.into_iter().map(op_name).collect();
            config_err(
                "operation",
                format!(
                    "unknown operation {name:?} (a request path, or one of {})",
                    known.join(", ")
                ),
            )
        })
}

/// A rejection from a code (`err.*` Ack error codes, `rjct.*` header reason codes).
fn rejection_of(code: &str, message: String, status: Option<u16>) -> PyResult<Rejection> {
    let r = if code.starts_with("rjct.") {
        Rejection::header(ReasonCode::from_wire(code), message)
    } else {
        let c = ErrorCode::from_wire(code);
        if !c.is_known() {
            return Err(config_err(
                "code",
                format!("{code:?} is not a DCI error code (err.request.unauthorized, err.request.forbidden, rjct.*, ...)"),
            ));
        }
        Rejection::new(c, message)
    };
    Ok(match status {
        Some(s) if !(400..=599).contains(&s) => {
            return Err(config_err(
                "status",
                format!("{s} is not an HTTP error status (400-599)"),
            ))
        }
        Some(s) => r.with_status(s),
        None => r,
    })
}

// ---------------------------------------------------------------------------------------------
// Admission

/// The outcome of `Registry.admit`: admitted (``ok``), or refused with the HTTP ``status`` and
/// the exact spec ``body`` to send.
#[pyclass(frozen, module = "dci._dci", name = "Admission")]
pub struct PyAdmission {
    op: Option<Op>,
    registry: Option<&'static str>,
    result: Result<Admitted, Refused>,
}

impl PyAdmission {
    fn admitted(&self) -> Option<&Admitted> {
        self.result.as_ref().ok()
    }
    fn refused(&self) -> Option<&Refused> {
        self.result.as_ref().err()
    }
    fn need(&self, what: &str) -> PyResult<(Op, &Admitted)> {
        match (&self.result, self.op) {
            (Ok(a), Some(op)) => Ok((op, a)),
            _ => Err(config_err(
                "admission",
                format!(
                    "{what}: the request was refused (answer Admission.body with Admission.status)"
                ),
            )),
        }
    }
}

#[pymethods]
impl PyAdmission {
    /// Whether the request was admitted.
    #[getter]
    fn ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The HTTP status of a refusal (None when admitted).
    #[getter]
    fn status(&self) -> Option<u16> {
        self.refused().map(|r| r.status)
    }

    /// The body to send with ``status`` (a dict; None when admitted).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.refused().map(|r| conv::to_py(py, &r.body)).transpose()
    }

    /// ``Retry-After`` seconds of a refusal, when it has one.
    #[getter]
    fn retry_after(&self) -> Option<u64> {
        self.refused().and_then(|r| r.rejection.retry_after)
    }

    /// The refusal's code (``err.sender_id.invalid``, ``rjct.message_id.duplicate``).
    #[getter]
    fn code(&self) -> Option<String> {
        self.refused()
            .map(|r| r.rejection.code.as_str().to_string())
    }

    /// The refusal's message (what the peer is told).
    #[getter]
    fn reason(&self) -> Option<String> {
        self.refused().map(|r| r.rejection.message.clone())
    }

    /// What went wrong inside, for the host's log (internal refusals only; never sent).
    #[getter]
    fn cause(&self) -> Option<String> {
        self.refused()
            .and_then(|r| r.rejection.cause.as_deref().map(str::to_string))
    }

    /// The operation: its path after ``/registry/`` (``sync/search``, ``search``,
    /// ``txn/status``, ``sync/txn/status``, ``subscribe``, ``on-search``, ...); None for an
    /// unknown path.
    #[getter]
    fn operation(&self) -> Option<&'static str> {
        self.op.map(op_name)
    }

    /// ``"sync"`` (answer now), ``"async"`` (ack now, callback later) or ``"receive"`` (a
    /// callback received: ack it).
    #[getter]
    fn mode(&self) -> Option<&'static str> {
        self.op.map(mode_name)
    }

    /// The ``header.action`` the endpoint takes.
    #[getter]
    fn action(&self) -> Option<String> {
        self.op.map(|o| o.action().as_str().to_string())
    }

    /// The registry type of the path (``crvs``, ``social``, ``ibr``, ``dr``, ``fr``).
    #[getter]
    fn registry(&self) -> Option<&'static str> {
        self.registry
    }

    /// The sender (``header.sender_id``), also of a refusal that got that far.
    #[getter]
    fn sender_id(&self) -> Option<String> {
        match &self.result {
            Ok(a) => Some(a.sender.sender_id.clone()),
            Err(r) => r
                .body
                .pointer("/header/receiver_id")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// The registered sender as a dict (its ``fields``, ``callback_uri``, ...).
    #[getter]
    fn sender<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.admitted()
            .map(|a| conv::ser_to_py(py, &a.sender))
            .transpose()
    }

    /// ``header.message_id`` of the request.
    #[getter]
    fn message_id(&self) -> Option<String> {
        self.admitted().map(|a| a.message_id.clone())
    }

    /// The correlation id this registry gave the request (in its ack and answer).
    #[getter]
    fn correlation_id(&self) -> Option<String> {
        self.admitted().map(|a| a.correlation_id.clone())
    }

    /// ``header.sender_uri`` of the request (where an async answer goes).
    #[getter]
    fn sender_uri(&self) -> Option<String> {
        self.admitted().and_then(|a| a.sender_uri.clone())
    }

    /// ``message.transaction_id``.
    #[getter]
    fn transaction_id(&self) -> Option<String> {
        self.admitted()
            .map(|a| a.request.transaction_id().to_string())
    }

    /// The request's message as a dict (decrypted, parsed and written back in the spec's
    /// names: ``reg_event_type`` reads as ``reg_record_type``).
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.admitted()
            .map(|a| conv::to_py(py, &a.request.to_value()))
            .transpose()
    }

    /// Whether the request carried a signature (a sender with an ``optional`` signature
    /// policy may omit it).
    #[getter]
    fn signed(&self) -> Option<bool> {
        self.admitted().map(|a| a.signed)
    }

    /// The spec deviations strict mode found, as ``(path, rule)`` pairs.
    #[getter]
    fn deviations(&self) -> Vec<(String, String)> {
        self.admitted()
            .map(|a| {
                a.deviations
                    .iter()
                    .map(|v| (v.path.clone(), v.rule.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The items of a search request, one dict each: ``reference_id``, ``query_type``,
    /// ``query``, ``reg_type``, ``reg_record_type``, ``sort``, ``pagination``, ``consent``,
    /// ``locale``, and ``parsed``: the query as a ``dci.Query`` to match records with
    /// (``Query.matches``), or None with the reason in ``parse_error`` (answer that item with
    /// ``("rjct.query.invalid", parse_error)``). Empty for other operations.
    #[getter]
    fn search_items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let Some(Request::Search(req)) = self.admitted().map(|a| &a.request) else {
            return Ok(out);
        };
        for it in &req.search_request {
            let c = &it.search_criteria;
            let d = PyDict::new(py);
            d.set_item("reference_id", &it.reference_id)?;
            let qt = c.query_type.as_str().to_string();
            d.set_item("query_type", &qt)?;
            d.set_item("query", conv::to_py(py, &c.query)?)?;
            d.set_item("reg_type", c.reg_type.clone())?;
            d.set_item("reg_record_type", c.reg_record_type.clone())?;
            d.set_item("sort", conv::ser_to_py(py, &c.sort)?)?;
            d.set_item("pagination", conv::ser_to_py(py, &c.pagination)?)?;
            d.set_item("consent", conv::ser_to_py(py, &c.consent)?)?;
            d.set_item("locale", it.locale.clone())?;
            match dci::query::Query::parse_evaluable(&qt, &c.query) {
                Ok(q) => {
                    d.set_item("parsed", Py::new(py, PyQuery { inner: q })?)?;
                    d.set_item("parse_error", py.None())?;
                }
                Err(e) => {
                    d.set_item("parsed", py.None())?;
                    d.set_item("parse_error", e.to_string())?;
                }
            }
            out.append(d)?;
        }
        Ok(out)
    }

    fn __bool__(&self) -> bool {
        self.result.is_ok()
    }

    fn __repr__(&self) -> String {
        match &self.result {
            Ok(a) => format!(
                "Admission(ok, operation={:?}, registry={:?}, sender_id={:?}, transaction_id={:?})",
                self.op.map(op_name).unwrap_or_default(),
                self.registry.unwrap_or_default(),
                a.sender.sender_id,
                a.request.transaction_id()
            ),
            Err(r) => format!(
                "Admission(refused, status={}, code={:?})",
                r.status,
                r.rejection.code.as_str()
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Registry

/// What a host found for one search item, read from Python: a list of record dicts, or an
/// error as ``(reason_code, message)`` or ``{"reason_code"|"code": ..., "message": ...}``.
fn item_result(obj: &Bound<'_, PyAny>, i: usize) -> PyResult<ItemResult> {
    let what = format!("results[{i}]");
    if let Ok(l) = obj.cast::<PyList>() {
        let mut records = Vec::with_capacity(l.len());
        for (j, r) in l.iter().enumerate() {
            records.push(conv::to_value(&r, &format!("{what}[{j}]"))?);
        }
        return Ok(ItemResult::Records(records));
    }
    let (code, message): (String, String) = if let Ok(t) = obj.cast::<PyTuple>() {
        t.extract().map_err(|_| {
            PyTypeError::new_err(format!("{what}: an error is (reason_code, message)"))
        })?
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let code = match d.get_item("reason_code")? {
            Some(c) => c,
            None => d.get_item("code")?.ok_or_else(|| {
                PyTypeError::new_err(format!("{what}: an error dict has reason_code and message"))
            })?,
        };
        let message = d
            .get_item("message")?
            .map(|m| m.extract::<String>())
            .transpose()?
            .unwrap_or_default();
        (code.extract()?, message)
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what}: expected a list of records, (reason_code, message) or an error dict"
        )));
    };
    Ok(ItemResult::Rejected(ReasonCode::from_wire(&code), message))
}

fn item_results(results: &Bound<'_, PyAny>) -> PyResult<Vec<ItemResult>> {
    let l = results
        .cast::<PyList>()
        .map_err(|_| PyTypeError::new_err("results: a list with one entry per search item"))?;
    l.iter()
        .enumerate()
        .map(|(i, r)| item_result(&r, i))
        .collect()
}

/// A Refused raised as a DCIError carrying ``status``, ``code`` and ``body``.
fn refused_err(py: Python<'_>, r: &Refused) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let attrs = PyDict::new(py);
        attrs.set_item("status", r.status)?;
        attrs.set_item("code", r.rejection.code.as_str())?;
        attrs.set_item("body", conv::to_py(py, &r.body)?)?;
        if let Some(c) = &r.rejection.cause {
            attrs.set_item("cause", c.to_string())?;
        }
        let cls = py.import("dci._errors")?.getattr("DCIError")?;
        Ok(PyErr::from_value(
            cls.call((r.rejection.message.clone(),), Some(&attrs))?,
        ))
    };
    build().unwrap_or_else(|e| e)
}

/// A decryption key from ``(kid, pem)``, ``{"kid", "pem"}`` or a PEM str (kid ``server-enc``).
fn decryption_key(obj: &Bound<'_, PyAny>, i: usize) -> PyResult<DecryptionKey> {
    let what = format!("decryption_keys[{i}]");
    let (kid, pem): (String, String) = if let Ok(s) = obj.cast::<PyString>() {
        ("server-enc".into(), s.to_cow()?.into_owned())
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let get = |k: &str| -> PyResult<String> {
            d.get_item(k)?
                .ok_or_else(|| config_err(&what, format!("{k} is required")))?
                .extract()
        };
        (get("kid")?, get("pem")?)
    } else {
        obj.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what}: expected (kid, pem), {{\"kid\", \"pem\"}} or a PEM str"
            ))
        })?
    };
    DecryptionKey::from_pem(&pem, &kid).py_err()
}

/// A DCI registry's admission and answers (the kit ``dci serve`` runs on): the server key and
/// profile, the senders, replay protection, the limits; every answer signed, and encrypted
/// when the sender registered an encryption key. Safe to share between threads.
#[pyclass(frozen, module = "dci._dci", name = "Registry")]
pub struct PyRegistry {
    inner: Registry,
    /// The in-memory senders (None when the host gave a lookup callable).
    memory: Option<SharedSenders>,
    /// The public JWKs of the decryption keys.
    enc_jwks: Vec<Value>,
}

impl PyRegistry {
    fn answer_value(
        &self,
        py: Python<'_>,
        op: Op,
        a: &Admitted,
        message: Response,
    ) -> PyResult<Value> {
        let reg = &self.inner;
        py.detach(|| reg.answer(op, a, message))
            .map_err(|r| refused_err(py, &r))
    }

    fn search_message_of(
        &self,
        a: &PyAdmission,
        results: &Bound<'_, PyAny>,
    ) -> PyResult<SearchResponse> {
        let (_, ad) = a.need("search results")?;
        let results = item_results(results)?;
        let registry = a.registry.unwrap_or("crvs");
        self.inner
            .search_response(ad, registry, results)
            .map_err(|r| config_err("admission", r.message))
    }

    /// The typed response of `message_or_results` for the admitted request: a list of
    /// per-item results for searches, else the response message dict.
    fn response_of(&self, a: &PyAdmission, m: &Bound<'_, PyAny>) -> PyResult<Response> {
        let (op, _) = a.need("answer")?;
        if m.cast::<PyList>().is_ok() {
            return Ok(Response::Search(self.search_message_of(a, m)?));
        }
        let v = conv::to_value(m, "message")?;
        Response::parse(op, v).py_err()
    }
}

#[pymethods]
impl PyRegistry {
    /// A registry answering as ``server_id``, signing with ``key`` (a SigningKey, PEM or a
    /// 32-byte Ed25519 seed) under ``key_id`` in ``profile`` (or a ready ``signer``).
    ///
    /// ``senders``: a list of sender dicts (``sender_id``, ``jwks``, ``allowed_ops``,
    /// ``registries``, ``fields``, ``signature_policy``, ``active``, ``callback_uri``,
    /// ``consent_required``, ``name``, ``jwks_url``) kept in memory, or a callable
    /// ``lookup(sender_id) -> dict | None`` over the host's own table. ``replay``: a callable
    /// ``first_time(sender_id, message_id, now_ms, window_ms) -> bool`` (default: in memory).
    /// ``decryption_keys``: the host's JWE private keys as ``(kid, pem)`` pairs.
    /// Unknown keywords raise ValidationError naming them.
    #[new]
    #[pyo3(signature = (*, key = None, server_id = None, key_id = None, algorithm = None,
        profile = "spdci", digest = "sha256", validity_secs = 300, signer = None, senders = None,
        replay = None, clock_skew_secs = 300, max_search_items = 100, max_page_size = 1000,
        default_registry = "crvs", allow_private_callbacks = false, decryption_keys = None,
        strict = false, **unknown))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        key: Option<&Bound<'_, PyAny>>,
        server_id: Option<&str>,
        key_id: Option<&str>,
        algorithm: Option<&str>,
        profile: &str,
        digest: &str,
        validity_secs: i64,
        signer: Option<&Bound<'_, PySigner>>,
        senders: Option<&Bound<'_, PyAny>>,
        replay: Option<&Bound<'_, PyAny>>,
        clock_skew_secs: i64,
        max_search_items: usize,
        max_page_size: usize,
        default_registry: &str,
        allow_private_callbacks: bool,
        decryption_keys: Option<&Bound<'_, PyAny>>,
        strict: bool,
        unknown: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        refuse_unknown("Registry", unknown)?;
        let signer: Signer = match (signer, key) {
            (Some(_), Some(_)) => return Err(config_err("signer", "give signer or key, not both")),
            (Some(s), None) => s.get().clone_signer()?,
            (None, Some(k)) => {
                let server_id =
                    server_id.ok_or_else(|| config_err("server_id", "required with key"))?;
                let key_id = key_id.ok_or_else(|| config_err("key_id", "required with key"))?;
                let kw = PyDict::new(py);
                kw.set_item("profile", profile)?;
                kw.set_item("digest", digest)?;
                kw.set_item("validity_secs", validity_secs)?;
                let s = py
                    .get_type::<PySigner>()
                    .call((k, server_id, key_id, algorithm), Some(&kw))?;
                s.cast::<PySigner>()?.get().clone_signer()?
            }
            (None, None) => {
                return Err(config_err(
                    "key",
                    "the server's signing key is required (key=, or signer=)",
                ))
            }
        };
        if let Some(id) = server_id {
            if id != signer.sender_id {
                return Err(config_err(
                    "server_id",
                    format!(
                        "{id:?} is not the signer's sender_id {:?}",
                        signer.sender_id
                    ),
                ));
            }
        }
        if !dci::registry::op::REGISTRIES.contains(&default_registry) {
            return Err(config_err(
                "default_registry",
                format!(
                    "{default_registry:?} is not one of {}",
                    dci::registry::op::REGISTRIES.join(", ")
                ),
            ));
        }
        if clock_skew_secs <= 0 || max_search_items == 0 || max_page_size == 0 {
            return Err(config_err(
                "clock_skew_secs",
                "clock_skew_secs, max_search_items and max_page_size must be positive",
            ));
        }
        let mut reg = Registry::new(signer);
        let mut memory = None;
        let mut enc_jwks = Vec::new();
        match senders {
            Some(s) if s.is_callable() => {
                reg = reg.with_senders(Box::new(PyLookup(s.clone().unbind())));
            }
            other => {
                let shared = SharedSenders::default();
                if let Some(list) = other {
                    let list = list.cast::<PyList>().map_err(|_| {
                        PyTypeError::new_err(
                            "senders: a list of sender dicts, or a callable lookup(sender_id)",
                        )
                    })?;
                    let mut m = shared
                        .0
                        .write()
                        .map_err(|_| config_err("senders", "poisoned"))?;
                    for (i, d) in list.iter().enumerate() {
                        let what = format!("senders[{i}]");
                        let v = conv::to_value(&d, &what)?;
                        m.put(sender_of(v, &what).map_err(|e| config_err(&what, e))?);
                    }
                }
                reg = reg.with_senders(Box::new(shared.clone()));
                memory = Some(shared);
            }
        }
        if let Some(r) = replay {
            if !r.is_callable() {
                return Err(PyTypeError::new_err(
                    "replay: a callable first_time(sender_id, message_id, now_ms, window_ms) -> bool",
                ));
            }
            reg = reg.with_replay(Box::new(PyReplay(r.clone().unbind())));
        }
        if let Some(keys) = decryption_keys {
            let list = keys
                .cast::<PyList>()
                .map_err(|_| PyTypeError::new_err("decryption_keys: a list of (kid, pem)"))?;
            let keys = list
                .iter()
                .enumerate()
                .map(|(i, k)| decryption_key(&k, i))
                .collect::<PyResult<Vec<_>>>()?;
            for k in &keys {
                enc_jwks.push(k.public_key().py_err()?.to_jwk());
            }
            reg = reg.with_decryption_keys(keys);
        }
        reg.policy.clock_skew_secs = clock_skew_secs;
        reg.policy.max_search_items = max_search_items;
        reg.policy.strict = strict;
        reg.egress.allow_private = allow_private_callbacks;
        reg.default_registry = default_registry.to_string();
        reg.max_page_size = max_page_size;
        Ok(PyRegistry {
            inner: reg,
            memory,
            enc_jwks,
        })
    }

    /// The id this registry answers as (``header.sender_id`` of its answers).
    #[getter]
    fn server_id(&self) -> &str {
        self.inner.server_id()
    }

    /// The public key that verifies this registry's answers.
    fn verifying_key(&self) -> crate::keys::PyVerifyingKey {
        crate::keys::PyVerifyingKey {
            inner: self.inner.signer().key.verifying_key(),
        }
    }

    /// ``{"keys": [...]}``: the JWKS to publish (``/.well-known/jwks.json``), as ``dci serve``
    /// publishes it: the signing key under its full kid (``{server_id}|{key_id}|{alg}``), then
    /// the public halves of the decryption keys (``use: enc``).
    fn jwks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.signer();
        let mut jwks = Jwks {
            keys: vec![(Some(s.kid()), s.key.verifying_key())],
        }
        .to_json();
        if let Some(list) = jwks.get_mut("keys").and_then(Value::as_array_mut) {
            list.extend(self.enc_jwks.iter().cloned());
        }
        conv::to_py(py, &jwks)
    }

    /// Every path this registry answers, with its operation name (``[(path, operation)]``).
    fn routes(&self) -> Vec<(String, &'static str)> {
        Op::routes(&self.inner.default_registry)
            .into_iter()
            .map(|(p, _, op)| (p, op_name(op)))
            .collect()
    }

    /// Admits a request received on ``path``: ``body`` as received (bytes), ``headers`` the
    /// HTTP headers (a dict or an ``email.message.Message`` such as ``http.server``'s) to check
    /// its ``Content-Type`` (``application/json``, else 415) when given. Never raises for a bad
    /// request: the Admission says why.
    #[pyo3(signature = (path, body, headers = None))]
    fn admit(
        &self,
        py: Python<'_>,
        path: &str,
        body: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyAdmission> {
        let bytes = conv::json_bytes(body)?;
        let route = Op::route(path, &self.inner.default_registry);
        if let (Some(h), Some((op, registry))) = (headers, route) {
            let media = content_type(h)?;
            if media != "application/json" {
                let r = Rejection::bad(format!(
                    "Content-Type must be application/json (got {:?})",
                    media
                ))
                .with_status(415);
                return Ok(PyAdmission {
                    op: Some(op),
                    registry: Some(registry),
                    result: Err(self.inner.refuse(op, r, None, "")),
                });
            }
        }
        let reg = &self.inner;
        let out = py.detach(|| {
            catch_unwind(AssertUnwindSafe(|| reg.admit(path, &bytes))).unwrap_or_else(|p| {
                let why = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                let op = route.map_or(Op::SyncSearch, |(o, _)| o);
                Err(reg.refuse(
                    op,
                    Rejection::internal(format!("admission panicked: {why}")),
                    None,
                    "",
                ))
            })
        });
        Ok(match out {
            Ok((op, registry, a)) => PyAdmission {
                op: Some(op),
                registry: Some(registry),
                result: Ok(a),
            },
            Err(r) => PyAdmission {
                op: route.map(|(o, _)| o),
                registry: route.map(|(_, r)| r),
                result: Err(r),
            },
        })
    }

    /// A refusal the host decides itself (a failed bearer token check, a rate limit, a record
    /// it cannot serve): ``code`` an Ack error code (``err.request.unauthorized``,
    /// ``err.request.forbidden``, ...) or a header reason code (``rjct.*``), ``status`` the HTTP
    /// status (default: the code's). ``to`` is the Admission it answers (its sender and
    /// correlation id go in the header), or an operation name or request path (a path that
    /// is no endpoint gets admit's 404). Returns a refused Admission (``status``, ``body``).
    #[pyo3(signature = (to, code, message, status = None))]
    fn reject(
        &self,
        to: &Bound<'_, PyAny>,
        code: &str,
        message: String,
        status: Option<u16>,
    ) -> PyResult<PyAdmission> {
        let r = rejection_of(code, message, status)?;
        let (op, registry, receiver, correlation) = if let Ok(a) = to.cast::<PyAdmission>() {
            let a = a.get();
            let op = a.op.unwrap_or(Op::SyncSearch);
            match &a.result {
                Ok(ad) => (
                    op,
                    a.registry,
                    Some(ad.sender.sender_id.clone()),
                    ad.correlation_id.clone(),
                ),
                Err(_) => (op, a.registry, None, String::new()),
            }
        } else {
            let name: String = to.extract().map_err(|_| {
                PyTypeError::new_err("reject: to is an Admission, an operation name or a path")
            })?;
            let route = Op::route(&name, &self.inner.default_registry);
            if name.starts_with('/') && route.is_none() {
                // A path that is no endpoint (as received: untrusted) is the 404 admit answers.
                if let Err(r) = self.inner.admit(&name, b"") {
                    return Ok(PyAdmission {
                        op: None,
                        registry: None,
                        result: Err(r),
                    });
                }
            }
            let op = op_of(&name, &self.inner.default_registry)?;
            let registry = route.map(|(_, r)| r);
            (op, registry, None, String::new())
        };
        Ok(PyAdmission {
            op: Some(op),
            registry,
            result: Err(self.inner.refuse(op, r, receiver.as_deref(), &correlation)),
        })
    }

    /// The spec's Ack of an admitted async request (send it with HTTP 200).
    fn ack<'py>(&self, py: Python<'py>, admission: &PyAdmission) -> PyResult<Bound<'py, PyAny>> {
        let (_, a) = admission.need("ack")?;
        conv::to_py(py, &self.inner.ack(a))
    }

    /// The signed answer envelope (HTTP 200) of the admitted request: ``message`` the
    /// operation's response message (a dict: a SearchResponse, TxnStatusResponse,
    /// SubscribeResponse, ...) or, for a search, the list of per-item results
    /// ``on_search`` takes. Encrypted when the sender registered an encryption key.
    /// Raises ValidationError for a message that is not the operation's response, and
    /// DCIError (with ``status`` and ``body`` to send) when the answer cannot be made.
    fn answer<'py>(
        &self,
        py: Python<'py>,
        admission: &PyAdmission,
        message: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (op, a) = admission.need("answer")?;
        let resp = self.response_of(admission, message)?;
        let v = self.answer_value(py, op, a, resp)?;
        conv::to_py(py, &v)
    }

    /// The unsigned SearchResponse message for an admitted search (what ``on_search`` signs;
    /// keep it for txn status): ``results[i]`` answers ``search_request[i]`` with every
    /// matching record (a list of dicts, paged here by the item's pagination and cut to the
    /// sender's ``fields``), or an error ``(reason_code, message)`` /
    /// ``{"reason_code", "message"}``.
    fn search_message<'py>(
        &self,
        py: Python<'py>,
        admission: &PyAdmission,
        results: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.search_message_of(admission, results)?;
        conv::ser_to_py(py, &m)
    }

    /// The signed on-search answer envelope of an admitted search (see ``search_message``
    /// for ``results``).
    fn on_search<'py>(
        &self,
        py: Python<'py>,
        admission: &PyAdmission,
        results: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (op, a) = admission.need("on_search")?;
        let m = self.search_message_of(admission, results)?;
        let v = self.answer_value(py, op, a, Response::Search(m))?;
        conv::to_py(py, &v)
    }

    /// The TxnStatusResponse message of an admitted txn status request: ``found`` the stored
    /// response message of the transaction it asks about (a dict, such as a
    /// ``search_message``), or None when there is none (answered as a rejected item,
    /// ``rjct.reference_id.invalid``, with ``reason``). Pass it to ``answer``.
    #[pyo3(signature = (admission, found, reason = None))]
    fn txn_status_message<'py>(
        &self,
        py: Python<'py>,
        admission: &PyAdmission,
        found: Option<&Bound<'py, PyAny>>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (_, a) = admission.need("txn_status_message")?;
        let Request::TxnStatus(req) = &a.request else {
            return Err(config_err("admission", "not a txn status request"));
        };
        let r = &req.txnstatus_request;
        let txn_status = match found {
            Some(f) if !f.is_none() => conv::to_value(f, "found")?,
            _ => {
                let reason = reason.unwrap_or_else(|| {
                    format!(
                        "no {} transaction with {} {}",
                        r.txn_type, r.attribute_type, r.attribute_value
                    )
                });
                let item = dci::registry::answer::rejected(
                    &r.reference_id,
                    ReasonCode::ReferenceIdInvalid,
                    &reason,
                );
                serde_json::to_value(SearchResponse {
                    transaction_id: r.attribute_value.as_str().unwrap_or_default().to_string(),
                    correlation_id: a.correlation_id.clone(),
                    search_response: vec![item],
                    extra: Map::new(),
                })
                .map_err(dci::Error::from)
                .py_err()?
            }
        };
        let v = json!({
            "transaction_id": req.transaction_id,
            "correlation_id": a.correlation_id,
            "txnstatus_response": {"txn_type": r.txn_type, "txn_status": txn_status},
        });
        conv::to_py(py, &v)
    }

    /// The async answer of an admitted request: ``(url, envelope)`` to POST, the URL built
    /// from the request's ``sender_uri`` (else the sender's registered ``callback_uri``) and
    /// checked as ``dci serve`` checks it (no private addresses unless
    /// ``allow_private_callbacks``; under the registered callback URI). None when neither
    /// gives an address (the result waits for txn status). ``message_or_results`` as
    /// ``answer`` takes it. A refused address raises DCIError with ``code``
    /// ``err.sender_uri.invalid``, ``status`` and ``body``; check first with ``callback_url``.
    fn callback<'py>(
        &self,
        py: Python<'py>,
        admission: &PyAdmission,
        message_or_results: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(String, Bound<'py, PyAny>)>> {
        let (op, a) = admission.need("callback")?;
        let resp = self.response_of(admission, message_or_results)?;
        let reg = &self.inner;
        let cb = py
            .detach(|| reg.callback(op, a, resp))
            .map_err(|r| refused_err(py, &r))?;
        cb.map(|c| Ok((c.url, conv::to_py(py, &c.body)?)))
            .transpose()
    }

    /// Where the async answer of an admitted request would go: a refused Admission
    /// (``err.sender_uri.invalid``, to answer instead of the ack) when its address is not
    /// allowed, else the URL (None: no address).
    fn callback_url<'py>(
        &self,
        py: Python<'py>,
        admission: &PyAdmission,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (op, a) = admission.need("callback_url")?;
        let base = dci::registry::answer::callback_base(
            &self.inner.egress,
            a.sender_uri.as_deref(),
            a.sender.callback_uri.as_deref(),
        );
        Ok(match base {
            Ok(b) => b
                .and_then(|b| {
                    op.callback_path()
                        .map(|p| dci::registry::answer::callback_url(&b, p))
                })
                .into_pyobject(py)?
                .into_any(),
            Err(r) => Bound::new(
                py,
                PyAdmission {
                    op: Some(op),
                    registry: admission.registry,
                    result: Err(self.inner.refuse(
                        op,
                        r,
                        Some(&a.sender.sender_id),
                        &a.correlation_id,
                    )),
                },
            )?
            .into_any(),
        })
    }

    /// The addresses (``"ip:port"``) to connect to for a callback ``url``, resolved now and
    /// each checked by the outbound policy: call it right before POSTing with an HTTP client
    /// of your own, so a name that resolves to a private or metadata address is never
    /// connected to (the kit's own checks see only IP literals). Raises DCIError with ``code``
    /// ``err.sender_uri.invalid`` when none is allowed.
    fn check_destination(&self, py: Python<'_>, url: &str) -> PyResult<Vec<String>> {
        let egress = self.inner.egress;
        match py.detach(|| egress.resolve_checked(url)) {
            Ok(addrs) => Ok(addrs.iter().map(|a| a.to_string()).collect()),
            Err(refused) => {
                let attrs = PyDict::new(py);
                attrs.set_item("code", "err.sender_uri.invalid")?;
                let cls = py.import("dci._errors")?.getattr("DCIError")?;
                Err(PyErr::from_value(cls.call(
                    (format!("callback URL {url:?} is refused: {refused}"),),
                    Some(&attrs),
                )?))
            }
        }
    }

    /// Adds or replaces a sender (a dict, as in ``senders``) in the in-memory list.
    fn add_sender(&self, sender: &Bound<'_, PyAny>) -> PyResult<()> {
        let m = self.memory()?;
        let v = conv::to_value(sender, "sender")?;
        let s = sender_of(v, "sender").map_err(|e| config_err("sender", e))?;
        m.0.write()
            .map_err(|_| config_err("senders", "poisoned"))?
            .put(s);
        Ok(())
    }

    /// Removes a sender from the in-memory list; whether it was there.
    fn remove_sender(&self, sender_id: &str) -> PyResult<bool> {
        let m = self.memory()?;
        let removed =
            m.0.write()
                .map_err(|_| config_err("senders", "poisoned"))?
                .remove(sender_id);
        Ok(removed)
    }

    /// The ids of the in-memory senders.
    fn sender_ids(&self) -> PyResult<Vec<String>> {
        let m = self.memory()?;
        let ids =
            m.0.read()
                .map_err(|_| config_err("senders", "poisoned"))?
                .ids()
                .map(str::to_string)
                .collect();
        Ok(ids)
    }

    fn __repr__(&self) -> String {
        format!(
            "Registry(server_id={:?}, profile={:?}, default_registry={:?})",
            self.inner.server_id(),
            self.inner.signer().profile.name(),
            self.inner.default_registry
        )
    }
}

impl PyRegistry {
    fn memory(&self) -> PyResult<&SharedSenders> {
        self.memory.as_ref().ok_or_else(|| {
            config_err(
                "senders",
                "this registry looks senders up with the host's callable; change them there",
            )
        })
    }
}

/// The media type of the `Content-Type` header, lowercased ("" when absent).
fn content_type(h: &Bound<'_, PyAny>) -> PyResult<String> {
    let raw: Option<String> = if let Ok(d) = h.cast::<PyDict>() {
        let mut found = None;
        for (k, v) in d.iter() {
            let k: String = k.extract()?;
            if k.eq_ignore_ascii_case("content-type") {
                found = Some(v.extract()?);
            }
        }
        found
    } else {
        let v = h.call_method1("get", ("Content-Type",))?;
        if v.is_none() {
            None
        } else {
            Some(v.extract()?)
        }
    };
    Ok(raw
        .as_deref()
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default())
}
