//! What a requirement expects of an answer, and the common shapes of the checks: a row of the
//! requirement table is an operation sent to a domain and one [`Want`].

use serde_json::{json, Value};

use crate::harness::Resp;
use crate::schema::*;
use crate::suite::*;

pub fn json_content_type(r: &Resp) -> Result<(), String> {
    let ct = r.header("content-type").unwrap_or_default();
    let media = ct.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(format!("Content-Type is {ct:?}, not application/json"))
    }
}

pub fn ack_status(r: &Resp) -> &str {
    r.body["message"]["ack_status"].as_str().unwrap_or_default()
}

/// An async endpoint accepted the request: HTTP 200/202, JSON, a spec Ack with one of
/// `acks` and a non-empty correlation_id.
pub fn expect_ack(r: &Resp, acks: &[&str]) -> Result<String, String> {
    if r.status != 200 && r.status != 202 {
        return Err(format!("want HTTP 200 or 202; got {}", r.brief()));
    }
    json_content_type(r)?;
    check_ack_schema(&r.body).map_err(|e| format!("{e} in {}", r.brief()))?;
    if !acks.contains(&ack_status(r)) {
        return Err(format!("want ack_status {acks:?}; got {}", r.brief()));
    }
    let corr = r.body["message"]["correlation_id"]
        .as_str()
        .unwrap_or_default();
    if corr.is_empty() {
        return Err(format!("empty correlation_id in {}", r.brief()));
    }
    Ok(corr.to_string())
}

/// A rejection as the suite accepts it (HTTP 4xx with an error body, or 200 with ERR) and as
/// this project promises it: HTTP `status`, message.error.code `code`, and a message that
/// names `field` (the reason, not some earlier check).
pub fn expect_reject(r: &Resp, status: u16, code: &str, field: &str) -> Result<(), String> {
    let suite_ok = ((400..500).contains(&r.status) && r.body.is_object())
        || (r.status == 200 && ack_status(r) == "ERR");
    if !suite_ok {
        return Err(format!("not rejected: {}", r.brief()));
    }
    check_ack_schema(&r.body).map_err(|e| format!("{e} in {}", r.brief()))?;
    let got_code = r.body["message"]["error"]["code"]
        .as_str()
        .unwrap_or_default();
    let msg = r.body["message"]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    if r.status != status || got_code != code {
        return Err(format!(
            "want HTTP {status} {code} (about {field}); got {}",
            r.brief()
        ));
    }
    if !msg.to_lowercase().contains(&field.to_lowercase()) {
        return Err(format!(
            "rejected, but not for {field}: error message {msg:?}"
        ));
    }
    Ok(())
}

/// A sync answer: HTTP 200 JSON envelope with a callback header for `action`.
pub fn expect_sync(r: &Resp, action: &str) -> Result<Schema, String> {
    if r.status != 200 {
        return Err(format!("want HTTP 200; got {}", r.brief()));
    }
    json_content_type(r)?;
    let mut s = Schema::default();
    check_callback_header(&mut s, &r.body["header"], action);
    if let Some(sig) = r.body.get("signature") {
        if !sig.is_string() {
            s.bad("signature", "must be a string");
        }
    }
    Ok(s)
}

pub fn same_txn(r: &Resp, sent: &Value) -> Result<(), String> {
    let want = &sent["message"]["transaction_id"];
    if &r.body["message"]["transaction_id"] != want {
        return Err(format!(
            "message.transaction_id is {}, want {want}",
            r.body["message"]["transaction_id"]
        ));
    }
    Ok(())
}

/// The answer to `op`: its callback action, the check of its message, and whether its
/// header is a MsgHeader (on-subscribe and on-unsubscribe, as their spec operations define)
/// rather than a callback header.
fn answer(op: Op) -> (&'static str, fn(&mut Schema, &Value), bool) {
    match op {
        Search(_) | SyncSearch(_) => ("on-search", check_search_response, false),
        Subscribe => ("on-subscribe", check_subscribe_response, true),
        Unsubscribe => ("on-unsubscribe", check_unsubscribe_response, true),
        _ => ("txn-on-status", check_txn_status_response, false),
    }
}

/// What the registry must answer.
#[derive(Clone, Copy, PartialEq)]
pub enum Want {
    /// Accepted: HTTP 200/202, a spec Ack with an allowed ack_status ([`Op::acks`]) and a
    /// correlation_id.
    Ack,
    /// The sync answer: HTTP 200, the callback header and message schema of the operation,
    /// the request's transaction_id.
    Answer,
    /// The sync answer, with at least one record.
    AnswerWithRecords,
    /// The ACK, then the callback to header.sender_uri with the same transaction_id and
    /// correlation_id, its header and message checked against the schema.
    Callback,
    /// Sent without its `message`: HTTP 400 err.request.bad naming `message`.
    NoMessage,
    /// Sent without a bearer token: HTTP 401 err.request.unauthorized naming the bearer.
    NoAuth,
    /// Sent with signature `invalid-signature`: HTTP 401 err.signature.invalid.
    BadSignature,
    /// A callback endpoint took it: HTTP 200 and ACK.
    Received,
    /// The common steps' "accepted or processed" (200/202; ACK or succ when there is an
    /// ack_status).
    Accepted,
    /// Accepted, and a sync search answer with its schema.
    AcceptedAnswer,
    /// HTTP 400 err.request.bad naming this field.
    Bad(&'static str),
}

/// Sends `op` (edited by `edit`, then as `want` needs) to `d` and checks the answer.
pub fn exchange(
    c: &Ctx,
    d: &Domain,
    op: Op,
    style: Style,
    edit: fn(&mut Value),
    want: Want,
) -> Result<(), String> {
    let mut body = op.request(c, d, style);
    edit(&mut body);
    match want {
        Want::NoMessage => {
            if let Some(o) = body.as_object_mut() {
                o.remove("message");
            }
        }
        Want::BadSignature => body["signature"] = json!("invalid-signature"),
        _ => {}
    }
    let r = c.post(d, op.path(), &body, want != Want::NoAuth)?;
    let (callback_action, check, msg_header) = answer(op);
    match want {
        Want::Ack => expect_ack(&r, op.acks()).map(|_| ()),
        Want::Answer | Want::AnswerWithRecords => {
            let mut s = expect_sync(&r, callback_action)?;
            check(&mut s, &r.body["message"]);
            s.done()?;
            same_txn(&r, &body)?;
            let n = r.body["message"]["search_response"][0]["data"]["reg_records"]
                .as_array()
                .map_or(0, Vec::len);
            if want == Want::AnswerWithRecords && n == 0 {
                return Err(format!(
                    "no record for the suite's test identifier; {}",
                    r.brief()
                ));
            }
            Ok(())
        }
        Want::Callback => {
            let corr = expect_ack(&r, &["ACK"])?;
            let txn = body["message"]["transaction_id"].clone();
            let cb_path = callback_path(op.action());
            let cb = c
                .rx
                .wait(cb_path, |b| {
                    b["header"]["action"] == callback_action
                        && b["message"]["transaction_id"] == txn
                        && b["message"]["correlation_id"] == corr.as_str()
                })
                .ok_or_else(|| {
                    format!(
                        "no {callback_action} callback on {cb_path} with transaction_id {txn} and correlation_id {corr}; received {:?}",
                        c.rx.seen()
                    )
                })?;
            let mut s = Schema::default();
            if msg_header {
                check_msg_header(&mut s, &cb["header"], callback_action);
            } else {
                check_callback_header(&mut s, &cb["header"], callback_action);
            }
            check(&mut s, &cb["message"]);
            s.done().map_err(|e| format!("callback {e}"))
        }
        Want::NoMessage => expect_reject(&r, 400, "err.request.bad", "message"),
        Want::NoAuth => {
            if r.status != 401 && r.status != 403 {
                return Err(format!("want HTTP 401/403; got {}", r.brief()));
            }
            expect_reject(&r, 401, "err.request.unauthorized", "bearer")
        }
        Want::BadSignature => expect_reject(&r, 401, "err.signature.invalid", "signature"),
        Want::Received => {
            if r.status != 200 {
                return Err(format!("want HTTP 200; got {}", r.brief()));
            }
            expect_ack(&r, &["ACK"]).map(|_| ())
        }
        Want::Accepted => common_accepted(&r),
        Want::AcceptedAnswer => {
            common_accepted(&r)?;
            let mut s = expect_sync(&r, "on-search")?;
            check_search_response(&mut s, &r.body["message"]);
            s.done()
        }
        Want::Bad(field) => expect_reject(&r, 400, "err.request.bad", field),
    }
}

fn common_accepted(r: &Resp) -> Result<(), String> {
    if r.status != 200 && r.status != 202 {
        return Err(format!("want HTTP 200 or 202; got {}", r.brief()));
    }
    match r.body["message"]["ack_status"].as_str() {
        None | Some("ACK") | Some("succ") => Ok(()),
        Some(_) => Err(format!("want ACK; got {}", r.brief())),
    }
}

/// The first search_request item of a search envelope.
pub fn item(b: &mut Value) -> &mut Value {
    &mut b["message"]["search_request"][0]
}
