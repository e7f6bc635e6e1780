//! Canonical JSON (the bytes the spdci and jws-detached profiles sign), written straight from
//! Python objects: no intermediate `serde_json::Value`, so a 1 MB dict costs one walk.

use std::io::Write as _;

use dci::canonical::{self, FloatStyle, Style};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::conv;
use crate::errors::IntoPy;

/// Inputs at least this large are canonicalised with the GIL released.
pub const LARGE: usize = 16 * 1024;

/// Nesting limit, the same as `conv`'s, so a cyclic structure fails cleanly.
const MAX_DEPTH: usize = 512;

fn style(ensure_ascii: bool) -> Style {
    if ensure_ascii {
        Style::Ascii
    } else {
        Style::Utf8
    }
}

/// Why a value cannot be written, and where (path segments innermost first, joined at the top).
struct Unwritable {
    why: Why,
    path: Vec<String>,
}

enum Why {
    /// An exception raised by Python itself, passed on as it is.
    Raised(PyErr),
    /// A TypeError or ValueError whose message follows the path.
    Type(String),
    Value(String),
}

impl Unwritable {
    fn at(mut self, seg: String) -> Self {
        self.path.push(seg);
        self
    }
    fn raised(err: PyErr) -> Self {
        Self::of(Why::Raised(err))
    }
    fn of(why: Why) -> Self {
        Unwritable {
            why,
            path: Vec::new(),
        }
    }
    fn into_pyerr(self, root: &str) -> PyErr {
        let mut path = root.to_string();
        for seg in self.path.iter().rev() {
            path.push_str(seg);
        }
        match self.why {
            Why::Raised(e) => e,
            Why::Type(m) => PyTypeError::new_err(format!("{path}: {m}")),
            Why::Value(m) => PyValueError::new_err(format!("{path}: {m}")),
        }
    }
}

/// Writes `obj` as `json.dumps(obj, sort_keys=True, separators=(",", ":"))` does, in `style`
/// and `floats`; `root` names the argument in errors (`message.search_response[0].x: ...`).
/// Accepts what `conv::to_value` accepts (and integers of any size, written exactly).
pub fn write_py(
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
    style: Style,
    floats: FloatStyle,
    root: &str,
) -> PyResult<()> {
    write(out, obj, style, floats, 0).map_err(|e| e.into_pyerr(root))
}

fn write(
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
    style: Style,
    floats: FloatStyle,
    depth: usize,
) -> Result<(), Unwritable> {
    if depth > MAX_DEPTH {
        return Err(Unwritable::of(Why::Value(format!(
            "nested deeper than {MAX_DEPTH} levels (a cycle?)"
        ))));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        canonical::write_str(out, conv::str_utf8(s).map_err(Unwritable::raised)?, style);
        return Ok(());
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let items: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = d.iter().collect();
        let mut members = Vec::with_capacity(items.len());
        for (k, v) in &items {
            let key = match k.cast::<PyString>() {
                Ok(s) => conv::str_utf8(s).map_err(Unwritable::raised)?,
                Err(_) => {
                    let t = k
                        .get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default();
                    return Err(Unwritable::of(Why::Type(format!(
                        "object keys must be str, got {t}"
                    ))));
                }
            };
            members.push((key, v));
        }
        // Python sorts str keys by code point, which is the order of their UTF-8 bytes.
        members.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out.push(b'{');
        for (i, (key, v)) in members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            canonical::write_str(out, key, style);
            out.push(b':');
            write(out, v, style, floats, depth + 1).map_err(|e| e.at(format!(".{key}")))?;
        }
        out.push(b'}');
        return Ok(());
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return write_seq(out, l.iter(), style, floats, depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return write_seq(out, t.iter(), style, floats, depth);
    }
    if obj.is_none() {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    // bool before int: Python's bool is a subclass of int.
    if let Ok(b) = obj.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
        return Ok(());
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            let _ = write!(out, "{i}");
        } else {
            // Beyond 64 bits: int.__repr__ writes the exact digits, as json.dumps does.
            let digits = obj
                .py()
                .get_type::<PyInt>()
                .call_method1("__repr__", (obj,))
                .and_then(|r| r.extract::<String>())
                .map_err(Unwritable::raised)?;
            out.extend_from_slice(digits.as_bytes());
        }
        return Ok(());
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        if !x.is_finite() {
            return Err(Unwritable::of(Why::Value(format!(
                "{x} is not a JSON number"
            ))));
        }
        match floats {
            FloatStyle::Python => canonical::write_python_float(out, x),
            FloatStyle::Orjson => canonical::write_orjson_float(out, x),
        }
        return Ok(());
    }
    // Typed helper objects (DuplicationResult, ...) and anything else with to_dict().
    if let Ok(f) = obj.getattr("to_dict") {
        if f.is_callable() {
            let d = f.call0().map_err(Unwritable::raised)?;
            return write(out, &d, style, floats, depth + 1);
        }
    }
    let t = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Err(Unwritable::of(Why::Type(format!(
        "{t} is not JSON (expected dict, list, str, int, float, bool or None)"
    ))))
}

fn write_seq<'py>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    style: Style,
    floats: FloatStyle,
    depth: usize,
) -> Result<(), Unwritable> {
    out.push(b'[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, &v, style, floats, depth + 1).map_err(|e| e.at(format!("[{i}]")))?;
    }
    out.push(b']');
    Ok(())
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
    let mut out = Vec::new();
    write_py(
        &mut out,
        value,
        style(ensure_ascii),
        FloatStyle::Python,
        "value",
    )?;
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
