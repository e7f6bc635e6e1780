//! The one place where `dci::Error` becomes a Python exception (classes in `dci/_errors.py`).

use dci::error::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// Stable kind names, shared with the C ABI and Go (`ErrorKind` in snake case).
pub fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Json => "json",
        ErrorKind::Validation => "validation",
        ErrorKind::SignatureMissing => "signature_missing",
        ErrorKind::SignatureMalformed => "signature_malformed",
        ErrorKind::SignatureInvalid => "signature_invalid",
        ErrorKind::SignatureExpired => "signature_expired",
        ErrorKind::SignatureNotYetValid => "signature_not_yet_valid",
        ErrorKind::Key => "key",
        ErrorKind::UnsupportedAlgorithm => "unsupported_algorithm",
        ErrorKind::Query => "query",
        ErrorKind::Config => "config",
        ErrorKind::Auth => "auth",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Connection => "connection",
        ErrorKind::Tls => "tls",
        ErrorKind::Transport => "transport",
        ErrorKind::Http => "http",
        ErrorKind::Protocol => "protocol",
        ErrorKind::Io => "io",
        ErrorKind::Internal => "internal",
    }
}

/// A query error reads `query[1].expression1.operator: unknown operator ...`: the part before
/// the first `": "` is the field when it looks like a path.
fn query_field(msg: &str) -> Option<String> {
    let (head, _) = msg.split_once(": ")?;
    (!head.is_empty() && !head.contains(' ')).then(|| head.to_string())
}

/// The client writes the transaction of a transport, auth or decoding failure into the message
/// as `(transaction <id>)` (those variants have no field for it); read it back from there.
fn text_transaction_id(e: &Error) -> Option<String> {
    let msg = match e {
        Error::Transport { message, .. } | Error::Auth { message, .. } => message.as_str(),
        Error::Json(m) => m.as_str(),
        _ => return None,
    };
    let start = msg.find("(transaction ")? + "(transaction ".len();
    let len = msg[start..].find(')')?;
    let id = &msg[start..start + len];
    (!id.is_empty() && !id.contains(' ')).then(|| id.to_string())
}

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
        _ => "DCIError",
    };
    let attrs = PyDict::new(py);
    attrs.set_item("kind", kind_name(kind))?;
    attrs.set_item("code", e.dci_code())?;
    attrs.set_item(
        "transaction_id",
        e.transaction_id()
            .map(str::to_string)
            .or_else(|| text_transaction_id(e)),
    )?;
    match e {
        Error::Validation(vs) => {
            let list = PyList::empty(py);
            for v in vs {
                list.append(PyTuple::new(py, [v.path.as_str(), v.rule.as_str()])?)?;
            }
            attrs.set_item("violations", list)?;
            attrs.set_item("field", e.field())?;
        }
        Error::Config { field, reason } => {
            attrs.set_item("field", field)?;
            attrs.set_item(
                "violations",
                PyList::new(py, [PyTuple::new(py, [field.as_str(), reason.as_str()])?])?,
            )?;
        }
        Error::Query(msg) => {
            let field = query_field(msg);
            if let Some(f) = &field {
                let rule = msg[f.len() + 2..].to_string();
                attrs.set_item(
                    "violations",
                    PyList::new(py, [PyTuple::new(py, [f.as_str(), rule.as_str()])?])?,
                )?;
            }
            attrs.set_item("field", field)?;
        }
        Error::Auth { endpoint, .. } => attrs.set_item("endpoint", endpoint)?,
        Error::Transport { endpoint, .. } => attrs.set_item("endpoint", endpoint)?,
        Error::Http {
            status, endpoint, ..
        } => {
            attrs.set_item("endpoint", endpoint)?;
            attrs.set_item("status", status)?;
        }
        Error::Protocol {
            message, endpoint, ..
        } => {
            attrs.set_item("endpoint", endpoint)?;
            attrs.set_item("message", message)?;
        }
        _ => {}
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
