//! Admission of a registry request as `dci serve` makes it: the bearer token and rate limits
//! here, then the registry kit's pipeline (`dci::registry::admit`: sender, signature over the
//! received bytes, decryption, spec checks, skew, replay, registry access) over the store's
//! sender registry and replay claims.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use dci::keys::Jwks;
use dci::registry::{Admission, MemoryReplay, Policy, ReplayGuard, SenderDirectory};

pub use dci::registry::admit::{open_request, reply_key, seal};
pub use dci::registry::{share, Admitted, Partial};

use super::auth::bearer;
use super::op::Op;
use super::reply::Reject;
use super::store::Sender;
use super::AppState;

/// Message ids seen recently by this process (the store's claim is the shared check).
pub type ReplayCache = MemoryReplay;

/// Senders and their parsed keys, read again after [`SENDER_CACHE_SECS`] (so `dci senders
/// disable` in another process takes effect within that time).
#[derive(Default)]
pub struct SenderCache {
    map: Mutex<HashMap<String, CachedSender>>,
}

const SENDER_CACHE_SECS: i64 = 2;

/// A sender, its parsed keys (None if its JWKS does not parse), and when it was read.
type CachedSender = (Sender, Option<Jwks>, i64);

impl SenderCache {
    pub fn get(
        &self,
        state: &AppState,
        id: &str,
    ) -> Result<Option<(Sender, Option<Jwks>)>, super::store::StoreError> {
        let now = chrono::Utc::now().timestamp();
        if let Some((s, j, at)) = self.map.lock().ok().and_then(|m| m.get(id).cloned()) {
            if now - at < SENDER_CACHE_SECS {
                return Ok(Some((s, j)));
            }
        }
        let Some(s) = state.store.sender(id)? else {
            return Ok(None);
        };
        let j = Jwks::from_json(&s.jwks).ok();
        if let Ok(mut m) = self.map.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(id.to_string(), (s.clone(), j.clone(), now));
        }
        Ok(Some((s, j)))
    }
}

/// Checks the bearer token and the client's rate limit, then runs the kit's admission
/// (`dci::registry::admit`) with this server's sender registry, replay guard and checks.
pub fn admit(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    op: Op,
    registry: &str,
    correlation_id: String,
    partial: &mut Partial,
) -> Result<Admitted, Reject> {
    let name = op.name();
    // 0. Bearer token (401 with HttpErrorResponse when missing or invalid).
    let token = bearer(headers)
        .ok_or_else(|| Reject::unauthorized("missing bearer token (Authorization: Bearer ...)"))?;
    let claims = state
        .tokens
        .check(state, token)
        .map_err(|m| Reject::unauthorized(format!("invalid bearer token: {m}")))?;
    if !claims.allows(name) {
        return Err(Reject::forbidden(format!(
            "the access token's scope does not include registry.{name}"
        )));
    }
    rate_limit(
        state.client_rate.as_ref(),
        "client",
        &claims.client_id,
        "rate_limit_client",
    )?;
    // The sender found must be the one the token is bound to, within its rate limit.
    let check_sender = |sender: &Sender| {
        if let Some(bound) = &claims.sender_id {
            if *bound != sender.sender_id {
                return Err(Reject::forbidden(format!(
                    "client {} may only send as {bound}, not {}",
                    claims.client_id, sender.sender_id
                )));
            }
        }
        rate_limit(
            state.sender_rate.as_ref(),
            "sender",
            &sender.sender_id,
            "rate_limit_sender",
        )
    };
    let policy = Policy {
        clock_skew_secs: state.config.clock_skew_secs,
        max_search_items: state.config.max_search_items,
        strict: state.config.strict,
    };
    let a = Admission {
        policy: &policy,
        senders: &StoreSenders(state),
        replay: &StoreReplay(state),
        decryption_keys: &state.encryption_keys,
        check_sender: &check_sender,
    };
    let admitted = dci::registry::admit(&a, body, op, registry, correlation_id, partial)?;
    tracing::debug!(sender = %admitted.sender.sender_id, signed = admitted.signed, client = %claims.client_id, op = name, "request admitted");
    Ok(admitted)
}

/// The sender registry of the store, through this process's [`SenderCache`].
struct StoreSenders<'a>(&'a AppState);

impl SenderDirectory for StoreSenders<'_> {
    fn lookup(&self, sender_id: &str) -> Result<Option<(Sender, Option<Jwks>)>, String> {
        self.0
            .senders
            .get(self.0, sender_id)
            .map_err(|e| e.to_string())
    }
}

/// This process's cache first; then the store's claim, which instances sharing a database
/// agree on.
struct StoreReplay<'a>(&'a AppState);

impl ReplayGuard for StoreReplay<'_> {
    fn first_time(
        &self,
        sender: &str,
        message_id: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, String> {
        Ok(self
            .0
            .replay
            .first_time(sender, message_id, now_ms, window_ms)?
            && self
                .0
                .store
                .claim_message(sender, message_id, now_ms, window_ms)
                .map_err(|e| e.to_string())?)
    }
}

/// Takes one request from `who`'s bucket of `limiter` (None: no limit), or refuses it with
/// 429 and the wait, naming the limit.
fn rate_limit(
    limiter: Option<&crate::ratelimit::Limiter>,
    what: &str,
    who: &str,
    flag: &str,
) -> Result<(), Reject> {
    let Some(l) = limiter else { return Ok(()) };
    l.take(who, std::time::Instant::now()).map_err(|wait| {
        let secs = crate::ratelimit::retry_after_secs(wait);
        let r = l.limit();
        Reject::too_many(
            format!(
                "{what} {who} is over its rate limit of {} requests per second (burst {}, {flag}); retry after {secs} s",
                r.rate, r.burst
            ),
            secs,
        )
    })
}
