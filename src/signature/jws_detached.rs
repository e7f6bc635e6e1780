//! The `jws-detached` profile, compatible with OpenG2P registry-platform: a JWS (RFC 7515
//! compact form) whose payload segment is empty (`header..signature`, RFC 7515 appendix F).
//!
//! The payload is the canonical JSON of `{"header":h,"message":m}`: keys sorted, no whitespace,
//! non-ASCII as raw UTF-8 (OpenG2P signs `orjson.dumps(payload, option=OPT_SORT_KEYS)`).
//! The protected header is `{"alg":..,"kid":..,"typ":"JWT"}`, as PyJWT writes it. Algorithms
//! `EdDSA` and `RS256`; `none` and the HMAC family are refused (algorithm confusion).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::{KeyResolver, Profile, Verified};
use crate::error::{Error, Result};
use crate::keys::{Algorithm, SigningKey};

/// Signs canonical payload bytes; returns `header..signature`.
pub fn sign(key: &SigningKey, kid: Option<&str>, payload: &[u8]) -> Result<String> {
    let header = protected_header(key.algorithm(), kid, true);
    let (input, h_len, s) = sign_parts(key, &header, payload)?;
    // The segments are base64url, so ASCII.
    let h = std::str::from_utf8(&input[..h_len]).unwrap_or_default();
    Ok(format!("{h}..{s}"))
}

/// Verifies `header..signature` over canonical payload bytes (Style::Utf8).
pub fn verify(jws: &str, payload: &[u8], keys: &dyn KeyResolver) -> Result<Verified> {
    let parts = split(jws)?;
    if !parts.1.is_empty() {
        return Err(Error::SignatureMalformed(
            "a detached JWS must have an empty payload segment (header..signature)".into(),
        ));
    }
    let (alg, kid) = check_header(parts.0)?;
    let key = keys.resolve(kid.as_deref(), alg)?;
    key.check_algorithm(alg)?;
    let signature = decode_segment(parts.2, "signature")?;
    key.verify(&signing_input(parts.0, payload), &signature)?;
    Ok(Verified {
        profile: Profile::JwsDetached,
        algorithm: alg,
        kid,
        created: None,
        expires: None,
    })
}

/// The protected header JSON: keys sorted and compact, as PyJWT writes it (`alg`, `kid`, `typ`).
pub(crate) fn protected_header(alg: Algorithm, kid: Option<&str>, typ: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + kid.map_or(0, str::len));
    out.extend_from_slice(b"{\"alg\":\"");
    out.extend_from_slice(alg.jws_name().as_bytes());
    out.push(b'"');
    if let Some(kid) = kid {
        out.extend_from_slice(b",\"kid\":");
        crate::canonical::write_str(&mut out, kid, crate::canonical::Style::Utf8);
    }
    if typ {
        out.extend_from_slice(b",\"typ\":\"JWT\"");
    }
    out.push(b'}');
    out
}

/// Signs `base64url(header).base64url(payload)`; returns the signing input (the first two
/// segments joined by a dot), the length of the header segment, and base64url(signature).
pub(crate) fn sign_parts(
    key: &SigningKey,
    header: &[u8],
    payload: &[u8],
) -> Result<(Vec<u8>, usize, String)> {
    let h = URL_SAFE_NO_PAD.encode(header);
    let input = signing_input(&h, payload);
    let signature = key.sign(&input)?;
    Ok((input, h.len(), URL_SAFE_NO_PAD.encode(signature)))
}

/// `base64url(header) || '.' || base64url(payload)`.
pub(crate) fn signing_input(header_b64: &str, payload: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(header_b64.len() + 1 + payload.len() * 4 / 3 + 4);
    input.extend_from_slice(header_b64.as_bytes());
    input.push(b'.');
    let start = input.len();
    input.resize(
        start + base64::encoded_len(payload.len(), false).unwrap_or(0),
        0,
    );
    let written = URL_SAFE_NO_PAD
        .encode_slice(payload, &mut input[start..])
        .unwrap_or(0);
    input.truncate(start + written);
    input
}

/// The three segments of a compact JWS.
pub(crate) fn split(jws: &str) -> Result<(&str, &str, &str)> {
    let mut it = jws.trim().split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !s.is_empty() => Ok((h, p, s)),
        _ => Err(Error::SignatureMalformed(
            "a JWS must have three dot-separated segments (truncated?)".into(),
        )),
    }
}

pub(crate) fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Error::SignatureMalformed(format!("JWS {what} is not base64url")))
}

/// Reads the protected header: the algorithm (refusing `none`, HS* and anything else we do not
/// implement) and the kid.
pub(crate) fn check_header(header_b64: &str) -> Result<(Algorithm, Option<String>)> {
    let bytes = decode_segment(header_b64, "header")?;
    let header: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::SignatureMalformed(format!("JWS header is not JSON: {e}")))?;
    let obj = header
        .as_object()
        .ok_or_else(|| Error::SignatureMalformed("JWS header must be a JSON object".into()))?;
    let alg = obj
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::SignatureMalformed("JWS header has no \"alg\"".into()))?;
    let algorithm = match alg {
        "EdDSA" | "Ed25519" => Algorithm::Ed25519,
        "RS256" => Algorithm::RsaSha256,
        other => {
            return Err(Error::UnsupportedAlgorithm(format!(
                "JWS alg {other:?} is refused (only EdDSA and RS256)"
            )))
        }
    };
    if obj.contains_key("crit") || obj.get("b64") == Some(&Value::Bool(false)) {
        return Err(Error::SignatureMalformed(
            "JWS header uses \"crit\" or \"b64\":false, which are not supported".into(),
        ));
    }
    let kid = match obj.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => {
            return Err(Error::SignatureMalformed(
                "JWS header \"kid\" must be a string".into(),
            ))
        }
    };
    Ok((algorithm, kid))
}
