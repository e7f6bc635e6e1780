//! OAuth 2.0 client-credentials tokens (RFC 6749 section 4.4), cached per client and refreshed
//! before they expire.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::datasource::{AuthConfig, CredentialLocation, DataSource};
use crate::client::transport::Transport;
use crate::error::{Error, Result};

/// A token is refreshed this long before the expiry the server announced, so a request never
/// leaves with a token that expires in flight.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Assumed lifetime when the token response has no `expires_in`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Clone)]
struct Cached {
    token: String,
    refresh_at: Instant,
}

/// The token cache of one client. Safe to share between threads; concurrent callers that find
/// the cache empty wait for one fetch instead of each asking the server.
#[derive(Default)]
pub struct TokenCache {
    slot: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// Forgets the cached token; the next request fetches a fresh one.
    pub fn clear(&self) {
        if let Ok(mut g) = self.slot.lock() {
            *g = None;
        }
    }

    /// The `Authorization` header value for the data source, if it uses auth.
    pub fn authorization(&self, ds: &DataSource, t: &Transport) -> Result<Option<String>> {
        match &ds.auth {
            AuthConfig::None => Ok(None),
            AuthConfig::Bearer { token } => Ok(Some(format!("Bearer {}", token.expose()))),
            AuthConfig::Basic { username, password } => {
                use base64::Engine as _;
                let pair = zeroize::Zeroizing::new(format!("{username}:{}", password.expose()));
                let b64 = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
                Ok(Some(format!("Basic {b64}")))
            }
            AuthConfig::OAuth2 { .. } => {
                let mut g = self
                    .slot
                    .lock()
                    .map_err(|_| Error::Internal("token cache lock poisoned".into()))?;
                if let Some(c) = g.as_ref() {
                    if Instant::now() < c.refresh_at {
                        return Ok(Some(format!("Bearer {}", c.token)));
                    }
                }
                let c = fetch(ds, t)?;
                let h = format!("Bearer {}", c.token);
                *g = Some(c);
                Ok(Some(h))
            }
        }
    }
}

fn token_url(ds: &DataSource) -> String {
    match &ds.auth {
        AuthConfig::OAuth2 {
            token_url: Some(u), ..
        } => ds.url(u),
        _ => ds.url(&ds.endpoints.token),
    }
}

fn fetch(ds: &DataSource, t: &Transport) -> Result<Cached> {
    let AuthConfig::OAuth2 {
        client_id,
        client_secret,
        scope,
        ..
    } = &ds.auth
    else {
        return Err(Error::Internal("fetch called without oauth2".into()));
    };
    let url = token_url(ds);
    let mut params: Vec<(&str, &str)> = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", client_secret.expose()),
    ];
    if let Some(s) = scope {
        params.push(("scope", s));
    }
    let in_query = match ds.oauth2_credential_location {
        Some(CredentialLocation::Query) => true,
        Some(CredentialLocation::Body) => false,
        None => ds.dialect.token_credentials_in_query(),
    };
    let (status, body) = t
        .post_token(&url, &params, in_query, ds.max_retries)
        .map_err(|e| match e {
            // A token failure is an auth failure, but keep timeouts and refusals distinct.
            Error::Transport { .. } => e,
            other => Error::Auth {
                endpoint: url.clone(),
                message: other.to_string(),
                transaction_id: None,
            },
        })?;
    if !(200..300).contains(&status) {
        return Err(Error::Auth {
            endpoint: url,
            message: format!("token endpoint answered HTTP {status}: {}", clip(&body)),
            transaction_id: None,
        });
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| Error::Auth {
        endpoint: url.clone(),
        message: format!("token response is not JSON: {e}"),
        transaction_id: None,
    })?;
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Auth {
            endpoint: url.clone(),
            message: "token response has no access_token".into(),
            transaction_id: None,
        })?
        .to_string();
    let lifetime = lifetime_of(&v);
    Ok(Cached {
        token,
        refresh_at: Instant::now() + refresh_after(lifetime),
    })
}

/// The token lifetime a token response announces (`expires_in`, number or string); absent,
/// zero, negative or absurd values mean [`DEFAULT_LIFETIME`].
pub fn lifetime_of(token_response: &Value) -> Duration {
    let secs = match token_response.get("expires_in") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    secs.filter(|f| f.is_finite() && *f > 0.0 && *f < 1e9)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_LIFETIME)
}

/// When to refresh a token of this lifetime: [`REFRESH_MARGIN`] before it expires, or at
/// half-life for tokens shorter than twice the margin.
pub fn refresh_after(lifetime: Duration) -> Duration {
    lifetime - REFRESH_MARGIN.min(lifetime / 2)
}

pub(crate) fn clip(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    if s.chars().count() > 500 {
        let mut t: String = s.chars().take(500).collect();
        t.push_str("...");
        t
    } else {
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifetime_and_refresh_time() {
        assert_eq!(
            lifetime_of(&json!({"expires_in": 300})),
            Duration::from_secs(300)
        );
        assert_eq!(
            lifetime_of(&json!({"expires_in": "120"})),
            Duration::from_secs(120)
        );
        for bad in [
            json!({}),
            json!({"expires_in": 0}),
            json!({"expires_in": -5}),
            json!({"expires_in": "x"}),
            json!({"expires_in": 1e12}),
        ] {
            assert_eq!(lifetime_of(&bad), DEFAULT_LIFETIME, "{bad}");
        }
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn clip_bounds_error_bodies() {
        let long = vec![b'a'; 2000];
        assert_eq!(clip(&long).len(), 503);
        assert_eq!(clip(b"short"), "short");
    }
}
