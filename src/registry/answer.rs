//! Building what a registry sends, as `dci::model` types serialised once: callback headers,
//! signed envelopes, ACKs and search response items.

use serde::Serialize;
use serde_json::{Map, Value};

use super::egress::Egress;
use super::op::Op;
use super::reject::Rejection;
use crate::model::{
    AckResponse, Action, Envelope, ErrorCode, MsgCallbackHeader, PaginationRequest, ReasonCode,
    RequestStatus, SearchRequestItem, SearchResponseData, SearchResponseItem, MAX_MESSAGE_LEN,
    SPEC_VERSION,
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

/// A header `status` for an answer of `total` items of which `ok` succeeded: `rjct` when
/// every one of several failed, else `succ` (the items say which failed).
pub fn header_status(total: usize, ok: usize) -> RequestStatus {
    if total > 0 && ok == 0 {
        RequestStatus::Rejected
    } else {
        RequestStatus::Success
    }
}

/// The unsigned answer of `op` to `receiver_id`: `message` (a typed response message) with a
/// callback header counting its items (`total`) and those that succeeded (`ok`).
pub fn reply_envelope<M>(
    server_id: &str,
    op: Op,
    receiver_id: &str,
    message: M,
    total: usize,
    ok: usize,
) -> Envelope<M, MsgCallbackHeader> {
    let header = callback_header(
        server_id,
        op.reply_action(),
        header_status(total, ok),
        Some(receiver_id),
        total,
        ok,
    );
    envelope(header, message)
}

/// Where the async answer to a request goes, checked: its `header.sender_uri`, else the
/// callback URI the sender registered (the spec's default), each passing the outbound policy
/// and lying under the registered URI. None: no address at all (the result waits for
/// txn/status). Refused with `err.sender_uri.invalid`, before anything is computed.
pub fn callback_base(
    egress: &Egress,
    sender_uri: Option<&str>,
    registered: Option<&str>,
) -> Result<Option<String>, Rejection> {
    let refused = |what: String| {
        move |why| {
            Rejection::new(
                ErrorCode::SenderUriInvalid,
                format!("{what} is refused: {why}"),
            )
        }
    };
    Ok(match (sender_uri, registered) {
        (Some(u), _) => Some(
            egress
                .check_sender_uri(u, registered)
                .map_err(refused(format!("header.sender_uri {u:?}")))?,
        ),
        (None, Some(base)) => Some(
            egress
                .check_sender_uri(base, registered)
                .map_err(refused(format!("the registered callback URI {base:?}")))?,
        ),
        (None, None) => None,
    }
    .map(String::from))
}

/// The URL of a callback: `sender_uri` names the base of the sender's receiving side
/// (`https://host/registry`); a sender_uri that already ends in a callback path has it
/// replaced by the one wanted. The path is changed as a path, so a query stays a query and a
/// fragment (never sent) is dropped.
pub fn callback_url(sender_uri: &str, path: &str) -> String {
    let join = |p: &str| {
        let mut base = p.trim_end_matches('/');
        for known in Op::callback_suffixes() {
            if let Some(b) = base.strip_suffix(known).and_then(|b| b.strip_suffix('/')) {
                base = b;
                break;
            }
        }
        format!("{base}/{path}")
    };
    match url::Url::parse(sender_uri) {
        Ok(mut u) => {
            let p = join(u.path());
            u.set_path(&p);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => join(sender_uri),
    }
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
        assert_eq!(
            callback_url("http://h/cb?k=1#f", "on-search"),
            "http://h/cb/on-search?k=1"
        );
        assert_eq!(callback_url("http://h", "notify"), "http://h/notify");
    }
}
