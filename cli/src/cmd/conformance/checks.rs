//! The checks: each a stable id, a title and a function that sends what the requirement needs
//! and judges the answer (with the expectations of `ctx.rs`). A check passes (with what it
//! saw), is skipped (with why), or fails (`Err`, with the reason).

use std::time::Duration;

use dci::client::request::{self, Ids};
use dci::client::{SearchSpec, SubscribeSpec, TxnStatusQuery};
use dci::keys::{Algorithm, SigningKey};
use dci::signature::{self, Profile, Signer};
use serde_json::{json, Value};

pub use super::ctx::Ctx;
use super::ctx::*;
use super::receiver::Callback;
use super::{registry_name, Registry};

/// What a check found, when it did not fail.
pub enum Outcome {
    Pass(String),
    Skip(String),
}
use Outcome::{Pass, Skip};

pub type Run = Box<dyn Fn(&Ctx) -> Result<Outcome, String>>;

pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    /// The registry types it applies to (None: all).
    pub only_for: Option<&'static [Registry]>,
    pub run: Run,
}

impl Check {
    pub fn applies(&self, r: Registry) -> bool {
        self.only_for.is_none_or(|l| l.contains(&r))
    }
}

fn check(id: &'static str, title: &'static str, run: fn(&Ctx) -> Result<Outcome, String>) -> Check {
    Check {
        id,
        title,
        only_for: None,
        run: Box::new(run),
    }
}

fn check_for(
    only: &'static [Registry],
    id: &'static str,
    title: &'static str,
    run: fn(&Ctx) -> Result<Outcome, String>,
) -> Check {
    Check {
        only_for: Some(only),
        ..check(id, title, run)
    }
}

const IBR: &[Registry] = &[Registry::Ibr];
const DR: &[Registry] = &[Registry::Dr];

/// Every check, in the order they run.
pub fn all() -> Vec<Check> {
    let mut v = vec![
        check(
            "auth.token",
            "OAuth2 client credentials give a bearer token",
            auth_token,
        ),
        check(
            "auth.bad_secret",
            "a wrong client secret gets no token",
            auth_bad_secret,
        ),
        check(
            "jwks",
            "the registry publishes its signing keys as a JWKS",
            jwks,
        ),
        check(
            "sync.search.idtype",
            "sync search by identifier: signed on-search answer",
            sync_search_idtype,
        ),
        check(
            "sync.search.predicate",
            "sync search by a predicate range",
            sync_search_predicate,
        ),
        check(
            "sync.search.expression",
            "sync search by an expression: the same range finds what the predicate finds",
            sync_search_expression,
        ),
        check(
            "search.pagination",
            "page_size and page_number are honoured",
            search_pagination,
        ),
        check(
            "search.sort",
            "sort by an attribute, descending",
            search_sort,
        ),
        check(
            "txn.status",
            "sync txn status of an earlier search",
            txn_status,
        ),
        check(
            "async.search",
            "async search: ACK, then a signed on-search callback",
            async_search,
        ),
        check(
            "async.txn_status",
            "async txn status: ACK, then a signed txn-on-status callback",
            async_txn_status,
        ),
        check(
            "async.subscribe",
            "subscribe: ACK, then a signed on-subscribe callback with a code",
            async_subscribe,
        ),
        check(
            "notify",
            "a record change is notified to the subscriber, signed",
            notify,
        ),
        check(
            "async.unsubscribe",
            "unsubscribe: ACK, then a signed on-unsubscribe callback",
            async_unsubscribe,
        ),
        check_for(IBR, "sync.enrolled", "IBR sync enrolled", sync_enrolled),
        check_for(DR, "sync.disabled", "DR sync disabled", sync_disabled),
        check_for(
            DR,
            "sync.disability_details",
            "DR sync get-disability-details",
            sync_disability_details,
        ),
        check_for(
            DR,
            "sync.disability_support",
            "DR sync get-disability-support",
            sync_disability_support,
        ),
        check(
            "reject.no_token",
            "a request without a bearer token is refused",
            reject_no_token,
        ),
        check(
            "reject.bad_token",
            "a request with an invalid bearer token is refused",
            reject_bad_token,
        ),
        check(
            "reject.unknown_sender",
            "a request from an unregistered sender_id is refused",
            reject_unknown_sender,
        ),
        check(
            "reject.unsigned",
            "an unsigned request is refused",
            reject_unsigned,
        ),
        check(
            "reject.bad_signature",
            "a signature value that is no signature is refused",
            reject_bad_signature,
        ),
        check(
            "reject.wrong_key",
            "a request signed with a key the registry does not know is refused",
            reject_wrong_key,
        ),
        check(
            "reject.tampered",
            "a request changed after signing is refused",
            reject_tampered,
        ),
        check(
            "reject.expired",
            "a request whose signature has expired is refused",
            reject_expired,
        ),
        check(
            "reject.future",
            "a request whose signature is created in the future is refused",
            reject_future,
        ),
        check(
            "reject.stale_ts",
            "a header.message_ts an hour old is refused",
            reject_stale_ts,
        ),
        check(
            "reject.future_ts",
            "a header.message_ts an hour ahead is refused",
            reject_future_ts,
        ),
        check(
            "reject.replay",
            "the same signed request sent twice is refused the second time",
            reject_replay,
        ),
        check(
            "reject.wrong_action",
            "a header.action that is not the endpoint's is refused",
            reject_wrong_action,
        ),
        check(
            "reject.sender_uri",
            "an async request whose sender_uri is not http(s) is refused",
            reject_sender_uri,
        ),
        check(
            "reject.content_type",
            "a body sent as text/plain is refused",
            reject_content_type,
        ),
    ];
    v.extend(FIELD_RULES.iter().map(|f| Check {
        id: f.id,
        title: f.title,
        only_for: None,
        run: Box::new(move |c: &Ctx| field_rule(c, f)),
    }));
    v
}

fn pass(s: impl Into<String>) -> Result<Outcome, String> {
    Ok(Pass(s.into()))
}

// ---------------------------------------------------------------------------------------------
// Setup checks

fn auth_token(c: &Ctx) -> Result<Outcome, String> {
    let t = c.token()?;
    pass(format!("a token of {} characters", t.len()))
}

fn auth_bad_secret(c: &Ctx) -> Result<Outcome, String> {
    c.token()?;
    let url = c.state.borrow().token_endpoint.clone().unwrap_or_default();
    let dci::client::AuthConfig::OAuth2 { client_id, .. } = &c.ds.auth else {
        return Err("no OAuth2 client configured".into());
    };
    let params = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", "not-the-secret"),
    ];
    let (status, body) = c
        .transport
        .post_token(&url, &params, false, 0)
        .map_err(|e| format!("POST {url}: {e}"))?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if v.get("access_token").is_some() {
        return Err(format!(
            "a wrong client secret got an access token from {url}"
        ));
    }
    if status != 400 && status != 401 {
        return Err(format!(
            "want HTTP 401 (or 400) invalid_client from {url}; got HTTP {status}"
        ));
    }
    pass(format!(
        "HTTP {status} {}",
        v["error"].as_str().unwrap_or("")
    ))
}

fn jwks(c: &Ctx) -> Result<Outcome, String> {
    let j = c.jwks()?;
    let kids: Vec<String> = j
        .keys
        .iter()
        .map(|(k, _)| k.clone().unwrap_or_default())
        .collect();
    pass(format!("{} key(s): {}", j.keys.len(), kids.join(", ")))
}

// ---------------------------------------------------------------------------------------------
// Sync

const SYNC_SEARCH: &str = "/registry/sync/search";

fn sync_search(c: &Ctx, spec: &SearchSpec) -> Result<(Value, Answer, String), String> {
    let env = c.signed_search(spec, false)?;
    let a = c.post_env(SYNC_SEARCH, &env)?;
    let seen = c.expect_sync(SYNC_SEARCH, &env, &a, "on-search")?;
    let items = a.body["message"]["search_response"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if items.len() != 1 {
        return Err(format!("one search item sent, {} answered", items.len()));
    }
    let it = &items[0];
    let want_ref = &env["message"]["search_request"][0]["reference_id"];
    if &it["reference_id"] != want_ref {
        return Err(format!(
            "search_response[0].reference_id is {}, want {want_ref}",
            it["reference_id"]
        ));
    }
    if it["status"] != "succ" {
        return Err(format!(
            "search_response[0].status is {} ({} {})",
            it["status"], it["status_reason_code"], it["status_reason_message"]
        ));
    }
    Ok((env, a, seen))
}

fn records(a: &Answer) -> Vec<Value> {
    a.body["message"]["search_response"][0]["data"]["reg_records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sync_search_idtype(c: &Ctx) -> Result<Outcome, String> {
    let (_, a, seen) = sync_search(c, &c.by_id())?;
    pass(format!(
        "{seen}; {} record(s) for {} {}",
        records(&a).len(),
        c.id_type,
        c.id_value
    ))
}

fn sync_search_predicate(c: &Ctx) -> Result<Outcome, String> {
    let (_, a, seen) = sync_search(c, &c.range().page(1, 5))?;
    pass(format!("{seen}; {} record(s)", records(&a).len()))
}

fn sync_search_expression(c: &Ctx) -> Result<Outcome, String> {
    let q = json!({"type": "ns:org:QueryType:expression", "value": {"expression": {"query": {
        c.range_attr.clone(): {"$gte": "1900-01-01", "$lte": "2100-12-31"}}}}});
    let (_, a, seen) = sync_search(c, &SearchSpec::expression(q).page(1, 1))?;
    let (_, p, _) = sync_search(c, &c.range().page(1, 1))?;
    let (te, tp) = (pagination_of(&a).2, pagination_of(&p).2);
    if let (Some(te), Some(tp)) = (te, tp) {
        if te != tp {
            return Err(format!(
                "the expression finds {te} record(s), the predicate of the same range {tp}"
            ));
        }
    }
    pass(format!("{seen}; total_count {te:?}, as the predicate's"))
}

fn pagination_of(a: &Answer) -> (Option<i64>, Option<i64>, Option<i64>) {
    let p = &a.body["message"]["search_response"][0]["pagination"];
    (
        p["page_size"].as_i64(),
        p["page_number"].as_i64(),
        p["total_count"].as_i64(),
    )
}

fn search_pagination(c: &Ctx) -> Result<Outcome, String> {
    let (_, a1, _) = sync_search(c, &c.range().page(1, 2))?;
    let (size, number, total) = pagination_of(&a1);
    let total = total.ok_or("search_response[0].pagination.total_count is missing")?;
    if total < 3 {
        return Ok(Skip(format!(
            "only {total} record(s) have {} in 1900-2100; need 3 (--range-attr)",
            c.range_attr
        )));
    }
    let r1 = records(&a1);
    if r1.len() != 2 || size != Some(2) || number != Some(1) {
        return Err(format!(
            "page 1 of size 2: {} record(s), pagination page_size {size:?} page_number {number:?}",
            r1.len()
        ));
    }
    let (_, a2, _) = sync_search(c, &c.range().page(2, 2))?;
    let (size2, number2, total2) = pagination_of(&a2);
    let r2 = records(&a2);
    if r2.is_empty()
        || r2.len() > 2
        || size2 != Some(2)
        || number2 != Some(2)
        || total2 != Some(total)
    {
        return Err(format!(
            "page 2 of size 2: {} record(s), pagination page_size {size2:?} page_number {number2:?} total_count {total2:?} (page 1 said {total})",
            r2.len()
        ));
    }
    if r2.iter().any(|r| r1.contains(r)) {
        return Err("page 2 repeats a record of page 1".into());
    }
    pass(format!(
        "pages 1 and 2 of size 2 are disjoint, total_count {total}"
    ))
}

/// A value of a dotted attribute path in a record.
fn at_path<'a>(rec: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(rec, |v, k| v.get(k))
}

fn search_sort(c: &Ctx) -> Result<Outcome, String> {
    let mut spec = c.range().page(1, 10);
    spec.sort = Some(json!([{"attribute_name": c.range_attr, "sort_order": "desc"}]));
    let (_, a, _) = sync_search(c, &spec)?;
    let recs = records(&a);
    let keys: Vec<String> = recs
        .iter()
        .filter_map(|r| at_path(r, &c.range_attr).and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    if keys.len() < recs.len() {
        return Err(format!(
            "{} of {} records have no string {}",
            recs.len() - keys.len(),
            recs.len(),
            c.range_attr
        ));
    }
    if keys.len() < 2 {
        return Ok(Skip(format!("fewer than 2 records with {}", c.range_attr)));
    }
    let instant = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .ok()
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc().timestamp_millis())
            })
    };
    for w in keys.windows(2) {
        let ordered = match (instant(&w[0]), instant(&w[1])) {
            (Some(x), Some(y)) => x >= y,
            _ => w[0] >= w[1],
        };
        if !ordered {
            return Err(format!(
                "sorted {} desc, but {} comes before {}",
                c.range_attr, w[0], w[1]
            ));
        }
    }
    if keys.first() == keys.last() {
        return Ok(Skip(format!(
            "the first page has one value of {} only",
            c.range_attr
        )));
    }
    pass(format!(
        "{} records in descending {}",
        keys.len(),
        c.range_attr
    ))
}

fn txn_status_message(txn: &str) -> Result<Value, String> {
    let mut ids = Ids::fresh();
    let m = request::txn_status_request(&TxnStatusQuery::search_transaction(txn), &mut ids);
    serde_json::to_value(m).map_err(|e| e.to_string())
}

/// The txn_status of a txn-on-status answer refers to `txn` and is not a rejection.
fn txn_status_refers_to(body: &Value, txn: &Value) -> Result<(), String> {
    let ts = &body["message"]["txnstatus_response"]["txn_status"];
    if &ts["transaction_id"] != txn {
        return Err(format!(
            "txnstatus_response.txn_status.transaction_id is {}, want the searched {txn}",
            ts["transaction_id"]
        ));
    }
    if let Some(items) = ts["search_response"].as_array() {
        if items.iter().any(|i| i["status"] == "rjct") {
            return Err(format!(
                "the status of a known transaction is a rejection: {}",
                ts["search_response"]
            ));
        }
    }
    Ok(())
}

/// Skips a check whose endpoint the registry type's spec does not define.
fn in_spec(c: &Ctx, path: &str) -> Option<Outcome> {
    (!c.spec.has_path(path)).then(|| {
        Skip(format!(
            "the {} spec has no {path}",
            registry_name(c.registry)
        ))
    })
}

fn txn_status(c: &Ctx) -> Result<Outcome, String> {
    if let Some(skip) = in_spec(c, "/registry/sync/txn/status") {
        return Ok(skip);
    }
    let (searched, _, _) = sync_search(c, &c.by_id())?;
    let txn = &searched["message"]["transaction_id"];
    let mut env = c.envelope(
        "txn-status",
        txn_status_message(txn.as_str().unwrap_or(""))?,
        false,
    );
    c.sign(&mut env)?;
    let path = "/registry/sync/txn/status";
    let a = c.post_env(path, &env)?;
    let seen = c.expect_sync(path, &env, &a, "txn-on-status")?;
    txn_status_refers_to(&a.body, txn)?;
    pass(seen)
}

fn sync_endpoint(c: &Ctx, path: &str, message: Value) -> Result<Outcome, String> {
    if let Some(skip) = in_spec(c, path) {
        return Ok(skip);
    }
    let mut env = c.envelope("search", message, false);
    c.sign(&mut env)?;
    let a = c.post_env(path, &env)?;
    pass(c.expect_sync(path, &env, &a, "on-search")?)
}

fn idtype(c: &Ctx) -> Value {
    json!({"query_type": "idtype-value", "query": {"type": c.id_type, "value": c.id_value}})
}

fn sync_enrolled(c: &Ctx) -> Result<Outcome, String> {
    let mut crit = idtype(c);
    crit["response_entity"] = json!("Member");
    sync_endpoint(
        c,
        "/registry/sync/enrolled",
        json!({"transaction_id": dci::model::new_id(), "enrolled_criteria": crit}),
    )
}

fn disabled_message(c: &Ctx) -> Value {
    json!({"transaction_id": dci::model::new_id(), "disabled_criteria": idtype(c)})
}

fn sync_disabled(c: &Ctx) -> Result<Outcome, String> {
    sync_endpoint(c, "/registry/sync/disabled", disabled_message(c))
}

fn sync_disability_details(c: &Ctx) -> Result<Outcome, String> {
    sync_endpoint(
        c,
        "/registry/sync/get-disability-details",
        disabled_message(c),
    )
}

fn sync_disability_support(c: &Ctx) -> Result<Outcome, String> {
    sync_endpoint(
        c,
        "/registry/sync/get-disability-support",
        disabled_message(c),
    )
}

// ---------------------------------------------------------------------------------------------
// Async

/// Sends a signed async request and checks its ACK and callback.
fn async_exchange(
    c: &Ctx,
    path: &str,
    action: &str,
    message: Value,
) -> Result<(Value, Callback, String), String> {
    let mut env = c.envelope(action, message, true);
    c.sign(&mut env)?;
    let a = c.post_env(path, &env)?;
    let corr = c.expect_ack(path, &a)?;
    let (cb, seen) = c.expect_callback(action, &env, &corr)?;
    Ok((env, cb, seen))
}

fn async_search(c: &Ctx) -> Result<Outcome, String> {
    let (env, cb, seen) = async_exchange(
        c,
        "/registry/search",
        "search",
        c.search_message(&c.by_id())?,
    )?;
    let want_ref = &env["message"]["search_request"][0]["reference_id"];
    let got_ref = &cb.body["message"]["search_response"][0]["reference_id"];
    if got_ref != want_ref {
        return Err(format!(
            "on-search search_response[0].reference_id is {got_ref}, want {want_ref}"
        ));
    }
    pass(seen)
}

fn async_txn_status(c: &Ctx) -> Result<Outcome, String> {
    if let Some(skip) = in_spec(c, "/registry/txn/status") {
        return Ok(skip);
    }
    let (searched, _, _) = async_exchange(
        c,
        "/registry/search",
        "search",
        c.search_message(&c.by_id())?,
    )?;
    let txn = &searched["message"]["transaction_id"];
    let (_, cb, seen) = async_exchange(
        c,
        "/registry/txn/status",
        "txn-status",
        txn_status_message(txn.as_str().unwrap_or(""))?,
    )?;
    txn_status_refers_to(&cb.body, txn)?;
    pass(seen)
}

/// The default subscription event of the registry type.
fn event_type(c: &Ctx) -> String {
    c.event_type.clone().unwrap_or_else(|| {
        match c.registry {
            Registry::Crvs => "spdci-common:RegistryEventType:LiveBirth",
            Registry::Ibr => "enrollement",
            _ => "REGISTER",
        }
        .to_string()
    })
}

/// Subscribes to records with identifier `value`; returns the subscription code.
fn subscribe(c: &Ctx, value: &str) -> Result<(String, String), String> {
    let mut spec = SubscribeSpec::event(event_type(c));
    spec.filter = Some(json!({"type": c.id_type, "value": value}));
    spec.filter_type = Some("idtype-value".into());
    spec.notify_record_type = Some(record_type(c.registry).0.to_string());
    let mut ids = Ids::fresh();
    let m = request::subscribe_request(&c.ds, &[spec], &mut ids).map_err(|e| e.to_string())?;
    let m = serde_json::to_value(m).map_err(|e| e.to_string())?;
    let (_, cb, seen) = async_exchange(c, "/registry/subscribe", "subscribe", m)?;
    let item = &cb.body["message"]["subscribe_response"][0];
    if item["status"] != "succ" {
        return Err(format!(
            "on-subscribe subscribe_response[0].status is {} ({})",
            item["status"], item["status_reason_code"]
        ));
    }
    let code = item["subscriptions"][0]["code"]
        .as_str()
        .ok_or("on-subscribe gives no subscriptions[0].code")?;
    Ok((code.to_string(), seen))
}

fn async_subscribe(c: &Ctx) -> Result<Outcome, String> {
    let (code, seen) = subscribe(c, &c.id_value)?;
    c.state.borrow_mut().subscription = Some(code.clone());
    pass(format!("{seen}; code {code}"))
}

/// The default record type of a registry and the field of its identifiers.
fn record_type(r: Registry) -> (&'static str, &'static str) {
    match r {
        Registry::Crvs => ("Person", "identifier"),
        Registry::Social => ("Member", "member_identifier"),
        Registry::Ibr => ("Beneficiary", "identifier"),
        Registry::Dr => ("DisabledPerson", "identifier"),
        Registry::Fr => ("Farmer", "identifier"),
    }
}

/// The record the `admin` trigger stores: a new record of the registry's default type with
/// identifier `value`.
fn admin_record(c: &Ctx, value: &str) -> Value {
    let id = json!([{"identifier_type": c.id_type, "identifier_value": value}]);
    let (record_type, field) = record_type(c.registry);
    let event = event_type(c);
    let last = event.rsplit(':').next().unwrap_or(&event).to_string();
    json!({
        "registry": registry_name(c.registry),
        "record_type": record_type,
        "event_type": last,
        "records": [{"@type": record_type, field: id, "name": {"given_name": "Conformance", "surname": "Check"}}],
    })
}

fn trigger(c: &Ctx, how: &str, value: &str, code: &str) -> Result<(), String> {
    if how == "admin" {
        let o = origin(&c.base).unwrap_or_else(|| c.base.clone());
        let body = serde_json::to_vec(&admin_record(c, value)).map_err(|e| e.to_string())?;
        let url = format!("{o}/admin/records");
        let bearer = format!("Bearer {}", c.token()?);
        let r = c
            .transport
            .post_json(&url, &body, Some(&bearer), None)
            .map_err(|e| format!("POST {url}: {e}"))?;
        if r.status != 200 {
            return Err(format!(
                "--notify-trigger admin: POST {url} answered HTTP {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ));
        }
        return Ok(());
    }
    let Some(cmd) = how.strip_prefix("cmd:") else {
        return Err(format!(
            "--notify-trigger {how:?}: want admin or cmd:COMMAND"
        ));
    };
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .env("DCI_ID_TYPE", &c.id_type)
        .env("DCI_ID_VALUE", value)
        .env("DCI_SUBSCRIPTION_CODE", code)
        .env("DCI_REGISTRY", registry_name(c.registry))
        .output()
        .map_err(|e| format!("--notify-trigger: cannot run sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "--notify-trigger command exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn notify(c: &Ctx) -> Result<Outcome, String> {
    let Some(how) = c.notify_trigger.clone() else {
        return Ok(Skip(
            "no way to make the registry change a record: pass --notify-trigger admin or cmd:COMMAND".into(),
        ));
    };
    let value = format!("CONF-{}", &dci::model::new_id()[..8]);
    let (code, _) = subscribe(c, &value)?;
    trigger(c, &how, &value, &code)?;
    let cb =
        c.rx.wait(c.callback_timeout, |cb| {
            cb.body["header"]["action"] == "notify" && cb.body.to_string().contains(&value)
        })
        .ok_or_else(|| {
            format!(
                "no notify about {} {value} within {} s; received: {:?}",
                c.id_type,
                c.callback_timeout.as_secs(),
                c.rx.seen()
            )
        })?;
    if !cb.path.ends_with("/notify") {
        return Err(format!(
            "the notification went to {}, want .../notify",
            cb.path
        ));
    }
    if let Some(s) = c.spec.request_schema("/registry/notify") {
        schema_result(c.spec.validate(s, &cb.body), "notification")?;
    }
    if signature::is_missing(cb.body["signature"].as_str()) {
        return Err("the notification is not signed".into());
    }
    let kid = c
        .verify(&cb.bytes)
        .map_err(|e| format!("notification: {e}"))?;
    receiver_is_us(&cb.body["header"], &c.ds.our_sender_id)?;
    pass(format!(
        "notify for subscription {code}, signed ({kid}), valid against the spec"
    ))
}

fn async_unsubscribe(c: &Ctx) -> Result<Outcome, String> {
    // Taken first: a RefMut in the match scrutinee would live through the arms, and
    // `subscribe` borrows the state again (a panic when async.subscribe found no code).
    let earlier = c.state.borrow_mut().subscription.take();
    let code = match earlier {
        Some(code) => code,
        None => subscribe(c, &c.id_value)?.0,
    };
    let ids = Ids::fresh();
    let m = request::unsubscribe_request(&c.ds, std::slice::from_ref(&code), &ids);
    let m = serde_json::to_value(m).map_err(|e| e.to_string())?;
    let (_, cb, seen) = async_exchange(c, "/registry/unsubscribe", "unsubscribe", m)?;
    let st = &cb.body["message"]["subscription_status"];
    if let Some(list) = st.as_array() {
        let mine = list.iter().find(|s| s["code"] == code.as_str());
        if mine.is_some_and(|s| s["status"] != "unsubscribe") {
            return Err(format!("on-unsubscribe says {st} for {code}"));
        }
    }
    if cb.body["message"]["status"] == "rjct" {
        return Err(format!(
            "on-unsubscribe refused our own code {code}: {}",
            cb.body["message"]["status_reason_code"]
        ));
    }
    pass(format!("{seen}; {code} ended"))
}

// ---------------------------------------------------------------------------------------------
// Rejections

const SIG_INVALID: &[&str] = &["err.signature.invalid"];

/// A signed sync search by identifier, the base of most refusal checks.
fn search_env(c: &Ctx) -> Result<Value, String> {
    c.signed_search(&c.by_id(), false)
}

fn refused(c: &Ctx, body: &[u8], auth: Auth, codes: &[&str]) -> Result<Outcome, String> {
    let a = c.post(SYNC_SEARCH, body, auth)?;
    pass(c.expect_reject(SYNC_SEARCH, &a, codes)?)
}

fn refused_env(c: &Ctx, env: &Value, codes: &[&str]) -> Result<Outcome, String> {
    let bytes = serde_json::to_vec(env).map_err(|e| e.to_string())?;
    refused(c, &bytes, Auth::Token, codes)
}

fn reject_no_token(c: &Ctx) -> Result<Outcome, String> {
    let env = search_env(c)?;
    let a = c.post(
        SYNC_SEARCH,
        &serde_json::to_vec(&env).map_err(|e| e.to_string())?,
        Auth::None,
    )?;
    if a.status != 401 && a.status != 403 {
        return Err(format!("want HTTP 401 or 403; got {}", a.brief()));
    }
    pass(c.expect_reject(SYNC_SEARCH, &a, &[])?)
}

fn reject_bad_token(c: &Ctx) -> Result<Outcome, String> {
    let env = search_env(c)?;
    let a = c.post(
        SYNC_SEARCH,
        &serde_json::to_vec(&env).map_err(|e| e.to_string())?,
        Auth::Bogus,
    )?;
    if a.status != 401 && a.status != 403 {
        return Err(format!("want HTTP 401 or 403; got {}", a.brief()));
    }
    pass(c.expect_reject(SYNC_SEARCH, &a, &[])?)
}

fn reject_unknown_sender(c: &Ctx) -> Result<Outcome, String> {
    let stranger = format!("unknown-{}.example.org", &dci::model::new_id()[..8]);
    let mut env = c.envelope("search", c.search_message(&c.by_id())?, false);
    env["header"]["sender_id"] = json!(stranger);
    let mut s = Signer::new(
        SigningKey::generate(Algorithm::Ed25519).map_err(|e| e.to_string())?,
        stranger,
        "k1",
    );
    s.profile = c.signer.profile;
    s.sign_value(&mut env, None).map_err(|e| e.to_string())?;
    refused_env(
        c,
        &env,
        &[
            "err.sender_id.invalid",
            "err.request.forbidden",
            "err.request.unauthorized",
            "err.signature.invalid",
        ],
    )
}

fn reject_unsigned(c: &Ctx) -> Result<Outcome, String> {
    let mut env = c.envelope("search", c.search_message(&c.by_id())?, false);
    if let Some(o) = env.as_object_mut() {
        o.remove("signature");
    }
    if c.unsigned_allowed {
        return Ok(Skip(
            "--unsigned-allowed: this sender may send unsigned requests".into(),
        ));
    }
    refused_env(c, &env, &["err.signature.missing", "err.signature.invalid"])
}

fn reject_bad_signature(c: &Ctx) -> Result<Outcome, String> {
    let mut env = c.envelope("search", c.search_message(&c.by_id())?, false);
    env["signature"] = json!("invalid-signature");
    refused_env(c, &env, SIG_INVALID)
}

fn reject_wrong_key(c: &Ctx) -> Result<Outcome, String> {
    let mut env = c.envelope("search", c.search_message(&c.by_id())?, false);
    let alg = c.signer.key.algorithm();
    let key = if alg == Algorithm::Ed25519 {
        SigningKey::generate(alg)
    } else {
        SigningKey::generate_rsa(2048)
    }
    .map_err(|e| e.to_string())?;
    let mut s = Signer::new(key, c.signer.sender_id.clone(), c.signer.key_id.clone());
    s.profile = c.signer.profile;
    s.sign_value(&mut env, None).map_err(|e| e.to_string())?;
    refused_env(c, &env, SIG_INVALID)
}

fn reject_tampered(c: &Ctx) -> Result<Outcome, String> {
    let mut env = search_env(c)?;
    env["message"]["search_request"][0]["search_criteria"]["query"]["value"] =
        json!(format!("{}-X", c.id_value));
    refused_env(c, &env, SIG_INVALID)
}

/// Signed at `created` (unix seconds), with a fresh message_ts: only the spdci profile
/// carries created and expires.
fn signed_at(c: &Ctx, created: i64) -> Result<Option<Value>, String> {
    if c.signer.profile != Profile::Spdci {
        return Ok(None);
    }
    let mut env = c.envelope("search", c.search_message(&c.by_id())?, false);
    c.signer
        .sign_value(&mut env, Some(created))
        .map_err(|e| e.to_string())?;
    Ok(Some(env))
}

fn reject_expired(c: &Ctx) -> Result<Outcome, String> {
    let now = chrono::Utc::now().timestamp();
    match signed_at(c, now - 3600)? {
        Some(env) => refused_env(c, &env, SIG_INVALID),
        None => Ok(Skip(format!(
            "the {} profile carries no expiry",
            c.signer.profile.name()
        ))),
    }
}

fn reject_future(c: &Ctx) -> Result<Outcome, String> {
    let now = chrono::Utc::now().timestamp();
    match signed_at(c, now + 3600)? {
        Some(env) => refused_env(c, &env, SIG_INVALID),
        None => Ok(Skip(format!(
            "the {} profile carries no creation time",
            c.signer.profile.name()
        ))),
    }
}

fn with_message_ts(c: &Ctx, offset_secs: i64) -> Result<Outcome, String> {
    let mut env = c.envelope("search", c.search_message(&c.by_id())?, false);
    let ts = chrono::Utc::now() + chrono::Duration::seconds(offset_secs);
    env["header"]["message_ts"] = json!(ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    c.sign(&mut env)?;
    refused_env(c, &env, &["rjct.message_ts.invalid"])
}

fn reject_stale_ts(c: &Ctx) -> Result<Outcome, String> {
    with_message_ts(c, -3600)
}

fn reject_future_ts(c: &Ctx) -> Result<Outcome, String> {
    with_message_ts(c, 3600)
}

fn reject_replay(c: &Ctx) -> Result<Outcome, String> {
    let env = search_env(c)?;
    let first = c.post_env(SYNC_SEARCH, &env)?;
    c.expect_sync(SYNC_SEARCH, &env, &first, "on-search")
        .map_err(|e| format!("the first sending: {e}"))?;
    refused_env(c, &env, &["rjct.message_id.duplicate"])
}

fn reject_wrong_action(c: &Ctx) -> Result<Outcome, String> {
    let mut env = c.envelope("subscribe", c.search_message(&c.by_id())?, false);
    c.sign(&mut env)?;
    refused_env(
        c,
        &env,
        &["rjct.action.invalid", "rjct.action.not_supported"],
    )
}

fn reject_sender_uri(c: &Ctx) -> Result<Outcome, String> {
    let mut env = c.envelope("search", c.search_message(&c.by_id())?, true);
    env["header"]["sender_uri"] = json!("ftp://127.0.0.1/registry/on-search");
    c.sign(&mut env)?;
    let path = "/registry/search";
    let a = c.post_env(path, &env)?;
    pass(c.expect_reject(path, &a, &["err.sender_uri.invalid"])?)
}

fn reject_content_type(c: &Ctx) -> Result<Outcome, String> {
    let env = search_env(c)?;
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs_f64(c.ds.timeout_secs))
        .build()
        .map_err(|e| e.to_string())?;
    let url = c.url(SYNC_SEARCH);
    let r = http
        .post(&url)
        .header("Content-Type", "text/plain")
        .header("Authorization", format!("Bearer {}", c.token()?))
        .body(serde_json::to_vec(&env).map_err(|e| e.to_string())?)
        .send()
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = r.status().as_u16();
    let bytes = r.bytes().map_err(|e| e.to_string())?.to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let a = Answer {
        status,
        bytes,
        body,
    };
    if !(400..500).contains(&a.status) {
        return Err(format!("want HTTP 415 or 400; got {}", a.brief()));
    }
    pass(c.expect_reject(SYNC_SEARCH, &a, &[])?)
}

// ---------------------------------------------------------------------------------------------
// Field rules: a signed request that breaks one rule of the spec's schema.

struct FieldRule {
    id: &'static str,
    title: &'static str,
    path: &'static str,
    action: &'static str,
    edit: fn(&mut Value),
}

fn item(env: &mut Value) -> &mut Value {
    &mut env["message"]["search_request"][0]
}

fn drop_key(v: &mut Value, k: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(k);
    }
}

const FIELD_RULES: &[FieldRule] = &[
    FieldRule {
        id: "field.message.required",
        title: "an envelope without message is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| drop_key(e, "message"),
    },
    FieldRule {
        id: "field.header.message_id.required",
        title: "a header without message_id is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| drop_key(&mut e["header"], "message_id"),
    },
    FieldRule {
        id: "field.header.message_ts.format",
        title: "a header.message_ts that is no date-time is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| e["header"]["message_ts"] = json!("not-a-timestamp"),
    },
    FieldRule {
        id: "field.header.total_count.type",
        title: "a header.total_count that is no integer is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| e["header"]["total_count"] = json!("one"),
    },
    FieldRule {
        id: "field.transaction_id.max_length",
        title: "a transaction_id of 100 characters is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| e["message"]["transaction_id"] = json!("x".repeat(100)),
    },
    FieldRule {
        id: "field.search_request.reference_id.required",
        title: "a search item without reference_id is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| drop_key(item(e), "reference_id"),
    },
    FieldRule {
        id: "field.search_request.timestamp.format",
        title: "a search item timestamp that is no date-time is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| item(e)["timestamp"] = json!("not-a-timestamp"),
    },
    FieldRule {
        id: "field.search_request.locale.pattern",
        title: "a locale not of three lower-case letters is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| item(e)["locale"] = json!("en"),
    },
    FieldRule {
        id: "field.search_criteria.query_type.enum",
        title: "an unknown query_type is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| item(e)["search_criteria"]["query_type"] = json!("telepathy"),
    },
    FieldRule {
        id: "field.search_criteria.pagination.type",
        title: "a page_size that is no integer is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| item(e)["search_criteria"]["pagination"]["page_size"] = json!("ten"),
    },
    FieldRule {
        id: "field.search_criteria.sort_order.enum",
        title: "a sort_order other than asc or desc is refused",
        path: SYNC_SEARCH,
        action: "search",
        edit: |e| {
            item(e)["search_criteria"]["sort"] =
                json!([{"attribute_name": "birth_date", "sort_order": "sideways"}])
        },
    },
    FieldRule {
        id: "field.subscription_codes.max_length",
        title: "an unsubscribe code of 100 characters is refused",
        path: "/registry/unsubscribe",
        action: "unsubscribe",
        edit: |e| e["message"]["subscription_codes"] = json!(["s".repeat(100)]),
    },
];

/// The codes a field-rule refusal may carry: the spec's bad request, or the reason code of
/// the part refused.
const FIELD_CODES: &[&str] = &[
    "err.request.bad",
    "rjct.message_ts.invalid",
    "rjct.total_count.invalid",
    "rjct.reference_id.invalid",
    "rjct.timestamp.invalid",
    "rjct.search_criteria.invalid",
    "rjct.pagination.invalid",
    "rjct.sort.invalid",
    "rjct.subscription_code.invalid",
];

fn field_rule(c: &Ctx, rule: &FieldRule) -> Result<Outcome, String> {
    let message = match rule.action {
        "unsubscribe" => serde_json::to_value(request::unsubscribe_request(
            &c.ds,
            &["sub-1".to_string()],
            &Ids::fresh(),
        ))
        .map_err(|e| e.to_string())?,
        _ => c.search_message(&c.by_id())?,
    };
    let mut env = c.envelope(rule.action, message, rule.action != "search");
    (rule.edit)(&mut env);
    if env.get("message").is_some() {
        c.sign(&mut env)?;
    } else {
        // No message to sign over: the refusal must still be for the missing message.
        env["signature"] = json!("");
    }
    let bytes = serde_json::to_vec(&env).map_err(|e| e.to_string())?;
    let a = c.post(rule.path, &bytes, Auth::Token)?;
    let mut codes = FIELD_CODES.to_vec();
    if env.get("message").is_none() {
        codes.extend(["err.signature.missing", "err.signature.invalid"]);
    }
    pass(c.expect_reject(rule.path, &a, &codes)?)
}
