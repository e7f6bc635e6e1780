//! Scheduled notifications: flushing each subscription's pending batch when its schedule
//! (`dci::registry::schedule`, the spec's `EventFrequency`) says it is due.

use std::time::Duration;

use chrono::Utc;

use dci::model::NotifyEventItem;

pub use dci::registry::schedule::{parse_cron, Schedule};

use super::store::{Store, StoreResult, Subscription};
use super::AppState;
/// Most events in one scheduled notify; a larger batch goes out as several.
fn batch_limit(state: &AppState) -> usize {
    state.config.max_response_records.max(1)
}

/// Sends every batch due at `now_ms`; returns how many notifies were queued.
pub fn flush_due(state: &AppState, now_ms: i64) -> StoreResult<usize> {
    let store: &dyn Store = state.store.as_ref();
    let mut queued = 0;
    for (sub, first_ms) in store.pending_batches()? {
        let Some(schedule) = sub.schedule.as_ref() else {
            continue;
        };
        if schedule.due_at(first_ms).is_none_or(|due| due > now_ms) {
            continue;
        }
        queued += flush(state, &sub)?;
    }
    Ok(queued)
}

/// Sends the whole pending batch of `sub` now (in notifies of at most [`batch_limit`] events),
/// each notify queued in the transaction that removes its events from the batch.
fn flush(state: &AppState, sub: &Subscription) -> StoreResult<usize> {
    let store: &dyn Store = state.store.as_ref();
    let sender = store
        .sender(&sub.sender_id)?
        .filter(|s| s.active && s.may_read(&sub.registry));
    let mut queued = 0;
    loop {
        let events = store.pending_events(&sub.code, batch_limit(state))?;
        let Some(last) = events.last().map(|e| e.id) else {
            return Ok(queued);
        };
        let items: Vec<NotifyEventItem> = events
            .iter()
            .filter_map(|e| serde_json::from_str(&e.item).ok())
            .collect();
        let entry = sender
            .as_ref()
            .filter(|_| !sub.callback_uri.is_empty())
            .and_then(|s| super::subscribe::notify_entry(&state.config.server_id, sub, s, items));
        if entry.is_none() {
            // A sender disabled (or cut off from the registry) since: its events are dropped,
            // as apply_changes drops them for a sender that is disabled already.
            tracing::warn!(subscription = %sub.code, sender = %sub.sender_id, events = events.len(), "scheduled batch dropped: the sender may no longer receive it");
        }
        let entries: Vec<_> = entry.into_iter().collect();
        store.flush_batch(&sub.code, last, &entries)?;
        queued += entries.len();
    }
}

/// Runs until `shutdown` resolves: every poll interval (and sooner when a batch falls due),
/// sends the batches that are due. Batches written by `dci import` in another process are
/// found by the same poll.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_millis(state.config.outbox_poll_ms.max(10));
    loop {
        let st = state.clone();
        let now = Utc::now().timestamp_millis();
        match tokio::task::spawn_blocking(move || flush_due(&st, now)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                tracing::info!(notifies = n, "scheduled notifications queued");
                state.outbox_wake.notify_one();
            }
            Ok(Err(e)) => tracing::error!(error = %e, "scheduled notifications failed"),
            Err(e) => tracing::error!(error = %e, "the scheduler task failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::info!("notification scheduler stopped");
}
