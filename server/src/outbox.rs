//! The outbox worker: delivers callbacks and notifications stored in the database.
//!
//! Each entry is signed at each attempt (fresh `created`/`expires`, same message_id, so a
//! receiver can recognise a repeat) and POSTed to its URL. It is marked delivered only when
//! the receiver answers 2xx with an ACK (or NACK, or no Ack body); otherwise it is retried
//! with exponential backoff. Entries live in SQLite, so a restart resumes where it stopped.

use std::time::Duration;

use dci::model::AckStatus;
use serde_json::Value;
use tokio::task::JoinSet;

use super::store::OutboxEntry;
use super::AppState;

/// Delay before attempt `attempts + 1`.
pub fn backoff_ms(base: u64, max: u64, attempts: i64) -> u64 {
    let shift = attempts.clamp(0, 30) as u32;
    base.saturating_mul(1u64 << shift).min(max)
}

async fn deliver(state: AppState, e: OutboxEntry) {
    let now = || chrono::Utc::now().timestamp_millis();
    let mut env: Value = match serde_json::from_str(&e.body) {
        Ok(v) => v,
        Err(err) => {
            // A body we wrote ourselves that does not parse: retrying cannot help.
            tracing::error!(id = e.id, error = %err, "outbox entry is not JSON; giving up");
            let _ = state
                .store
                .mark_attempt(e.id, now(), "stored body is not JSON", true);
            return;
        }
    };
    let result = match state.signer.sign_value(&mut env, None) {
        Err(err) => Err(format!("signing failed: {err}")),
        Ok(()) => {
            let mut req = state.http.post(&e.url).json(&env);
            if let Some(tok) = &state.callback_token {
                req = req.bearer_auth(tok);
            }
            match req.send().await {
                Err(err) => Err(format!("POST {} failed: {err}", e.url)),
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    let ack = serde_json::from_str::<Value>(&body).ok().and_then(|v| {
                        v.pointer("/message/ack_status")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    });
                    let acknowledged = |a: &str| {
                        matches!(AckStatus::from_wire(a), AckStatus::Ack | AckStatus::Nack)
                    };
                    if status.is_success() && ack.as_deref().is_none_or(acknowledged) {
                        Ok(())
                    } else {
                        Err(format!(
                            "POST {} answered {status} {}",
                            e.url,
                            super::reply::truncate(&body, 300)
                        ))
                    }
                }
            }
        }
    };
    match result {
        Ok(()) => {
            tracing::info!(id = e.id, kind = %e.kind, url = %e.url, attempt = e.attempts + 1, "callback delivered");
            if let Err(err) = state.store.mark_delivered(e.id, now()) {
                tracing::error!(id = e.id, error = %err, "could not mark callback delivered");
            }
        }
        Err(msg) => {
            let give_up = e.attempts + 1 >= state.config.max_attempts;
            let delay = backoff_ms(
                state.config.retry_base_ms,
                state.config.retry_max_ms,
                e.attempts,
            );
            tracing::warn!(id = e.id, kind = %e.kind, correlation_id = %e.correlation_id, due_at = e.next_attempt_at, attempt = e.attempts + 1, retry_in_ms = delay, give_up, error = %msg, "callback not delivered");
            if let Err(err) = state
                .store
                .mark_attempt(e.id, now() + delay as i64, &msg, give_up)
            {
                tracing::error!(id = e.id, error = %err, "could not record callback attempt");
            }
        }
    }
}

/// Runs until `shutdown` resolves; in-flight deliveries finish first.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_millis(state.config.outbox_poll_ms.max(10));
    loop {
        let due = {
            let st = state.clone();
            tokio::task::spawn_blocking(move || {
                st.store
                    .due_outbox(chrono::Utc::now().timestamp_millis(), 64)
            })
            .await
            .unwrap_or_else(|e| Err(super::store::StoreError(e.to_string())))
        };
        match due {
            Ok(entries) if !entries.is_empty() => {
                let mut set = JoinSet::new();
                for e in entries {
                    set.spawn(deliver(state.clone(), e));
                }
                while set.join_next().await.is_some() {}
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox read failed"),
        }
        tokio::select! {
            _ = state.outbox_wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            tracing::info!("outbox worker stopped");
            return;
        }
    }
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
