//! The outbox worker: delivers callbacks and notifications stored in the database.
//!
//! Each entry is signed at each attempt (fresh `created`/`expires`, same message_id, so a
//! receiver can recognise a repeat) and POSTed to its URL. It is marked delivered only when
//! the receiver answers 2xx with an ACK (or NACK, or no Ack body); otherwise it is retried
//! with exponential backoff. Entries live in SQLite, so a restart resumes where it stopped.
//!
//! Deliveries run concurrently, at most `--callback-concurrency` at once per destination
//! (scheme, host, port) and each within `--callback-timeout-ms`, so a dead or slow receiver
//! only delays its own callbacks. Every URL passes the outbound policy ([`egress`]) at each
//! attempt; a refused destination fails the entry at once (kept, marked failed).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use dci::model::AckStatus;
use reqwest::Url;
use serde_json::Value;
use tokio::task::JoinSet;

use super::egress;
use super::store::{Attempt, OutboxEntry};
use super::AppState;

/// Delay before attempt `attempts + 1`.
pub fn backoff_ms(base: u64, max: u64, attempts: i64) -> u64 {
    let shift = attempts.clamp(0, 30) as u32;
    base.saturating_mul(1u64 << shift).min(max)
}

/// Deliveries in flight at once, over every destination.
const MAX_IN_FLIGHT: usize = 64;

/// How long shutdown waits for deliveries in flight; those still running are dropped and
/// their entries stay pending for the next start.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Largest receiver answer read (an Ack is a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;

/// Why a delivery did not succeed: retried with backoff, or (the policy refused the
/// destination, the body is unusable) given up at once.
enum Failure {
    Retry(String),
    Permanent(String),
}

/// The entry's URL as the policy allows it, and whether the callback token may go with it:
/// only under the receiving sender's registered callback URI (the receiver is the envelope's
/// `header.receiver_id`, which we wrote).
fn destination_of(state: &AppState, e: &OutboxEntry, env: &Value) -> Result<(Url, bool), Failure> {
    let refused = |why: String| Failure::Permanent(format!("refused: {why}"));
    let url = state.egress.check(&e.url).map_err(|r| refused(r.0))?;
    let receiver = env.pointer("/header/receiver_id").and_then(Value::as_str);
    let sender = match receiver.map(|id| state.senders.get(state, id)) {
        Some(Ok(s)) => s.map(|(s, _)| s),
        Some(Err(err)) => return Err(Failure::Retry(format!("sender lookup failed: {err}"))),
        None => None,
    };
    let base = match sender.and_then(|s| s.callback_uri) {
        Some(b) => Some(egress::check_syntax(&b).map_err(|r| refused(r.0))?),
        None => None,
    };
    match base {
        Some(b) if !egress::under_base(&url, &b) => Err(refused(format!(
            "{url} is not under the sender's registered callback URI {b}"
        ))),
        Some(_) => Ok((url, true)),
        None => Ok((url, false)),
    }
}

/// One attempt: sign, POST, read the answer; on success what the receiver answered.
async fn attempt(state: &AppState, e: &OutboxEntry) -> Result<String, Failure> {
    let mut env: Value = serde_json::from_str(&e.body)
        // A body we wrote ourselves that does not parse: retrying cannot help.
        .map_err(|err| Failure::Permanent(format!("stored body is not JSON: {err}")))?;
    let (url, token_allowed) = destination_of(state, e, &env)?;
    state
        .signer
        .sign_value(&mut env, None)
        .map_err(|err| Failure::Retry(format!("signing failed: {err}")))?;
    let mut req = state.http.post(url).json(&env);
    if let Some(tok) = state.callback_token.as_ref().filter(|_| token_allowed) {
        req = req.bearer_auth(tok);
    }
    let mut resp = req
        .send()
        .await
        .map_err(|err| match egress::refusal(&err) {
            Some(r) => Failure::Permanent(format!("refused: {r}")),
            None => Failure::Retry(format!("POST {} failed: {err}", e.url)),
        })?;
    let status = resp.status();
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            Ok(None) => break,
            Err(err) => return Err(Failure::Retry(format!("reading the answer: {err}"))),
        }
    }
    let body = String::from_utf8_lossy(&body);
    let ack = serde_json::from_str::<Value>(&body).ok().and_then(|v| {
        v.pointer("/message/ack_status")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let acknowledged =
        |a: &str| matches!(AckStatus::from_wire(a), AckStatus::Ack | AckStatus::Nack);
    if status.is_success() && ack.as_deref().is_none_or(acknowledged) {
        Ok(match ack {
            Some(a) => format!("{status} {a}"),
            None => status.to_string(),
        })
    } else {
        let note = if status.is_redirection() {
            " (redirects are not followed)"
        } else {
            ""
        };
        Err(Failure::Retry(format!(
            "POST {} answered {status}{note} {}",
            e.url,
            super::reply::truncate(&body, 300)
        )))
    }
}

async fn deliver(state: AppState, e: OutboxEntry) {
    let now = || chrono::Utc::now().timestamp_millis();
    let started_at = now();
    let clock = std::time::Instant::now();
    let result = attempt(&state, &e).await;
    let duration_ms = clock.elapsed().as_millis() as i64;
    let tried = move |ok: bool, result: String| Attempt {
        started_at,
        duration_ms,
        ok,
        result,
    };
    let st = state.clone();
    // The store is synchronous (SQLite): off the async workers.
    let _ = tokio::task::spawn_blocking(move || {
        let a = match result {
            Ok(answer) => {
                tracing::info!(id = e.id, kind = %e.kind, url = %e.url, attempt = e.attempts + 1, "callback delivered");
                let a = tried(true, answer);
                if let Err(err) = st.store.mark_delivered(e.id, &a) {
                    tracing::error!(id = e.id, error = %err, "could not mark callback delivered");
                }
                a
            }
            Err(failure) => {
                let (msg, permanent) = match failure {
                    Failure::Retry(m) => (m, false),
                    Failure::Permanent(m) => (m, true),
                };
                let give_up = permanent || e.attempts + 1 >= st.config.max_attempts;
                let delay =
                    backoff_ms(st.config.retry_base_ms, st.config.retry_max_ms, e.attempts);
                tracing::warn!(id = e.id, kind = %e.kind, correlation_id = %e.correlation_id, due_at = e.next_attempt_at, attempt = e.attempts + 1, retry_in_ms = delay, give_up, error = %msg, "callback not delivered");
                let a = tried(false, msg);
                if let Err(err) = st.store.mark_attempt(e.id, now() + delay as i64, give_up, &a) {
                    tracing::error!(id = e.id, error = %err, "could not record callback attempt");
                }
                a
            }
        };
        st.inspector.attempt(&e, &a);
    })
    .await;
}

/// Deliveries in flight: by entry id (the entry stays due in the store until it is marked),
/// by destination (its concurrency limit), and by task (so a task that panicked still frees
/// its slot).
#[derive(Default)]
struct InFlight {
    ids: HashSet<i64>,
    per_destination: HashMap<String, usize>,
    tasks: HashMap<tokio::task::Id, (i64, String)>,
}

impl InFlight {
    /// Destinations at `limit`: left out of the next read of due entries.
    fn full(&self, limit: usize) -> Vec<String> {
        let full = self.per_destination.iter().filter(|(_, n)| **n >= limit);
        full.map(|(d, _)| d.clone()).collect()
    }
    fn end(&mut self, task: tokio::task::Id) {
        let Some((id, dest)) = self.tasks.remove(&task) else {
            return;
        };
        self.ids.remove(&id);
        if let Some(n) = self.per_destination.get_mut(&dest) {
            *n -= 1;
            if *n == 0 {
                self.per_destination.remove(&dest);
            }
        }
    }
}

/// Starts due deliveries until every slot is taken or nothing due is left. Each delivery runs
/// on its own, so a slow receiver holds only its destination's slots, never the others'.
async fn fill(state: &AppState, flight: &mut InFlight, set: &mut JoinSet<()>) {
    let per_dest = state.config.callback_concurrency.max(1);
    while flight.ids.len() < MAX_IN_FLIGHT {
        let (st, skip) = (state.clone(), flight.full(per_dest));
        // In-flight entries of other destinations may come back: read enough to see past them.
        let limit = 2 * MAX_IN_FLIGHT;
        let due = tokio::task::spawn_blocking(move || {
            st.store
                .due_outbox(chrono::Utc::now().timestamp_millis(), limit, &skip)
        })
        .await
        .unwrap_or_else(|e| Err(super::store::StoreError(e.to_string())));
        let entries = match due {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "outbox read failed");
                return;
            }
        };
        let mut started = 0;
        // Entries read but not started now go back (a shared store leased them to us).
        let mut unstarted = Vec::new();
        for e in entries {
            let dest = egress::destination(&e.url);
            let n = flight.per_destination.get(&dest).copied().unwrap_or(0);
            if flight.ids.contains(&e.id) {
                continue;
            }
            if n >= per_dest || flight.ids.len() >= MAX_IN_FLIGHT {
                unstarted.push(e.id);
                continue;
            }
            flight.ids.insert(e.id);
            flight.per_destination.insert(dest.clone(), n + 1);
            let id = e.id;
            let task = set.spawn(deliver(state.clone(), e)).id();
            flight.tasks.insert(task, (id, dest));
            started += 1;
        }
        if !unstarted.is_empty() {
            let st = state.clone();
            let released =
                tokio::task::spawn_blocking(move || st.store.release_outbox(&unstarted)).await;
            if let Ok(Err(e)) = released {
                tracing::error!(error = %e, "outbox release failed");
            }
        }
        if started == 0 {
            return;
        }
    }
}

/// Runs until `shutdown` resolves; deliveries in flight then get [`SHUTDOWN_GRACE`] to
/// finish, and those still running stay pending for the next start.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_millis(state.config.outbox_poll_ms.max(10));
    let mut flight = InFlight::default();
    let mut set = JoinSet::new();
    loop {
        fill(&state, &mut flight, &mut set).await;
        tokio::select! {
            Some(done) = set.join_next_with_id(), if !set.is_empty() => {
                let task = match done {
                    Ok((task, ())) => task,
                    Err(e) => {
                        tracing::error!(error = %e, "a delivery task failed");
                        e.id()
                    }
                };
                flight.end(task);
            }
            _ = state.outbox_wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while set.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            in_flight = set.len(),
            "deliveries still running at shutdown were stopped; they stay pending for the next start"
        );
        set.shutdown().await;
    }
    tracing::info!("outbox worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1000, 300_000, 0), 1000);
        assert_eq!(backoff_ms(1000, 300_000, 3), 8000);
        assert_eq!(backoff_ms(1000, 300_000, 12), 300_000);
        assert_eq!(backoff_ms(1000, 300_000, 500), 300_000);
    }
}
