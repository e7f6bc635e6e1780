//! The registry kit for C hosts that serve DCI (`dci::registry::Registry`): a `dci_registry`
//! configured from JSON with the server key, admits the requests the host receives and builds
//! every answer (signed, and encrypted when the sender registered an encryption key).
//!
//! A host receives `body` on `path`, calls `dci_registry_admit`, and either sends the refusal
//! (`{"ok":false,"status","body"}`) or keeps the `dci_admission` it got and answers it with
//! `dci_registry_answer` (sync), or `dci_registry_ack` now and `dci_registry_callback` later
//! (async). Every reply is `{"ok", "status", "body"}`: send `body` as JSON with HTTP `status`.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::{Arc, RwLock};

use serde::Deserialize;
use serde_json::{json, Value};

use super::keys::dci_signing_key;
use super::string::{in_args, in_json, in_str};
use super::{
    boundary, dci_error, dci_result, free_handle, handle, handle_out, out_ptr, string_out,
    value_out, write_out, FfiError, FfiResult,
};
use dci::encryption::DecryptionKey;
use dci::error::Error;
use dci::keys::{Jwks, SigningKey};
use dci::model::ReasonCode;
use dci::registry::{
    Admitted, ItemResult, MemoryReplay, Mode, Op, Refused, Registry, ReplayGuard, Response, Sender,
    SenderDirectory,
};
use dci::signature::{Profile, Signer};

/// The host's lookup of senders it keeps itself: returns 0 and writes the sender's JSON (the
/// shape of `dci_registry_add_sender`) to `*out_json`, allocated with `malloc` (libdci frees
/// it with `free`); returns 1 when `sender_id` is not registered; any other value is a
/// failure of the lookup (the request is refused with 500 `err.service.unavailable`).
pub type dci_sender_lookup = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        sender_id: *const c_char,
        out_json: *mut *mut c_char,
    ) -> c_int,
>;

extern "C" {
    fn free(p: *mut c_void);
}

/// The host's callback and its context (the host keeps `ctx` alive and callable from any
/// thread while the registry lives).
#[derive(Clone, Copy)]
struct Lookup {
    f: unsafe extern "C" fn(*mut c_void, *const c_char, *mut *mut c_char) -> c_int,
    ctx: usize,
}

/// Senders added by the host, then its lookup callback for the ones not added.
#[derive(Default)]
struct Senders {
    map: RwLock<HashMap<String, (Sender, Option<Jwks>)>>,
    lookup: RwLock<Option<Lookup>>,
}

impl Senders {
    fn put(&self, s: Sender) -> FfiResult<()> {
        let jwks = Jwks::from_json(&s.jwks).ok();
        self.map
            .write()
            .map_err(|_| Error::Internal("sender list poisoned".into()))?
            .insert(s.sender_id.clone(), (s, jwks));
        Ok(())
    }
}

/// The registry's handle on the senders it shares with `dci_registry_add_sender`.
struct Shared(Arc<Senders>);

impl SenderDirectory for Shared {
    fn lookup(&self, sender_id: &str) -> Result<Option<(Sender, Option<Jwks>)>, String> {
        let map = self.0.map.read().map_err(|_| "sender list poisoned")?;
        if let Some(found) = map.get(sender_id) {
            return Ok(Some(found.clone()));
        }
        drop(map);
        // Copied out, so the lookup may call back into the registry.
        let lookup = *self.0.lookup.read().map_err(|_| "sender lookup poisoned")?;
        let Some(l) = lookup else {
            return Ok(None);
        };
        let id = super::error::c_string(sender_id);
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: the host registered `f` and `ctx` for this (dci_registry_set_lookup).
        let rc = unsafe { (l.f)(l.ctx as *mut c_void, id.as_ptr(), &mut out) };
        let text = (!out.is_null()).then(|| {
            // SAFETY: the host wrote a NUL-terminated malloc'ed string (contract).
            let s = unsafe { CStr::from_ptr(out) }
                .to_string_lossy()
                .into_owned();
            unsafe { free(out.cast()) };
            s
        });
        match rc {
            0 => {
                let text = text.ok_or("the sender lookup returned 0 but wrote no JSON")?;
                let s: Sender = serde_json::from_str(&text)
                    .map_err(|e| format!("the sender lookup wrote bad sender JSON: {e}"))?;
                if s.sender_id != sender_id {
                    return Err(format!(
                        "the sender lookup for {sender_id} wrote sender {}",
                        s.sender_id
                    ));
                }
                let jwks = Jwks::from_json(&s.jwks).ok();
                Ok(Some((s, jwks)))
            }
            1 => Ok(None),
            other => Err(format!("the host's sender lookup failed ({other})")),
        }
    }
}

/// The host's replay store: records that `sender_id` sent `message_id` at `now_ms` (unix
/// milliseconds) and returns 1 when it had not sent it within the last `window_ms`, 0 when it
/// had (the request is refused with 409 `rjct.message_id.duplicate`); any other value is a
/// failure of the store (500 `err.service.unavailable`).
pub type dci_replay_check = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        sender_id: *const c_char,
        message_id: *const c_char,
        now_ms: i64,
        window_ms: i64,
    ) -> c_int,
>;

#[derive(Clone, Copy)]
struct HostReplay {
    f: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, i64, i64) -> c_int,
    ctx: usize,
}

/// Replay protection in memory, or the host's store once it set one.
#[derive(Default)]
struct Replay {
    memory: MemoryReplay,
    host: RwLock<Option<HostReplay>>,
}

struct SharedReplay(Arc<Replay>);

impl ReplayGuard for SharedReplay {
    fn first_time(
        &self,
        sender: &str,
        message_id: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, String> {
        let host = *self.0.host.read().map_err(|_| "replay store poisoned")?;
        let Some(h) = host else {
            return self
                .0
                .memory
                .first_time(sender, message_id, now_ms, window_ms);
        };
        let (s, m) = (
            super::error::c_string(sender),
            super::error::c_string(message_id),
        );
        // SAFETY: the host registered `f` and `ctx` for this (dci_registry_set_replay).
        match unsafe {
            (h.f)(
                h.ctx as *mut c_void,
                s.as_ptr(),
                m.as_ptr(),
                now_ms,
                window_ms,
            )
        } {
            1 => Ok(true),
            0 => Ok(false),
            other => Err(format!("the host's replay store failed ({other})")),
        }
    }
}

/// A registry host's admission and answers. Free with `dci_registry_free`. Every function
/// may be called from several threads at once.
pub struct dci_registry {
    reg: Registry,
    senders: Arc<Senders>,
    replay: Arc<Replay>,
}

/// An admitted request, to answer. Free with `dci_admission_free` (after its answer).
pub struct dci_admission {
    op: Op,
    registry: &'static str,
    admitted: Admitted,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    server_id: String,
    key_id: String,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    clock_skew_secs: Option<i64>,
    #[serde(default)]
    max_search_items: Option<usize>,
    #[serde(default)]
    max_page_size: Option<usize>,
    #[serde(default)]
    default_registry: Option<String>,
    #[serde(default)]
    allow_private_callbacks: bool,
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    senders: Vec<Value>,
    #[serde(default)]
    decryption_keys: Vec<DecryptionKeyConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecryptionKeyConfig {
    kid: String,
    pem: String,
}

fn config_error(field: impl Into<String>, reason: impl Into<String>) -> FfiError {
    FfiError::Core(Error::Config {
        field: field.into(),
        reason: reason.into(),
    })
}

fn parse_sender(v: Value, field: &str) -> FfiResult<Sender> {
    serde_json::from_value(v).map_err(|e| config_error(field, e.to_string()))
}

fn build(config: Config, key: SigningKey) -> FfiResult<dci_registry> {
    let mut signer = Signer::new(key, config.server_id, config.key_id);
    if let Some(p) = &config.profile {
        signer.profile = Profile::parse(p)?;
    }
    let senders = Arc::new(Senders::default());
    for (i, s) in config.senders.into_iter().enumerate() {
        senders.put(parse_sender(s, &format!("senders[{i}]"))?)?;
    }
    let keys = config
        .decryption_keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            DecryptionKey::from_pem(&k.pem, &k.kid)
                .map_err(|e| config_error(format!("decryption_keys[{i}]"), e.to_string()))
        })
        .collect::<FfiResult<Vec<_>>>()?;
    let replay = Arc::new(Replay::default());
    let mut reg = Registry::new(signer)
        .with_senders(Box::new(Shared(senders.clone())))
        .with_replay(Box::new(SharedReplay(replay.clone())))
        .with_decryption_keys(keys);
    if let Some(n) = config.clock_skew_secs {
        if n <= 0 {
            return Err(config_error(
                "clock_skew_secs",
                format!("must be positive, got {n}"),
            ));
        }
        reg.policy.clock_skew_secs = n;
    }
    if let Some(n) = config.max_search_items {
        if n == 0 {
            return Err(config_error("max_search_items", "must be positive, got 0"));
        }
        reg.policy.max_search_items = n;
    }
    if let Some(n) = config.max_page_size {
        if n == 0 {
            return Err(config_error("max_page_size", "must be positive, got 0"));
        }
        reg.max_page_size = n;
    }
    if let Some(r) = config.default_registry {
        if !dci::registry::op::REGISTRIES.contains(&r.as_str()) {
            return Err(config_error(
                "default_registry",
                format!(
                    "unknown registry {r:?} (one of {})",
                    dci::registry::op::REGISTRIES.join(", ")
                ),
            ));
        }
        reg.default_registry = r;
    }
    reg.policy.strict = config.strict;
    reg.egress.allow_private = config.allow_private_callbacks;
    Ok(dci_registry {
        reg,
        senders,
        replay,
    })
}

/// A new registry in `*out`, answering as `server_id` and signing with a copy of `key` (the
/// caller still owns and frees `key`).
///
/// `config_json`: `server_id` and `key_id` (the kid of its signatures is
/// `{server_id}|{key_id}|{alg}`) are required; optional `profile` (`"spdci"`, default,
/// `"jws-detached"`, `"jws-compact"`), `clock_skew_secs` (300), `max_search_items` (100),
/// `max_page_size` (1000), `default_registry` (the registry of bare `/registry/...` paths:
/// `"crvs"`, default, `"social"`, `"ibr"`, `"dr"`, `"fr"`), `allow_private_callbacks`
/// (false), `strict` (false: list the spec deviations of accepted requests), `senders` (a
/// list of senders, as `dci_registry_add_sender` takes them) and `decryption_keys`
/// (`[{"kid", "pem"}]`: PKCS#8 keys that open encrypted requests). An unknown or malformed
/// field fails with `DCI_RESULT_CONFIG` naming it.
#[no_mangle]
pub extern "C" fn dci_registry_new(
    config_json: *const c_char,
    key: *const dci_signing_key,
    out: *mut *mut dci_registry,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || {
        let key = SigningKey::from_pem(&handle(key, "key")?.0.to_pem()?)?;
        let text = in_str(config_json, "config_json")?;
        let config: Config =
            serde_json::from_str(text).map_err(|e| config_error("config_json", e.to_string()))?;
        build(config, key)
    })
}

/// Adds (or replaces) a sender, given as JSON: `sender_id` (required), `name`, `jwks`
/// (`{"keys":[...]}`, each key's `kid` the key id of its signatures' kid
/// `{sender_id}|{key_id}|{alg}`; a `use: "enc"` key is what answers are encrypted to),
/// `allowed_ops` (`["search", "txn-status", ...]` or `["*"]`, the default), `registries`
/// (`["crvs", ...]` or `["*"]`), `fields` (the record fields it may receive, or `["*"]`),
/// `consent_required`, `signature_policy` (`"required"`, default, or `"optional"`),
/// `active` (true), `callback_uri`. An unknown field fails with `DCI_RESULT_CONFIG`.
#[no_mangle]
pub extern "C" fn dci_registry_add_sender(
    reg: *const dci_registry,
    sender_json: *const c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let reg = handle(reg, "reg")?;
        let s = parse_sender(in_json(sender_json, "sender_json")?, "sender_json")?;
        reg.senders.put(s)
    })
}

/// Removes a sender added with `dci_registry_add_sender` or in the config; writes to
/// `*removed` whether it was there.
#[no_mangle]
pub extern "C" fn dci_registry_remove_sender(
    reg: *const dci_registry,
    sender_id: *const c_char,
    removed: *mut bool,
    err: *mut *mut dci_error,
) -> dci_result {
    value_out(removed, err, || {
        let reg = handle(reg, "reg")?;
        let id = in_str(sender_id, "sender_id")?;
        let mut map = reg
            .senders
            .map
            .write()
            .map_err(|_| Error::Internal("sender list poisoned".into()))?;
        Ok(map.remove(id).is_some())
    })
}

/// Sets the host's sender lookup (see `dci_sender_lookup`), asked for every sender not added
/// with `dci_registry_add_sender`; NULL `lookup` removes it. `ctx` is passed back as given.
#[no_mangle]
pub extern "C" fn dci_registry_set_lookup(
    reg: *const dci_registry,
    lookup: dci_sender_lookup,
    ctx: *mut c_void,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let reg = handle(reg, "reg")?;
        let mut l = reg
            .senders
            .lookup
            .write()
            .map_err(|_| Error::Internal("sender lookup poisoned".into()))?;
        *l = lookup.map(|f| Lookup {
            f,
            ctx: ctx as usize,
        });
        Ok(())
    })
}

/// Sets the host's replay store (see `dci_replay_check`) in place of the in-memory one (which
/// forgets on restart and is not shared between processes); NULL `check` goes back to memory.
/// `ctx` is passed back as given.
#[no_mangle]
pub extern "C" fn dci_registry_set_replay(
    reg: *const dci_registry,
    check: dci_replay_check,
    ctx: *mut c_void,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let reg = handle(reg, "reg")?;
        let mut h = reg
            .replay
            .host
            .write()
            .map_err(|_| Error::Internal("replay store poisoned".into()))?;
        *h = check.map(|f| HostReplay {
            f,
            ctx: ctx as usize,
        });
        Ok(())
    })
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Sync => "sync",
        Mode::Async => "async",
        Mode::Receive => "receive",
    }
}

fn refusal(r: Refused) -> Value {
    json!({"ok": false, "status": r.status, "body": r.body})
}

fn reply(body: Value) -> Value {
    json!({"ok": true, "status": 200, "body": body})
}

fn admitted_json(op: Op, registry: &str, a: &Admitted) -> Value {
    json!({
        "ok": true,
        "operation": op.name(),
        "action": op.action().as_str(),
        "mode": mode_name(op.mode()),
        "registry": registry,
        "sender_id": a.sender.sender_id,
        "message_id": a.message_id,
        "correlation_id": a.correlation_id,
        "transaction_id": a.request.transaction_id(),
        "sender_uri": a.sender_uri,
        "signed": a.signed,
        "deviations": a.deviations,
        "message": a.request.to_value(),
    })
}

fn write_json(out: *mut *mut c_char, v: &Value) {
    write_out(out, super::error::c_string(&v.to_string()).into_raw());
}

/// Admits a request of `body_len` bytes received on `path` (`/registry/sync/search`,
/// `/dr/registry/sync/disabled`, `/registry/on-search`, ...; a query string is ignored).
///
/// Writes to `*out_json` (free with `dci_string_free`) either the admitted request
/// `{"ok":true, "operation", "action", "mode" ("sync", "async" or "receive"), "registry",
/// "sender_id", "message_id", "correlation_id", "transaction_id", "sender_uri", "signed",
/// "deviations", "message"}` (`message`: the typed request message), or a refusal
/// `{"ok":false, "status", "body"}`: the HTTP status and the exact (signed) spec rejection
/// body to answer with (404 `err.request.not_found` for an unknown path, 403
/// `err.sender_id.invalid` for an unknown sender, 401 for a bad signature, 409 for a
/// replayed message id, 400 for a spec violation, ...). A refusal is not an error: the call
/// returns `DCI_RESULT_OK`.
///
/// When admitted and `out_admission` is not NULL, a new `dci_admission` is written there
/// (NULL on a refusal): pass it to the answer functions, and free it with
/// `dci_admission_free`.
#[no_mangle]
pub unsafe extern "C" fn dci_registry_admit(
    reg: *const dci_registry,
    path: *const c_char,
    body: *const u8,
    body_len: usize,
    out_json: *mut *mut c_char,
    out_admission: *mut *mut dci_admission,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out_json = out_ptr(out_json, "out_json")?;
        let reg = handle(reg, "reg")?;
        let path = in_str(path, "path")?;
        if body.is_null() && body_len > 0 {
            return Err(FfiError::Null("body"));
        }
        let bytes: &[u8] = if body_len == 0 {
            &[]
        } else {
            // SAFETY: non-NULL and `body_len` readable bytes (contract).
            unsafe { std::slice::from_raw_parts(body, body_len) }
        };
        match reg.reg.admit(path, bytes) {
            Ok((op, registry, admitted)) => {
                write_json(out_json, &admitted_json(op, registry, &admitted));
                if !out_admission.is_null() {
                    write_out(
                        out_admission,
                        super::into_handle(dci_admission {
                            op,
                            registry,
                            admitted,
                        }),
                    );
                }
            }
            Err(r) => {
                write_json(out_json, &refusal(r));
                if !out_admission.is_null() {
                    write_out(out_admission, std::ptr::null_mut());
                }
            }
        }
        Ok(())
    })
}

/// Frees an admission. NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_admission_free(admission: *mut dci_admission) {
    free_handle(admission)
}

/// Writes to `*out` the reply to an admitted async request or received callback now:
/// `{"ok":true,"status":200,"body":<the spec's Ack, ack_status ACK, with the correlation id>}`.
#[no_mangle]
pub extern "C" fn dci_registry_ack(
    reg: *const dci_registry,
    admission: *const dci_admission,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let reg = handle(reg, "reg")?;
        let a = handle(admission, "admission")?;
        Ok(reply(reg.reg.ack(&a.admitted)).to_string())
    })
}

/// The response message of the admission's operation, from JSON (`SearchResponse`,
/// `TxnStatusResponse`, `SubscribeResponse`, ...).
fn response(a: &dci_admission, message_json: *const c_char) -> FfiResult<Response> {
    let message = in_json(message_json, "message_json")?;
    Ok(Response::parse(a.op, message)?)
}

/// Writes to `*out` the signed answer to the admitted request: `message_json` is the
/// operation's response message (a `SearchResponse` for a search, from
/// `dci_registry_on_search`; a `TxnStatusResponse`, `SubscribeResponse`, ...), put in an
/// envelope whose callback header counts its items, encrypted to the sender's key when it
/// registered one, and signed with the server key. `*out` is `{"ok":true,"status":200,
/// "body":<envelope>}`, or `{"ok":false,"status","body"}` when it cannot be made (an
/// unreadable encryption key: the rejection to send instead). A message that does not fit
/// the operation fails with `DCI_RESULT_JSON` naming the field.
#[no_mangle]
pub extern "C" fn dci_registry_answer(
    reg: *const dci_registry,
    admission: *const dci_admission,
    message_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let reg = handle(reg, "reg")?;
        let a = handle(admission, "admission")?;
        let message = response(a, message_json)?;
        let v = match reg.reg.answer(a.op, &a.admitted, message) {
            Ok(body) => reply(body),
            Err(r) => refusal(r),
        };
        Ok(v.to_string())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemError {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum WireItemResult {
    #[serde(rename = "records")]
    Records(Vec<Value>),
    #[serde(rename = "error")]
    Error(ItemError),
}

/// Writes to `*out` the `SearchResponse` message of an admitted search (`/registry/search`,
/// `/registry/sync/search` and the IBR/DR search endpoints), from what the host found for
/// each item: `results_json` is a list whose element i answers `search_request[i]`, each
/// `{"records":[...]}` (every matching record, in order: the kit pages them by the item's
/// pagination and keeps only the sender's agreed fields) or `{"error":{"code":
/// "rjct.search_criteria.invalid", "message": "..."}}`. A missing result is a rejected
/// item. Answer with the message: `dci_registry_answer` (sync) or `dci_registry_callback`
/// (async). Fails with `DCI_RESULT_CONFIG` when the admission is not a search.
#[no_mangle]
pub extern "C" fn dci_registry_on_search(
    reg: *const dci_registry,
    admission: *const dci_admission,
    results_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let reg = handle(reg, "reg")?;
        let a = handle(admission, "admission")?;
        let results: Vec<WireItemResult> = in_args(results_json, "results_json")?;
        let results = results
            .into_iter()
            .map(|r| match r {
                WireItemResult::Records(v) => ItemResult::Records(v),
                WireItemResult::Error(e) => {
                    ItemResult::Rejected(ReasonCode::from_wire(&e.code), e.message)
                }
            })
            .collect();
        let resp = reg
            .reg
            .search_response(&a.admitted, a.registry, results)
            .map_err(|r| config_error("admission", r.message))?;
        Ok(serde_json::to_string(&resp)?)
    })
}

/// The async answer to an admitted request (`/registry/search`, `/registry/subscribe`,
/// `/registry/unsubscribe`, `/registry/txn/status`): the signed envelope of `message_json`
/// (as `dci_registry_answer`) to POST to `*out_url`, the request's `sender_uri` (else the
/// sender's registered callback URI) with the operation's callback path, checked by the
/// outbound policy. Writes the URL and the body (free both with `dci_string_free`); `*out_url`
/// is NULL when the request gave no address and the sender registered none (the answer then
/// waits for a txn/status request). A refused address fails with `DCI_RESULT_PROTOCOL`, code
/// `err.sender_uri.invalid`.
#[no_mangle]
pub extern "C" fn dci_registry_callback(
    reg: *const dci_registry,
    admission: *const dci_admission,
    message_json: *const c_char,
    out_url: *mut *mut c_char,
    out_body: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let out_url = out_ptr(out_url, "out_url")?;
        let out_body = out_ptr(out_body, "out_body")?;
        let reg = handle(reg, "reg")?;
        let a = handle(admission, "admission")?;
        let message = response(a, message_json)?;
        let protocol = |r: Refused| {
            FfiError::Core(Error::Protocol {
                code: r.rejection.code.as_str().to_string(),
                message: r.rejection.message.clone(),
                endpoint: format!("callback {}", a.op.reply_action()),
                transaction_id: Some(a.admitted.request.transaction_id().to_string()),
            })
        };
        match reg
            .reg
            .callback(a.op, &a.admitted, message)
            .map_err(protocol)?
        {
            Some(cb) => {
                let url = super::error::c_string(&cb.url).into_raw();
                write_json(out_body, &cb.body);
                write_out(out_url, url);
            }
            None => {
                let body = reg
                    .reg
                    .answer(a.op, &a.admitted, response(a, message_json)?)
                    .map_err(protocol)?;
                write_json(out_body, &body);
                write_out(out_url, std::ptr::null_mut());
            }
        }
        Ok(())
    })
}

/// Frees a registry. NULL is ignored. No call may be running on it.
#[no_mangle]
pub extern "C" fn dci_registry_free(reg: *mut dci_registry) {
    free_handle(reg)
}
