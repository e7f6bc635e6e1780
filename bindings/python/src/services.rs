//! Registry services over the client: CRVS, IBR, DR (dci::services), with OpenSPP's method
//! names. OpenSPP's constructors take an Odoo env and a data-source code; these take a
//! DataSource (or a DCIClient, or a dict of DataSource fields).

use std::sync::{Arc, Mutex};

use dci::client::RegistryType;
use dci::services::{self, CrvsService, DrService, IbrService};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::Value;

use crate::client::{client_from, refuse_unknown, PyDCIClient, PyDataSource, Status};

/// OpenSPP's data-source model name in an Odoo env.
const DATA_SOURCE_MODEL: &str = "spp.dci.data.source";

struct Built {
    client: PyDCIClient,
    env: Option<Py<PyAny>>,
}

/// Whether `obj` is something a client is built from directly (else it is an env).
fn is_source(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if obj.cast::<PyDCIClient>().is_ok() || obj.cast::<PyDataSource>().is_ok() {
        return Ok(true);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(!d.contains(DATA_SOURCE_MODEL)?);
    }
    obj.hasattr("base_url")
}

/// The client of a service, built the way OpenSPP builds it or ours:
/// - `(data_source)` or `(data_source, env)`: a DataSource, DCIClient, dict of fields or
///   data-source record (IBR's shape);
/// - `(env, code)` / `(env, data_source_code=code)`: `env["spp.dci.data.source"]
///   .get_by_code(code)` (CRVS and DR's shape; `code` defaults to the service's), whose
///   registry type must be `expected` when given.
fn build_service_client(
    source: &Bound<'_, PyAny>,
    env_or_code: Option<&Bound<'_, PyAny>>,
    data_source_code: Option<String>,
    default_code: &str,
    expected: Option<RegistryType>,
) -> PyResult<Built> {
    if is_source(source)? {
        if data_source_code.is_some() {
            return Err(crate::errors::to_pyerr(dci::Error::Config {
                field: "data_source_code".into(),
                reason: "only with an env (the data source is given)".into(),
            }));
        }
        return Ok(Built {
            client: client_from(source, None)?,
            env: env_or_code.map(|e| e.clone().unbind()),
        });
    }
    let positional: Option<String> = match env_or_code {
        Some(c) => Some(c.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(
                "with an env first, the second argument is the data source code (a str)",
            )
        })?),
        None => None,
    };
    let code = data_source_code
        .or(positional)
        .unwrap_or_else(|| default_code.to_string());
    let record = source
        .get_item(DATA_SOURCE_MODEL)?
        .call_method1("get_by_code", (code.as_str(),))?;
    let client = client_from(&record, None)?;
    if let Some(t) = expected {
        let got = client.inner.data_source().registry_type;
        if got != t {
            return Err(crate::errors::to_pyerr(dci::Error::Config {
                field: "registry_type".into(),
                reason: format!(
                    "data source {code:?} is not a {} registry (registry_type {})",
                    t.name(),
                    got.name()
                ),
            }));
        }
    }
    Ok(Built {
        client,
        env: Some(source.clone().unbind()),
    })
}
use crate::conv;
use crate::errors::IntoPy;

/// A registry service class: the pyclass over the core service, built from a DataSource (or a
/// DCIClient, or a dict of DataSource fields), its `client`, the lookups that take two strings
/// and hand back the core's result as Python data (GIL released), then its own methods.
macro_rules! service_class {
    (
        $(#[$doc:meta])*
        $name:literal $py:ident($core:ident), $source:literal, $code:literal, $rtype:expr;
        lookups { $( $(#[$ldoc:meta])* $lookup:ident($a:ident, $b:ident); )* }
        $($own:tt)*
    ) => {
        $(#[$doc])*
        #[pyclass(frozen, module = "dci._dci", name = $name)]
        pub struct $py {
            inner: $core,
            status: Arc<Mutex<Status>>,
            /// The Odoo-like env it was built with, if any.
            env: Option<Py<PyAny>>,
        }

        #[pymethods]
        impl $py {
            #[doc = $source]
            #[new]
            #[pyo3(signature = (source, env_or_code = None, *, data_source_code = None, **unknown))]
            fn new(
                source: &Bound<'_, PyAny>,
                env_or_code: Option<&Bound<'_, PyAny>>,
                data_source_code: Option<String>,
                unknown: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<Self> {
                refuse_unknown($name, unknown)?;
                let built = build_service_client(source, env_or_code, data_source_code, $code, $rtype)?;
                Ok($py {
                    inner: $core::new(built.client.inner),
                    status: built.client.status,
                    env: built.env,
                })
            }

            /// The client the service calls through.
            #[getter]
            fn client(&self) -> PyDCIClient {
                PyDCIClient {
                    inner: self.inner.client().clone(),
                    status: self.status.clone(),
                }
            }

            /// The data source the service calls (its ``state`` is shared with the client).
            #[getter]
            fn data_source(&self) -> PyDataSource {
                PyDataSource {
                    inner: self.inner.client().data_source().clone(),
                    status: self.status.clone(),
                }
            }

            /// The Odoo-like env given to the constructor, or None.
            #[getter]
            fn env(&self, py: Python<'_>) -> Option<Py<PyAny>> {
                self.env.as_ref().map(|e| e.clone_ref(py))
            }

            $(
                $(#[$ldoc])*
                fn $lookup<'py>(&self, py: Python<'py>, $a: &str, $b: &str) -> PyResult<Bound<'py, PyAny>> {
                    let s = &self.inner;
                    conv::released(py, || s.$lookup($a, $b))
                }
            )*

            $($own)*
        }
    };
}

service_class! {
    /// Civil registration (CRVS): birth verification, death check, vital-event subscriptions.
    "CRVSService" PyCrvsService(CrvsService),
    "``CRVSService(source)`` (a DataSource, DCIClient, dict of fields or data-source record) or \
     OpenSPP's ``CRVSService(env, data_source_code=\"crvs_main\")`` (``env[\"spp.dci.data.source\"]\
     .get_by_code(code)``, registry type crvs).", "crvs_main", Some(RegistryType::Crvs);
    lookups {
        /// Looks the person up; a dict with ``person_name``, ``given_name``, ``family_name``,
        /// ``sex``, ``birth_date``, ``birth_place``, ``identifier_type``, ``identifier_value``,
        /// ``registrant`` and the ``record`` as received, or None when the registry has no record.
        verify_birth(identifier_type, identifier_value);
        /// True when the registry records the person's death; no record is False.
        is_deceased(identifier_type, identifier_value);
        /// ``is_deceased`` under OpenSPP's name.
        check_death(identifier_type, identifier_value);
        /// Every birth registered between the two dates (inclusive), across all pages.
        search_births(date_from, date_to);
    }

    /// Subscribes to vital events (default: live birth and death); returns the ack.
    #[pyo3(signature = (event_types = None))]
    fn subscribe_events<'py>(
        &self,
        py: Python<'py>,
        event_types: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let types = event_types.unwrap_or_default();
        let s = &self.inner;
        conv::released(py, || {
            let refs: Vec<&str> = types.iter().map(String::as_str).collect();
            s.subscribe_events(&refs)
        })
    }

    /// Ends vital-event subscriptions by their codes; returns the ack.
    fn unsubscribe_events<'py>(
        &self,
        py: Python<'py>,
        subscription_codes: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.client();
        conv::released(py, || c.unsubscribe(&subscription_codes))
    }

    /// The vital events of a notification (a notify envelope or message, spec form or
    /// OpenSPP's flat form): ``[{"event_type", "event_date", "identifier_type",
    /// "identifier_value", "raw_data"}]``. Storing them (OpenSPP's ``spp.dci.crvs.event``) is
    /// the host's; the notification's signature is checked by ``DCIClient.handle_callback``.
    fn process_notification<'py>(
        &self,
        py: Python<'py>,
        notification_data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = conv::to_value(notification_data, "notification_data")?;
        conv::ser_to_py(py, &services::vital_events(&v).py_err()?)
    }
}

/// A class of `dci._results` (OpenSPP's dict-shaped results), called with `args` and the
/// keyword arguments in `kwargs`.
fn result_class<'py>(
    py: Python<'py>,
    name: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("dci._results")?.getattr(name)?.call(args, kwargs)
}

/// A core BeneficiaryInfo as `dci.BeneficiaryInfo` (a dict).
fn beneficiary<'py>(py: Python<'py>, b: &services::BeneficiaryInfo) -> PyResult<Bound<'py, PyAny>> {
    let kw = PyDict::new(py);
    kw.set_item("reference_id", &b.reference_id)?;
    kw.set_item("identifiers", conv::ser_to_py(py, &b.identifiers)?)?;
    result_class(
        py,
        "BeneficiaryInfo",
        (
            &b.identifier_type,
            &b.identifier_value,
            &b.name,
            b.programs.clone(),
            conv::to_py(py, &b.metadata)?,
        ),
        Some(&kw),
    )
}

/// The `(type, value)` identifiers of a partner-like object: its `reg_ids` (OpenSPP 2's
/// `spp.registry.id`: `id_type_id.code`, else `.name`, and `value`) or `registry_id_ids`
/// (`id_type` or `id_type_id`); else, with an env, `env["spp.registry.id"].search(
/// [("partner_id", "=", partner.id)])`.
fn partner_identifiers(
    partner: &Bound<'_, PyAny>,
    env: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(String, String)>> {
    fn text(v: &Bound<'_, PyAny>) -> Option<String> {
        v.extract::<String>().ok().filter(|s| !s.trim().is_empty())
    }
    fn type_of(reg_id: &Bound<'_, PyAny>) -> Option<String> {
        for attr in ["id_type_id", "id_type"] {
            let Ok(t) = reg_id.getattr(attr) else {
                continue;
            };
            if let Some(s) = text(&t) {
                return Some(s);
            }
            for part in ["code", "name"] {
                if let Some(s) = t.getattr(part).ok().as_ref().and_then(text) {
                    return Some(s);
                }
            }
        }
        None
    }
    fn collect(ids: &Bound<'_, PyAny>, out: &mut Vec<(String, String)>) -> PyResult<()> {
        for r in ids.try_iter()? {
            let r = r?;
            let value = r.getattr("value").ok().as_ref().and_then(text);
            if let (Some(t), Some(v)) = (type_of(&r), value) {
                out.push((t, v));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for attr in ["reg_ids", "registry_id_ids"] {
        if let Ok(ids) = partner.getattr(attr) {
            collect(&ids, &mut out)?;
        }
    }
    if out.is_empty() {
        if let Some(env) = env {
            if let Ok(model) = env.get_item("spp.registry.id") {
                let domain = vec![("partner_id", "=", partner.getattr("id")?)];
                collect(&model.call_method1("search", (domain,))?, &mut out)?;
            }
        }
    }
    Ok(out)
}

/// `(identifier_type, identifier_value)` from the two-string form, or from a partner-like
/// object (the DR's preferred identifier; None when the partner has none).
fn person_identifier(
    env: Option<&Bound<'_, PyAny>>,
    partner_or_type: &Bound<'_, PyAny>,
    identifier_value: Option<String>,
) -> PyResult<Option<(String, String)>> {
    if let Some(v) = identifier_value {
        let t: String = partner_or_type.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(
                "with identifier_value, the first argument is the identifier type (a str)",
            )
        })?;
        return Ok(Some((t, v)));
    }
    if partner_or_type.cast::<PyString>().is_ok() {
        return Err(crate::errors::to_pyerr(dci::Error::Validation(vec![
            dci::Violation::new("identifier_value", "required with an identifier type"),
        ])));
    }
    let ids = partner_identifiers(partner_or_type, env)?;
    Ok(services::preferred_identifier(&ids).cloned())
}

/// ``(identifier_type, identifier_value)`` pairs from a list of pairs, a list of
/// ``{"identifier_type", "identifier_value"}`` dicts, or a ``{type: value}`` dict.
fn identifiers(
    obj: &Bound<'_, PyAny>,
    env: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(String, String)>> {
    if obj.hasattr("reg_ids")? || obj.hasattr("registry_id_ids")? || obj.hasattr("id")? {
        let ids = partner_identifiers(obj, env)?;
        if ids.is_empty() {
            return Err(crate::errors::to_pyerr(dci::Error::Validation(vec![
                dci::Violation::new(
                    "partner",
                    "has no identifiers (reg_ids with an id type and a value)",
                ),
            ])));
        }
        return Ok(ids);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        if d.contains("identifier_type")? {
            return identifiers(&pyo3::types::PyList::new(obj.py(), [obj])?.into_any(), None);
        }
        return d
            .iter()
            .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
            .collect();
    }
    if obj.cast::<PyString>().is_ok() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "identifiers: expected (type, value) pairs or a {type: value} dict, not a str",
        ));
    }
    let mut out = Vec::new();
    for it in obj.try_iter()? {
        let it = it?;
        if let Ok(d) = it.cast::<PyDict>() {
            let t = d.get_item("identifier_type")?;
            let v = d.get_item("identifier_value")?;
            match (t, v) {
                (Some(t), Some(v)) => out.push((t.extract()?, v.extract()?)),
                _ => {
                    return Err(crate::errors::to_pyerr(dci::Error::Validation(vec![
                        dci::Violation::new(
                            format!("identifiers[{}]", out.len()),
                            "identifier_type and identifier_value are required",
                        ),
                    ])))
                }
            }
        } else {
            out.push(it.extract()?);
        }
    }
    Ok(out)
}

service_class! {
    /// Integrated beneficiary registry (IBR): duplicate-enrollment checks and beneficiary lookup.
    "IBRService" PyIbrService(IbrService),
    "``IBRService(data_source, env=None)`` as OpenSPP builds it (a DataSource, DCIClient, dict of \
     fields or data-source record), or ``IBRService(env, \"ibr_main\")``.", "ibr_main", None;
    lookups {
        /// Whether the person is enrolled, through ``/registry/sync/enrolled``.
        enrolled(identifier_type, identifier_value);
    }

    /// Searches the IBR for each identifier of the person: a partner-like object (its
    /// ``reg_ids``; OpenSPP's call), ``(type, value)`` pairs, a ``{type: value}`` dict, or
    /// ``{"identifier_type", "identifier_value"}`` dicts. A record for any of them is a
    /// duplicate. Fails closed: an error is raised, never read as "not a duplicate". Returns
    /// a ``DuplicationResult`` (a dict).
    fn check_duplication<'py>(
        &self,
        py: Python<'py>,
        partner: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let env = self.env.as_ref().map(|e| e.bind(py).clone());
        let ids = self::identifiers(partner, env.as_ref())?;
        let s = &self.inner;
        let r = py
            .detach(|| {
                let refs: Vec<(&str, &str)> =
                    ids.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                s.check_duplication(&refs)
            })
            .py_err()?;
        result_class(
            py,
            "DuplicationResult",
            (
                r.is_duplicate,
                r.matched_programs,
                conv::to_py(py, &Value::Array(r.raw_response))?,
            ),
            None,
        )
    }

    /// The beneficiaries the IBR holds under this identifier (usually none or one), as
    /// ``BeneficiaryInfo`` dicts (``raw_data`` is the record).
    fn search_beneficiary<'py>(
        &self,
        py: Python<'py>,
        identifier_type: &str,
        identifier_value: &str,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let s = &self.inner;
        let r = py
            .detach(|| s.search_beneficiary(identifier_type, identifier_value))
            .py_err()?;
        r.iter().map(|b| beneficiary(py, b)).collect()
    }

    /// ``{"enrolled", "programs", "beneficiary_info"}``: whether the IBR holds the person,
    /// every programme found, and the first beneficiary (a ``BeneficiaryInfo``) or None.
    fn get_enrollment_status<'py>(
        &self,
        py: Python<'py>,
        identifier_type: &str,
        identifier_value: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.inner;
        let r = py
            .detach(|| s.enrollment_status(identifier_type, identifier_value))
            .py_err()?;
        let d = PyDict::new(py);
        d.set_item("enrolled", r.enrolled)?;
        d.set_item("programs", r.programs)?;
        match &r.beneficiary_info {
            Some(b) => d.set_item("beneficiary_info", beneficiary(py, b)?)?,
            None => d.set_item("beneficiary_info", py.None())?,
        }
        Ok(d)
    }
}

service_class! {
    /// Disability registry (DR): disability status, Washington Group scores, PWD check.
    "DRService" PyDrService(DrService),
    "``DRService(source)`` (a DataSource, DCIClient, dict of fields or data-source record) or \
     OpenSPP's ``DRService(env, data_source_code=\"dr_main\")`` (registry type dr).", "dr_main", Some(RegistryType::Dr);
    lookups {
        /// Washington Group scores (1-4) by domain (``Vision``, ``Hearing``, ``Mobility``,
        /// ``Cognition``, ``Self-Care``, ``Communication``); empty when not found.
        get_functional_scores(identifier_type, identifier_value);
        /// The Washington Group scores with the record's ``assessment_date``; None when not
        /// found.
        get_functional_assessment(identifier_type, identifier_value);
    }

    /// The person's disability record: ``{"has_disability", "disability_types",
    /// "functional_scores", "disability_status", "disability_level", "assessment_date",
    /// "source_registry", "raw_record"}``, or None when not found. The person is
    /// ``(identifier_type, identifier_value)`` or a partner-like object (OpenSPP's call: its
    /// ``reg_ids``, UIN first, then DRN, NATIONAL_ID, NID; None when it has none).
    #[pyo3(signature = (partner_or_type, identifier_value = None))]
    fn get_disability_status<'py>(
        &self,
        py: Python<'py>,
        partner_or_type: &Bound<'py, PyAny>,
        identifier_value: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let env = self.env.as_ref().map(|e| e.bind(py).clone());
        let Some((t, v)) = person_identifier(env.as_ref(), partner_or_type, identifier_value)? else {
            return Ok(py.None().into_bound(py));
        };
        let s = &self.inner;
        conv::released(py, || s.get_disability_status(&t, &v))
    }

    /// True when the person is a person with disability (any WG domain at 3 or more, else the
    /// registry's own answer); a person given as a partner without identifiers is False.
    #[pyo3(signature = (partner_or_type, identifier_value = None))]
    fn is_pwd(
        &self,
        py: Python<'_>,
        partner_or_type: &Bound<'_, PyAny>,
        identifier_value: Option<String>,
    ) -> PyResult<bool> {
        let env = self.env.as_ref().map(|e| e.bind(py).clone());
        let Some((t, v)) = person_identifier(env.as_ref(), partner_or_type, identifier_value)? else {
            return Ok(false);
        };
        let s = &self.inner;
        py.detach(|| s.is_pwd(&t, &v)).py_err()
    }

    /// Fetches the person's disability data and returns what to store locally:
    /// ``{"has_disability", "disability_types", "functional_scores", "assessment_date",
    /// "source_registry", "raw_data", "state": "synced", "found"}`` (a person the registry
    /// does not hold, or a partner without identifiers, is stored without disability). Writing
    /// the ``spp.dci.disability.status`` record is the host's.
    #[pyo3(signature = (partner_or_type, identifier_value = None))]
    fn sync_disability_data<'py>(
        &self,
        py: Python<'py>,
        partner_or_type: &Bound<'py, PyAny>,
        identifier_value: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let env = self.env.as_ref().map(|e| e.bind(py).clone());
        let id = person_identifier(env.as_ref(), partner_or_type, identifier_value)?;
        let s = &self.inner;
        conv::released(py, || match &id {
            Some((t, v)) => s.sync_disability_data(t, v),
            None => Ok(services::DisabilitySync {
                has_disability: false,
                disability_types: Vec::new(),
                functional_scores: Default::default(),
                assessment_date: None,
                source_registry: None,
                raw_data: Value::Object(Default::default()),
                state: "synced".into(),
                found: false,
            }),
        })
    }
}
