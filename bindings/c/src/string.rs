//! Strings across the boundary: NUL-terminated UTF-8 in (checked), library-owned `char *` out
//! (freed only by `dci_string_free`, so the C allocator and Rust's never mix).

use std::ffi::{c_char, CStr, CString};

use serde_json::Value;

use super::{guard, FfiError, FfiResult};
use dci::error::Error;

/// Borrows a required string argument, checking NULL and UTF-8.
pub(crate) fn in_str<'a>(p: *const c_char, name: &'static str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(FfiError::Null(name));
    }
    // SAFETY: non-NULL and NUL-terminated (contract); borrowed for the call only.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| FfiError::Utf8(name, e.valid_up_to()))
}

/// Borrows an optional string argument (NULL = absent).
pub(crate) fn opt_in_str<'a>(p: *const c_char, name: &'static str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        in_str(p, name).map(Some)
    }
}

/// Parses a required JSON text argument; the error names the argument.
pub(crate) fn in_json(p: *const c_char, name: &'static str) -> FfiResult<Value> {
    in_args(p, name)
}

/// Parses a required JSON text argument into `T`; the error names the argument.
pub(crate) fn in_args<T: serde::de::DeserializeOwned>(
    p: *const c_char,
    name: &'static str,
) -> FfiResult<T> {
    let text = in_str(p, name)?;
    serde_json::from_str(text).map_err(|e| FfiError::Core(Error::Json(format!("{name}: {e}"))))
}

/// Frees a string returned by libdci. NULL is ignored. Never pass a string that libdci did not
/// return, and never free a libdci string with `free()`.
#[no_mangle]
pub unsafe extern "C" fn dci_string_free(s: *mut c_char) {
    guard((), || {
        if !s.is_null() {
            // SAFETY: `s` came from `CString::into_raw` in `string_out` (contract).
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_str_checks_null_and_utf8() {
        assert!(matches!(
            in_str(std::ptr::null(), "pem"),
            Err(FfiError::Null("pem"))
        ));
        let bad = b"ab\xffcd\0";
        assert!(matches!(
            in_str(bad.as_ptr().cast(), "pem"),
            Err(FfiError::Utf8("pem", 2))
        ));
        let good = c"h\u{e9}llo";
        assert_eq!(in_str(good.as_ptr(), "x").unwrap(), "h\u{e9}llo");
    }

    #[test]
    fn in_json_names_the_argument() {
        match in_json(c"{\"a\":".as_ptr(), "record_json") {
            Err(FfiError::Core(Error::Json(m))) => assert!(m.starts_with("record_json: "), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn out_string_round_trip() {
        let mut p: *mut c_char = std::ptr::null_mut();
        let r = crate::string_out(&mut p, std::ptr::null_mut(), || Ok("x\u{e9}"));
        assert_eq!(r, crate::dci_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(p) }.to_str().unwrap(), "x\u{e9}");
        unsafe { dci_string_free(p) };
        unsafe { dci_string_free(std::ptr::null_mut()) };
    }
}
