//! The JWS profiles: detached (`header..signature` over canonical bytes) and compact
//! (`header.payload.signature` whose payload must equal the envelope's header and message),
//! directly and through `verify_bytes` on a whole envelope. The keys are fixed and signed
//! nothing, so every call must return Err; none may panic.
//!
//! Input: a JWS value, a newline, then the payload bytes (detached) or an envelope (compact
//! and `verify_bytes`). Without a newline the whole input is both.
#![no_main]

use dci::canonical::{self, Node};
use dci::signature::{jws_compact, jws_detached, verify_bytes, Profile, VerifyOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (jws, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    if let Ok(jws) = std::str::from_utf8(jws) {
        let keys = fuzz_support::jwks();
        let r = jws_detached::verify(jws, rest, keys);
        assert!(r.is_err(), "a fuzzed detached JWS verified: {r:?}");
        let r = jws_detached::verify(jws, rest, fuzz_support::rsa_key());
        assert!(r.is_err(), "a fuzzed detached JWS verified: {r:?}");
        if let Ok(env) = canonical::parse(rest) {
            let null = Node::Null;
            let header = env.get("header").unwrap_or(&null);
            let message = env.get("message").unwrap_or(&null);
            let r = jws_compact::verify(jws, header, message, keys);
            assert!(r.is_err(), "a fuzzed compact JWS verified: {r:?}");
        }
    }
    for profile in [None, Some(Profile::JwsDetached), Some(Profile::JwsCompact)] {
        let opts = VerifyOptions {
            now: Some(1_700_000_000),
            profile,
            ..VerifyOptions::default()
        };
        let r = verify_bytes(rest, fuzz_support::jwks(), &opts);
        assert!(r.is_err(), "a fuzzed envelope verified: {r:?}");
    }
});
