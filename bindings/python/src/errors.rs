//! The one place where `dci::Error` becomes a Python exception (classes in `dci/_errors.py`).

use dci::error::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// Raises `e` as the matching `dci` exception.
pub fn to_pyerr(e: Error) -> PyErr {
    Python::attach(|py| match build(py, &e) {
        Ok(err) => err,
        Err(fallback) => fallback,
    })
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let kind = e.kind();
    let class = match kind {
        ErrorKind::SignatureMissing
        | ErrorKind::SignatureMalformed
        | ErrorKind::SignatureInvalid
        | ErrorKind::SignatureExpired
        | ErrorKind::SignatureNotYetValid
        | ErrorKind::Key
        | ErrorKind::UnsupportedAlgorithm => "SignatureError",
        ErrorKind::Json | ErrorKind::Validation | ErrorKind::Query | ErrorKind::Config => {
            "ValidationError"
        }
        ErrorKind::Auth => "AuthError",
        ErrorKind::Timeout
        | ErrorKind::Connection
        | ErrorKind::Tls
        | ErrorKind::Transport
        | ErrorKind::Http => "TransportError",
        ErrorKind::Protocol => "ProtocolError",
        ErrorKind::Encryption => "EncryptionError",
        _ => "DCIError",
    };
    // Every attribute is a structured part of the core error; none is read from its text.
    let info = e.info();
    let attrs = PyDict::new(py);
    attrs.set_item("kind", kind.name())?;
    attrs.set_item("code", info.code)?;
    attrs.set_item("transaction_id", info.transaction_id)?;
    match e {
        Error::Validation(_) | Error::Config { .. } | Error::Query(_) => {
            let list = PyList::empty(py);
            for v in &info.violations {
                list.append(PyTuple::new(py, [v.path.as_str(), v.rule.as_str()])?)?;
            }
            if !(matches!(e, Error::Query(_)) && info.violations.is_empty()) {
                attrs.set_item("violations", list)?;
            }
            attrs.set_item("field", info.field)?;
        }
        Error::Protocol { message, .. } => {
            attrs.set_item("endpoint", info.endpoint)?;
            attrs.set_item("message", message)?;
        }
        _ => {
            if let Some(endpoint) = info.endpoint {
                attrs.set_item("endpoint", endpoint)?;
            }
            if let Some(status) = info.status {
                attrs.set_item("status", status)?;
            }
        }
    }
    let cls = py.import("dci._errors")?.getattr(class)?;
    let exc = cls.call((e.to_string(),), Some(&attrs))?;
    Ok(PyErr::from_value(exc))
}

/// `?`-friendly conversion for core results.
pub trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_pyerr)
    }
}
