//! The spdci profile's signature value (`namespace="dci", kidId="..", algorithm=.., created=..,
//! expires=.., headers="(created) (expires) digest", signature=".."`): the parameter parser,
//! the profile detection and placeholder rules, and verification against fixed keys at a time
//! inside the claimed validity (so the key and signature checks run): it must fail, never pass.
#![no_main]

use dci::signature::{detect_profile, is_missing, spdci, VerifyOptions};
use libfuzzer_sys::fuzz_target;

const PAYLOAD: &[u8] = br#"{"header":{"action":"search"},"message":{"transaction_id":"t"}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let _ = detect_profile(value);
    let _ = is_missing(Some(value));
    let _ = spdci::looks_like_params(value);
    let Ok(params) = spdci::parse(value) else {
        return;
    };
    assert!(!params.signature.is_empty());
    for now in [params.created, params.expires, 0] {
        let opts = VerifyOptions {
            now: Some(now),
            ..VerifyOptions::default()
        };
        let r = spdci::verify(value, PAYLOAD, fuzz_support::jwks(), &opts);
        assert!(r.is_err(), "a fuzzed signature verified: {r:?}");
        let r = spdci::verify(value, PAYLOAD, fuzz_support::ed25519_key(), &opts);
        assert!(r.is_err(), "a fuzzed signature verified: {r:?}");
    }
});
