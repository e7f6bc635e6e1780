//! `dci_error`: the owned error object every fallible call can hand back.

use std::ffi::{c_char, CString};
use std::ptr;

use super::{dci_result, free_handle, guard, FfiError};
use dci::error::Error;

/// An error from a libdci call: result code, message and, where they apply, the DCI error
/// code, the field, the transaction id, the HTTP status and the validation violations.
/// Owned by the caller; free it with `dci_error_free`. The strings its accessors return belong
/// to it and live until it is freed.
pub struct dci_error {
    pub(crate) result: dci_result,
    pub(crate) message: CString,
    code: Option<CString>,
    field: Option<CString>,
    transaction_id: Option<CString>,
    endpoint: Option<CString>,
    violations: Option<CString>,
    http_status: u16,
}

/// A C string from Rust text: an interior NUL (which C cannot carry) becomes U+FFFD.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

impl dci_error {
    pub(crate) fn from_ffi(e: FfiError) -> dci_error {
        match e {
            FfiError::Core(e) => dci_error::from_core(&e),
            FfiError::Null(name) => dci_error::plain(
                dci_result::NullArgument,
                format!("argument {name} must not be NULL"),
            ),
            FfiError::Utf8(name, at) => dci_error::plain(
                dci_result::InvalidUtf8,
                format!("argument {name} is not valid UTF-8 (bad byte at offset {at})"),
            ),
        }
    }

    fn plain(result: dci_result, message: String) -> dci_error {
        dci_error {
            result,
            message: c_string(&message),
            code: None,
            field: None,
            transaction_id: None,
            endpoint: None,
            violations: None,
            http_status: 0,
        }
    }

    fn from_core(e: &Error) -> dci_error {
        // Every part comes from the core's structured error, never from the message text.
        let info = e.info();
        let violations = matches!(e, Error::Validation(_))
            .then(|| serde_json::to_string(&info.violations).unwrap_or_default())
            .map(|v| c_string(&v));
        let opt = |s: Option<String>| s.as_deref().map(c_string);
        dci_error {
            result: info.kind.into(),
            message: c_string(&info.message),
            code: opt(info.code),
            field: opt(info.field),
            transaction_id: opt(info.transaction_id),
            endpoint: opt(info.endpoint),
            violations,
            http_status: info.status.unwrap_or(0),
        }
    }
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

fn with_error<T>(e: *const dci_error, fallback: T, f: impl FnOnce(&dci_error) -> T) -> T {
    // SAFETY: a non-NULL `e` is a live error from this library (contract).
    match unsafe { e.as_ref() } {
        Some(e) => guard(fallback, || f(e)),
        None => fallback,
    }
}

/// The result code of the call that made this error (never `DCI_RESULT_OK`), or
/// `DCI_RESULT_NULL_ARGUMENT` when `e` is NULL.
#[no_mangle]
pub extern "C" fn dci_error_kind(e: *const dci_error) -> dci_result {
    with_error(e, dci_result::NullArgument, |e| e.result)
}

/// The human-readable message (UTF-8, never NULL for a non-NULL `e`). Owned by `e`.
#[no_mangle]
pub extern "C" fn dci_error_message(e: *const dci_error) -> *const c_char {
    with_error(e, ptr::null(), |e| e.message.as_ptr())
}

/// The DCI error code that describes the error (`"err.signature.invalid"`,
/// `"err.request.bad"`, or the `err.*`/`rjct.*` code a peer sent), or NULL when none applies.
/// Owned by `e`.
#[no_mangle]
pub extern "C" fn dci_error_code(e: *const dci_error) -> *const c_char {
    with_error(e, ptr::null(), |e| opt_ptr(&e.code))
}

/// The field path a validation or configuration error is about
/// (`"message.search_request[0].reference_id"`), or NULL. Owned by `e`.
#[no_mangle]
pub extern "C" fn dci_error_field(e: *const dci_error) -> *const c_char {
    with_error(e, ptr::null(), |e| opt_ptr(&e.field))
}

/// The transaction id a peer's error refers to, or NULL. Owned by `e`.
#[no_mangle]
pub extern "C" fn dci_error_transaction_id(e: *const dci_error) -> *const c_char {
    with_error(e, ptr::null(), |e| opt_ptr(&e.transaction_id))
}

/// The URL (or `callback <action>`) a network, auth, HTTP or protocol error came from, or
/// NULL. Owned by `e`.
#[no_mangle]
pub extern "C" fn dci_error_endpoint(e: *const dci_error) -> *const c_char {
    with_error(e, ptr::null(), |e| opt_ptr(&e.endpoint))
}

/// The HTTP status of a `DCI_RESULT_HTTP` error, otherwise 0.
#[no_mangle]
pub extern "C" fn dci_error_http_status(e: *const dci_error) -> u16 {
    with_error(e, 0, |e| e.http_status)
}

/// For a `DCI_RESULT_VALIDATION` error, every violation as a JSON array
/// `[{"path": "...", "rule": "..."}, ...]` in document order; otherwise NULL. Owned by `e`.
#[no_mangle]
pub extern "C" fn dci_error_violations(e: *const dci_error) -> *const c_char {
    with_error(e, ptr::null(), |e| opt_ptr(&e.violations))
}

/// Frees an error. NULL is ignored. Call it exactly once per error.
#[no_mangle]
pub extern "C" fn dci_error_free(e: *mut dci_error) {
    free_handle(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dci::error::Violation;
    use std::ffi::CStr;

    fn s(p: *const c_char) -> Option<String> {
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
    }

    #[test]
    fn validation_error_carries_violations_and_field() {
        let e = dci_error::from_core(&Error::Validation(vec![
            Violation::new("header.sender_id", "required"),
            Violation::new("message.transaction_id", "at most 99 characters"),
        ]));
        assert_eq!(dci_error_kind(&e), dci_result::Validation);
        assert_eq!(s(dci_error_code(&e)).as_deref(), Some("err.request.bad"));
        assert_eq!(s(dci_error_field(&e)).as_deref(), Some("header.sender_id"));
        assert_eq!(
            s(dci_error_violations(&e)).as_deref(),
            Some(
                r#"[{"path":"header.sender_id","rule":"required"},{"path":"message.transaction_id","rule":"at most 99 characters"}]"#
            )
        );
        assert_eq!(dci_error_http_status(&e), 0);
        assert!(dci_error_transaction_id(&e).is_null());
    }

    #[test]
    fn http_error_has_status_and_transaction() {
        let e = dci_error::from_core(&Error::Http {
            status: 503,
            endpoint: "http://x/registry/sync/search".into(),
            body: "busy".into(),
            transaction_id: Some("T1".into()),
        });
        assert_eq!(dci_error_kind(&e), dci_result::Http);
        assert_eq!(dci_error_http_status(&e), 503);
        assert_eq!(s(dci_error_transaction_id(&e)).as_deref(), Some("T1"));
        assert_eq!(
            s(dci_error_endpoint(&e)).as_deref(),
            Some("http://x/registry/sync/search")
        );
        assert!(dci_error_code(&e).is_null());
    }

    #[test]
    fn transport_error_has_its_transaction_and_endpoint_as_data() {
        let e = dci_error::from_core(&Error::Transport {
            kind: dci::error::TransportKind::Connection,
            endpoint: "http://x/registry/search".into(),
            message: "refused".into(),
            transaction_id: Some("T2".into()),
        });
        assert_eq!(dci_error_kind(&e), dci_result::Connection);
        assert_eq!(s(dci_error_transaction_id(&e)).as_deref(), Some("T2"));
        assert_eq!(
            s(dci_error_endpoint(&e)).as_deref(),
            Some("http://x/registry/search")
        );
        let q = dci_error::from_core(&Error::Query("query[0].operator: unknown".into()));
        assert_eq!(s(dci_error_field(&q)).as_deref(), Some("query[0].operator"));
    }

    #[test]
    fn interior_nul_does_not_truncate_or_fail() {
        let e = dci_error::from_core(&Error::Json("bad\0byte".into()));
        assert_eq!(
            s(dci_error_message(&e)).as_deref(),
            Some("invalid JSON: bad\u{FFFD}byte")
        );
    }

    #[test]
    fn null_error_accessors() {
        assert_eq!(dci_error_kind(ptr::null()), dci_result::NullArgument);
        assert!(dci_error_message(ptr::null()).is_null());
        assert_eq!(dci_error_http_status(ptr::null()), 0);
        dci_error_free(ptr::null_mut());
    }
}
