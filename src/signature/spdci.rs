//! The `spdci` profile: an HTTP-signature style parameter list, as OpenSPP 2's spp_dci writes it.
//!
//! ```text
//! namespace="dci", kidId="{sender_id}|{key_id}|{alg}", algorithm="ed25519", created="C",
//! expires="E", headers="(created) (expires) digest", signature="<std base64>"
//! ```
//! The signed bytes are the signing string `(created): C\n(expires): E\ndigest: D`, where D is
//! base64(SHA-256(canonical JSON of {"header":h,"message":m})) with Python's `ensure_ascii`
//! escaping, or `BLAKE-512=` + base64(BLAKE2b-512(...)) in the form of the spec's example.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use blake2::Blake2b512;
use sha2::{Digest, Sha256};

use super::{DigestAlgorithm, KeyResolver, Profile, Verified, VerifyOptions};
use crate::error::{Error, Result};
use crate::keys::{Algorithm, SigningKey};

/// The only `headers` list this profile signs.
pub const HEADERS: &str = "(created) (expires) digest";

/// The digest value of the signing string's `digest:` line for the canonical bytes.
pub fn digest(canonical: &[u8], alg: DigestAlgorithm) -> String {
    match alg {
        DigestAlgorithm::Sha256 => STANDARD.encode(Sha256::digest(canonical)),
        DigestAlgorithm::Blake512 => {
            format!(
                "BLAKE-512={}",
                STANDARD.encode(Blake2b512::digest(canonical))
            )
        }
    }
}

/// `(created): C\n(expires): E\ndigest: D`.
pub fn signing_string(created: i64, expires: i64, digest: &str) -> String {
    format!("(created): {created}\n(expires): {expires}\ndigest: {digest}")
}

/// The signature value over canonical `{"header":..,"message":..}` bytes.
pub fn sign(
    key: &SigningKey,
    kid: &str,
    canonical: &[u8],
    created: i64,
    expires: i64,
    digest_alg: DigestAlgorithm,
) -> Result<String> {
    let d = digest(canonical, digest_alg);
    let signature = key.sign(signing_string(created, expires, &d).as_bytes())?;
    let alg = key.algorithm().dci_name();
    Ok(format!(
        "namespace=\"dci\", kidId=\"{kid}\", algorithm=\"{alg}\", created=\"{created}\", \
         expires=\"{expires}\", headers=\"{HEADERS}\", signature=\"{}\"",
        STANDARD.encode(signature)
    ))
}

/// The parameters of a parsed signature value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub namespace: Option<String>,
    /// `kidId` or `keyId`.
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    pub created: i64,
    pub expires: i64,
    pub headers: Option<String>,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
}

fn malformed(what: impl Into<String>) -> Error {
    Error::SignatureMalformed(what.into())
}

fn strip_prefix(value: &str) -> &str {
    let s = value.trim();
    match s.get(..10) {
        Some(p) if p.eq_ignore_ascii_case("signature:") => s[10..].trim_start(),
        _ => s,
    }
}

/// Whether `value` has the shape of a parameter list (`name=...`), however broken.
pub fn looks_like_params(value: &str) -> bool {
    let s = strip_prefix(value);
    let name_len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        .count();
    name_len > 0 && s[name_len..].trim_start().starts_with('=')
}

/// Parses a signature value: optional `Signature:` prefix, `keyId` or `kidId`, any namespace,
/// quoted or bare values, any order and spacing. Duplicate and missing parameters are errors.
pub fn parse(value: &str) -> Result<Params> {
    let s = strip_prefix(value);
    let b = s.as_bytes();
    let mut i = 0;
    let mut seen: Vec<(String, String)> = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
            i += 1;
        }
        if start == i {
            return Err(malformed(format!(
                "expected a parameter name at character {start}"
            )));
        }
        let name = s[start..i].to_ascii_lowercase();
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return Err(malformed(format!("parameter {name:?} has no '=' value")));
        }
        i += 1;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let val = if b.get(i) == Some(&b'"') {
            let from = i + 1;
            let Some(len) = s[from..].find('"') else {
                return Err(malformed(format!(
                    "parameter {name:?} has an unterminated quoted value (truncated signature?)"
                )));
            };
            i = from + len + 1;
            &s[from..from + len]
        } else {
            let from = i;
            while i < b.len() && b[i] != b',' && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            &s[from..i]
        };
        // keyId and kidId name the same thing: a value carrying both is ambiguous.
        let canonical_name = if name == "keyid" { "kidid" } else { &name };
        if seen.iter().any(|(n, _)| n == canonical_name) {
            return Err(malformed(format!("duplicate parameter {name:?}")));
        }
        seen.push((canonical_name.to_owned(), val.to_owned()));
        if i < b.len() && !(b[i] == b',' || b[i].is_ascii_whitespace()) {
            return Err(malformed(format!(
                "unexpected character after parameter {name:?}"
            )));
        }
    }
    let take = |name: &str| seen.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let required =
        |name: &str| take(name).ok_or_else(|| malformed(format!("missing parameter {name:?}")));
    let number = |name: &str| -> Result<i64> {
        let v = required(name)?;
        v.trim()
            .parse::<i64>()
            .map_err(|_| malformed(format!("parameter {name:?} is not an integer: {v:?}")))
    };
    let algorithm_text = required("algorithm")?;
    let algorithm = Algorithm::parse(&algorithm_text)?;
    let created = number("created")?;
    let expires = number("expires")?;
    let sig_text = required("signature")?;
    let signature = STANDARD
        .decode(sig_text.trim())
        .map_err(|_| malformed("parameter \"signature\" is not standard base64 (truncated?)"))?;
    if signature.is_empty() {
        return Err(malformed("parameter \"signature\" is empty"));
    }
    let headers = take("headers");
    if let Some(h) = &headers {
        let normalized: Vec<&str> = h.split_whitespace().collect();
        if normalized.join(" ").to_ascii_lowercase() != HEADERS {
            return Err(malformed(format!(
                "unsupported headers list {h:?} (expected {HEADERS:?})"
            )));
        }
    }
    Ok(Params {
        namespace: take("namespace"),
        kid: take("kidid"),
        algorithm,
        created,
        expires,
        headers,
        signature,
    })
}

/// Verifies a signature value over canonical `{"header":..,"message":..}` bytes (Style::Ascii).
pub fn verify(
    value: &str,
    canonical: &[u8],
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
) -> Result<Verified> {
    let params = parse(value)?;
    let now = opts.now.unwrap_or_else(super::unix_now);
    if params.expires < params.created {
        return Err(malformed(format!(
            "expires ({}) is before created ({})",
            params.expires, params.created
        )));
    }
    if now > params.expires {
        return Err(Error::SignatureExpired {
            expires: params.expires,
            now,
        });
    }
    if params.created > now.saturating_add(opts.clock_skew_secs) {
        return Err(Error::SignatureNotYetValid {
            created: params.created,
            now,
        });
    }
    let key = keys.resolve(params.kid.as_deref(), params.algorithm)?;
    key.check_algorithm(params.algorithm)?;
    // The value does not say which digest was used: SHA-256 (OpenSPP 2) first, then BLAKE-512.
    let sha = signing_string(
        params.created,
        params.expires,
        &digest(canonical, DigestAlgorithm::Sha256),
    );
    match key.verify(sha.as_bytes(), &params.signature) {
        Ok(()) => {}
        Err(Error::SignatureInvalid(_)) => {
            let blake = signing_string(
                params.created,
                params.expires,
                &digest(canonical, DigestAlgorithm::Blake512),
            );
            key.verify(blake.as_bytes(), &params.signature)?;
        }
        Err(e) => return Err(e),
    }
    Ok(Verified {
        profile: Profile::Spdci,
        algorithm: params.algorithm,
        kid: params.kid,
        created: Some(params.created),
        expires: Some(params.expires),
    })
}

/// Verifies a signature value over `{"header":h,"message":m}` built from parsed nodes
/// (Style::Ascii), for a caller that must verify a header other than the envelope's own bytes
/// (a dialect's reconstruction of what a peer signed).
pub fn verify_pair(
    value: &str,
    header: &crate::canonical::Node<'_>,
    message: &crate::canonical::Node<'_>,
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
) -> Result<Verified> {
    let mut payload = Vec::new();
    super::canonical_pair_nodes(
        &mut payload,
        header,
        message,
        crate::canonical::Style::Ascii,
    )?;
    verify(value, &payload, keys, opts)
}
