//! The token endpoint's input (RFC 6749): the form body and HTTP Basic credentials; and the
//! bearer check of an access token (a JWT: parts, alg, signature, exp, sub) against the fixed
//! key, which signed nothing, so it must fail. The server's own functions, through
//! `dci_server::fuzzing`.
//!
//! Input: a form body, a newline, then an `Authorization` value; the whole input is also tried
//! as a bearer token.
#![no_main]

use dci_server::fuzzing::{basic_credentials, token_form, verify_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (form, auth) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let fields = token_form(form);
    // Each pair takes at least one byte and one '&'.
    assert!(fields.len() <= form.len().div_ceil(2) + 1);
    if let Ok(auth) = std::str::from_utf8(auth) {
        let _ = basic_credentials(auth);
    }
    if let Ok(token) = std::str::from_utf8(data) {
        for key in [fuzz_support::ed25519_key(), fuzz_support::rsa_key()] {
            let r = verify_token(key, token, 0);
            assert!(r.is_err(), "a fuzzed access token verified: {r:?}");
        }
    }
});
