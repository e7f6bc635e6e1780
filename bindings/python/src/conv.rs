//! Python objects <-> `serde_json::Value`, shaped like the JSON on the wire.
//!
//! dict (str keys) <-> object (insertion order kept), list/tuple <-> array, str, int (64-bit),
//! float (finite), bool, None. Anything else is refused with a TypeError naming the path.

use std::fmt::Write as _;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

/// The UTF-8 text of a Python str without a temporary bytes object.
///
/// `PyUnicode_AsUTF8AndSize` is public CPython API since 3.3 and part of the limited API since
/// 3.10, with this signature throughout; pyo3 only declares it for 3.10+ under abi3, so it is
/// declared here. The UTF-8 form is cached in the str object (ASCII strings need no copy), and
/// stays valid while the object lives, which the borrow guarantees.
pub fn str_utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    extern "C" {
        fn PyUnicode_AsUTF8AndSize(
            unicode: *mut pyo3::ffi::PyObject,
            size: *mut pyo3::ffi::Py_ssize_t,
        ) -> *const std::os::raw::c_char;
    }
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str; the call returns NULL with an exception set on failure (a
    // lone surrogate), else a pointer to `size` bytes of UTF-8 owned by `s`.
    unsafe {
        let p = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size);
        if p.is_null() {
            return Err(PyErr::fetch(s.py()));
        }
        let bytes = std::slice::from_raw_parts(p.cast::<u8>(), size as usize);
        Ok(std::str::from_utf8_unchecked(bytes))
    }
}

/// Nesting limit, the same order as the core parser's, so a cyclic structure fails cleanly.
const MAX_DEPTH: usize = 512;

/// Converts a Python object to JSON. `what` names the argument in error messages.
pub fn to_value(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    let mut path = String::from(what);
    convert(obj, &mut path, 0)
}

fn convert(obj: &Bound<'_, PyAny>, path: &mut String, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{path}: nested deeper than {MAX_DEPTH} levels (a cycle?)"
        )));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(str_utf8(s)?.to_owned()));
    }
    // Containers next: most values of a message are strings, objects and lists.
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::with_capacity(d.len());
        let len = path.len();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => str_utf8(s)?.to_owned(),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "{path}: object keys must be str, got {}",
                        k.get_type().name()?
                    )))
                }
            };
            path.push('.');
            path.push_str(&key);
            let value = convert(&v, path, depth + 1)?;
            path.truncate(len);
            m.insert(key, value);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return seq(l.iter(), l.len(), path, depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return seq(t.iter(), t.len(), path, depth);
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is a subclass of int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(PyValueError::new_err(format!(
            "{path}: integer {} does not fit in 64 bits; pass the envelope as bytes to keep it exact",
            obj.str()?
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{path}: {x} is not a JSON number")));
    }
    // Typed helper objects (DuplicationResult, ...) and anything else with to_dict().
    if let Ok(f) = obj.getattr("to_dict") {
        if f.is_callable() {
            return convert(&f.call0()?, path, depth + 1);
        }
    }
    Err(PyTypeError::new_err(format!(
        "{path}: {} is not JSON (expected dict, list, str, int, float, bool or None)",
        obj.get_type().name()?
    )))
}

fn seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    len: usize,
    path: &mut String,
    depth: usize,
) -> PyResult<Value> {
    let mut out = Vec::with_capacity(len);
    let base = path.len();
    for (i, v) in items.enumerate() {
        let _ = write!(path, "[{i}]");
        out.push(convert(&v, path, depth + 1)?);
        path.truncate(base);
    }
    Ok(Value::Array(out))
}

/// Converts JSON to Python objects (dicts keep the JSON member order).
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Any serialisable core type as Python objects.
pub fn ser_to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(v).map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_py(py, &value)
}

/// Runs a core call with the GIL released and hands its result back as Python data (`None`
/// for `None`); a core error becomes its `dci` exception.
pub fn released<'py, T: serde::Serialize + Send>(
    py: Python<'py>,
    f: impl FnOnce() -> dci::Result<T> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let r = py.detach(f).map_err(crate::errors::to_pyerr)?;
    ser_to_py(py, &r)
}

/// Bytes of a JSON document given as bytes, bytearray, str, or anything `bytes()` accepts
/// (memoryview, ...).
pub fn json_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(str_utf8(s)?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    let as_bytes = obj
        .py()
        .get_type::<PyBytes>()
        .call1((obj,))
        .map_err(|_| PyTypeError::new_err("expected the JSON document as bytes or str"))?;
    Ok(as_bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}
