//! Small JSON readers for C hosts, which usually have no JSON library of their own: libdci
//! hands back envelopes, records and results as JSON text, and these pick values out of it by
//! RFC 6901 JSON Pointer (`"/message/search_response/0/data/reg_records"`).

use std::ffi::c_char;

use serde_json::Value;

use super::string::{in_json, in_str};
use super::{dci_error, dci_result, string_out, value_out, FfiError, FfiResult};
use dci::error::Error;

/// Reads the value at `pointer` in the JSON document `json` with `read`; `None` from `read`
/// fails naming what was expected there (`is not a string`).
fn read_at<T>(
    json: *const c_char,
    pointer: *const c_char,
    expected: &str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> FfiResult<T> {
    let doc = in_json(json, "json")?;
    let pointer = in_str(pointer, "pointer")?;
    let v = doc.pointer(pointer).ok_or_else(|| {
        FfiError::Core(Error::Json(format!("no value at JSON pointer {pointer:?}")))
    })?;
    read(v).ok_or_else(|| {
        FfiError::Core(Error::Json(format!(
            "value at JSON pointer {pointer:?} {expected}"
        )))
    })
}

/// Writes to `*out` the JSON text of the value at `pointer` in the JSON document `json`
/// (`""` is the whole document). Fails with `DCI_RESULT_JSON` when `json` is not JSON or
/// nothing is at `pointer`. Free `*out` with `dci_string_free`.
#[no_mangle]
pub extern "C" fn dci_json_get(
    json: *const c_char,
    pointer: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        read_at(json, pointer, "", |v| Some(v.to_string()))
    })
}

/// Writes to `*out` the string at `pointer` in `json`, unquoted and unescaped. Fails with
/// `DCI_RESULT_JSON` when nothing is there or the value is not a string. Free `*out` with
/// `dci_string_free`.
#[no_mangle]
pub extern "C" fn dci_json_get_string(
    json: *const c_char,
    pointer: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        read_at(json, pointer, "is not a string", |v| {
            v.as_str().map(str::to_string)
        })
    })
}

/// Writes to `*out` the number of elements of the array (or members of the object) at
/// `pointer` in `json`. Fails with `DCI_RESULT_JSON` for any other value or a missing one.
#[no_mangle]
pub extern "C" fn dci_json_len(
    json: *const c_char,
    pointer: *const c_char,
    out: *mut usize,
    err: *mut *mut dci_error,
) -> dci_result {
    value_out(out, err, || {
        read_at(
            json,
            pointer,
            "is neither an array nor an object",
            |v| match v {
                Value::Array(a) => Some(a.len()),
                Value::Object(o) => Some(o.len()),
                _ => None,
            },
        )
    })
}
