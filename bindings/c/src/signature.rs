//! Signing and verifying envelopes, in the three signature profiles (`spdci`, `jws-detached`,
//! `jws-compact`). Envelopes cross as JSON text and are signed and verified over the bytes as
//! given, so numbers and key order survive exactly.

use std::ffi::c_char;

use serde_json::json;

use super::keys::{dci_jwks, dci_signing_key, dci_verifying_key};
use super::string::{in_str, opt_in_str};
use super::{
    boundary, dci_error, dci_result, free_handle, handle, handle_mut, handle_out, string_out,
    FfiResult,
};
use dci::error::Error;
use dci::keys::SigningKey;
use dci::signature::{
    verify_bytes, DigestAlgorithm, KeyResolver, Profile, Signer, Verified, VerifyOptions,
};

/// Who signs and how: a copy of the key, the kid parts (`{sender_id}|{key_id}|{alg}`), the
/// profile (default `spdci`), the digest (default `sha256`) and the validity (default 300 s).
/// Free with `dci_signer_free`.
pub struct dci_signer(Signer);

fn copy_key(key: &SigningKey) -> FfiResult<SigningKey> {
    Ok(SigningKey::from_pem(&key.to_pem()?)?)
}

/// `0` means "the system clock".
fn opt_now(now: i64) -> Option<i64> {
    (now != 0).then_some(now)
}

/// A new signer in `*out` with a copy of `key` (the caller still owns and frees `key`), for
/// sender `sender_id` and key id `key_id`; the kid it writes is `{sender_id}|{key_id}|{alg}`.
#[no_mangle]
pub extern "C" fn dci_signer_new(
    key: *const dci_signing_key,
    sender_id: *const c_char,
    key_id: *const c_char,
    out: *mut *mut dci_signer,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        let key = copy_key(&handle(key, "key")?.0)?;
        let signer = Signer::new(
            key,
            in_str(sender_id, "sender_id")?,
            in_str(key_id, "key_id")?,
        );
        Ok(dci_signer(signer))
    })
}

/// Sets the signature profile: `"spdci"` (default), `"jws-detached"` or `"jws-compact"`.
#[no_mangle]
pub extern "C" fn dci_signer_set_profile(
    signer: *mut dci_signer,
    profile: *const c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let profile = Profile::parse(in_str(profile, "profile")?)?;
        handle_mut(signer, "signer")?.0.profile = profile;
        Ok(())
    })
}

/// Sets the digest line of the `spdci` profile: `"sha256"` (default, `digest: <b64>`) or
/// `"blake-512"` (`digest: BLAKE-512=<b64>`, the form of the spec's example).
#[no_mangle]
pub extern "C" fn dci_signer_set_digest(
    signer: *mut dci_signer,
    digest: *const c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let name = in_str(digest, "digest")?;
        let digest = match name.to_ascii_lowercase().as_str() {
            "sha256" | "sha-256" => DigestAlgorithm::Sha256,
            "blake-512" | "blake512" => DigestAlgorithm::Blake512,
            _ => {
                return Err(Error::UnsupportedAlgorithm(format!(
                    "digest: unknown digest {name:?} (expected sha256 or blake-512)"
                ))
                .into())
            }
        };
        handle_mut(signer, "signer")?.0.digest = digest;
        Ok(())
    })
}

/// Sets the seconds between a signature's `created` and `expires` (default 300; must be > 0).
#[no_mangle]
pub extern "C" fn dci_signer_set_validity(
    signer: *mut dci_signer,
    validity_secs: i64,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let signer = handle_mut(signer, "signer")?;
        if validity_secs <= 0 {
            return Err(Error::Config {
                field: "validity_secs".into(),
                reason: format!("must be positive, got {validity_secs}"),
            }
            .into());
        }
        signer.0.validity_secs = validity_secs;
        Ok(())
    })
}

/// Writes the signer's kid (`{sender_id}|{key_id}|{alg}`) to `*out` (free with
/// `dci_string_free`).
#[no_mangle]
pub extern "C" fn dci_signer_kid(
    signer: *const dci_signer,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || Ok(handle(signer, "signer")?.0.kid()))
}

/// Signs an envelope (`{"signature"?, "header", "message"}` as JSON text): writes to `*out`
/// the same envelope with its `signature` set over `header` and `message` exactly as given.
/// `now` is the signing time in unix seconds, or 0 for the system clock. Free `*out` with
/// `dci_string_free`.
#[no_mangle]
pub extern "C" fn dci_signer_sign(
    signer: *const dci_signer,
    envelope_json: *const c_char,
    now: i64,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let signer = handle(signer, "signer")?;
        let envelope = in_str(envelope_json, "envelope_json")?;
        let signed = signer.0.sign_bytes(envelope.as_bytes(), opt_now(now))?;
        let text = String::from_utf8(signed)
            .map_err(|e| Error::Internal(format!("signed envelope is not UTF-8: {e}")))?;
        Ok(text)
    })
}

/// Frees a signer (its key copy is wiped). NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_signer_free(signer: *mut dci_signer) {
    free_handle(signer)
}

fn verify(
    envelope: *const c_char,
    keys: &dyn KeyResolver,
    profile: *const c_char,
    now: i64,
    clock_skew_secs: i64,
) -> FfiResult<String> {
    let envelope = in_str(envelope, "envelope_json")?;
    let mut opts = VerifyOptions {
        now: opt_now(now),
        ..VerifyOptions::default()
    };
    if clock_skew_secs >= 0 {
        opts.clock_skew_secs = clock_skew_secs;
    }
    if let Some(p) = opt_in_str(profile, "profile")? {
        opts.profile = Some(Profile::parse(p)?);
    }
    let v: Verified = verify_bytes(envelope.as_bytes(), keys, &opts)?;
    let report = json!({
        "profile": v.profile.name(),
        "algorithm": v.algorithm.dci_name(),
        "kid": v.kid,
        "created": v.created,
        "expires": v.expires,
    });
    Ok(report.to_string())
}

/// Verifies an envelope (JSON text, checked over the bytes as given) with one public key.
///
/// - `profile`: `"spdci"`, `"jws-detached"`, `"jws-compact"`, or NULL to detect it from the
///   signature's form.
/// - `now`: the time to check `created`/`expires` against (unix seconds), or 0 for the clock.
/// - `clock_skew_secs`: how far in the future `created` may be; a negative value means the
///   default (60).
///
/// On success writes to `*out` what was verified, as JSON text:
/// `{"profile":"spdci","algorithm":"ed25519","kid":"...","created":1735689600,"expires":...}`
/// (`kid`, `created`, `expires` may be null). Failures: `DCI_RESULT_SIGNATURE_MISSING`,
/// `_MALFORMED`, `_INVALID`, `_EXPIRED`, `_NOT_YET_VALID`, `DCI_RESULT_KEY`,
/// `DCI_RESULT_UNSUPPORTED_ALGORITHM`, `DCI_RESULT_JSON`.
#[no_mangle]
pub extern "C" fn dci_verify_with_key(
    envelope_json: *const c_char,
    key: *const dci_verifying_key,
    profile: *const c_char,
    now: i64,
    clock_skew_secs: i64,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let key = handle(key, "key")?;
        verify(envelope_json, &key.0, profile, now, clock_skew_secs)
    })
}

/// As `dci_verify_with_key`, finding the key in a JWK Set by the signature's kid (a key
/// not in the set fails with `DCI_RESULT_KEY`).
#[no_mangle]
pub extern "C" fn dci_verify_with_jwks(
    envelope_json: *const c_char,
    jwks: *const dci_jwks,
    profile: *const c_char,
    now: i64,
    clock_skew_secs: i64,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let jwks = handle(jwks, "jwks")?;
        verify(envelope_json, &jwks.0, profile, now, clock_skew_secs)
    })
}
