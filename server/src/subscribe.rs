//! Subscriptions (subscribe, unsubscribe), the notify fan-out on record changes, and
//! transaction status from the audit log.

use dci::model::{
    Action, NotifyEventData, NotifyEventItem, NotifyEventRequest, ReasonCode, RequestStatus,
    SearchResponse, SubscribeRequest, SubscribeResponse, SubscribeResponseItem,
    SubscriptionCodeStatus, SubscriptionInfo, SubscriptionStatus, TxnAttributeType,
    TxnStatusRequest, TxnStatusResponse, TxnStatusResponseBody, UnSubscribeRequest,
    UnSubscribeResponse, SPEC_VERSION,
};
use serde_json::{Map, Value};

use super::op::Op;
use super::reply::{callback_header, envelope, new_id, now_ts};
use super::schedule::Schedule;
use super::search::{pick_record_type, reg_type, rejected};
use super::security::share;
use super::store::{NewRecord, PendingEvent, Sender, Store, StoreResult, Subscription};

pub use dci::registry::answer::callback_url;

/// The subscriptions of a SubscribeRequest and its SubscribeResponse; the caller stores them
/// with the request's audit row and callback, in one transaction.
pub fn subscribe(
    registry: &str,
    sender_id: &str,
    callback_uri: &str,
    req: &SubscribeRequest,
    correlation_id: &str,
) -> (SubscribeResponse, Vec<Subscription>) {
    let mut out = Vec::with_capacity(req.subscribe_request.len());
    let mut subs = Vec::with_capacity(req.subscribe_request.len());
    for it in &req.subscribe_request {
        let c = &it.subscribe_criteria;
        let sub = Subscription {
            code: new_id(),
            sender_id: sender_id.to_string(),
            registry: registry.to_string(),
            reg_event_type: c.reg_event_type.clone(),
            filter_type: c.filter_type.as_ref().map(|q| q.as_str().to_string()),
            filter: c.filter.clone().filter(|f| !f.is_null()),
            notify_record_type: c.notify_record_type.clone(),
            callback_uri: callback_uri.to_string(),
            status: SubscriptionStatus::Subscribe.as_str().into(),
            transaction_id: req.transaction_id.clone(),
            created_at: chrono::Utc::now().timestamp_millis(),
            // Checked at admission (validate.rs), so a frequency here always schedules.
            schedule: c.frequency.as_ref().and_then(|f| {
                Schedule::from_frequency(f, chrono::Utc::now().timestamp_millis()).ok()
            }),
        };
        let info = SubscriptionInfo {
            version: None,
            code: sub.code.clone(),
            status: SubscriptionStatus::Subscribe,
            timestamp: now_ts(),
            reg_type: Some(
                c.reg_type
                    .clone()
                    .unwrap_or_else(|| reg_type(registry).into()),
            ),
            reg_event_type: sub.reg_event_type.clone(),
            frequency: c.frequency.clone().filter(|_| sub.schedule.is_some()),
            filter_type: c.filter_type.clone(),
            filter: sub.filter.clone(),
            notify_record_type: sub.notify_record_type.clone(),
            locale: None,
            extra: Map::new(),
        };
        out.push(SubscribeResponseItem {
            reference_id: it.reference_id.clone(),
            timestamp: now_ts(),
            status: RequestStatus::Success,
            status_reason_code: None,
            status_reason_message: None,
            subscriptions: Some(vec![info]),
            pagination: None,
            locale: None,
            extra: Map::new(),
        });
        subs.push(sub);
    }
    let resp = SubscribeResponse {
        transaction_id: req.transaction_id.clone(),
        correlation_id: correlation_id.to_string(),
        subscribe_response: out,
        extra: Map::new(),
    };
    (resp, subs)
}

/// The UnSubscribeResponse of a request, and the sender's subscriptions it ends (stored by the
/// caller with the request's audit row and callback, in one transaction).
pub fn unsubscribe(
    store: &dyn Store,
    sender_id: &str,
    req: &UnSubscribeRequest,
    correlation_id: &str,
) -> StoreResult<(UnSubscribeResponse, Vec<Subscription>)> {
    let mut statuses = Vec::new();
    let mut ended = Vec::new();
    let mut bad = Vec::new();
    for code in &req.subscription_codes {
        match store.subscription(code)? {
            Some(s) if s.sender_id == sender_id => {
                ended.push(Subscription {
                    status: SubscriptionStatus::Unsubscribe.as_str().into(),
                    ..s
                });
                statuses.push(SubscriptionCodeStatus {
                    code: code.clone(),
                    status: SubscriptionStatus::Unsubscribe,
                    extra: Map::new(),
                });
            }
            _ => bad.push(code.as_str()),
        }
    }
    let (status, code, message) = if bad.is_empty() {
        (RequestStatus::Success, None, None)
    } else {
        (
            RequestStatus::Rejected,
            Some(ReasonCode::SubscriptionCodeInvalid),
            Some(format!(
                "unknown subscription codes for this sender: {}",
                bad.join(", ")
            )),
        )
    };
    let resp = UnSubscribeResponse {
        transaction_id: req.transaction_id.clone(),
        correlation_id: correlation_id.to_string(),
        timestamp: now_ts(),
        status,
        status_reason_code: code,
        status_reason_message: message,
        subscription_status: Some(statuses),
        extra: Map::new(),
    };
    Ok((resp, ended))
}

/// Whether a record change matches a subscription's criteria.
fn sub_matches(sub: &Subscription, record_type: &str, event_type: &str, record: &Value) -> bool {
    let last = |s: &str| {
        s.rsplit([':', '/', '#'])
            .next()
            .unwrap_or(s)
            .to_ascii_lowercase()
    };
    if let Some(e) = sub.reg_event_type.as_deref().filter(|e| !e.is_empty()) {
        if last(e) != last(event_type) {
            return false;
        }
    }
    if let Some(t) = pick_record_type(&sub.registry, sub.notify_record_type.as_deref()) {
        if t != record_type {
            return false;
        }
    }
    match (&sub.filter_type, &sub.filter) {
        (Some(ft), Some(f)) => dci::query::matches(record, ft, f).unwrap_or(false),
        _ => true,
    }
}

/// The notify events of the records that match a subscription, each cut to its sender's data
/// sharing agreement.
fn events_for(
    registry: &str,
    event_type: &str,
    sub: &Subscription,
    sender: &Sender,
    records: &[NewRecord],
) -> Vec<NotifyEventItem> {
    records
        .iter()
        .filter(|r| sub_matches(sub, &r.record_type, event_type, &r.data))
        .map(|r| NotifyEventItem {
            reference_id: new_id(),
            timestamp: now_ts(),
            data: NotifyEventData {
                version: Some(SPEC_VERSION.into()),
                reg_type: Some(reg_type(registry).into()),
                reg_event_type: Some(event_type.to_string()),
                reg_record_type: Some(r.record_type.clone()),
                reg_records: share(sender, r.data.clone()),
                extra: Map::new(),
            },
            locale: None,
            extra: Map::new(),
        })
        .collect()
}

/// The outbox entry `(kind, url, unsigned envelope)` of one notify carrying `events` to the
/// subscriber (None when there are none), encrypted to the sender's key when it registered one.
pub fn notify_entry(
    server_id: &str,
    sub: &Subscription,
    sender: &Sender,
    events: Vec<NotifyEventItem>,
) -> Option<(String, String, String)> {
    if events.is_empty() {
        return None;
    }
    let n = events.len();
    let mut extra = Map::new();
    extra.insert("correlation_id".into(), new_id().into());
    extra.insert("subscription_code".into(), sub.code.clone().into());
    let message = NotifyEventRequest {
        transaction_id: sub.transaction_id.clone(),
        notify_event: events,
        extra,
    };
    let header = callback_header(
        server_id,
        Action::Notify,
        RequestStatus::Success,
        Some(&sub.sender_id),
        n,
        n,
    );
    let mut env = serde_json::to_value(envelope(header, message)).ok()?;
    // A sender that registered an encryption key gets its notifications encrypted.
    let key = crate::security::reply_key(sender).ok().flatten();
    crate::security::seal(&mut env, key.as_ref()).ok()?;
    let notify = Action::Notify.as_str();
    Some((
        notify.to_string(),
        callback_url(&sub.callback_uri, notify),
        env.to_string(),
    ))
}

/// Stores changed records and, in the same transaction, notifies every matching subscriber
/// with the records cut to its sender's data sharing agreement: at once (an outbox entry), or
/// for a scheduled subscription into its pending batch when the change lies in its window
/// (schedule.rs; outside the window the change is not notified). Returns how many notifies
/// were queued and how many events were batched.
pub fn apply_changes(
    store: &dyn Store,
    server_id: &str,
    registry: &str,
    event_type: &str,
    records: &[NewRecord],
) -> StoreResult<(usize, usize)> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let subs = store.active_subscriptions(registry)?;
    let mut senders: std::collections::HashMap<String, Option<Sender>> = Default::default();
    let mut entries = Vec::new();
    let mut batched = Vec::new();
    for sub in &subs {
        let sender = senders
            .entry(sub.sender_id.clone())
            .or_insert_with(|| store.sender(&sub.sender_id).ok().flatten())
            .clone();
        let Some(sender) = sender.filter(|s| s.active && s.may_read(registry)) else {
            continue;
        };
        // Subscribed without a sender_uri: nowhere to notify.
        if sub.callback_uri.is_empty() {
            continue;
        }
        match &sub.schedule {
            Some(s) if !s.covers(now_ms) => {}
            Some(_) => {
                for item in events_for(registry, event_type, sub, &sender, records) {
                    batched.push(PendingEvent {
                        id: 0,
                        subscription_code: sub.code.clone(),
                        item: serde_json::to_string(&item)?,
                        created_at: now_ms,
                    });
                }
            }
            None => {
                let events = events_for(registry, event_type, sub, &sender, records);
                entries.extend(notify_entry(server_id, sub, &sender, events));
            }
        }
    }
    store.upsert_records_notifying(records, &entries, &batched)?;
    Ok((entries.len(), batched.len()))
}

/// Answers a TxnStatusRequest from the audit log (only the asking sender's transactions).
pub fn txn_status(
    store: &dyn Store,
    sender_id: &str,
    req: &TxnStatusRequest,
    correlation_id: &str,
) -> StoreResult<TxnStatusResponse> {
    let r = &req.txnstatus_request;
    let attr = match &r.attribute_type {
        TxnAttributeType::TransactionId => Some("transaction_id"),
        TxnAttributeType::CorrelationId => Some("correlation_id"),
        _ => None,
    };
    let found = match (attr, r.attribute_value.as_str()) {
        (Some(attr), Some(v)) => {
            let txns = store.transactions_by(sender_id, attr, v)?;
            // Only requests of the asked type; not this status request itself.
            let ops: Vec<String> = Op::ALL
                .into_iter()
                .filter(|o| o.txn_type().as_ref() == Some(&r.txn_type))
                .map(Op::audit_name)
                .collect();
            match txns.iter().find(|t| ops.contains(&t.operation)) {
                Some(t) => {
                    let resp: Value = serde_json::from_str(&t.response).unwrap_or(Value::Null);
                    // Sync responses are logged as envelopes, async ones as the callback message.
                    Ok(resp.get("message").cloned().unwrap_or(resp))
                }
                None => Err(format!(
                    "no {} transaction with {attr} {v} from this sender",
                    r.txn_type
                )),
            }
        }
        _ => Err(format!(
            "attribute_type {} with this attribute_value is not supported; use transaction_id or correlation_id",
            r.attribute_type
        )),
    };
    // txn_status is required: an unknown transaction is a rejected search response.
    let txn_status = found.unwrap_or_else(|reason| {
        let rejected = SearchResponse {
            transaction_id: r.attribute_value.as_str().unwrap_or_default().to_string(),
            correlation_id: correlation_id.to_string(),
            search_response: vec![rejected(
                &r.reference_id,
                ReasonCode::ReferenceIdInvalid,
                &reason,
            )],
            extra: Map::new(),
        };
        serde_json::to_value(rejected).unwrap_or_default()
    });
    Ok(TxnStatusResponse {
        transaction_id: req.transaction_id.clone(),
        correlation_id: correlation_id.to_string(),
        txnstatus_response: TxnStatusResponseBody {
            txn_type: r.txn_type.clone(),
            txn_status,
            extra: Map::new(),
        },
        extra: Map::new(),
    })
}
