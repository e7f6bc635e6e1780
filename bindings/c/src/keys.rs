//! Keys: Ed25519 and RSA signing keys, verifying keys, JWK and JWK Sets.

use std::ffi::c_char;
use std::ptr;

use super::string::{in_json, in_str, opt_in_str};
use super::{
    boundary, dci_error, dci_result, free_handle, guard, handle, handle_mut, handle_out, string_out,
};
use dci::error::Error;
use dci::keys::{Algorithm, Jwks, SigningKey, VerifyingKey};

/// A private key (Ed25519 or RSA). Free with `dci_signing_key_free`.
pub struct dci_signing_key(pub(crate) SigningKey);

/// A public key (Ed25519 or RSA). Free with `dci_verifying_key_free`.
pub struct dci_verifying_key(pub(crate) VerifyingKey);

/// A JWK Set: public keys with their `kid`s. Free with `dci_jwks_free`.
pub struct dci_jwks(pub(crate) Jwks);

fn alg_name(a: Algorithm) -> *const c_char {
    match a {
        Algorithm::Ed25519 => c"ed25519".as_ptr(),
        Algorithm::RsaSha256 => c"rsa-sha256".as_ptr(),
    }
}

/// Generates a new random signing key. `algorithm` is `"ed25519"` or `"rsa-sha256"` (also
/// `"EdDSA"`, `"RS256"`; any case); RSA keys have 2048 bits. On success `*out` is a new key.
#[no_mangle]
pub extern "C" fn dci_signing_key_generate(
    algorithm: *const c_char,
    out: *mut *mut dci_signing_key,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        let alg = Algorithm::parse(in_str(algorithm, "algorithm")?)?;
        Ok(dci_signing_key(SigningKey::generate(alg)?))
    })
}

/// Loads a private key from PEM: PKCS#8 `BEGIN PRIVATE KEY` (Ed25519 or RSA) or PKCS#1
/// `BEGIN RSA PRIVATE KEY`. Fails with `DCI_RESULT_KEY` for anything else.
#[no_mangle]
pub extern "C" fn dci_signing_key_from_pem(
    pem: *const c_char,
    out: *mut *mut dci_signing_key,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        Ok(dci_signing_key(SigningKey::from_pem(in_str(pem, "pem")?)?))
    })
}

/// An Ed25519 key from its 32-byte seed (the RFC 8032 secret key). `seed_len` must be 32.
#[no_mangle]
pub unsafe extern "C" fn dci_signing_key_from_ed25519_seed(
    seed: *const u8,
    seed_len: usize,
    out: *mut *mut dci_signing_key,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        if seed.is_null() {
            return Err(super::FfiError::Null("seed"));
        }
        if seed_len != 32 {
            return Err(Error::Key(format!(
                "an Ed25519 seed has 32 bytes, got seed_len {seed_len}"
            ))
            .into());
        }
        // SAFETY: non-NULL and, by contract, `seed_len` (= 32) readable bytes.
        let bytes: [u8; 32] = unsafe { *seed.cast::<[u8; 32]>() };
        Ok(dci_signing_key(SigningKey::from_ed25519_seed(&bytes)))
    })
}

/// Writes the key as PKCS#8 PEM to `*out` (free with `dci_string_free`; it is secret: wipe
/// your copies).
#[no_mangle]
pub extern "C" fn dci_signing_key_to_pem(
    key: *const dci_signing_key,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let pem = handle(key, "key")?.0.to_pem()?;
        Ok(pem)
    })
}

/// The key's algorithm, `"ed25519"` or `"rsa-sha256"` (static; do not free), or NULL when
/// `key` is NULL.
#[no_mangle]
pub extern "C" fn dci_signing_key_algorithm(key: *const dci_signing_key) -> *const c_char {
    guard(ptr::null(), || match handle(key, "key") {
        Ok(k) => alg_name(k.0.algorithm()),
        Err(_) => ptr::null(),
    })
}

/// The public half of the key, as a new `dci_verifying_key` in `*out`.
#[no_mangle]
pub extern "C" fn dci_signing_key_verifying_key(
    key: *const dci_signing_key,
    out: *mut *mut dci_verifying_key,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        Ok(dci_verifying_key(handle(key, "key")?.0.verifying_key()))
    })
}

/// Frees a signing key (its material is wiped). NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_signing_key_free(key: *mut dci_signing_key) {
    free_handle(key)
}

/// Loads a public key from PEM: SPKI `BEGIN PUBLIC KEY` (Ed25519 or RSA) or PKCS#1
/// `BEGIN RSA PUBLIC KEY`.
#[no_mangle]
pub extern "C" fn dci_verifying_key_from_pem(
    pem: *const c_char,
    out: *mut *mut dci_verifying_key,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        Ok(dci_verifying_key(VerifyingKey::from_pem(in_str(
            pem, "pem",
        )?)?))
    })
}

/// Loads a public key from a JWK given as JSON text (`{"kty":"OKP","crv":"Ed25519","x":...}`
/// or `{"kty":"RSA","n":...,"e":...}`).
#[no_mangle]
pub extern "C" fn dci_verifying_key_from_jwk(
    jwk_json: *const c_char,
    out: *mut *mut dci_verifying_key,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        let jwk = in_json(jwk_json, "jwk_json")?;
        Ok(dci_verifying_key(VerifyingKey::from_jwk(&jwk)?))
    })
}

/// Writes the key as SPKI PEM to `*out` (free with `dci_string_free`).
#[no_mangle]
pub extern "C" fn dci_verifying_key_to_pem(
    key: *const dci_verifying_key,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let pem = handle(key, "key")?.0.to_pem()?;
        Ok(pem)
    })
}

/// Writes the key's JWK as JSON text to `*out`, with `use: "sig"`, `alg` and `kid` (`kid`, or
/// the RFC 7638 thumbprint when `kid` is NULL). Free `*out` with `dci_string_free`.
#[no_mangle]
pub extern "C" fn dci_verifying_key_to_jwk(
    key: *const dci_verifying_key,
    kid: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let key = handle(key, "key")?;
        let jwk = key.0.to_jwk(opt_in_str(kid, "kid")?);
        Ok(jwk.to_string())
    })
}

/// Writes the key's RFC 7638 JWK thumbprint (base64url SHA-256) to `*out` (free with
/// `dci_string_free`).
#[no_mangle]
pub extern "C" fn dci_verifying_key_thumbprint(
    key: *const dci_verifying_key,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || Ok(handle(key, "key")?.0.thumbprint()))
}

/// The key's algorithm, `"ed25519"` or `"rsa-sha256"` (static; do not free), or NULL when
/// `key` is NULL.
#[no_mangle]
pub extern "C" fn dci_verifying_key_algorithm(key: *const dci_verifying_key) -> *const c_char {
    guard(ptr::null(), || match handle(key, "key") {
        Ok(k) => alg_name(k.0.algorithm()),
        Err(_) => ptr::null(),
    })
}

/// Frees a verifying key. NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_verifying_key_free(key: *mut dci_verifying_key) {
    free_handle(key)
}

/// A new, empty JWK Set in `*out`.
#[no_mangle]
pub extern "C" fn dci_jwks_new(out: *mut *mut dci_jwks, err: *mut *mut dci_error) -> dci_result {
    handle_out(out, err, || Ok(dci_jwks(Jwks::default())))
}

/// Parses a JWK Set (`{"keys": [...]}`) from JSON text. Keys of unknown types are skipped;
/// a malformed Ed25519 or RSA key is an error (`DCI_RESULT_KEY`).
#[no_mangle]
pub extern "C" fn dci_jwks_from_json(
    json: *const c_char,
    out: *mut *mut dci_jwks,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        let v = in_json(json, "json")?;
        Ok(dci_jwks(Jwks::from_json(&v)?))
    })
}

/// Adds a copy of `key` to the set under `kid` (NULL: no kid; such a key is only used when
/// a signature names no kid). `key` stays owned by the caller.
#[no_mangle]
pub extern "C" fn dci_jwks_add(
    jwks: *mut dci_jwks,
    kid: *const c_char,
    key: *const dci_verifying_key,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let jwks = handle_mut(jwks, "jwks")?;
        let key = handle(key, "key")?.0.clone();
        let kid = opt_in_str(kid, "kid")?.map(str::to_string);
        jwks.0.keys.push((kid, key));
        Ok(())
    })
}

/// Writes the set as JSON text (`{"keys": [...]}`) to `*out` (free with `dci_string_free`).
#[no_mangle]
pub extern "C" fn dci_jwks_to_json(
    jwks: *const dci_jwks,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        Ok(handle(jwks, "jwks")?.0.to_json().to_string())
    })
}

/// The number of keys in the set (0 when `jwks` is NULL).
#[no_mangle]
pub extern "C" fn dci_jwks_len(jwks: *const dci_jwks) -> usize {
    guard(0, || handle(jwks, "jwks").map_or(0, |j| j.0.keys.len()))
}

/// Frees a JWK Set. NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_jwks_free(jwks: *mut dci_jwks) {
    free_handle(jwks)
}
