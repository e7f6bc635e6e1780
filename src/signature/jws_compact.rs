//! The `jws-compact` profile, compatible with opencrvs/dci-crvs-api: an attached compact JWS
//! (`header.payload.signature`) whose payload is the JSON of `{"header":h,"message":m}`.
//!
//! opencrvs signs `JSON.stringify({header, message})` with `{"alg":"RS256","kid":<RFC 7638
//! thumbprint>}` and, on receipt, checks that the signed payload equals the envelope's header and
//! message as JSON values. We sign the canonical form (keys sorted, raw UTF-8) and verify the
//! same way: the payload's header and message must equal the envelope's, compared canonically.

use super::jws_detached::{check_header, decode_segment, protected_header, sign_parts, split};
use super::{KeyResolver, Profile, Verified};
use crate::canonical::{self, Node, Style};
use crate::error::{Error, Result};
use crate::keys::SigningKey;

/// Signs payload bytes; returns `header.payload.signature`.
pub fn sign(key: &SigningKey, kid: Option<&str>, payload: &[u8]) -> Result<String> {
    let header = protected_header(key.algorithm(), kid, false);
    let (h, p, s) = sign_parts(key, &header, payload)?;
    Ok(format!("{h}.{p}.{s}"))
}

/// Verifies a compact JWS and that its payload is this envelope's header and message.
pub fn verify(
    jws: &str,
    header: &Node<'_>,
    message: &Node<'_>,
    keys: &dyn KeyResolver,
) -> Result<Verified> {
    let (h, p, s) = split(jws)?;
    if p.is_empty() {
        return Err(Error::SignatureMalformed(
            "a compact JWS must carry its payload (got header..signature; use jws-detached)".into(),
        ));
    }
    let (alg, kid) = check_header(h)?;
    let key = keys.resolve(kid.as_deref(), alg)?;
    key.check_algorithm(alg)?;
    let signature = decode_segment(s, "signature")?;
    let payload = decode_segment(p, "payload")?;
    // The signing input is the segments as received, not a re-encoding of the payload.
    let mut input = Vec::with_capacity(h.len() + 1 + p.len());
    input.extend_from_slice(h.as_bytes());
    input.push(b'.');
    input.extend_from_slice(p.as_bytes());
    key.verify(&input, &signature)?;

    let signed = canonical::parse(&payload)
        .map_err(|e| Error::SignatureMalformed(format!("JWS payload is not JSON: {e}")))?;
    let Node::Object(members) = &signed else {
        return Err(Error::SignatureMalformed(
            "JWS payload must be a JSON object".into(),
        ));
    };
    if let Some((k, _)) = members
        .iter()
        .find(|(k, _)| !matches!(k.decode().as_ref(), "header" | "message"))
    {
        return Err(Error::SignatureInvalid(format!(
            "the signed payload carries {:?}, which the envelope does not match",
            k.decode()
        )));
    }
    for (name, received) in [("header", header), ("message", message)] {
        let signed_part = signed.get(name).ok_or_else(|| {
            Error::SignatureInvalid(format!("the signed payload has no {name:?}"))
        })?;
        if signed_part.to_canonical(Style::Utf8)? != received.to_canonical(Style::Utf8)? {
            return Err(Error::SignatureInvalid(format!(
                "the envelope's {name} differs from the signed payload (tampered)"
            )));
        }
    }
    Ok(Verified {
        profile: Profile::JwsCompact,
        algorithm: alg,
        kid,
        created: None,
        expires: None,
    })
}
