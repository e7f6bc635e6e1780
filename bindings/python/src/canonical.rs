//! Canonical JSON (the bytes the spdci and jws-detached profiles sign).

use dci::canonical::{self, Style};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::conv;
use crate::errors::IntoPy;

/// Inputs at least this large are canonicalised with the GIL released.
pub const LARGE: usize = 16 * 1024;

fn style(ensure_ascii: bool) -> Style {
    if ensure_ascii {
        Style::Ascii
    } else {
        Style::Utf8
    }
}

/// The canonical JSON of a Python value: the bytes of
/// ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)``.
#[pyfunction]
#[pyo3(signature = (value, *, ensure_ascii = true))]
pub fn canonicalize<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
    ensure_ascii: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let v = conv::to_value(value, "value")?;
    let out = py.detach(|| canonical::canonicalize_value(&v, style(ensure_ascii)));
    Ok(PyBytes::new(py, &out))
}

/// The canonical form of a JSON document given as bytes or str, numbers kept exactly as
/// written. Raises ValidationError (kind ``"json"``) for malformed JSON or duplicate keys.
#[pyfunction]
#[pyo3(signature = (data, *, ensure_ascii = true))]
pub fn canonicalize_json<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    ensure_ascii: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = conv::json_bytes(data)?;
    let out = if bytes.len() >= LARGE {
        py.detach(|| canonical::canonicalize_slice(&bytes, style(ensure_ascii)))
    } else {
        canonical::canonicalize_slice(&bytes, style(ensure_ascii))
    }
    .py_err()?;
    Ok(PyBytes::new(py, &out))
}
