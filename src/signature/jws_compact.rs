//! The `jws-compact` profile, compatible with opencrvs/dci-crvs-api: an attached compact JWS
//! (`header.payload.signature`) whose payload is the JSON of `{"header":h,"message":m}`.
//!
//! opencrvs signs `JSON.stringify({header, message})` with `{"alg":"RS256","kid":<RFC 7638
//! thumbprint>}` (its first releases: `{"alg":"RS256"}` alone) and, on receipt, checks with
//! lodash `isEqual` that the signed payload equals the envelope without its signature. We sign
//! the canonical form (keys sorted, raw UTF-8) and verify the same way: the payload must hold
//! exactly `header` and `message`, each deep-equal to the envelope's ([`json_equal`]).

use super::jws_detached::{check_header, decode_segment, protected_header, sign_parts, split};
use super::{KeyResolver, Profile, Verified};
use crate::canonical::{self, Node};
use crate::error::{Error, Result};
use crate::keys::SigningKey;

/// Signs payload bytes; returns `header.payload.signature`.
pub fn sign(key: &SigningKey, kid: Option<&str>, payload: &[u8]) -> Result<String> {
    let header = protected_header(key.algorithm(), kid, false);
    let (input, _, s) = sign_parts(key, &header, payload)?;
    // The signing input is already `header.payload`, all base64url (ASCII).
    let mut out = String::from_utf8(input)
        .map_err(|_| Error::SignatureMalformed("JWS segments are not ASCII".into()))?;
    out.reserve(s.len() + 1);
    out.push('.');
    out.push_str(&s);
    Ok(out)
}

/// Verifies a compact JWS and that its payload is this envelope's header and message.
pub fn verify(
    jws: &str,
    header: &Node<'_>,
    message: &Node<'_>,
    keys: &dyn KeyResolver,
) -> Result<Verified> {
    let (verified, payload) = check(jws, keys)?;
    compare(&payload, header, message)?;
    Ok(verified)
}

/// Verifies the JWS itself; returns what it found and the payload it signs (decoded), which
/// the caller must still match against the envelope ([`compare`], or equal canonical bytes).
pub fn check(jws: &str, keys: &dyn KeyResolver) -> Result<(Verified, Vec<u8>)> {
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
    let verified = Verified {
        profile: Profile::JwsCompact,
        algorithm: alg,
        kid,
        created: None,
        expires: None,
    };
    Ok((verified, payload))
}

/// Whether a signed payload holds exactly the envelope's header and message ([`json_equal`]).
pub fn compare(payload: &[u8], header: &Node<'_>, message: &Node<'_>) -> Result<()> {
    let signed = canonical::parse(payload)
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
        if !json_equal(signed_part, received) {
            return Err(Error::SignatureInvalid(format!(
                "the envelope's {name} differs from the signed payload (tampered)"
            )));
        }
    }
    Ok(())
}

/// Objects with more members than this are compared through a map instead of pairwise scans.
const LINEAR_MEMBERS: usize = 16;

/// Deep equality of two JSON values, as lodash `isEqual` sees the parsed values: member order
/// does not matter, array order does; strings compare decoded; numbers compare by value
/// (`1` equals `1.0`), except that two integers compare exactly (JavaScript would round
/// integers beyond 2^53; we do not let such a rounding hide a change).
///
/// Walks both trees once without serialising them (comparing canonical bytes cost an
/// allocation and a key sort per object).
pub fn json_equal(a: &Node<'_>, b: &Node<'_>) -> bool {
    match (a, b) {
        (Node::Null, Node::Null) => true,
        (Node::Bool(x), Node::Bool(y)) => x == y,
        (Node::Number(x), Node::Number(y)) => numbers_equal(x, y),
        (Node::String(x), Node::String(y)) => x.raw() == y.raw() || x.decode() == y.decode(),
        (Node::Array(xs), Node::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_equal(x, y))
        }
        (Node::Object(xs), Node::Object(ys)) => {
            if xs.len() != ys.len() {
                return false;
            }
            // Keys are unique (the parser refuses duplicates), so equal counts and every key
            // of one found with an equal value in the other means equal objects.
            if xs.len() <= LINEAR_MEMBERS {
                xs.iter().all(|(k, v)| {
                    ys.iter()
                        .find(|(k2, _)| k2.raw() == k.raw() || k2.decode() == k.decode())
                        .is_some_and(|(_, v2)| json_equal(v, v2))
                })
            } else {
                let index: std::collections::HashMap<_, _> =
                    ys.iter().map(|(k, v)| (k.decode(), v)).collect();
                xs.iter()
                    .all(|(k, v)| index.get(&k.decode()).is_some_and(|v2| json_equal(v, v2)))
            }
        }
        _ => false,
    }
}

fn numbers_equal(x: &str, y: &str) -> bool {
    if x == y {
        return true;
    }
    let is_int = |t: &str| !t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if is_int(x) && is_int(y) {
        // Only -0 has two spellings of one integer in JSON.
        return matches!((x, y), ("-0", "0") | ("0", "-0"));
    }
    match (x.parse::<f64>(), y.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::json_equal;
    use crate::canonical::parse;

    fn eq(a: &str, b: &str) -> bool {
        json_equal(&parse(a.as_bytes()).unwrap(), &parse(b.as_bytes()).unwrap())
    }

    #[test]
    fn deep_equality_like_lodash_is_equal() {
        assert!(eq(
            r#"{"a":1,"b":[1,2,{"c":"\u00e9"}]}"#,
            r#"{"b":[1,2,{"c":"é"}],"a":1.0}"#
        ));
        assert!(eq("[1e-7, -0, 100]", "[1e-07, 0, 1e2]"));
        assert!(!eq(r#"{"a":[1,2]}"#, r#"{"a":[2,1]}"#));
        assert!(!eq(r#"{"a":1}"#, r#"{"a":1,"b":null}"#));
        assert!(!eq(r#"{"a":"1"}"#, r#"{"a":1}"#));
        assert!(!eq("[null]", "[false]"));
        // Integers compare exactly, beyond what a double holds.
        assert!(!eq("18446744073709551617", "18446744073709551616"));
        // Large objects take the map path.
        let big: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let rev: Vec<String> = big.iter().rev().cloned().collect();
        assert!(eq(
            &format!("{{{}}}", big.join(",")),
            &format!("{{{}}}", rev.join(","))
        ));
        let mut changed = rev.clone();
        changed[0] = "\"k39\":0".into();
        assert!(!eq(
            &format!("{{{}}}", big.join(",")),
            &format!("{{{}}}", changed.join(","))
        ));
    }
}
