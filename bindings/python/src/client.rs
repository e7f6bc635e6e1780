//! The client: DataSource, DCIClient (OpenSPP's method names and return shapes), callbacks
//! and the embeddable listener (dci::client). Every network call releases the GIL.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dci::client::datasource::{known_flat_names, RECORD_ONLY_NAMES};
use dci::client::{
    AuthConfig, CallOptions, CallbackListener, CallbackResult, DCIClient, DataSource, DataSources,
    Dialect, RegistryType, SearchSpec, SubscribeSpec, TxnStatusQuery,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use serde_json::{json, Map, Value};

use crate::conv;
use crate::errors::{to_pyerr, IntoPy};
use crate::keys::{PySigningKey, PyVerifyingKey};
use crate::query::PyQuery;
use crate::signature::PySigner;
use dci::signature::Signer;

fn config_err(field: &str, reason: impl Into<String>) -> PyErr {
    to_pyerr(dci::Error::Config {
        field: field.into(),
        reason: reason.into(),
    })
}

// ---------------------------------------------------------------------------------------------
// DataSource

/// Keyword arguments (nested or OpenSPP's flat names) -> the core's `DataSource::from_flat`;
/// key objects stand for their PEM.
fn build_data_source(fields: &Bound<'_, PyDict>) -> PyResult<DataSource> {
    let mut m = Map::new();
    for (k, v) in fields.iter() {
        let key: String = k.extract()?;
        let value = if let Ok(sk) = v.cast::<PySigningKey>() {
            Value::String(sk.get().inner.to_pem().py_err()?.to_string())
        } else if let Ok(vk) = v.cast::<PyVerifyingKey>() {
            Value::String(vk.get().inner.to_pem().py_err()?)
        } else {
            conv::to_value(&v, &key)?
        };
        m.insert(key, value);
    }
    DataSource::from_flat(m).py_err()
}

/// Unknown keyword arguments of a constructor: a ValidationError naming them (the core's
/// configuration error, kind ``config``, ``.field`` the first name).
pub fn refuse_unknown(what: &str, unknown: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    let Some(u) = unknown else { return Ok(()) };
    let names: Vec<String> = u
        .keys()
        .iter()
        .map(|k| k.extract::<String>())
        .collect::<PyResult<_>>()?;
    match names.first() {
        None => Ok(()),
        Some(first) => Err(config_err(
            first,
            format!(
                "unknown keyword argument(s) of {what}: {}",
                names.join(", ")
            ),
        )),
    }
}

/// Whether an Odoo-like value stands for "empty": None, False, or an empty recordset (falsy
/// and not a number or str).
fn odoo_empty(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    if v.is_none() {
        return Ok(true);
    }
    if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        return Ok(!b.is_true());
    }
    if v.cast::<PyString>().is_ok() || v.cast::<pyo3::types::PyInt>().is_ok() {
        return Ok(false);
    }
    Ok(!v.is_truthy()?)
}

/// A record shaped like OpenSPP's ``spp.dci.data.source`` (an Odoo record or any object with
/// its flat fields as attributes) -> the flat dict the core reads. ``signing_key_id`` may be a
/// ``spp.dci.signing.key`` record (``private_key``, ``key_id``, ``state``).
fn record_fields<'py>(rec: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = rec.py();
    let out = PyDict::new(py);
    for name in known_flat_names() {
        if RECORD_ONLY_NAMES.contains(&name) {
            continue;
        }
        let Ok(v) = rec.getattr(name) else { continue };
        if v.is_callable() {
            continue;
        }
        if name == "signing_key_id" && v.cast::<PyString>().is_err() {
            if odoo_empty(&v)? {
                continue;
            }
            if let Ok(state) = v.getattr("state") {
                let state: Option<String> = state.extract().ok();
                if state.as_deref().is_some_and(|s| s != "active") {
                    return Err(config_err(
                        "signing_key_id",
                        format!("the signing key is not active (state {state:?})"),
                    ));
                }
            }
            for (attr, field) in [("private_key", "signing_key"), ("key_id", "signing_key_id")] {
                let x = v.getattr(attr).map_err(|_| {
                    config_err(
                        "signing_key_id",
                        format!("the signing key record has no {attr}"),
                    )
                })?;
                if !odoo_empty(&x)? {
                    out.set_item(field, x)?;
                }
            }
            continue;
        }
        if odoo_empty(&v)? && name != "verify_ssl" && name != "verify_tls" {
            continue;
        }
        out.set_item(name, v)?;
    }
    Ok(out)
}

/// What ``test_connection`` found last (OpenSPP's ``state``, ``last_error``,
/// ``last_test_date``).
#[derive(Debug, Clone)]
pub struct Status {
    state: &'static str,
    last_error: Option<String>,
    last_test_date: Option<String>,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            state: "draft",
            last_error: None,
            last_test_date: None,
        }
    }
}

/// Records the outcome of a connection test on the shared status.
fn record_test<T>(status: &Mutex<Status>, r: &dci::Result<T>) {
    if let Ok(mut s) = status.lock() {
        match r {
            Ok(_) => {
                s.state = "active";
                s.last_error = None;
                s.last_test_date = Some(chrono_now());
            }
            Err(e) => {
                s.state = "error";
                s.last_error = Some(e.to_string());
            }
        }
    }
}

fn chrono_now() -> String {
    dci::model::now_rfc3339()
}

/// One external DCI registry: where it is, who we are to it (``our_sender_id``), how we
/// authenticate (``auth``), sign (``signing``) and verify (``registry_key``), its endpoints and
/// dialect. Validated when built; errors name the field (``ValidationError.field``).
///
/// Keyword arguments are the configuration's fields (``name``, ``code``, ``registry_type``,
/// ``receiver_id``, ``our_callback_uri``, ``auth``, ``signing``, ``registry_key``,
/// ``endpoints``, ``verify_tls``, ``timeout_secs``, ``dialect``, ``max_retries``, ``locale``),
/// or the flat names of OpenSPP's ``spp.dci.data.source`` (``auth_type``, ``bearer_token``,
/// ``oauth2_client_id``, ``oauth2_client_secret``, ``oauth2_token_url``, ``signing_key``
/// (a SigningKey or PEM), ``signing_key_id``, ``registry_public_key``, ``registry_jwks_url``,
/// ``search_endpoint``, ``subscribe_endpoint``, ``timeout``, ``verify_ssl``, ...).
#[pyclass(frozen, module = "dci._dci", name = "DataSource")]
#[derive(Clone)]
pub struct PyDataSource {
    pub inner: DataSource,
    /// Shared with the clients built from this object, so their connection tests update it.
    pub status: Arc<Mutex<Status>>,
}

impl PyDataSource {
    pub fn of(inner: DataSource) -> Self {
        PyDataSource {
            inner,
            status: Arc::default(),
        }
    }

    /// A DataSource the core read from a file or text.
    fn read(ds: dci::Result<DataSource>) -> PyResult<Self> {
        Ok(Self::of(ds.py_err()?))
    }

    fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// A DataSource from a DataSource, a dict of its fields, or an OpenSPP-like record.
    pub fn coerce(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(d) = obj.cast::<PyDataSource>() {
            return Ok(d.get().clone());
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return Ok(Self::of(build_data_source(d)?));
        }
        if obj.hasattr("base_url")? {
            return Ok(Self::of(build_data_source(&record_fields(obj)?)?));
        }
        Err(PyTypeError::new_err(
            "data_source: expected a DataSource, a DCIClient, a dict of DataSource fields or a \
             record with spp.dci.data.source's fields",
        ))
    }
}

pymethods_with_fields! {
    #[pymethods]
    impl PyDataSource {
        fields {
            /// The display name.
            name: String,
            /// The lookup code (``crvs_main``, ``ibr_main``, ``dr_main``).
            code: String,
            /// The registry's API root URL.
            base_url: String,
            /// Our ``sender_id``: the registry identifies us by it.
            our_sender_id: String,
            /// The registry's id, sent as ``header.receiver_id``.
            receiver_id: Option<String>,
            /// Where the registry sends callbacks (``header.sender_uri``).
            our_callback_uri: Option<String>,
            /// Per-request timeout in seconds.
            timeout_secs: f64,
        }

        #[new]
        #[pyo3(signature = (base_url = None, our_sender_id = None, **fields))]
        fn new(
            py: Python<'_>,
            base_url: Option<&str>,
            our_sender_id: Option<&str>,
            fields: Option<&Bound<'_, PyDict>>,
        ) -> PyResult<Self> {
            let all = match fields {
                Some(f) => f.copy()?,
                None => PyDict::new(py),
            };
            if let Some(b) = base_url {
                all.set_item("base_url", b)?;
            }
            if let Some(s) = our_sender_id {
                all.set_item("our_sender_id", s)?;
            }
            Ok(Self::of(build_data_source(&all)?))
        }

        /// From a dict of the same fields as the keyword arguments.
        #[staticmethod]
        fn from_dict(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<Self> {
            let _ = py;
            Ok(Self::of(build_data_source(config)?))
        }

        /// From an object with the fields of OpenSPP's ``spp.dci.data.source`` as attributes
        /// (an Odoo record): empty fields (``False``) are unset, ``signing_key_id`` may be an
        /// ``spp.dci.signing.key`` record (its ``private_key`` and ``key_id`` are read).
        #[staticmethod]
        fn from_record(record: &Bound<'_, PyAny>) -> PyResult<Self> {
            Ok(Self::of(build_data_source(&record_fields(record)?)?))
        }

        /// From a ``.toml`` or ``.json`` file (by extension).
        #[staticmethod]
        fn from_file(path: &str) -> PyResult<Self> {
            Self::read(DataSource::from_file(path))
        }

        /// From JSON text.
        #[staticmethod]
        fn from_json(text: &str) -> PyResult<Self> {
            Self::read(DataSource::from_json_str(text))
        }

        /// From TOML text.
        #[staticmethod]
        fn from_toml(text: &str) -> PyResult<Self> {
            Self::read(DataSource::from_toml_str(text))
        }

        /// The configuration as a dict (nested form). Secrets (tokens, client secrets, private
        /// keys) read ``"***"`` unless ``include_secrets``.
        #[pyo3(signature = (include_secrets = false))]
        fn to_dict<'py>(&self, py: Python<'py>, include_secrets: bool) -> PyResult<Bound<'py, PyAny>> {
            if include_secrets {
                conv::ser_to_py(py, &self.inner)
            } else {
                conv::ser_to_py(py, &self.inner.redacted())
            }
        }

        /// A copy with some fields changed (same names as the constructor's).
        #[pyo3(signature = (**fields))]
        fn replace(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            let base =
                serde_json::to_value(&self.inner).map_err(|e| config_err("json", e.to_string()))?;
            let all = conv::to_py(py, &base)?.cast_into::<PyDict>()?;
            if let Some(f) = fields {
                all.update(f.as_mapping())?;
            }
            Ok(Self::of(build_data_source(&all)?))
        }

        /// Exercises the configured auth and a trivial request (see ``DCIClient.test_connection``);
        /// sets ``state`` (``"active"`` or ``"error"``) and ``last_error``, then returns the
        /// report or raises.
        fn test_connection<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let ds = self.inner.clone();
            let r = py.detach(move || DCIClient::new(ds).and_then(|c| c.test_connection()));
            record_test(&self.status, &r);
            conv::ser_to_py(py, &r.py_err()?)
        }

        /// ``crvs``, ``social``, ``ibr``, ``dr`` or ``fr``.
        #[getter]
        fn registry_type(&self) -> &'static str {
            self.inner.registry_type.name()
        }

        /// The spec's ``reg_type`` for the registry type (``ns:org:RegistryType:Civil``, ...).
        #[getter]
        fn reg_type(&self) -> &'static str {
            self.inner.registry_type.reg_type()
        }

        /// ``"none"``, ``"bearer"``, ``"basic"`` or ``"oauth2"``.
        #[getter]
        fn auth_type(&self) -> &'static str {
            match self.inner.auth {
                AuthConfig::None => "none",
                AuthConfig::Bearer { .. } => "bearer",
                AuthConfig::Basic { .. } => "basic",
                AuthConfig::OAuth2 { .. } => "oauth2",
            }
        }

        /// The OAuth2 client id (None unless ``auth_type`` is ``"oauth2"``).
        #[getter]
        fn oauth2_client_id(&self) -> Option<String> {
            match &self.inner.auth {
                AuthConfig::OAuth2 { client_id, .. } => Some(client_id.clone()),
                _ => None,
            }
        }

        /// The OAuth2 token URL as requested (``oauth2_token_url``, else ``base_url`` +
        /// ``auth_endpoint``); None unless OAuth2.
        #[getter]
        fn oauth2_token_url(&self) -> Option<String> {
            match &self.inner.auth {
                AuthConfig::OAuth2 { token_url, .. } => Some(
                    self.inner
                        .url(token_url.as_deref().unwrap_or(&self.inner.endpoints.token)),
                ),
                _ => None,
            }
        }

        /// The OAuth2 scope, if any.
        #[getter]
        fn oauth2_scope(&self) -> Option<String> {
            match &self.inner.auth {
                AuthConfig::OAuth2 { scope, .. } => scope.clone(),
                _ => None,
            }
        }

        /// ``"body"`` (RFC 6749) or ``"query"`` (OpenCRVS): where the token request sends
        /// the credentials (unset: the dialect decides, ``query`` for opencrvs).
        #[getter]
        fn oauth2_credential_location(&self) -> &'static str {
            use dci::client::CredentialLocation::*;
            match self.inner.oauth2_credential_location {
                Some(Query) => "query",
                Some(Body) => "body",
                None if self.inner.dialect.token_credentials_in_query() => "query",
                None => "body",
            }
        }

        /// The key id of our signing key (None when requests go unsigned).
        #[getter]
        fn signing_key_id(&self) -> Option<String> {
            self.inner.signing.as_ref().map(|s| s.key_id.clone())
        }

        /// Whether TLS certificates are verified (``verify_tls``).
        #[getter]
        fn verify_ssl(&self) -> bool {
            self.inner.verify_tls
        }

        /// Whether TLS certificates are verified.
        #[getter]
        fn verify_tls(&self) -> bool {
            self.inner.verify_tls
        }

        /// Per-request timeout in seconds (``timeout_secs``).
        #[getter]
        fn timeout(&self) -> f64 {
            self.inner.timeout_secs
        }

        /// The dialect (``spdci``, ``opencrvs``, ``openg2p``, ``openspp2``).
        #[getter]
        fn dialect(&self) -> &'static str {
            self.inner.dialect.name()
        }

        /// The sync search path (``/registry/sync/search``).
        #[getter]
        fn search_endpoint(&self) -> String {
            self.inner.endpoints.sync_search.clone()
        }

        /// The async search path (``/registry/search``).
        #[getter]
        fn async_search_endpoint(&self) -> String {
            self.inner.endpoints.search.clone()
        }

        /// The subscribe path (``/registry/subscribe``).
        #[getter]
        fn subscribe_endpoint(&self) -> String {
            self.inner.endpoints.subscribe.clone()
        }

        /// The unsubscribe path (``/registry/unsubscribe``).
        #[getter]
        fn unsubscribe_endpoint(&self) -> String {
            self.inner.endpoints.unsubscribe.clone()
        }

        /// The sync transaction-status path (``/registry/sync/txn/status``).
        #[getter]
        fn txn_status_endpoint(&self) -> String {
            self.inner.endpoints.sync_txn_status.clone()
        }

        /// The OAuth2 token path (``/oauth2/client/token``).
        #[getter]
        fn auth_endpoint(&self) -> String {
            self.inner.endpoints.token.clone()
        }

        /// Every endpoint path, by name (``sync_search``, ``search``, ``subscribe``, ...).
        #[getter]
        fn endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::ser_to_py(py, &self.inner.endpoints)
        }

        /// ``"draft"`` until a connection test, then ``"active"`` or ``"error"``.
        #[getter]
        fn state(&self) -> &'static str {
            self.status().state
        }

        /// The error of the last failed connection test (None after a successful one).
        #[getter]
        fn last_error(&self) -> Option<String> {
            self.status().last_error
        }

        /// When the last successful connection test ran (RFC 3339, UTC).
        #[getter]
        fn last_test_date(&self) -> Option<String> {
            self.status().last_test_date
        }

        fn __repr__(&self) -> String {
            format!(
                "DataSource(code={:?}, base_url={:?}, our_sender_id={:?})",
                self.inner.code, self.inner.base_url, self.inner.our_sender_id
            )
        }
}
}

/// Several data sources, looked up by ``code`` or registry type (OpenSPP's
/// ``get_by_code`` / ``get_by_registry_type`` of ``spp.dci.data.source``). Also usable as the
/// ``env["spp.dci.data.source"]`` model of a duck-typed env for the services
/// (``{"spp.dci.data.source": sources}``).
#[pyclass(frozen, module = "dci._dci", name = "DataSources")]
pub struct PyDataSources {
    sources: Vec<PyDataSource>,
}

impl PyDataSources {
    fn of(all: DataSources) -> Self {
        PyDataSources {
            sources: all.sources.into_iter().map(PyDataSource::of).collect(),
        }
    }
}

#[pymethods]
impl PyDataSources {
    /// ``sources``: DataSources (or dicts of their fields); codes must be unique.
    #[new]
    #[pyo3(signature = (sources = None))]
    fn new(sources: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut out: Vec<PyDataSource> = Vec::new();
        if let Some(list) = sources {
            for item in list.try_iter()? {
                out.push(PyDataSource::coerce(&item?)?);
            }
        }
        // The core's checks (unique codes, every source valid), errors naming the entry.
        let all = DataSources {
            sources: out.iter().map(|d| d.inner.clone()).collect(),
        };
        let text = serde_json::to_string(&all).map_err(|e| config_err("json", e.to_string()))?;
        DataSources::from_json_str(&text).py_err()?;
        Ok(PyDataSources { sources: out })
    }

    /// From a ``.toml`` (``[[data_source]]`` tables) or ``.json`` (``{"data_source": [...]}``)
    /// file.
    #[staticmethod]
    fn from_file(path: &str) -> PyResult<Self> {
        Ok(Self::of(DataSources::from_file(path).py_err()?))
    }

    /// The source with this code; ValidationError (``.field`` ``code``) when there is none.
    fn get_by_code(&self, code: &str) -> PyResult<PyDataSource> {
        self.sources
            .iter()
            .find(|d| d.inner.code == code)
            .cloned()
            .ok_or_else(|| config_err("code", format!("no data source with code {code:?}")))
    }

    /// Every source of a registry type (any spelling ``registry_type`` takes:
    /// ``"crvs"``, ``"ns:org:RegistryType:Civil"``, ``"CRVS"``, ...); empty when none.
    fn get_by_registry_type(&self, registry_type: &str) -> PyResult<Vec<PyDataSource>> {
        let t = RegistryType::parse(registry_type).py_err()?;
        Ok(self
            .sources
            .iter()
            .filter(|d| d.inner.registry_type == t)
            .cloned()
            .collect())
    }

    /// Every code, in order.
    fn codes(&self) -> Vec<String> {
        self.sources.iter().map(|d| d.inner.code.clone()).collect()
    }

    fn __len__(&self) -> usize {
        self.sources.len()
    }

    fn __getitem__(&self, code: &str) -> PyResult<PyDataSource> {
        self.get_by_code(code)
    }

    fn __repr__(&self) -> String {
        format!("DataSources(codes={:?})", self.codes())
    }
}

// ---------------------------------------------------------------------------------------------
// DCIClient

/// The query of a search call: a Query object, or a query type with its wire value. For
/// ``idtype-value``, OpenSPP's ``"TYPE:VALUE"`` string form is accepted too.
fn query_of(
    query_type: &Bound<'_, PyAny>,
    query_value: Option<&Bound<'_, PyAny>>,
) -> PyResult<(String, Value)> {
    if let Ok(q) = query_type.cast::<PyQuery>() {
        let (qt, v) = q.get().inner.to_wire();
        return Ok((qt.to_string(), v));
    }
    let qt: String = query_type
        .extract()
        .map_err(|_| PyTypeError::new_err("query_type: expected a str or a Query"))?;
    let Some(value) = query_value else {
        return Err(to_pyerr(dci::Error::Validation(vec![dci::Violation::new(
            "query_value",
            "required with a query type",
        )])));
    };
    if let Ok(s) = value.cast::<PyString>() {
        let s = s.to_cow()?;
        let is_id = qt
            .rsplit(':')
            .next()
            .is_some_and(|t| t.eq_ignore_ascii_case("idtype-value"));
        if is_id {
            let (t, v) = s.split_once(':').ok_or_else(|| {
                to_pyerr(dci::Error::Validation(vec![dci::Violation::new(
                    "query_value",
                    format!(
                        "for idtype-value, \"TYPE:VALUE\" or {{\"type\", \"value\"}}, got {s:?}"
                    ),
                )]))
            })?;
            return Ok((qt, json!({"type": t.trim(), "value": v.trim()})));
        }
    }
    Ok((qt, conv::to_value(value, "query_value")?))
}

#[derive(Default)]
struct SearchOptions<'a, 'py> {
    record_type: Option<String>,
    page: u32,
    page_size: u32,
    registry_type: Option<String>,
    registry_event_type: Option<String>,
    sort: Option<&'a Bound<'py, PyAny>>,
    consent: Option<&'a Bound<'py, PyAny>>,
    authorize: Option<&'a Bound<'py, PyAny>>,
    locale: Option<String>,
}

/// The query part of a spec built by a `SearchSpec` shortcut.
fn wire(s: SearchSpec) -> (String, Value) {
    (s.query_type, s.query)
}

impl SearchOptions<'_, '_> {
    /// The core's one `SearchSpec`, deserialised from the keyword arguments under its field
    /// names as the C ABI deserialises `search_json`: the same call sends the same bytes.
    fn spec(self, (query_type, query): (String, Value)) -> PyResult<SearchSpec> {
        let mut m = Map::new();
        m.insert("query_type".into(), Value::String(query_type));
        m.insert("query".into(), query);
        m.insert("page_number".into(), self.page.into());
        m.insert("page_size".into(), self.page_size.into());
        for (k, v) in [
            ("reg_record_type", self.record_type),
            ("reg_type", self.registry_type),
            ("reg_event_type", self.registry_event_type),
            ("locale", self.locale),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v));
            }
        }
        for (k, v) in [
            ("sort", self.sort),
            ("consent", self.consent),
            ("authorize", self.authorize),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), conv::to_value(v, k)?);
            }
        }
        serde_json::from_value(Value::Object(m))
            .map_err(|e| dci::Error::Json(format!("search: {e}")))
            .py_err()
    }
}

/// A client for one external DCI registry, with the method names of OpenSPP's ``DCIClient``.
///
/// Every call builds the envelope, signs it when a signing key is configured, gets (and
/// caches) the OAuth2 token, sends it with the GIL released, checks the HTTP status, the ack
/// and every item's status, and verifies the response signature when a registry key is
/// configured. Sync searches return the response envelope as a dict; async calls return the
/// ack as a dict with the ``transaction_id`` to wait for. Safe to share between threads.
#[pyclass(frozen, module = "dci._dci", name = "DCIClient")]
pub struct PyDCIClient {
    pub inner: DCIClient,
    /// The status of the DataSource this client was built from (``test_connection`` sets it).
    pub status: Arc<Mutex<Status>>,
}

impl PyDCIClient {
    pub fn of(inner: DCIClient) -> Self {
        PyDCIClient {
            inner,
            status: Arc::default(),
        }
    }
}

impl PyDCIClient {
    fn sync<'py>(
        &self,
        py: Python<'py>,
        spec: SearchSpec,
        async_mode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.send(py, spec, async_mode, CallOptions::default())
    }

    fn send<'py>(
        &self,
        py: Python<'py>,
        spec: SearchSpec,
        async_mode: bool,
        opts: CallOptions,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = &self.inner;
        if async_mode {
            conv::released(py, || c.search_async_with(&spec, &opts))
        } else {
            let r = py.detach(|| c.search_sync_with(&spec, &opts)).py_err()?;
            conv::to_py(py, &r.raw)
        }
    }
}

/// A DataSource, a DCIClient, a dict of DataSource fields, or an OpenSPP-like data-source
/// record; with the status the client shares with the DataSource it came from.
pub fn client_from(obj: &Bound<'_, PyAny>, signer: Option<Signer>) -> PyResult<PyDCIClient> {
    if let Ok(c) = obj.cast::<PyDCIClient>() {
        let c = c.get();
        return Ok(PyDCIClient {
            inner: c.inner.clone(),
            status: c.status.clone(),
        });
    }
    let ds = PyDataSource::coerce(obj)?;
    let inner = match signer {
        Some(s) => DCIClient::with_signer(ds.inner, s).py_err()?,
        None => DCIClient::new(ds.inner).py_err()?,
    };
    Ok(PyDCIClient {
        inner,
        status: ds.status,
    })
}

#[pymethods]
impl PyDCIClient {
    /// ``data_source``: a DataSource (or a dict of its fields). ``env`` is accepted for
    /// OpenSPP's ``DCIClient(data_source, env)`` call shape and not used. ``signer``: a
    /// Signer to use instead of the data source's ``signing`` section (its key is copied).
    /// Raises ValidationError naming the field when ``base_url`` or ``our_sender_id`` is
    /// missing or malformed.
    #[new]
    #[pyo3(signature = (data_source, env = None, *, signer = None, **unknown))]
    fn new(
        data_source: &Bound<'_, PyAny>,
        env: Option<&Bound<'_, PyAny>>,
        signer: Option<&Bound<'_, PySigner>>,
        unknown: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let _ = env;
        refuse_unknown("DCIClient", unknown)?;
        let signer = signer.map(|s| s.get().clone_signer()).transpose()?;
        client_from(data_source, signer)
    }

    /// The data source this client was built from (its ``state`` is shared).
    #[getter]
    fn data_source(&self) -> PyDataSource {
        PyDataSource {
            inner: self.inner.data_source().clone(),
            status: self.status.clone(),
        }
    }

    /// Sync search (``/registry/sync/search``); returns the response envelope.
    /// ``query_type``: a Query, or ``"idtype-value"``/``"predicate"``/``"expression"`` with
    /// ``query_value`` (the wire query; ``"TYPE:VALUE"`` for idtype-value).
    #[pyo3(signature = (query_type, query_value = None, record_type = None, page = 1, page_size = 10,
        registry_type = None, registry_event_type = None, *, sort = None, consent = None,
        authorize = None, locale = None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        query_type: &Bound<'py, PyAny>,
        query_value: Option<&Bound<'py, PyAny>>,
        record_type: Option<String>,
        page: u32,
        page_size: u32,
        registry_type: Option<String>,
        registry_event_type: Option<String>,
        sort: Option<&Bound<'py, PyAny>>,
        consent: Option<&Bound<'py, PyAny>>,
        authorize: Option<&Bound<'py, PyAny>>,
        locale: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (qt, q) = query_of(query_type, query_value)?;
        let spec = SearchOptions {
            record_type,
            page,
            page_size,
            registry_type,
            registry_event_type,
            sort,
            consent,
            authorize,
            locale,
        }
        .spec((qt, q))?;
        self.sync(py, spec, false)
    }

    /// Async search (``/registry/search``): ``callback_url`` replaces ``our_callback_uri`` for
    /// this request. Returns once the registry acknowledges, with
    /// ``{"ack_status", "correlation_id", "timestamp", "transaction_id", "message_id",
    /// "reference_ids", "raw"}``. The result arrives at ``our_callback_uri`` + ``/on-search``
    /// (see ``handle_callback``, ``CallbackListener`` and ``wait_for``).
    #[pyo3(signature = (query_type, query_value = None, record_type = None, page = 1, page_size = 10,
        registry_type = None, registry_event_type = None, callback_url = None, *, sort = None,
        consent = None, authorize = None, locale = None))]
    #[allow(clippy::too_many_arguments)]
    fn search_async<'py>(
        &self,
        py: Python<'py>,
        query_type: &Bound<'py, PyAny>,
        query_value: Option<&Bound<'py, PyAny>>,
        record_type: Option<String>,
        page: u32,
        page_size: u32,
        registry_type: Option<String>,
        registry_event_type: Option<String>,
        callback_url: Option<String>,
        sort: Option<&Bound<'py, PyAny>>,
        consent: Option<&Bound<'py, PyAny>>,
        authorize: Option<&Bound<'py, PyAny>>,
        locale: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (qt, q) = query_of(query_type, query_value)?;
        let spec = SearchOptions {
            record_type,
            page,
            page_size,
            registry_type,
            registry_event_type,
            sort,
            consent,
            authorize,
            locale,
        }
        .spec((qt, q))?;
        let opts = CallOptions {
            callback_uri: callback_url,
            ..Default::default()
        };
        self.send(py, spec, true, opts)
    }

    /// Identifier lookup (``idtype-value``); the response envelope, or the ack with
    /// ``async_mode=True``.
    #[pyo3(signature = (identifier_type, identifier_value, record_type = None, page = 1, page_size = 10, async_mode = false))]
    #[allow(clippy::too_many_arguments)]
    fn search_by_id<'py>(
        &self,
        py: Python<'py>,
        identifier_type: &str,
        identifier_value: &str,
        record_type: Option<String>,
        page: u32,
        page_size: u32,
        async_mode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let spec = SearchOptions {
            record_type,
            page,
            page_size,
            ..Default::default()
        }
        .spec(wire(SearchSpec::by_id(identifier_type, identifier_value)))?;
        self.sync(py, spec, async_mode)
    }

    /// The identifier lookup under the name OpenSPP's documentation gives it: the same search
    /// as ``search_by_id``, in the data source's dialect (an ``opencrvs`` data source gets
    /// OpenCRVS's envelope).
    #[pyo3(signature = (identifier_type, identifier_value, record_type = None, page = 1, page_size = 10, async_mode = false))]
    #[allow(clippy::too_many_arguments)]
    fn search_by_identifier<'py>(
        &self,
        py: Python<'py>,
        identifier_type: &str,
        identifier_value: &str,
        record_type: Option<String>,
        page: u32,
        page_size: u32,
        async_mode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.search_by_id(
            py,
            identifier_type,
            identifier_value,
            record_type,
            page,
            page_size,
            async_mode,
        )
    }

    /// Predicate search: ``predicate`` is the wire list of
    /// ``{seq_num, expression1, condition, expression2}`` items (Predicate objects work too).
    #[pyo3(signature = (predicate, record_type = None, page = 1, page_size = 10, async_mode = false))]
    fn search_by_predicate<'py>(
        &self,
        py: Python<'py>,
        predicate: &Bound<'py, PyAny>,
        record_type: Option<String>,
        page: u32,
        page_size: u32,
        async_mode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = match predicate.cast::<PyQuery>() {
            Ok(q) => q.get().inner.to_wire().1,
            Err(_) => conv::to_value(predicate, "predicate")?,
        };
        let spec = SearchOptions {
            record_type,
            page,
            page_size,
            ..Default::default()
        }
        .spec(wire(SearchSpec::predicate(q)))?;
        self.sync(py, spec, async_mode)
    }

    /// Expression search: ``expression`` as sent (an expression object, or a predicate list as
    /// OpenSPP sends it; a Query works too), or ``conditions=[{"attribute", "operator",
    /// "value"}]`` (OpenSPP's overview form; all must hold), sent as a spec predicate query.
    #[pyo3(signature = (expression = None, record_type = None, page = 1, page_size = 10, registry_type = None,
        registry_event_type = None, async_mode = false, *, conditions = None))]
    #[allow(clippy::too_many_arguments)]
    fn search_by_expression<'py>(
        &self,
        py: Python<'py>,
        expression: Option<&Bound<'py, PyAny>>,
        record_type: Option<String>,
        page: u32,
        page_size: u32,
        registry_type: Option<String>,
        registry_event_type: Option<String>,
        async_mode: bool,
        conditions: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let built = match (expression, conditions) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(config_err(
                    "conditions",
                    "give either an expression or conditions=[{attribute, operator, value}]",
                ))
            }
            (None, Some(c)) => {
                let list = match conv::to_value(c, "conditions")? {
                    Value::Array(a) => a,
                    _ => {
                        return Err(config_err(
                            "conditions",
                            "a list of {attribute, operator, value}",
                        ))
                    }
                };
                Some(SearchSpec::conditions(&list).py_err()?)
            }
            (Some(_), None) => None,
        };
        if let Some(spec) = built {
            let spec = SearchOptions {
                record_type,
                page,
                page_size,
                registry_type,
                registry_event_type,
                ..Default::default()
            }
            .spec(wire(spec))?;
            return self.sync(py, spec, async_mode);
        }
        let expression = expression.ok_or_else(|| config_err("expression", "required"))?;
        let q = match expression.cast::<PyQuery>() {
            Ok(q) => q.get().inner.to_wire().1,
            Err(_) => conv::to_value(expression, "expression")?,
        };
        let spec = SearchOptions {
            record_type,
            page,
            page_size,
            registry_type,
            registry_event_type,
            ..Default::default()
        }
        .spec(wire(SearchSpec::expression(q)))?;
        self.sync(py, spec, async_mode)
    }

    /// ``attribute_name`` between ``start_date`` and ``end_date`` inclusive (a spec predicate;
    /// registries with their own range syntax get it through the data source's ``dialect``;
    /// ``use_opencrvs_format=True`` sends this request in the ``opencrvs`` dialect).
    #[pyo3(signature = (start_date, end_date, attribute_name = "dateOfEvent", event_type = None,
        record_type = None, page = 1, page_size = 10, async_mode = false, use_opencrvs_format = false))]
    #[allow(clippy::too_many_arguments)]
    fn search_by_date_range<'py>(
        &self,
        py: Python<'py>,
        start_date: &str,
        end_date: &str,
        attribute_name: &str,
        event_type: Option<String>,
        record_type: Option<String>,
        page: u32,
        page_size: u32,
        async_mode: bool,
        use_opencrvs_format: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let spec = SearchOptions {
            record_type,
            page,
            page_size,
            registry_event_type: event_type,
            ..Default::default()
        }
        .spec(wire(SearchSpec::date_range(
            attribute_name,
            start_date,
            end_date,
        )))?;
        let opts = CallOptions {
            dialect: use_opencrvs_format.then_some(Dialect::Opencrvs),
            ..Default::default()
        };
        self.send(py, spec, async_mode, opts)
    }

    /// Every record of every page of a sync search (pages of ``page_size``).
    #[pyo3(signature = (query_type, query_value = None, record_type = None, page_size = 100, registry_type = None, registry_event_type = None))]
    #[allow(clippy::too_many_arguments)]
    fn search_all<'py>(
        &self,
        py: Python<'py>,
        query_type: &Bound<'py, PyAny>,
        query_value: Option<&Bound<'py, PyAny>>,
        record_type: Option<String>,
        page_size: u32,
        registry_type: Option<String>,
        registry_event_type: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (qt, q) = query_of(query_type, query_value)?;
        let spec = SearchOptions {
            record_type,
            page: 1,
            page_size,
            registry_type,
            registry_event_type,
            ..Default::default()
        }
        .spec((qt, q))?;
        let c = &self.inner;
        let records = py.detach(|| c.search_all(spec)).py_err()?;
        conv::to_py(py, &Value::Array(records))
    }

    /// Subscribes to registry events (``event_type``: one ``reg_event_type`` or a list);
    /// ``filter_query`` defaults to every record (``{"type": "*", "value": "*"}``), as
    /// OpenSPP's. Returns the ack; the subscription codes arrive by the on-subscribe callback
    /// (without ``our_callback_uri``, as OpenSPP allows, the ack is all there is).
    /// ``frequency`` (``{"start_time", "end_time", "frequency"}``, a Quartz cron expression)
    /// asks the registry to batch the notifications on that schedule inside that window.
    #[pyo3(signature = (event_type, filter_query = None, notify_record_type = "Person", filter_type = None, frequency = None))]
    fn subscribe<'py>(
        &self,
        py: Python<'py>,
        event_type: &Bound<'py, PyAny>,
        filter_query: Option<&Bound<'py, PyAny>>,
        notify_record_type: &str,
        filter_type: Option<String>,
        frequency: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let types: Vec<String> = if let Ok(s) = event_type.extract::<String>() {
            vec![s]
        } else {
            event_type.extract()?
        };
        let filter = filter_query
            .map(|f| conv::to_value(f, "filter_query"))
            .transpose()?;
        let frequency = frequency
            .map(|f| conv::to_value(f, "frequency"))
            .transpose()?;
        let specs: Vec<SubscribeSpec> = types
            .into_iter()
            .map(|t| {
                let mut s = SubscribeSpec::event(t);
                s.filter = filter.clone();
                s.filter_type = filter_type.clone();
                s.notify_record_type = Some(notify_record_type.to_string());
                s.frequency = frequency.clone();
                s
            })
            .collect();
        let c = &self.inner;
        conv::released(py, || c.subscribe(&specs))
    }

    /// Uploads a file of request envelopes (the spec's FileInfo form) to the async endpoint of
    /// ``action`` (``search``, ``subscribe``, ``unsubscribe``, ``txn-status``). ``data`` is the
    /// file's content (``bytes``) or a path (``str`` / ``os.PathLike``, streamed from disk);
    /// ``file_format`` ``"json"`` or ``"csv"``. The envelopes go as they are (sign them first).
    /// Returns the registry's report: ``{"ack_status", "correlation_id", "file_name",
    /// "file_format", "rows", "accepted": [{"row", "correlation_id"}], "rejected": [{"row",
    /// "code", "message"}]}``.
    #[pyo3(signature = (action, data, file_format = "json", file_name = None))]
    fn upload<'py>(
        &self,
        py: Python<'py>,
        action: String,
        data: &Bound<'py, PyAny>,
        file_format: &str,
        file_name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let format = dci::client::FileFormat::parse(file_format).ok_or_else(|| {
            PyTypeError::new_err(format!("file_format: {file_format:?} is not json or csv"))
        })?;
        let path: Option<std::path::PathBuf> = if data.is_instance_of::<pyo3::types::PyBytes>()
            || data.is_instance_of::<pyo3::types::PyByteArray>()
        {
            None
        } else {
            Some(data.extract()?)
        };
        let c = &self.inner;
        match path {
            Some(p) => {
                let name = file_name.unwrap_or_else(|| {
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| format!("upload.{}", format.as_str()))
                });
                conv::released(py, || {
                    let f = std::fs::File::open(&p).map_err(|e| dci::Error::Config {
                        field: "data".into(),
                        reason: format!("{}: {e}", p.display()),
                    })?;
                    c.upload(&action, format, &name, f)
                })
            }
            None => {
                let bytes = conv::json_bytes(data)?;
                let name = file_name.unwrap_or_else(|| format!("upload.{}", format.as_str()));
                conv::released(py, || {
                    c.upload(&action, format, &name, std::io::Cursor::new(bytes))
                })
            }
        }
    }

    /// Async searches in one upload: ``specs`` are search specs as dicts (``{"query_type",
    /// "query"}`` plus optional criteria, the form of ``dci.query`` builders); each is signed
    /// as ``search_async`` would sign it. Returns ``{"report": <upload report>,
    /// "transaction_ids": [...]}`` in row order; results arrive by on-search callback.
    fn upload_searches<'py>(
        &self,
        py: Python<'py>,
        specs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = conv::to_value(specs, "specs")?;
        let specs: Vec<dci::client::SearchSpec> = serde_json::from_value(v)
            .map_err(|e| PyTypeError::new_err(format!("specs: a list of search specs: {e}")))?;
        let c = &self.inner;
        conv::released(py, || {
            let (report, txns) = c.upload_searches(&specs)?;
            Ok(json!({"report": report, "transaction_ids": txns}))
        })
    }

    /// Ends subscriptions by their codes; returns the ack.
    fn unsubscribe<'py>(
        &self,
        py: Python<'py>,
        subscription_codes: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = &self.inner;
        conv::released(py, || c.unsubscribe(&subscription_codes))
    }

    /// Sync transaction status (``/registry/sync/txn/status``): ``attribute_type``
    /// ``transaction_id``, ``correlation_id``, ``reference_id_list`` (OpenSPP's
    /// ``reference_id`` with one id is read as that) or ``subscription_code_list``; ``txn_type`` ``search``, ``subscribe`` or ``unsubscribe``.
    /// Returns the response envelope.
    #[pyo3(signature = (attribute_value, attribute_type = "transaction_id", txn_type = "search"))]
    fn txn_status<'py>(
        &self,
        py: Python<'py>,
        attribute_value: &Bound<'py, PyAny>,
        attribute_type: &str,
        txn_type: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = TxnStatusQuery {
            txn_type: txn_type.to_string(),
            attribute_type: attribute_type.to_string(),
            attribute_value: conv::to_value(attribute_value, "attribute_value")?,
            locale: None,
        };
        let c = &self.inner;
        let r = py.detach(|| c.txn_status(&q)).py_err()?;
        conv::to_py(py, &r.raw)
    }

    /// Checks auth and reachability: gets a token (OAuth2), then sends a one-record identifier
    /// search that matches nothing. Returns ``{"authenticated", "reachable",
    /// "item_rejection", "signature", "elapsed_ms"}``; raises on failure.
    fn test_connection<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = &self.inner;
        let r = py.detach(|| c.test_connection());
        record_test(&self.status, &r);
        conv::ser_to_py(py, &r.py_err()?)
    }

    /// The OAuth2 access token: the cached one, or a fresh one (also with
    /// ``force_refresh``). ValidationError (``.field`` ``auth_type``) when the data source
    /// does not use OAuth2; AuthError when the token endpoint refuses.
    #[pyo3(signature = (force_refresh = false))]
    fn get_oauth2_token(&self, py: Python<'_>, force_refresh: bool) -> PyResult<String> {
        let c = &self.inner;
        py.detach(|| c.get_oauth2_token(force_refresh)).py_err()
    }

    /// The HTTP headers a request carries: ``Content-Type``, ``Accept`` and, when the data
    /// source authenticates, ``Authorization`` (a fresh OAuth2 token with
    /// ``force_refresh_token``).
    #[pyo3(signature = (force_refresh_token = false))]
    fn get_headers<'py>(
        &self,
        py: Python<'py>,
        force_refresh_token: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.inner;
        let h = py
            .detach(|| c.request_headers(force_refresh_token))
            .py_err()?;
        let d = PyDict::new(py);
        for (k, v) in h {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Forgets the cached OAuth2 token; the next call fetches a fresh one.
    fn clear_oauth2_token_cache(&self) {
        self.inner.clear_token_cache()
    }

    /// Handles a callback the registry posted (on-search, on-subscribe, on-unsubscribe,
    /// notify, txn/on-status): verifies and parses it and matches it to the waiting
    /// transaction. ``body``: the request body (bytes or str); ``headers``: the HTTP request
    /// headers (a dict or (name, value) pairs). Returns ``{"accepted", "http_status", "ack",
    /// "action", "transaction_id", "correlation_id", "matched", "result", "error"}``: answer
    /// the HTTP request with ``http_status`` and the JSON of ``ack``. ``result`` is
    /// ``{"kind": "search" | "subscribe" | "unsubscribe" | "txn_status" | "notify",
    /// "result": {...}}``; ``error`` is the DCIError of a refused callback or of the
    /// registry's rejection.
    #[pyo3(signature = (body, headers = None))]
    fn handle_callback<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        headers: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let bytes = if body.cast::<PyDict>().is_ok() {
            serde_json::to_vec(&conv::to_value(body, "body")?)
                .map_err(|e| config_err("body", e.to_string()))?
        } else {
            conv::json_bytes(body)?
        };
        let mut hs: Vec<(String, String)> = Vec::new();
        if let Some(h) = headers {
            if let Ok(d) = h.cast::<PyDict>() {
                for (k, v) in d.iter() {
                    hs.push((k.extract()?, v.extract()?));
                }
            } else {
                for item in h.try_iter()? {
                    hs.push(item?.extract()?);
                }
            }
        } else {
            hs.push(("Content-Type".into(), "application/json".into()));
        }
        let c = &self.inner;
        let mut answer = py.detach(|| {
            let refs: Vec<(&str, &str)> =
                hs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            c.answer_callback(&bytes, &refs)
        });
        // The core's CallbackAnswer, keys as in C and Go; `error` as the DCIError it is.
        let error = answer.error.take();
        let d = conv::ser_to_py(py, &answer)?.cast_into::<PyDict>()?;
        match error {
            Some(e) => d.set_item("error", to_pyerr(e).into_value(py))?,
            None => d.set_item("error", py.None())?,
        }
        Ok(d)
    }

    /// Waits (GIL released) for the callback of an async call, by the ``transaction_id`` of
    /// its ack; returns ``{"kind", "result"}`` as in ``handle_callback``. Raises
    /// ProtocolError for the registry's rejection, TransportError (kind ``"timeout"``) when
    /// nothing arrives within ``timeout`` seconds.
    #[pyo3(signature = (transaction_id, timeout = 30.0))]
    fn wait_for<'py>(
        &self,
        py: Python<'py>,
        transaction_id: &str,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = duration(timeout)?;
        let c = &self.inner;
        let r: CallbackResult = py.detach(|| c.wait_for(transaction_id, t)).py_err()?;
        conv::ser_to_py(py, &r)
    }

    /// Registers ``handler(event: dict)``, called for every notify callback this client
    /// accepts (from the listener's thread). Exceptions in the handler are reported with
    /// ``sys.unraisablehook`` and do not refuse the callback.
    fn on_notify(&self, handler: Py<PyAny>) -> PyResult<()> {
        on_notify(&self.inner, handler)
    }

    fn __repr__(&self) -> String {
        let ds = self.inner.data_source();
        format!(
            "DCIClient(base_url={:?}, our_sender_id={:?})",
            ds.base_url, ds.our_sender_id
        )
    }
}

fn duration(secs: f64) -> PyResult<Duration> {
    if secs.is_finite() && secs >= 0.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(config_err(
            "timeout",
            "must be a non-negative number of seconds",
        ))
    }
}

fn on_notify(client: &DCIClient, handler: Py<PyAny>) -> PyResult<()> {
    Python::attach(|py| {
        if !handler.bind(py).is_callable() {
            return Err(PyTypeError::new_err("handler must be callable"));
        }
        Ok(())
    })?;
    client.on_notify(move |ev| {
        Python::attach(|py| {
            let r = conv::ser_to_py(py, ev).and_then(|d| handler.call1(py, (d,)));
            if let Err(e) = r {
                e.write_unraisable(py, Some(handler.bind(py)));
            }
        })
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The embeddable listener

enum ListenerState {
    Bound(TcpListener),
    Running(CallbackListener, DCIClient),
    Stopped,
}

/// An embeddable HTTP listener for the registry's callbacks, for hosts without a web
/// framework route: serves ``.../on-search``, ``/on-subscribe``, ``/on-unsubscribe``,
/// ``/notify`` and ``/txn/on-status`` on its own thread and hands them to the client.
///
/// ``CallbackListener(client)`` binds and starts at once; ``CallbackListener(port=0)`` only
/// binds (read ``port``/``url`` to configure ``our_callback_uri``), then ``start(client)``.
/// Use it as a context manager, or call ``shutdown()``.
#[pyclass(frozen, module = "dci._dci", name = "CallbackListener")]
pub struct PyCallbackListener {
    state: Mutex<ListenerState>,
    addr: std::net::SocketAddr,
}

impl PyCallbackListener {
    fn running(&self) -> PyResult<DCIClient> {
        match &*self
            .state
            .lock()
            .map_err(|_| PyRuntimeError::new_err("listener state poisoned"))?
        {
            ListenerState::Running(_, c) => Ok(c.clone()),
            ListenerState::Bound(_) => Err(PyRuntimeError::new_err(
                "the listener is not started: call start(client)",
            )),
            ListenerState::Stopped => Err(PyRuntimeError::new_err("the listener is shut down")),
        }
    }
}

#[pymethods]
impl PyCallbackListener {
    #[new]
    #[pyo3(signature = (client = None, host = "127.0.0.1", port = 0))]
    fn new(
        py: Python<'_>,
        client: Option<&Bound<'_, PyDCIClient>>,
        host: &str,
        port: u16,
    ) -> PyResult<Self> {
        let l = TcpListener::bind((host, port))
            .map_err(|e| to_pyerr(dci::Error::Io(format!("bind {host}:{port}: {e}"))))?;
        let addr = l
            .local_addr()
            .map_err(|e| to_pyerr(dci::Error::Io(e.to_string())))?;
        let me = PyCallbackListener {
            state: Mutex::new(ListenerState::Bound(l)),
            addr,
        };
        if let Some(c) = client {
            me.start(py, c)?;
        }
        Ok(me)
    }

    /// Starts serving callbacks for ``client``.
    fn start(&self, py: Python<'_>, client: &Bound<'_, PyDCIClient>) -> PyResult<()> {
        let _ = py;
        let mut st = self
            .state
            .lock()
            .map_err(|_| PyRuntimeError::new_err("listener state poisoned"))?;
        match std::mem::replace(&mut *st, ListenerState::Stopped) {
            ListenerState::Bound(l) => {
                let c = client.get().inner.clone();
                let running = CallbackListener::from_listener(c.clone(), l).py_err()?;
                *st = ListenerState::Running(running, c);
                Ok(())
            }
            other => {
                *st = other;
                Err(PyRuntimeError::new_err(
                    "the listener is already started or shut down",
                ))
            }
        }
    }

    /// The bound port.
    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bound host address.
    #[getter]
    fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// ``http://host:port``: the ``our_callback_uri`` to configure.
    #[getter]
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// See ``DCIClient.wait_for``.
    #[pyo3(signature = (transaction_id, timeout = 30.0))]
    fn wait_for<'py>(
        &self,
        py: Python<'py>,
        transaction_id: &str,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.running()?;
        let t = duration(timeout)?;
        conv::released(py, || c.wait_for(transaction_id, t))
    }

    /// See ``DCIClient.on_notify``.
    fn on_notify(&self, handler: Py<PyAny>) -> PyResult<()> {
        let c = self.running()?;
        on_notify(&c, handler)
    }

    /// Stops accepting callbacks and joins the listener thread (idempotent).
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        let old = {
            let mut st = self
                .state
                .lock()
                .map_err(|_| PyRuntimeError::new_err("listener state poisoned"))?;
            std::mem::replace(&mut *st, ListenerState::Stopped)
        };
        if let ListenerState::Running(l, _) = old {
            py.detach(move || l.shutdown());
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.shutdown(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "CallbackListener(url={:?})",
            format!("http://{}", self.addr)
        )
    }
}
