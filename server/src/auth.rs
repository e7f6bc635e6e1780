//! OAuth2 client credentials (RFC 6749 section 4.4), JWT access tokens signed with the
//! server key (EdDSA or RS256 as the key is), the JWKS endpoint, and the bearer check.
//!
//! Client secrets are stored as `pbkdf-sha256$rounds$salt$hash` (salted, iterated SHA-256)
//! and compared in constant time; they are never logged.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use dci::keys::VerifyingKey;

use super::store::Client;
use super::AppState;

const HASH_ROUNDS: u32 = 10_000;

/// How long a verified token is trusted before its client's status is read again.
const REVOCATION_CHECK_SECS: i64 = 2;

/// A new random secret (32 bytes, base64url).
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
thread_local! {
    /// Hash rounds run on this thread (tests prove every token request pays the same work).
    static ROUNDS_RUN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn derive(secret: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    #[cfg(test)]
    ROUNDS_RUN.with(|r| r.set(r.get() + u64::from(rounds)));
    let mut h: [u8; 32] = Sha256::new()
        .chain_update(salt)
        .chain_update(secret.as_bytes())
        .finalize()
        .into();
    for _ in 1..rounds {
        h = Sha256::new()
            .chain_update(salt)
            .chain_update(h)
            .finalize()
            .into();
    }
    h
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let h = derive(secret, &salt, HASH_ROUNDS);
    format!(
        "pbkdf-sha256${HASH_ROUNDS}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(h)
    )
}

/// Whether `secret` matches the stored hash (constant-time comparison).
pub fn verify_secret(secret: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [scheme, rounds, salt, hash] = parts.as_slice() else {
        return false;
    };
    if *scheme != "pbkdf-sha256" {
        return false;
    }
    let (Ok(rounds), Ok(salt), Ok(hash)) = (
        rounds.parse::<u32>(),
        STANDARD.decode(salt),
        STANDARD.decode(hash),
    ) else {
        return false;
    };
    let h = derive(secret, &salt, rounds.clamp(1, 1_000_000));
    hash.len() == h.len() && hash.iter().zip(h.iter()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
}

/// A hash of a random secret at the stored cost, checked for unknown client ids.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_secret(&new_secret()))
}

/// The client `found` for a token request if `secret` is its secret and it is active. The
/// secret is always hashed once at the stored cost (against a dummy hash when the id is
/// unknown, and for revoked clients too), so the answer time does not tell which ids exist.
fn authenticate(found: Option<Client>, secret: &str) -> Option<Client> {
    let dummy = dummy_hash();
    let stored = found.as_ref().map_or(dummy, |c| c.secret_hash.as_str());
    let matches = verify_secret(secret, stored);
    found.filter(|c| matches && c.active)
}

/// What a valid access token says.
#[derive(Debug, Clone)]
pub struct TokenClaims {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub sender_id: Option<String>,
    pub exp: i64,
}

impl TokenClaims {
    /// `registry.{op}`, `registry` (every registry operation) or `*`.
    pub fn allows(&self, op: &str) -> bool {
        self.scopes.iter().any(|s| {
            s == "*"
                || (op != "admin" && s == "registry")
                || s.strip_prefix("registry.") == Some(op)
                || (op == "admin" && s == "admin")
        })
    }
}

/// Issues and checks access tokens.
pub struct Tokens {
    /// Verified tokens (token -> claims, when the client was last seen active), so a busy
    /// client costs one signature check per token.
    cache: Mutex<HashMap<String, (TokenClaims, i64)>>,
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens {
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl Tokens {
    pub fn issue(
        &self,
        state: &AppState,
        client: &Client,
        scopes: &[String],
    ) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let header = json!({"alg": state.signer.key.algorithm().jws_name(), "typ": "JWT", "kid": state.signer.kid()});
        let claims = json!({
            "iss": state.config.server_id,
            "sub": client.client_id,
            "aud": state.config.server_id,
            "iat": now,
            "exp": now + state.config.token_ttl_secs,
            "jti": uuid::Uuid::new_v4().to_string(),
            "scope": scopes.join(" "),
            "sender_id": client.sender_id,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = state
            .signer
            .key
            .sign(input.as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// Checks a bearer token: our signature, `exp`, and that the client is still active.
    pub fn check(&self, state: &AppState, token: &str) -> Result<TokenClaims, &'static str> {
        let now = chrono::Utc::now().timestamp();
        if let Some((c, checked)) = self.cache.lock().ok().and_then(|m| m.get(token).cloned()) {
            if c.exp <= now {
                return Err("access token expired");
            }
            // Revocation (possibly by `dci clients revoke` in another process) takes effect
            // within REVOCATION_CHECK_SECS.
            if now - checked < REVOCATION_CHECK_SECS {
                return Ok(c);
            }
        }
        let tc = verify_token(&state.verifying_key, token, now)?;
        // A revoked client's tokens stop working at once, not at expiry.
        match state.store.client(&tc.client_id) {
            Ok(Some(c)) if c.active => {}
            _ => return Err("client is unknown or revoked"),
        }
        if let Ok(mut m) = self.cache.lock() {
            if m.len() > 100_000 {
                m.retain(|_, (c, _)| c.exp > now);
            }
            m.insert(token.to_string(), (tc.clone(), now));
        }
        Ok(tc)
    }
}

/// The checks of an access token that need no store: a JWT of three parts, `alg` the server
/// key's, our signature, an `exp` after `now`, a `sub`. Returns its claims.
pub(crate) fn verify_token(
    key: &VerifyingKey,
    token: &str,
    now: i64,
) -> Result<TokenClaims, &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("access token is not a JWT");
    };
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| "access token signature is not base64url")?;
    // A JWT part: base64url of JSON.
    let part = |b64: &str, what: &'static str| -> Result<Value, &'static str> {
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| what)?;
        serde_json::from_slice(&bytes).map_err(|_| what)
    };
    let header = part(h, "access token header is not JSON")?;
    if header.get("alg").and_then(Value::as_str) != Some(key.algorithm().jws_name()) {
        return Err("access token algorithm is not ours");
    }
    key.verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| "access token signature is invalid")?;
    let claims = part(p, "access token claims are not JSON")?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("access token has no exp")?;
    if exp <= now {
        return Err("access token expired");
    }
    let client_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or("access token has no sub")?;
    Ok(TokenClaims {
        client_id: client_id.to_string(),
        scopes: claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        sender_id: claims
            .get("sender_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        exp,
    })
}

/// An RFC 6749 section 5.2 error (`invalid_client` is 401, `server_error` 500, the others 400).
fn oauth_error(error: &str, description: &str) -> Response {
    let status = match error {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    oauth_error_status(status, error, description)
}

/// The same with another HTTP status (413 for a body over the limit, 405).
pub fn oauth_error_status(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    (status, Json(body)).into_response()
}

/// Decodes `application/x-www-form-urlencoded` (RFC 6749 appendix B).
pub(crate) fn parse_form(body: &[u8]) -> HashMap<String, String> {
    fn dec(s: &str) -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let hex = |c: u8| (c as char).to_digit(16);
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

/// The `(client_id, client_secret)` of an HTTP Basic `Authorization` value (RFC 6749 section 2.3.1).
pub(crate) fn basic_credentials(authorization: &str) -> Option<(String, String)> {
    let basic = authorization
        .strip_prefix("Basic ")
        .or_else(|| authorization.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(basic.trim()).ok()?).ok()?;
    let (u, p) = decoded.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// POST /oauth2/client/token
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let body = match super::routes::read_limited(&state, &headers, body).await {
        Ok(b) => b,
        Err((status, m)) => return oauth_error_status(status, "invalid_request", &m),
    };
    let form = parse_form(&body);
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    // Credentials from the form, or from HTTP Basic (RFC 6749 section 2.3.1).
    let mut id = form.get("client_id").cloned();
    let mut secret = form.get("client_secret").cloned();
    if let Some((u, p)) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(basic_credentials)
    {
        id = Some(u);
        secret = Some(p);
    }
    let (Some(id), Some(secret)) = (id, secret) else {
        return oauth_error(
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    let found = match state.store.client(&id) {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "token: storage error");
            return oauth_error("server_error", "storage error");
        }
    };
    let Some(client) = authenticate(found, &secret) else {
        tracing::info!(client_id = %id, "token refused: unknown client, revoked, or wrong secret");
        return oauth_error("invalid_client", "client authentication failed");
    };
    // A requested scope narrows the client's scopes; asking for more is an error.
    let scopes: Vec<String> = match form.get("scope").filter(|s| !s.trim().is_empty()) {
        None => client.scopes.clone(),
        Some(req) => {
            let req: Vec<String> = req.split_whitespace().map(str::to_string).collect();
            let granted = TokenClaims {
                client_id: client.client_id.clone(),
                scopes: client.scopes.clone(),
                sender_id: None,
                exp: 0,
            };
            if let Some(bad) = req.iter().find(|s| {
                !(client.scopes.contains(s)
                    || s.strip_prefix("registry.")
                        .is_some_and(|op| granted.allows(op)))
            }) {
                return oauth_error(
                    "invalid_scope",
                    &format!("scope {bad} is not granted to this client"),
                );
            }
            req
        }
    };
    match state.tokens.issue(&state, &client, &scopes) {
        Ok(t) => {
            tracing::info!(client_id = %client.client_id, "token issued");
            Json(json!({
                "access_token": t,
                "token_type": "Bearer",
                "expires_in": state.config.token_ttl_secs,
                "scope": scopes.join(" "),
            }))
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "token signing failed");
            oauth_error("server_error", "token signing failed")
        }
    }
}

/// GET /.well-known/jwks.json
pub async fn jwks(State(state): State<AppState>) -> Response {
    Json(state.jwks.clone()).into_response()
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_round_trip() {
        let h = hash_secret("s3cret");
        assert!(h.starts_with("pbkdf-sha256$10000$"));
        assert!(!h.contains("s3cret"));
        assert!(verify_secret("s3cret", &h));
        assert!(!verify_secret("s3cres", &h));
        assert!(!verify_secret("s3cret", "garbage"));
    }

    fn client(secret: &str, active: bool) -> Client {
        Client {
            client_id: "c1".into(),
            name: "c1".into(),
            secret_hash: hash_secret(secret),
            scopes: vec!["registry".into()],
            sender_id: None,
            active,
        }
    }

    /// Rounds hashed on this thread while `f` runs.
    fn rounds_run(f: impl FnOnce()) -> u64 {
        let before = ROUNDS_RUN.with(|r| r.get());
        f();
        ROUNDS_RUN.with(|r| r.get()) - before
    }

    #[test]
    fn every_token_request_hashes_the_secret_once_at_the_stored_cost() {
        dummy_hash();
        let known = client("right", true);
        let revoked = client("right", false);
        let cost = u64::from(HASH_ROUNDS);
        let mut got = None;
        assert_eq!(rounds_run(|| got = authenticate(None, "guess")), cost);
        assert!(got.is_none(), "unknown client id");
        assert_eq!(
            rounds_run(|| got = authenticate(Some(known.clone()), "wrong")),
            cost
        );
        assert!(got.is_none(), "wrong secret");
        assert_eq!(
            rounds_run(|| got = authenticate(Some(revoked), "right")),
            cost
        );
        assert!(got.is_none(), "revoked client");
        assert_eq!(
            rounds_run(|| got = authenticate(Some(known), "right")),
            cost
        );
        assert_eq!(got.map(|c| c.client_id).as_deref(), Some("c1"));
    }

    #[test]
    fn form_decoding() {
        let f = parse_form(b"grant_type=client_credentials&client_id=a%2Bb&client_secret=x+y%3D");
        assert_eq!(f["client_id"], "a+b");
        assert_eq!(f["client_secret"], "x y=");
    }
}
