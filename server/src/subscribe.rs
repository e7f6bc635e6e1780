//! Subscriptions (subscribe, unsubscribe), the notify fan-out on record changes, and
//! transaction status from the audit log.

use serde_json::{json, Value};

use super::reply::{new_id, now_ts};
use super::search::{pick_record_type, reg_type};
use super::security::share;
use super::store::{NewRecord, Sender, Store, StoreResult, Subscription};

/// The URL of a callback: `sender_uri` names the base of the sender's receiving side
/// (`https://host/registry`); a sender_uri that already ends in a callback path has it
/// replaced by the one wanted.
pub fn callback_url(sender_uri: &str, path: &str) -> String {
    let mut base = sender_uri.trim_end_matches('/');
    for known in [
        "/on-search",
        "/on-subscribe",
        "/on-unsubscribe",
        "/notify",
        "/txn/on-status",
    ] {
        if let Some(b) = base.strip_suffix(known) {
            base = b;
            break;
        }
    }
    format!("{base}/{path}")
}

/// A callback header (MsgCallbackHeader) from `server_id` to `receiver_id`.
pub fn header(
    server_id: &str,
    action: &str,
    status: &str,
    receiver_id: &str,
    total: usize,
    completed: usize,
) -> Value {
    json!({
        "version": "1.0.0",
        "message_id": new_id(),
        "message_ts": now_ts(),
        "action": action,
        "status": status,
        "total_count": total,
        "completed_count": completed,
        "sender_id": server_id,
        "receiver_id": receiver_id,
        "is_msg_encrypted": false,
    })
}

/// Creates the subscriptions of a SubscribeRequest; returns the SubscribeResponse message.
pub fn subscribe(
    store: &dyn Store,
    registry: &str,
    sender_id: &str,
    callback_uri: &str,
    message: &Value,
    correlation_id: &str,
) -> StoreResult<(Value, usize)> {
    let txn = message
        .get("transaction_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let items = message
        .get("subscribe_request")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut ok = 0;
    for it in &items {
        let c = it.get("subscribe_criteria").cloned().unwrap_or(Value::Null);
        let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
        let sub = Subscription {
            code: new_id(),
            sender_id: sender_id.to_string(),
            registry: registry.to_string(),
            reg_event_type: s("reg_event_type"),
            filter_type: s("filter_type"),
            filter: c.get("filter").cloned().filter(|f| !f.is_null()),
            notify_record_type: s("notify_record_type"),
            callback_uri: callback_uri.to_string(),
            status: "subscribe".into(),
            transaction_id: txn.to_string(),
            created_at: chrono::Utc::now().timestamp_millis(),
        };
        store.put_subscription(&sub)?;
        ok += 1;
        let mut info = json!({
            "code": sub.code,
            "status": "subscribe",
            "timestamp": now_ts(),
            "reg_type": c.get("reg_type").cloned().unwrap_or_else(|| json!(reg_type(registry))),
            "reg_event_type": sub.reg_event_type,
            "filter_type": sub.filter_type,
            "filter": sub.filter,
            "notify_record_type": sub.notify_record_type,
        });
        // SubscriptionInfo fields are typed strings and objects: leave the absent ones out.
        if let Some(o) = info.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
        out.push(json!({
            "reference_id": it.get("reference_id").cloned().unwrap_or(Value::Null),
            "timestamp": now_ts(),
            "status": "succ",
            "subscriptions": [info],
        }));
    }
    Ok((
        json!({"transaction_id": txn, "correlation_id": correlation_id, "subscribe_response": out}),
        ok,
    ))
}

/// Ends subscriptions owned by `sender_id`; returns the UnSubscribeResponse message.
pub fn unsubscribe(
    store: &dyn Store,
    sender_id: &str,
    message: &Value,
    correlation_id: &str,
) -> StoreResult<Value> {
    let codes: Vec<String> = message
        .get("subscription_codes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut statuses = Vec::new();
    let mut bad = Vec::new();
    for code in &codes {
        match store.subscription(code)? {
            Some(s) if s.sender_id == sender_id => {
                store.set_subscription_status(code, "unsubscribe")?;
                statuses.push(json!({"code": code, "status": "unsubscribe"}));
            }
            _ => bad.push(code.clone()),
        }
    }
    let mut m = json!({
        "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
        "correlation_id": correlation_id,
        "timestamp": now_ts(),
        "status": if bad.is_empty() { "succ" } else { "rjct" },
        "subscription_status": statuses,
    });
    if !bad.is_empty() {
        m["status_reason_code"] = json!("rjct.subscription_code.invalid");
        m["status_reason_message"] = json!(format!(
            "unknown subscription codes for this sender: {}",
            bad.join(", ")
        ));
    }
    Ok(m)
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

/// Stores changed records and queues a notify for every matching subscriber, with the
/// record cut to its sender's data sharing agreement. Returns how many notifies were queued.
pub fn apply_changes(
    store: &dyn Store,
    server_id: &str,
    registry: &str,
    event_type: &str,
    records: &[NewRecord],
) -> StoreResult<usize> {
    store.upsert_records(records)?;
    let subs = store.active_subscriptions(registry)?;
    if subs.is_empty() {
        return Ok(0);
    }
    let mut senders: std::collections::HashMap<String, Option<Sender>> = Default::default();
    let mut entries = Vec::new();
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
        let events: Vec<Value> = records
            .iter()
            .filter(|r| sub_matches(sub, &r.record_type, event_type, &r.data))
            .map(|r| {
                json!({
                    "reference_id": new_id(),
                    "timestamp": now_ts(),
                    "data": {
                        "version": "1.0.0",
                        "reg_type": reg_type(registry),
                        "reg_event_type": event_type,
                        "reg_record_type": r.record_type,
                        "reg_records": share(&sender, r.data.clone()),
                    },
                })
            })
            .collect();
        if events.is_empty() {
            continue;
        }
        let n = events.len();
        let env = json!({
            "signature": "",
            "header": header(server_id, "notify", "succ", &sub.sender_id, n, n),
            "message": {
                "transaction_id": sub.transaction_id,
                "correlation_id": new_id(),
                "subscription_code": sub.code,
                "notify_event": events,
            },
        });
        entries.push((
            "notify".to_string(),
            callback_url(&sub.callback_uri, "notify"),
            env.to_string(),
        ));
    }
    let n = entries.len();
    if n > 0 {
        store.enqueue(&entries)?;
    }
    Ok(n)
}

/// Answers a TxnStatusRequest from the audit log (only the asking sender's transactions).
pub fn txn_status(
    store: &dyn Store,
    sender_id: &str,
    message: &Value,
    correlation_id: &str,
) -> StoreResult<Value> {
    let r = message
        .get("txnstatus_request")
        .cloned()
        .unwrap_or(Value::Null);
    let txn_type = r
        .get("txn_type")
        .and_then(Value::as_str)
        .unwrap_or("search");
    let attr = r
        .get("attribute_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = r.get("attribute_value").cloned().unwrap_or(Value::Null);
    let mut found: Option<Value> = None;
    let mut reason = None;
    match (attr, &value) {
        ("transaction_id" | "correlation_id", Value::String(v)) => {
            let txns = store.transactions_by(sender_id, attr, v)?;
            // Only requests of the asked type; not this status request itself.
            let ops: &[&str] = match txn_type {
                "search" => &["search", "sync-search"],
                "subscribe" => &["subscribe"],
                _ => &["unsubscribe"],
            };
            if let Some(t) = txns.iter().find(|t| ops.contains(&t.operation.as_str())) {
                let resp: Value = serde_json::from_str(&t.response).unwrap_or(Value::Null);
                // Sync responses are logged as envelopes, async ones as the callback message.
                found = Some(resp.get("message").cloned().unwrap_or(resp));
            } else {
                reason = Some(format!("no {txn_type} transaction with {attr} {v} from this sender"));
            }
        }
        ("subscription_code_list", Value::Array(codes)) => {
            let mut statuses = Vec::new();
            for c in codes.iter().filter_map(Value::as_str) {
                if let Some(s) = store.subscription(c)?.filter(|s| s.sender_id == sender_id) {
                    statuses.push(json!({"code": s.code, "status": s.status}));
                }
            }
            found = Some(json!({
                "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
                "correlation_id": correlation_id,
                "timestamp": now_ts(),
                "status": "succ",
                "subscription_status": statuses,
            }));
        }
        _ => reason = Some(format!("attribute_type {attr} with this attribute_value is not supported; use transaction_id, correlation_id or subscription_code_list")),
    }
    let mut resp = json!({
        "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
        "correlation_id": correlation_id,
        "txnstatus_response": {"txn_type": txn_type},
    });
    match found {
        Some(s) => resp["txnstatus_response"]["txn_status"] = s,
        // txn_status is required: an unknown transaction is a rejected search response.
        None => {
            resp["txnstatus_response"]["txn_status"] = json!({
                "transaction_id": value.as_str().unwrap_or_default(),
                "correlation_id": correlation_id,
                "search_response": [{
                    "reference_id": r.get("reference_id").cloned().unwrap_or(Value::Null),
                    "timestamp": now_ts(),
                    "status": "rjct",
                    "status_reason_code": "rjct.reference_id.invalid",
                    "status_reason_message": reason.unwrap_or_default(),
                }],
            });
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls() {
        assert_eq!(
            callback_url("http://h/registry", "on-search"),
            "http://h/registry/on-search"
        );
        assert_eq!(
            callback_url("http://h/registry/", "notify"),
            "http://h/registry/notify"
        );
        assert_eq!(
            callback_url("http://h/cb/on-search", "on-subscribe"),
            "http://h/cb/on-subscribe"
        );
        assert_eq!(
            callback_url("http://h/cb/txn/on-status", "notify"),
            "http://h/cb/notify"
        );
    }
}
