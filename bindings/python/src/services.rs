//! Registry services over the client: CRVS, IBR, DR (dci::services), with OpenSPP's method
//! names. OpenSPP's constructors take an Odoo env and a data-source code; these take a
//! DataSource (or a DCIClient, or a dict of DataSource fields).

use std::sync::{Arc, Mutex};

use dci::client::RegistryType;
use dci::services::{self, CrvsService, DrService, IbrService};
use pyo3::exceptions::PyKeyError;
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
}

/// The outcome of ``IBRService.check_duplication``: ``is_duplicate``, ``matched_programs``
/// and ``raw_response`` (one response envelope per identifier searched). Reads like a dict
/// too (``result["is_duplicate"]``), as OpenSPP code uses it.
#[pyclass(frozen, module = "dci._dci", name = "DuplicationResult")]
pub struct PyDuplicationResult {
    inner: services::DuplicationResult,
}

pymethods_with_fields! {
    #[pymethods]
    impl PyDuplicationResult {
        fields {
            /// True when the registry holds a record for any identifier.
            is_duplicate: bool,
            /// Programme names (sorted, without repeats).
            matched_programs: Vec<String>,
        }

        #[new]
        #[pyo3(signature = (is_duplicate, matched_programs = None, raw_response = None))]
        fn new(
            is_duplicate: bool,
            matched_programs: Option<Vec<String>>,
            raw_response: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<Self> {
            let matched_programs = matched_programs.unwrap_or_default();
            let raw = match raw_response {
                None => Vec::new(),
                Some(r) => match conv::to_value(r, "raw_response")? {
                    Value::Array(a) => a,
                    other => vec![other],
                },
            };
            Ok(PyDuplicationResult {
                inner: services::DuplicationResult {
                    is_duplicate,
                    matched_programs,
                    raw_response: raw,
                },
            })
        }
        /// One response envelope per identifier searched.
        #[getter]
        fn raw_response<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::to_py(py, &Value::Array(self.inner.raw_response.clone()))
        }
        /// ``{"is_duplicate", "matched_programs", "raw_response"}``.
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::ser_to_py(py, &self.inner)
        }
        fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
            item(self.to_dict(py)?, key)
        }
        fn __bool__(&self) -> bool {
            self.inner.is_duplicate
        }
        fn __repr__(&self) -> String {
            format!(
                "DuplicationResult(is_duplicate={}, matched_programs={:?})",
                if self.inner.is_duplicate {
                    "True"
                } else {
                    "False"
                },
                self.inner.matched_programs
            )
        }
}
}

fn item<'py>(d: Bound<'py, PyAny>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    d.cast::<PyDict>()?
        .get_item(key)?
        .ok_or_else(|| PyKeyError::new_err(key.to_string()))
}

/// A beneficiary found in the IBR: ``identifier_type``, ``identifier_value``, ``name``,
/// ``programs`` and ``metadata`` (the record as received). Reads like a dict too.
#[pyclass(frozen, module = "dci._dci", name = "BeneficiaryInfo")]
pub struct PyBeneficiaryInfo {
    inner: services::BeneficiaryInfo,
}

pymethods_with_fields! {
    #[pymethods]
    impl PyBeneficiaryInfo {
        fields {
            /// The identifier type looked up.
            identifier_type: String,
            /// The identifier value looked up.
            identifier_value: String,
            /// The beneficiary's name, if the record carries one.
            name: Option<String>,
            /// The programmes the beneficiary is enrolled in.
            programs: Vec<String>,
        }

        #[new]
        #[pyo3(signature = (identifier_type, identifier_value, name = None, programs = None, metadata = None))]
        fn new(
            identifier_type: String,
            identifier_value: String,
            name: Option<String>,
            programs: Option<Vec<String>>,
            metadata: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<Self> {
            let programs = programs.unwrap_or_default();
            Ok(PyBeneficiaryInfo {
                inner: services::BeneficiaryInfo {
                    identifier_type,
                    identifier_value,
                    name,
                    programs,
                    metadata: match metadata {
                        Some(m) => conv::to_value(m, "metadata")?,
                        None => Value::Object(Default::default()),
                    },
                },
            })
        }
        /// The record as received.
        #[getter]
        fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::to_py(py, &self.inner.metadata)
        }
        /// ``{"identifier_type", "identifier_value", "name", "programs", "metadata"}``.
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::ser_to_py(py, &self.inner)
        }
        fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
            item(self.to_dict(py)?, key)
        }
        fn __repr__(&self) -> String {
            format!(
                "BeneficiaryInfo(identifier_type={:?}, identifier_value={:?}, name={:?}, programs={:?})",
                self.inner.identifier_type, self.inner.identifier_value, self.inner.name, self.inner.programs
            )
        }
}
}

/// ``(identifier_type, identifier_value)`` pairs from a list of pairs, a list of
/// ``{"identifier_type", "identifier_value"}`` dicts, or a ``{type: value}`` dict.
fn identifiers(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        if d.contains("identifier_type")? {
            return identifiers(&pyo3::types::PyList::new(obj.py(), [obj])?.into_any());
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

    /// Searches the IBR for each identifier of the person (``(type, value)`` pairs, a
    /// ``{type: value}`` dict, or ``{"identifier_type", "identifier_value"}`` dicts); a record
    /// for any of them is a duplicate. Fails closed: an error is raised, never read as "not a
    /// duplicate".
    fn check_duplication(
        &self,
        py: Python<'_>,
        identifiers: &Bound<'_, PyAny>,
    ) -> PyResult<PyDuplicationResult> {
        let ids = self::identifiers(identifiers)?;
        let s = &self.inner;
        let r = py
            .detach(|| {
                let refs: Vec<(&str, &str)> =
                    ids.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                s.check_duplication(&refs)
            })
            .py_err()?;
        Ok(PyDuplicationResult { inner: r })
    }

    /// The beneficiaries the IBR holds under this identifier (usually none or one).
    fn search_beneficiary(
        &self,
        py: Python<'_>,
        identifier_type: &str,
        identifier_value: &str,
    ) -> PyResult<Vec<PyBeneficiaryInfo>> {
        let s = &self.inner;
        let r = py
            .detach(|| s.search_beneficiary(identifier_type, identifier_value))
            .py_err()?;
        Ok(r.into_iter()
            .map(|inner| PyBeneficiaryInfo { inner })
            .collect())
    }
}

service_class! {
    /// Disability registry (DR): disability status, Washington Group scores, PWD check.
    "DRService" PyDrService(DrService),
    "``DRService(source)`` (a DataSource, DCIClient, dict of fields or data-source record) or \
     OpenSPP's ``DRService(env, data_source_code=\"dr_main\")`` (registry type dr).", "dr_main", Some(RegistryType::Dr);
    lookups {
        /// The person's disability record: ``{"has_disability", "disability_types",
        /// "functional_scores", "disability_status", "disability_level", "assessment_date",
        /// "source_registry", "raw_record"}``, or None when not found.
        get_disability_status(identifier_type, identifier_value);
        /// Washington Group scores (1-4) by domain (``Vision``, ``Hearing``, ``Mobility``,
        /// ``Cognition``, ``Self-Care``, ``Communication``); empty when not found.
        get_functional_scores(identifier_type, identifier_value);
        /// True when the person is a person with disability (any WG domain at 3 or more, else the
        /// registry's own answer).
        is_pwd(identifier_type, identifier_value);
    }
}
