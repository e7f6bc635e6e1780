//! Building what a registry sends, as `dci::model` types serialised once: callback headers,
//! signed envelopes, ACKs and search response items.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{
    AckResponse, Action, Envelope, MsgCallbackHeader, PaginationRequest, ReasonCode, RequestStatus,
    SearchRequestItem, SearchResponseData, SearchResponseItem, MAX_MESSAGE_LEN, SPEC_VERSION,
};
use crate::signature::Signer;

pub use crate::model::now_rfc3339 as now_ts;

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// MsgCallbackHeader of a response, callback or notification we send.
pub fn callback_header(
    server_id: &str,
    action: Action,
    status: RequestStatus,
    receiver_id: Option<&str>,
    total_count: usize,
    completed_count: usize,
) -> MsgCallbackHeader {
    MsgCallbackHeader {
        version: Some(SPEC_VERSION.into()),
        message_id: new_id(),
        message_ts: now_ts(),
        action,
        status,
        status_reason_code: None,
        status_reason_message: None,
        total_count: Some((total_count as i64).into()),
        completed_count: Some((completed_count as i64).into()),
        sender_id: Some(server_id.to_string()),
        receiver_id: receiver_id.map(str::to_string),
        is_msg_encrypted: Some(false),
        meta: None,
        extra: Map::new(),
    }
}

/// An envelope whose `signature` comes first, still empty (signed by [`sign`], or by the
/// outbox at each delivery attempt).
pub fn envelope<M>(header: MsgCallbackHeader, message: M) -> Envelope<M, MsgCallbackHeader> {
    let mut env = Envelope::new(header, message);
    env.signature = Some(String::new());
    env
}

/// Serialises `env` and signs it with `signer`. Signing a serialised object cannot fail but
/// for a broken key, and then the peer refuses the unsigned answer: nothing is hidden.
pub fn sign(signer: &Signer, env: &impl Serialize) -> Value {
    let mut v = serde_json::to_value(env).unwrap_or_default();
    let _ = signer.sign_value(&mut v, None);
    v
}

/// The spec's Ack response (`ack_status` ACK) body.
pub fn ack(correlation_id: &str) -> Value {
    serde_json::to_value(AckResponse::ack(correlation_id)).unwrap_or_default()
}

/// Cuts `s` to at most `max` characters (the spec's maxLength on messages).
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// A search response item with only its reference, timestamp and status.
pub fn item(reference_id: &str, status: RequestStatus) -> SearchResponseItem {
    SearchResponseItem {
        reference_id: reference_id.to_string(),
        timestamp: now_ts(),
        status,
        status_reason_code: None,
        status_reason_message: None,
        data: None,
        pagination: None,
        locale: None,
        extra: Map::new(),
    }
}

/// A rejected search response item.
pub fn rejected(reference_id: &str, code: ReasonCode, message: &str) -> SearchResponseItem {
    SearchResponseItem {
        status_reason_code: Some(code),
        status_reason_message: Some(truncate(message, MAX_MESSAGE_LEN)),
        ..item(reference_id, RequestStatus::Rejected)
    }
}

/// A succeeded search response item carrying `records`.
pub fn answered(
    reference_id: &str,
    reg_type: String,
    reg_record_type: Option<String>,
    records: Vec<Value>,
) -> SearchResponseItem {
    SearchResponseItem {
        data: Some(SearchResponseData {
            version: Some(SPEC_VERSION.into()),
            reg_type: Some(reg_type),
            reg_record_type,
            reg_records: Value::Array(records),
            extra: Map::new(),
        }),
        ..item(reference_id, RequestStatus::Success)
    }
}

/// `(page_size, page_number)` of a search item: `search_criteria.pagination` (the spec), else
/// the item's own (where the OpenSPP spdci-compliance suite sends it).
pub fn page(it: &SearchRequestItem) -> (usize, usize) {
    let own = it
        .extra
        .get("pagination")
        .and_then(|p| serde_json::from_value::<PaginationRequest>(p.clone()).ok());
    let p = it.search_criteria.pagination.clone().or(own);
    let get = |f: fn(&PaginationRequest) -> Option<crate::model::Int>, default: usize| {
        p.as_ref().and_then(f).map_or(default, |n| {
            usize::try_from(n.get().max(1)).unwrap_or(usize::MAX)
        })
    };
    (get(|p| p.page_size, 100), get(|p| p.page_number, 1))
}
