//! OpenSPP 2's signed responses: its server signs the header dumped with `exclude_none` (fields
//! at a non-None default included) but sends it dumped with `exclude_unset` too (those fields
//! absent). The `openspp2` dialect verifies such a response over the received header plus only
//! the documented defaults; the `spdci` dialect verifies over the received bytes and refuses it;
//! anything else changed is still refused.
//!
//! The registry here is a small axum server that builds exactly that pair of headers.

mod support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use dci::canonical::{self, Node, Style};
use dci::client::dialect::openspp2_signed_header;
use dci::client::{CallbackResult, DCIClient, DataSource, Dialect, RegistryKeyConfig, VerifyMode};
use dci::error::ErrorKind;
use dci::keys::SigningKey;
use dci::signature::{spdci, DigestAlgorithm};
use serde_json::{json, Map, Value};
use support::Served;

const REGISTRY_ID: &str = "openspp2.test";
const KID: &str = "openspp2.test|spp-key-1|ed25519";

fn key() -> SigningKey {
    SigningKey::from_ed25519_seed(&[11u8; 32])
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What the registry does to the envelope after signing it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Sends the `exclude_unset` header, as OpenSPP 2 does.
    Genuine,
    /// The same, with a record changed after signing.
    TamperedMessage,
    /// Sends `is_msg_encrypted: true` where `false` was signed (a received field changed).
    ChangedDefault,
    /// Sends the full signed header (what a verifier over the bytes expects).
    FullHeader,
}

/// Builds an OpenSPP 2 style envelope: signed over `signed_header` (the `exclude_none` dump),
/// sent with `wire_header` (the `exclude_unset` dump).
fn envelope(
    wire_header: Map<String, Value>,
    defaults: &[(&str, Value)],
    message: Value,
    mode: Mode,
) -> Vec<u8> {
    let mut signed_header = wire_header.clone();
    for (k, v) in defaults {
        signed_header.insert((*k).into(), v.clone());
    }
    let canonical = canonical::canonicalize_value(
        &json!({"header": signed_header, "message": message}),
        Style::Ascii,
    );
    let now = unix_now();
    let sig = spdci::sign(
        &key(),
        KID,
        &canonical,
        now,
        now + 300,
        DigestAlgorithm::Sha256,
    )
    .expect("registry signs");
    let (header, message) = match mode {
        Mode::Genuine => (wire_header, message),
        Mode::TamperedMessage => {
            let mut m = message;
            m["search_response"][0]["data"]["reg_records"][0]["name"] = json!("Mallory");
            (wire_header, m)
        }
        Mode::ChangedDefault => {
            let mut h = wire_header;
            h.insert("is_msg_encrypted".into(), json!(true));
            (h, message)
        }
        Mode::FullHeader => (signed_header, message),
    };
    serde_json::to_vec(&json!({"signature": sig, "header": header, "message": message})).unwrap()
}

fn search_message(txn: &str) -> Value {
    json!({
        "transaction_id": txn,
        "correlation_id": "corr-1",
        "search_response": [{
            "reference_id": "ref-1",
            "timestamp": "2026-01-01T00:00:00Z",
            "status": "succ",
            "data": {"reg_records": [{"id": "1001", "name": "Ana Lopez \u{e9}"}]}
        }]
    })
}

/// A sync search response as OpenSPP 2's server builds it: `version`, `total_count` and
/// `completed_count` are passed explicitly, `is_msg_encrypted` is left at its default.
fn sync_response(req: &Value, mode: Mode) -> Vec<u8> {
    let at = |ptr: &str| req.pointer(ptr).and_then(Value::as_str).unwrap_or("");
    let (txn, sender) = (at("/message/transaction_id"), at("/header/sender_id"));
    let wire = json!({
        "version": "1.0.0",
        "message_id": "m-1",
        "message_ts": "2026-01-01T00:00:00.123456Z",
        "action": "on-search",
        "sender_id": REGISTRY_ID,
        "receiver_id": sender,
        "total_count": 1,
        "status": "succ",
        "completed_count": 1
    });
    envelope(
        wire.as_object().unwrap().clone(),
        &[("is_msg_encrypted", json!(false))],
        search_message(txn),
        mode,
    )
}

/// A callback where every defaulted field was left unset: all four are signed, none is sent.
fn callback(txn: &str, mode: Mode) -> Vec<u8> {
    let wire = json!({
        "message_id": "m-2",
        "message_ts": "2026-01-01T00:00:00Z",
        "action": "on-search",
        "sender_id": REGISTRY_ID,
        "receiver_id": "openspp.test",
        "status": "succ"
    });
    envelope(
        wire.as_object().unwrap().clone(),
        &[
            ("version", json!("1.0.0")),
            ("total_count", json!(0)),
            ("is_msg_encrypted", json!(false)),
            ("completed_count", json!(0)),
        ],
        search_message(txn),
        mode,
    )
}

struct Registry {
    base_url: String,
    mode: Arc<Mutex<Mode>>,
    _served: Served,
}

async fn sync_search(State(mode): State<Arc<Mutex<Mode>>>, body: Bytes) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let m = *mode.lock().unwrap();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        sync_response(&req, m),
    )
        .into_response()
}

impl Registry {
    fn start() -> Registry {
        let mode = Arc::new(Mutex::new(Mode::Genuine));
        let app = Router::new()
            .route("/registry/sync/search", post(sync_search))
            .with_state(mode.clone());
        let served = Served::start(app);
        Registry {
            base_url: served.base_url(),
            mode,
            _served: served,
        }
    }

    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
}

fn client(reg: &Registry, dialect: Dialect) -> DCIClient {
    let mut d = DataSource::new(&reg.base_url, "openspp.test");
    d.receiver_id = Some(REGISTRY_ID.into());
    d.dialect = dialect;
    d.registry_key = Some(RegistryKeyConfig {
        pem: Some(key().verifying_key().to_pem().unwrap()),
        mode: VerifyMode::Required,
        ..Default::default()
    });
    d.our_callback_uri = Some("http://127.0.0.1:9/cb".into());
    d.timeout_secs = 5.0;
    DCIClient::new(d).unwrap()
}

/// The registry's answer with the whole signed header on the wire verifies in `c`'s dialect.
fn assert_full_header_verifies(reg: &Registry, c: &DCIClient) {
    reg.set(Mode::FullHeader);
    assert!(c.search_by_id("UIN", "1001").unwrap().signature.verified);
}

#[test]
fn openspp2_accepts_the_response_signed_with_defaults_and_sent_without() {
    let reg = Registry::start();
    let c = client(&reg, Dialect::Openspp2);
    let r = c.search_by_id("UIN", "1001").unwrap();
    assert!(r.signature.verified);
    assert_eq!(r.signature.kid.as_deref(), Some(KID));
    assert_eq!(r.first_record().unwrap()["name"], "Ana Lopez \u{e9}");

    // A response that carries the full signed header verifies as before.
    assert_full_header_verifies(&reg, &c);
}

#[test]
fn spdci_refuses_the_same_response() {
    let reg = Registry::start();
    let c = client(&reg, Dialect::Spdci);
    let e = c.search_by_id("UIN", "1001").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignatureInvalid, "{e}");
    assert!(!e.to_string().contains("OpenSPP 2"), "{e}");
    // Over the full header, the spdci dialect verifies it: only the wire form differed.
    assert_full_header_verifies(&reg, &c);
}

#[test]
fn openspp2_still_refuses_a_tampered_message_or_a_changed_field() {
    let reg = Registry::start();
    let c = client(&reg, Dialect::Openspp2);
    for mode in [Mode::TamperedMessage, Mode::ChangedDefault] {
        reg.set(mode);
        let e = c.search_by_id("UIN", "1001").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureInvalid, "{mode:?}: {e}");
    }
    // The tampered message had a default to add, so both forms were tried and the error says so.
    reg.set(Mode::TamperedMessage);
    let e = c.search_by_id("UIN", "1001").unwrap_err();
    assert!(
        e.to_string()
            .contains("(also over the header with OpenSPP 2's defaults)"),
        "{e}"
    );
}

#[test]
fn callbacks_follow_the_same_rule() {
    let reg = Registry::start();
    let hdr = [("Content-Type", "application/json")];
    let o2 = client(&reg, Dialect::Openspp2);
    let out = o2
        .handle_callback(&callback("t-cb", Mode::Genuine), &hdr)
        .unwrap();
    assert_eq!(out.action, "on-search");
    match out.result.unwrap() {
        CallbackResult::Search(r) => {
            assert!(r.signature.verified);
            assert_eq!(r.first_record().unwrap()["id"], "1001");
        }
        other => panic!("{other:?}"),
    }
    for mode in [Mode::TamperedMessage, Mode::ChangedDefault] {
        let e = o2
            .handle_callback(&callback("t-cb", mode), &hdr)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureInvalid, "{mode:?}: {e}");
    }
    let spdci = client(&reg, Dialect::Spdci);
    let e = spdci
        .handle_callback(&callback("t-cb", Mode::Genuine), &hdr)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignatureInvalid, "{e}");
}

#[test]
fn the_signed_header_adds_only_absent_defaults() {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    // A callback header (it has `status`): all four defaults, received fields kept as received.
    let node =
        canonical::parse(br#"{"status":"succ","action":"on-search","total_count":3}"#).unwrap();
    let h = openspp2_signed_header(&node).unwrap().unwrap();
    assert_eq!(
        text(
            &canonical::parse(&h)
                .unwrap()
                .to_canonical(Style::Ascii)
                .unwrap()
        ),
        r#"{"action":"on-search","completed_count":0,"is_msg_encrypted":false,"status":"succ","total_count":3,"version":"1.0.0"}"#
    );
    // A request-model header (no `status`): no completed_count.
    let node = canonical::parse(br#"{"is_msg_encrypted":true}"#).unwrap();
    let h = openspp2_signed_header(&node).unwrap().unwrap();
    assert_eq!(
        text(&h),
        r#"{"is_msg_encrypted":true,"version":"1.0.0","total_count":0}"#
    );
    // Nothing absent, or not an object: nothing to try.
    let full = br#"{"version":"2","total_count":1,"is_msg_encrypted":false}"#;
    assert_eq!(
        openspp2_signed_header(&canonical::parse(full).unwrap()).unwrap(),
        None
    );
    assert_eq!(openspp2_signed_header(&Node::Null).unwrap(), None);
    // An empty object gets the three, without a leading comma.
    let h = openspp2_signed_header(&canonical::parse(b"{}").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        text(&h),
        r#"{"version":"1.0.0","total_count":0,"is_msg_encrypted":false}"#
    );
}
