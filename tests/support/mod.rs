//! A mock DCI registry for what the reference server (tests/support/reference.rs, used for
//! normal behaviour) cannot do: it records every request (what the client sends), emulates
//! peers' dialects, counts, expires and fails tokens, and injects the failures a real
//! registry shows (slow, 500, 503 once, not JSON, wrong signature, unsigned, rejected items,
//! rejected or badly signed callbacks). An axum server on 127.0.0.1.
//!
//! Behaviour is chosen by the identifier value a test searches for:
//! `SLOW` (sleeps past the client's timeout), `ERR500`, `BADSIG` (signed with another key),
//! `UNSIGNED`, `RJCT` (item rejected), `HDRRJCT` (header rejected), `NACK` (error ACK),
//! `NOTJSON`, `UNAVAILABLE` (503 once, then normal), `CBREJECT` (async: rejected callback),
//! `CBBADSIG` (async: callback signed with another key).

#![allow(dead_code)]

pub mod reference;
#[allow(unused_imports)]
pub use reference::reference_server;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use dci::client::{AuthConfig, CallbackListener, DCIClient, DataSource, Secret};
use dci::keys::{Algorithm, SigningKey, VerifyingKey};
use dci::signature::Signer;
use serde_json::{json, Value};

pub const REGISTRY_ID: &str = "registry.test";
pub const CLIENT_ID: &str = "client-1";
pub const CLIENT_SECRET: &str = "s3cret";
pub const KEY_ID: &str = "reg-key-1";

/// How the registry behaves.
pub struct Config {
    /// Sign responses and callbacks with this key (None = unsigned).
    pub signing_key: Option<SigningKey>,
    /// Token lifetime announced (`expires_in`).
    pub token_lifetime_secs: u64,
    /// Require a valid bearer token on registry endpoints.
    pub require_token: bool,
    /// Verify the client's request signatures with this key.
    pub client_key: Option<VerifyingKey>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            signing_key: None,
            token_lifetime_secs: 3600,
            require_token: true,
            client_key: None,
        }
    }
}

/// A request the registry received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

struct Shared {
    signer: Option<Signer>,
    /// Another key, for the wrong-signature cases (only when signing is on).
    wrong_signer: Option<Signer>,
    token_lifetime_secs: u64,
    require_token: bool,
    client_key: Option<VerifyingKey>,
    records: Vec<Value>,
    tokens: Mutex<HashSet<String>>,
    tokens_issued: AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
    unavailable_served: AtomicUsize,
    /// Token requests still to answer with 503.
    token_failures: AtomicUsize,
    http: reqwest::Client,
}

pub struct TestRegistry {
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    served: Served,
}

/// An axum app served on 127.0.0.1 (a port the OS picks) by its own runtime, stopped when
/// dropped.
pub struct Served {
    pub addr: SocketAddr,
    rt: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Served {
    pub fn start(app: Router) -> Served {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Served {
            addr,
            rt: Some(rt),
            stop: Some(tx),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `f` to completion on the server's runtime.
    pub fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.as_ref().expect("runtime").block_on(f)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

fn signer_for(key: SigningKey) -> Signer {
    Signer::new(key, REGISTRY_ID, KEY_ID)
}

impl TestRegistry {
    pub fn start(cfg: Config) -> TestRegistry {
        let wrong_signer = cfg
            .signing_key
            .as_ref()
            .map(|_| signer_for(SigningKey::from_ed25519_seed(&[7u8; 32])));
        let shared = Arc::new(Shared {
            signer: cfg.signing_key.map(signer_for),
            wrong_signer,
            token_lifetime_secs: cfg.token_lifetime_secs,
            require_token: cfg.require_token,
            client_key: cfg.client_key,
            records: sample_records(),
            tokens: Mutex::new(HashSet::new()),
            tokens_issued: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            unavailable_served: AtomicUsize::new(0),
            token_failures: AtomicUsize::new(0),
            http: reqwest::Client::new(),
        });
        let app = Router::new()
            .route("/oauth2/client/token", post(token))
            .route("/.well-known/jwks.json", get(jwks))
            .fallback(post(registry))
            .with_state(shared.clone());
        let served = Served::start(app);
        TestRegistry {
            base_url: served.base_url(),
            addr: served.addr,
            shared,
            served,
        }
    }

    /// A data source for this registry: sender `openspp.test`, OAuth2 client credentials,
    /// our receiver id, a 5 s timeout.
    pub fn data_source(&self) -> DataSource {
        let mut d = DataSource::new(&self.base_url, "openspp.test");
        d.receiver_id = Some(REGISTRY_ID.into());
        d.auth = AuthConfig::OAuth2 {
            token_url: None,
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
            scope: None,
        };
        d.timeout_secs = 5.0;
        d
    }

    pub fn tokens_issued(&self) -> usize {
        self.shared.tokens_issued.load(Ordering::SeqCst)
    }

    /// Forgets every issued token: the next request with one gets 401 (an expired token).
    pub fn expire_tokens(&self) {
        self.shared.tokens.lock().unwrap().clear();
    }

    /// The next `n` token requests are answered 503 (a transient failure).
    pub fn fail_token_requests(&self, n: usize) {
        self.shared.token_failures.store(n, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn last_request(&self, path: &str) -> Recorded {
        self.requests_to(path).pop().expect("a request to the path")
    }

    /// Posts raw bytes to a callback URL (for testing the listener's refusals).
    pub fn post_raw(&self, url: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let http = self.shared.http.clone();
        let (url, ct) = (url.to_string(), content_type.to_string());
        self.served.block_on(async move {
            let r = http
                .post(url)
                .header("Content-Type", ct)
                .body(body)
                .send()
                .await
                .expect("sent");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        })
    }

    /// A callback envelope signed by the registry (or unsigned), for handle_callback tests.
    pub fn signed_callback(&self, action: &str, status: &str, message: Value) -> Vec<u8> {
        envelope(
            &self.shared,
            self.shared.signer.as_ref(),
            action,
            status,
            None,
            "client",
            message,
        )
    }

    /// The same, signed with a key the client does not trust.
    pub fn badly_signed_callback(&self, action: &str, message: Value) -> Vec<u8> {
        envelope(
            &self.shared,
            self.shared.wrong_signer.as_ref(),
            action,
            "succ",
            None,
            "client",
            message,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Data

/// Five persons: two with programmes (IBR), one deceased, one with WG scores (DR).
fn sample_records() -> Vec<Value> {
    vec![
        json!({
            "identifier": [{"identifier_type": "UIN", "identifier_value": "1001"},
                           {"identifier_type": "BRN", "identifier_value": "BR-2024-0042"}],
            "name": {"given_name": "Amina", "surname": "Diallo"},
            "sex": "female",
            "birth_date": "2024-02-10",
            "birth_place": {"name": "Central Hospital"},
            "programs_enrollments": [{"programme_name": "Child Grant", "programme_identifier": "CG01"}]
        }),
        json!({
            "identifier": [{"identifier_type": "UIN", "identifier_value": "1002"}],
            "name": {"given_name": "Omar", "surname": "Diallo"},
            "sex": "male",
            "birth_date": "2024-03-15",
            "death_date": "2024-09-01"
        }),
        json!({
            "identifier": [{"identifier_type": "UIN", "identifier_value": "1003"}],
            "name": {"given_name": "Lea", "surname": "Martin"},
            "sex": "female",
            "birth_date": "2024-05-01",
            "programme_identifier": {"programme": {"programme_identifier": "DCI001", "programme_name": "Test Programme"}},
            "disability_info": [
                {"disability_limitation_type": "VIS_SS", "functional_severity": 1},
                {"disability_limitation_type": "MOB_SS", "functional_severity": 3},
                {"disability_limitation_type": "type:COG_SS", "functional_severity": "category:2"}
            ],
            "disability_status": "Approved",
            "disability_details": [{"impairment_type": "Physical and movement related functions"}]
        }),
        json!({
            "identifier": [{"identifier_type": "UIN", "identifier_value": "1004"}],
            "name": {"given_name": "Noah", "surname": "Kato"},
            "sex": "male",
            "birth_date": "2024-07-20",
            "disability_info": [{"disability_limitation_type": "HEAR_SS", "functional_severity": 2}]
        }),
        json!({
            "identifier": [{"identifier_type": "UIN", "identifier_value": "1005"}],
            "name": {"given_name": "Sara", "surname": "Lopez"},
            "sex": "female",
            "birth_date": "2023-12-31"
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Handlers

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

fn record(shared: &Shared, path: &str, q: Option<String>, headers: &HeaderMap, body: &[u8]) {
    shared.requests.lock().unwrap().push(Recorded {
        path: path.to_string(),
        query: q,
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: body.to_vec(),
    });
}

fn form_params(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.replace("%20", " ").replace('+', " ")))
        })
        .collect()
}

async fn token(
    State(shared): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, "/oauth2/client/token", q.clone(), &headers, &body);
    if shared
        .token_failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return json_response(StatusCode::SERVICE_UNAVAILABLE, b"{}".to_vec());
    }
    let mut params = form_params(&String::from_utf8_lossy(&body));
    if let Some(q) = &q {
        params.extend(form_params(q));
    }
    let get = |k: &str| params.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    if get("grant_type").as_deref() != Some("client_credentials")
        || get("client_id").as_deref() != Some(CLIENT_ID)
        || get("client_secret").as_deref() != Some(CLIENT_SECRET)
    {
        return json_response(
            StatusCode::UNAUTHORIZED,
            br#"{"error":"invalid_client"}"#.to_vec(),
        );
    }
    let n = shared.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    let tok = format!("tok-{n}");
    shared.tokens.lock().unwrap().insert(tok.clone());
    let body = json!({"access_token": tok, "token_type": "Bearer", "expires_in": shared.token_lifetime_secs});
    json_response(StatusCode::OK, body.to_string().into_bytes())
}

async fn jwks(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    record(&shared, "/.well-known/jwks.json", None, &headers, b"");
    let keys: Vec<Value> = shared
        .signer
        .iter()
        .map(|s| s.key.verifying_key().to_jwk(Some(KEY_ID)))
        .collect();
    json_response(
        StatusCode::OK,
        json!({"keys": keys}).to_string().into_bytes(),
    )
}

/// Common checks: token, JSON, client signature. Err = the response to send.
#[allow(clippy::result_large_err)]
fn admit(
    shared: &Shared,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Response> {
    record(shared, path, None, headers, body);
    if shared.require_token {
        let ok = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| shared.tokens.lock().unwrap().contains(t));
        if !ok {
            return Err(json_response(
                StatusCode::UNAUTHORIZED,
                br#"{"errors":[{"code":"err.request.unauthorized","message":"token missing or expired"}]}"#.to_vec(),
            ));
        }
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        json_response(
            StatusCode::BAD_REQUEST,
            br#"{"errors":[{"code":"err.request.bad","message":"not JSON"}]}"#.to_vec(),
        )
    })?;
    if let Some(k) = &shared.client_key {
        if let Err(e) =
            dci::signature::verify_bytes(body, k, &dci::signature::VerifyOptions::default())
        {
            let ack = json!({"message": {"ack_status": "ERR", "timestamp": now(), "correlation_id": "",
                "error": {"code": "err.signature.invalid", "message": e.to_string()}}});
            return Err(json_response(StatusCode::OK, ack.to_string().into_bytes()));
        }
    }
    Ok(v)
}

/// A response/callback envelope, signed by `signer` when given.
fn envelope(
    _shared: &Shared,
    signer: Option<&Signer>,
    action: &str,
    status: &str,
    reason: Option<(&str, &str)>,
    receiver: &str,
    message: Value,
) -> Vec<u8> {
    let mut header = json!({
        "version": "1.0.0",
        "message_id": new_id(),
        "message_ts": now(),
        "action": action,
        "status": status,
        "total_count": 1,
        "completed_count": 1,
        "sender_id": REGISTRY_ID,
        "receiver_id": receiver,
        "is_msg_encrypted": false
    });
    if let Some((code, msg)) = reason {
        header["status_reason_code"] = json!(code);
        header["status_reason_message"] = json!(msg);
    }
    let mut env = json!({"signature": "", "header": header, "message": message});
    match signer {
        Some(s) => s.sign_value(&mut env, None).expect("registry signs"),
        None => {
            env.as_object_mut().unwrap().remove("signature");
        }
    }
    serde_json::to_vec(&env).unwrap()
}

fn id_lookup(criteria: &Value) -> Option<(String, String)> {
    let q = criteria.get("query")?;
    if let (Some(t), Some(v)) = (
        q.get("type").and_then(Value::as_str),
        q.get("value").and_then(Value::as_str),
    ) {
        return Some((t.to_string(), v.to_string()));
    }
    // openg2p: {"type": "ns:org:QueryType:expression", "value": {"expression": {"query": {"search_text": {"$eq": v}}}}}
    let v = q
        .pointer("/value/expression/query/search_text/$eq")?
        .as_str()?;
    Some(("*".into(), v.to_string()))
}

fn range(criteria: &Value) -> Option<(String, String, String)> {
    let q = criteria.get("query")?;
    if let Some(items) = q.as_array() {
        let it = items.first()?;
        let a = it.pointer("/expression1/attribute_name")?.as_str()?;
        let f = it.pointer("/expression1/attribute_value")?.as_str()?;
        let t = it.pointer("/expression2/attribute_value")?.as_str()?;
        return Some((a.into(), f.into(), t.into()));
    }
    // opencrvs: {"type": ..., "value": {attr: {"type": "range", "gte": f, "lte": t}}}
    let (a, r) = q.get("value")?.as_object()?.iter().next()?;
    Some((
        a.clone(),
        r.get("gte")?.as_str()?.into(),
        r.get("lte")?.as_str()?.into(),
    ))
}

fn has_id(rec: &Value, t: &str, v: &str) -> bool {
    rec.get("identifier")
        .and_then(Value::as_array)
        .is_some_and(|ids| {
            ids.iter().any(|i| {
                (t == "*" || i["identifier_type"].as_str() == Some(t))
                    && i["identifier_value"].as_str() == Some(v)
            })
        })
}

/// Evaluates one search_request item: (records, the page asked for, total_count). Every hit
/// is on that page (pagination is tested against the reference server).
fn run_query(shared: &Shared, criteria: &Value) -> (Vec<Value>, u64, u64, u64) {
    let page = |k: &str, default: u64| {
        criteria
            .pointer(&format!("/pagination/{k}"))
            .and_then(Value::as_u64)
            .unwrap_or(default)
    };
    let hits: Vec<Value> = if let Some((t, v)) = id_lookup(criteria) {
        shared
            .records
            .iter()
            .filter(|r| has_id(r, &t, &v))
            .cloned()
            .collect()
    } else if let Some((a, f, t)) = range(criteria) {
        let mut h: Vec<Value> = shared
            .records
            .iter()
            .filter(|r| {
                r.get(&a)
                    .and_then(Value::as_str)
                    .is_some_and(|d| d >= f.as_str() && d <= t.as_str())
            })
            .cloned()
            .collect();
        h.sort_by(|x, y| x[&a].as_str().cmp(&y[&a].as_str()));
        h
    } else {
        Vec::new()
    };
    let total = hits.len() as u64;
    (hits, total, page("page_size", 100), page("page_number", 1))
}

fn search_message(
    shared: &Shared,
    req: &Value,
    key: &str,
    correlation_id: &str,
) -> (Value, Option<&'static str>) {
    let txn = req
        .pointer("/message/transaction_id")
        .cloned()
        .unwrap_or(json!(""));
    let mut special = None;
    let list = match req
        .pointer("/message/search_request")
        .and_then(Value::as_array)
    {
        Some(a) => a.clone(),
        // DR sync endpoints: one `disabled_criteria` instead of a list of items.
        None => vec![json!({"reference_id": "r-1",
            "search_criteria": req.pointer("/message/disabled_criteria").cloned().unwrap_or(Value::Null)})],
    };
    let items: Vec<Value> = list
        .iter()
        .map(|it| {
            let c = &it["search_criteria"];
            let id = id_lookup(c).map(|(_, v)| v).unwrap_or_default();
            if id == "RJCT" {
                return json!({"reference_id": it["reference_id"], "timestamp": now(), "status": "rjct",
                    "status_reason_code": "rjct.search_criteria.invalid", "status_reason_message": "bad criteria"});
            }
            if matches!(id.as_str(), "BADSIG" | "UNSIGNED" | "HDRRJCT" | "CBREJECT" | "CBBADSIG") {
                special = Some(match id.as_str() {
                    "BADSIG" => "BADSIG",
                    "UNSIGNED" => "UNSIGNED",
                    "HDRRJCT" => "HDRRJCT",
                    "CBREJECT" => "CBREJECT",
                    _ => "CBBADSIG",
                });
            }
            let (page, total, size, number) = run_query(shared, c);
            json!({
                "reference_id": it["reference_id"],
                "timestamp": now(),
                "status": "succ",
                "data": {"version": "1.0.0", "reg_type": c.get("reg_type").cloned().unwrap_or(json!("ns:org:RegistryType:Civil")),
                         "reg_record_type": "Person", "reg_records": page},
                "pagination": {"page_size": size, "page_number": number, "total_count": total},
                "locale": "eng"
            })
        })
        .collect();
    (
        json!({"transaction_id": txn, "correlation_id": correlation_id, key: items}),
        special,
    )
}

fn first_id(req: &Value) -> String {
    req.pointer("/message/search_request/0/search_criteria")
        .and_then(id_lookup)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

async fn sync_search(shared: Arc<Shared>, req: Value) -> Response {
    match first_id(&req).as_str() {
        "SLOW" => tokio::time::sleep(Duration::from_secs(3)).await,
        "ERR500" => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"errors":[{"code":"err.service.unavailable","message":"boom"}]}"#.to_vec(),
            )
        }
        // A refused request signature, as the reference server answers it (HTTP 401).
        "SIG401" => {
            return json_response(
                StatusCode::UNAUTHORIZED,
                br#"{"errors":[{"code":"err.signature.invalid","message":"unknown kid"}]}"#
                    .to_vec(),
            )
        }
        "NOTJSON" => return (StatusCode::OK, "<html>oops</html>").into_response(),
        "NACK" => {
            let ack = json!({"message": {"ack_status": "ERR", "timestamp": now(), "correlation_id": "",
                "error": {"code": "err.request.bad", "message": "query not understood"}}});
            return json_response(StatusCode::OK, ack.to_string().into_bytes());
        }
        "UNAVAILABLE" if shared.unavailable_served.fetch_add(1, Ordering::SeqCst) == 0 => {
            return json_response(StatusCode::SERVICE_UNAVAILABLE, b"{}".to_vec());
        }
        _ => {}
    }
    let (msg, special) = search_message(
        &shared,
        &req,
        "search_response",
        &format!("corr-{}", new_id()),
    );
    let receiver = req
        .pointer("/header/sender_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let (signer, status, reason) = match special {
        Some("BADSIG") => (shared.wrong_signer.as_ref(), "succ", None),
        Some("UNSIGNED") => (None, "succ", None),
        Some("HDRRJCT") => (
            shared.signer.as_ref(),
            "rjct",
            Some(("rjct.action.not_supported", "no")),
        ),
        _ => (shared.signer.as_ref(), "succ", None),
    };
    json_response(
        StatusCode::OK,
        envelope(&shared, signer, "on-search", status, reason, &receiver, msg),
    )
}

fn ack(correlation_id: &str) -> Response {
    let a = json!({"message": {"ack_status": "ACK", "timestamp": now(), "correlation_id": correlation_id}});
    json_response(StatusCode::OK, a.to_string().into_bytes())
}

/// Posts a callback after the ACK has gone.
fn callback_later(shared: Arc<Shared>, req: &Value, suffix: &'static str, body: Vec<u8>) {
    let base = req
        .pointer("/header/sender_uri")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = shared
            .http
            .post(format!("{base}{suffix}"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await;
    });
}

async fn async_search(shared: Arc<Shared>, req: Value) -> Response {
    let corr = format!("corr-{}", new_id());
    let (msg, special) = search_message(&shared, &req, "search_response", &corr);
    let receiver = req
        .pointer("/header/sender_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let cb = match special {
        Some("CBREJECT") => envelope(
            &shared,
            shared.signer.as_ref(),
            "on-search",
            "rjct",
            Some(("rjct.search.too_many_records_found", "narrow the query")),
            &receiver,
            msg,
        ),
        Some("CBBADSIG") => envelope(
            &shared,
            shared.wrong_signer.as_ref(),
            "on-search",
            "succ",
            None,
            &receiver,
            msg,
        ),
        _ => envelope(
            &shared,
            shared.signer.as_ref(),
            "on-search",
            "succ",
            None,
            &receiver,
            msg,
        ),
    };
    callback_later(shared.clone(), &req, "/on-search", cb);
    ack(&corr)
}

/// Every registry endpoint: the common checks ([`admit`]), then the endpoint's answer.
/// Subscribe and unsubscribe are only ACKed, without a callback (their round trip is tested
/// against the reference server).
async fn registry(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = match admit(&shared, uri.path(), &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match uri.path() {
        "/registry/sync/search" => sync_search(shared, req).await,
        "/registry/search" => async_search(shared, req).await,
        "/registry/subscribe" | "/registry/unsubscribe" => ack(&format!("corr-{}", new_id())),
        "/registry/sync/get-disability-details" => disability_details(shared, req).await,
        "/registry/sync/disabled" => disabled(shared, req).await,
        _ => json_response(StatusCode::NOT_FOUND, b"{}".to_vec()),
    }
}

async fn disability_details(shared: Arc<Shared>, req: Value) -> Response {
    let (msg, _) = search_message(&shared, &req, "search_response", "corr-d");
    on_search_answer(&shared, msg)
}

async fn disabled(shared: Arc<Shared>, req: Value) -> Response {
    let c = req
        .pointer("/message/disabled_criteria")
        .cloned()
        .unwrap_or(Value::Null);
    let (t, v) = id_lookup(&c).unwrap_or_default();
    let yes = shared
        .records
        .iter()
        .any(|r| has_id(r, &t, &v) && r.get("disability_status").is_some());
    let msg = json!({"transaction_id": req["message"]["transaction_id"], "correlation_id": "corr-x",
        "disabled_response": [{"reference_id": "r-1", "timestamp": now(), "status": "succ",
            "disabled_status": if yes { "yes" } else { "no" }}]});
    on_search_answer(&shared, msg)
}

/// A signed on-search answer with `msg` (the DR endpoints).
fn on_search_answer(shared: &Shared, msg: Value) -> Response {
    let env = envelope(
        shared,
        shared.signer.as_ref(),
        "on-search",
        "succ",
        None,
        "client",
        msg,
    );
    json_response(StatusCode::OK, env)
}

/// A client of `d` whose callbacks land on a new embedded listener (changed by `f` first);
/// also returns the callback base URL.
pub fn with_callbacks(
    mut d: DataSource,
    f: impl FnOnce(&mut DataSource),
) -> (DCIClient, CallbackListener, String) {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/dci/callback", tcp.local_addr().unwrap());
    d.our_callback_uri = Some(base.clone());
    f(&mut d);
    let c = DCIClient::new(d).unwrap();
    let l = CallbackListener::from_listener(c.clone(), tcp).unwrap();
    (c, l, base)
}

/// An Ed25519 key from a fixed seed (deterministic tests).
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_ed25519_seed(&[seed; 32])
}

pub fn alg() -> Algorithm {
    Algorithm::Ed25519
}
