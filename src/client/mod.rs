//! The DCI client: what a host calls to query an external DCI registry.
//!
//! The API is synchronous (blocking HTTP). "Async" in [`DCIClient::search_async`] is the DCI
//! protocol mode: the registry acknowledges now and posts the result to our callback URI later
//! (see [`callback`] and [`listener`]). A [`DCIClient`] is cheap to clone, safe to share between
//! threads, and pools its connections.
//!
//! Every call builds the envelope (`signature`, `header`, `message`) in the data source's
//! [`Dialect`], signs it when a signing key is configured, gets (and caches) the OAuth2 token,
//! sends it, checks the HTTP status, the ACK or response header status and every item's status,
//! verifies the response signature when a registry key is configured, and returns typed results.
//!
//! Retries (bounded, exponential backoff from 200 ms, at most `max_retries`): only calls that are
//! safe to repeat are retried, and only on a refused connection or HTTP 429/502/503/504: the sync
//! search, the sync and async txn status, the token request and the JWKS fetch are reads; a retry
//! resends the same bytes (same message_id and transaction_id), so a registry that de-duplicates
//! sees one request. Async search, subscribe and unsubscribe create state at the registry and are
//! never retried. A timeout is never retried (the time budget is spent). A 401 about the bearer
//! token is retried once, with a fresh OAuth2 token, for every call; a 401 whose DCI code is a
//! signature error (`err.signature.invalid`) is reported at once as that code.

pub mod auth;
pub mod callback;
pub mod datasource;
pub mod dialect;
pub mod listener;
pub mod pages;
pub mod request;
pub mod response;
pub mod transport;
pub mod upload;
mod verify;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result, Violation};
use crate::keys::SigningKey;
use crate::signature::{Profile, Signer};

pub use callback::{CallbackAnswer, CallbackOutcome, CallbackResult};
pub use datasource::{
    AuthConfig, CredentialLocation, DataSource, DataSources, Endpoints, RegistryKeyConfig,
    RegistryType, Secret, SigningConfig, VerifyMode,
};
pub use dialect::Dialect;
pub use listener::CallbackListener;
pub use pages::Pages;
pub use request::{Ids, SearchSpec, SubscribeSpec, TxnStatusQuery};
pub use response::{
    Ack, NotifyEvent, NotifyItem, PageInfo, SearchItem, SearchResult, SignatureCheck,
    SubscribeItem, SubscribeResult, Subscription, TxnStatusResult, UnsubscribeResult,
};
pub use upload::{FileFormat, UploadAccepted, UploadRejected, UploadReport};

use response::Ctx;
use transport::Transport;

type NotifyHandler = Arc<dyn Fn(&NotifyEvent) + Send + Sync>;

struct Inner {
    ds: DataSource,
    transport: Transport,
    signer: Option<Signer>,
    tokens: auth::TokenCache,
    keys: Option<verify::RegistryKeys>,
    pending: callback::Pending,
    notify_handlers: RwLock<Vec<NotifyHandler>>,
}

/// A client for one external DCI registry.
#[derive(Clone)]
pub struct DCIClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DCIClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DCIClient")
            .field("base_url", &self.inner.ds.base_url)
            .field("our_sender_id", &self.inner.ds.our_sender_id)
            .field("dialect", &self.inner.ds.dialect)
            .finish_non_exhaustive()
    }
}

/// A raw sync response that passed the HTTP, ACK, header-status and signature checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawResponse {
    pub transaction_id: String,
    pub envelope: Value,
    pub signature: SignatureCheck,
}

/// What [`DCIClient::test_connection`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// True when a token was obtained (OAuth2) or a static credential is configured.
    pub authenticated: bool,
    /// The registry answered the probe search with a DCI response.
    pub reachable: bool,
    /// A rejection code of the probe's item (`rjct.*`), which still proves the connection.
    pub item_rejection: Option<String>,
    pub signature: SignatureCheck,
    pub elapsed_ms: u64,
}

/// Fetches the JWKS published at `url` (a registry's or a sender's `/.well-known/jwks.json`),
/// over a fresh connection: HTTP 2xx with a JWKS document, else `Error::Key` naming the URL.
pub fn fetch_jwks(url: &str, timeout: Duration, verify_tls: bool) -> Result<crate::keys::Jwks> {
    let u = reqwest::Url::parse(url).map_err(|e| Error::Config {
        field: "url".into(),
        reason: format!("not a URL ({e}): {url:?}"),
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(Error::Config {
            field: "url".into(),
            reason: "must be an http(s) URL".into(),
        });
    }
    let http = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .danger_accept_invalid_certs(!verify_tls)
        .build()
        .map_err(|e| Error::Internal(format!("http client: {e}")))?;
    let r = http
        .get(u)
        .header("Accept", "application/json")
        .send()
        .map_err(|e| Error::Key(format!("fetching the JWKS from {url}: {e}")))?;
    let status = r.status().as_u16();
    let body = r
        .bytes()
        .map_err(|e| Error::Key(format!("reading the JWKS from {url}: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(Error::Key(format!(
            "fetching the JWKS from {url}: HTTP {status}"
        )));
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| Error::Key(format!("the JWKS at {url} is not JSON: {e}")))?;
    crate::keys::Jwks::from_json(&v)
}

/// What an async call does at the registry: decides retries and whether our callback URI
/// must be configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AsyncKind {
    /// A read (txn status): retried; needs the callback URI.
    Read,
    /// Creates state (async search): never retried; the caller checks the callback URI.
    Creates,
    /// Creates state and is answered by its ACK (subscribe, unsubscribe): never retried;
    /// allowed without a callback URI.
    CreatesWithoutCallback,
}

/// Per-call options of a search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallOptions {
    /// The callback URI for this request (`header.sender_uri`), instead of `our_callback_uri`.
    pub callback_uri: Option<String>,
    /// The dialect of this request, instead of the data source's (OpenSPP's
    /// `use_opencrvs_format=True` is `Dialect::Opencrvs`).
    pub dialect: Option<Dialect>,
}

impl CallOptions {
    /// The data source as this call sees it.
    fn apply(&self, ds: &DataSource) -> DataSource {
        let mut d = ds.clone();
        if let Some(u) = &self.callback_uri {
            d.our_callback_uri = Some(u.clone());
        }
        if let Some(dialect) = self.dialect {
            d.dialect = dialect;
        }
        d
    }
}

/// A request ready to send (see [`DCIClient::outgoing`]).
struct Outgoing<'a> {
    path: &'a str,
    action: &'a str,
    envelope: Value,
    ids: Ids,
}

struct Sent {
    url: String,
}

impl Sent {
    fn ctx<'a>(&'a self, ids: &'a Ids) -> Ctx<'a> {
        Ctx {
            endpoint: &self.url,
            transaction_id: Some(&ids.transaction_id),
        }
    }
}

impl DCIClient {
    /// Validates the data source, loads its keys and builds the HTTP client.
    pub fn new(ds: DataSource) -> Result<Self> {
        ds.validate()?;
        let transport = Transport::new(&ds)?;
        let signer = match &ds.signing {
            None => None,
            Some(s) => {
                let pem = match (&s.key_pem, &s.key_file) {
                    (Some(p), _) => zeroize::Zeroizing::new(p.expose().to_string()),
                    (None, Some(f)) => {
                        zeroize::Zeroizing::new(std::fs::read_to_string(f).map_err(|e| {
                            Error::Config {
                                field: "signing.key_file".into(),
                                reason: format!("{f}: {e}"),
                            }
                        })?)
                    }
                    (None, None) => {
                        return Err(Error::Config {
                            field: "signing.key_pem".into(),
                            reason: "key_pem or key_file is required".into(),
                        })
                    }
                };
                let key = SigningKey::from_pem(&pem).map_err(|e| Error::Config {
                    field: "signing.key_pem".into(),
                    reason: e.to_string(),
                })?;
                let mut signer = Signer::new(key, ds.our_sender_id.trim(), s.key_id.clone());
                signer.profile = Profile::parse(&s.profile).map_err(|e| Error::Config {
                    field: "signing.profile".into(),
                    reason: e.to_string(),
                })?;
                Some(signer)
            }
        };
        let keys = verify::RegistryKeys::new(&ds)?;
        Ok(DCIClient {
            inner: Arc::new(Inner {
                ds,
                transport,
                signer,
                tokens: auth::TokenCache::default(),
                keys,
                pending: callback::Pending::default(),
                notify_handlers: RwLock::new(Vec::new()),
            }),
        })
    }

    /// Like [`DCIClient::new`] with a signing key given in code instead of in the data source.
    pub fn with_signer(ds: DataSource, signer: Signer) -> Result<Self> {
        let mut ds = ds;
        ds.signing = None;
        let c = Self::new(ds)?;
        let mut inner = Arc::try_unwrap(c.inner)
            .map_err(|_| Error::Internal("fresh client is shared".into()))?;
        inner.signer = Some(signer);
        Ok(DCIClient {
            inner: Arc::new(inner),
        })
    }

    pub fn data_source(&self) -> &DataSource {
        &self.inner.ds
    }

    /// Forgets the cached OAuth2 token; the next call fetches a fresh one.
    pub fn clear_token_cache(&self) {
        self.inner.tokens.clear();
    }

    /// The OAuth2 access token the next call would send (fetched if none is cached or it is
    /// due for refresh); None when the data source does not use OAuth2.
    pub fn oauth2_token(&self) -> Result<Option<String>> {
        if !matches!(self.inner.ds.auth, AuthConfig::OAuth2 { .. }) {
            return Ok(None);
        }
        let h = self
            .inner
            .tokens
            .authorization(&self.inner.ds, &self.inner.transport)?;
        Ok(h.and_then(|h| h.strip_prefix("Bearer ").map(str::to_string)))
    }

    /// The OAuth2 access token (OpenSPP's `get_oauth2_token`): the cached one, or a fresh one
    /// when none is cached, it is due for refresh, or `force_refresh`. A configuration error
    /// on `auth_type` when the data source does not use OAuth2.
    pub fn get_oauth2_token(&self, force_refresh: bool) -> Result<String> {
        if !matches!(self.inner.ds.auth, AuthConfig::OAuth2 { .. }) {
            return Err(Error::Config {
                field: "auth_type".into(),
                reason: "this data source does not use OAuth2".into(),
            });
        }
        if force_refresh {
            self.clear_token_cache();
        }
        self.oauth2_token()?
            .ok_or_else(|| Error::Internal("oauth2 gave no token".into()))
    }

    /// The HTTP headers every request carries (OpenSPP's `get_headers`): `Content-Type`,
    /// `Accept`, and `Authorization` when the data source authenticates (fetching the OAuth2
    /// token as a call would, afresh with `force_refresh_token`).
    pub fn request_headers(&self, force_refresh_token: bool) -> Result<Vec<(String, String)>> {
        if force_refresh_token {
            self.clear_token_cache();
        }
        let mut h = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        let auth = self
            .inner
            .tokens
            .authorization(&self.inner.ds, &self.inner.transport)?;
        if let Some(a) = auth {
            h.push(("Authorization".to_string(), a));
        }
        Ok(h)
    }

    // -----------------------------------------------------------------------------------------
    // Search

    /// Searches through the sync endpoint (`/registry/sync/search`).
    pub fn search_sync(&self, spec: &SearchSpec) -> Result<SearchResult> {
        self.search_sync_with(spec, &CallOptions::default())
    }

    /// [`DCIClient::search_sync`] with per-call options (a dialect for this request only).
    pub fn search_sync_with(&self, spec: &SearchSpec, opts: &CallOptions) -> Result<SearchResult> {
        spec.check()?;
        let ds = opts.apply(&self.inner.ds);
        let mut ids = Ids::fresh();
        let message = request::search_request(&ds, spec, &mut ids)?;
        let o = self.outgoing_in(
            &ds,
            &self.inner.ds.endpoints.sync_search,
            "search",
            &message,
            1,
            ids,
        )?;
        let (sent, env, sig) = self.sync_call(&o)?;
        response::parse_search(&sent.ctx(&o.ids), &env, "search_response", sig)
    }

    /// Searches through the async endpoint (`/registry/search`); returns the ACK. The result
    /// arrives at `our_callback_uri` + `/on-search`; see [`DCIClient::handle_callback`] and
    /// [`DCIClient::wait_for`].
    pub fn search_async(&self, spec: &SearchSpec) -> Result<Ack> {
        self.search_async_with(spec, &CallOptions::default())
    }

    /// [`DCIClient::search_async`] with per-call options: `callback_uri` replaces
    /// `our_callback_uri` for this request (OpenSPP's `callback_url`).
    pub fn search_async_with(&self, spec: &SearchSpec, opts: &CallOptions) -> Result<Ack> {
        spec.check()?;
        let ds = opts.apply(&self.inner.ds);
        if ds.our_callback_uri.is_none() {
            self.require_callback_uri()?;
        }
        let mut ids = Ids::fresh();
        let message = request::search_request(&ds, spec, &mut ids)?;
        let o = self.outgoing_in(
            &ds,
            &self.inner.ds.endpoints.search,
            "search",
            &message,
            1,
            ids,
        )?;
        self.async_call(o, AsyncKind::Creates)
    }

    /// `idtype-value` search through the sync endpoint.
    pub fn search_by_id(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<SearchResult> {
        self.search_sync(&SearchSpec::by_id(identifier_type, identifier_value))
    }

    pub fn search_by_predicate(&self, predicate: Value) -> Result<SearchResult> {
        self.search_sync(&SearchSpec::predicate(predicate))
    }

    pub fn search_by_expression(&self, expression: Value) -> Result<SearchResult> {
        self.search_sync(&SearchSpec::expression(expression))
    }

    /// `attribute` between `from` and `to` (inclusive), through the sync endpoint.
    pub fn search_by_date_range(
        &self,
        attribute: &str,
        from: &str,
        to: &str,
    ) -> Result<SearchResult> {
        self.search_sync(&SearchSpec::date_range(attribute, from, to))
    }

    /// An iterator over every page of a result set, starting at `spec.page_number`.
    pub fn pages(&self, spec: SearchSpec) -> Pages<'_> {
        Pages::new(self, spec)
    }

    /// Every record of every page.
    pub fn search_all(&self, spec: SearchSpec) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for page in self.pages(spec) {
            out.extend(page?.records().cloned());
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Subscriptions and transaction status

    /// Subscribes to registry events (one `subscribe_request` item per spec); returns the ACK.
    /// The subscription codes arrive by the on-subscribe callback.
    pub fn subscribe(&self, specs: &[SubscribeSpec]) -> Result<Ack> {
        required(
            !specs.is_empty(),
            "subscribe_request",
            "at least one subscription",
        )?;
        let ds = &self.inner.ds;
        let mut ids = Ids::fresh();
        let message = request::subscribe_request(ds, specs, &mut ids)?;
        let path = &ds.endpoints.subscribe;
        // As OpenSPP does, a subscription may be made without a callback URI: the ACK answers
        // it, and the registry's on-subscribe goes nowhere.
        self.async_call(
            self.outgoing(path, "subscribe", &message, specs.len(), ids)?,
            AsyncKind::CreatesWithoutCallback,
        )
    }

    /// Ends subscriptions by their codes; returns the ACK (result by on-unsubscribe callback).
    pub fn unsubscribe(&self, subscription_codes: &[String]) -> Result<Ack> {
        let ok = !subscription_codes.is_empty() && subscription_codes.iter().all(|c| !c.is_empty());
        required(ok, "subscription_codes", "at least one non-empty code")?;
        let ds = &self.inner.ds;
        let mut ids = Ids::fresh();
        ids.reference_ids.clear();
        let message = request::unsubscribe_request(ds, subscription_codes, &ids);
        let (path, n) = (&ds.endpoints.unsubscribe, subscription_codes.len());
        self.async_call(
            self.outgoing(path, "unsubscribe", &message, n, ids)?,
            AsyncKind::CreatesWithoutCallback,
        )
    }

    // -----------------------------------------------------------------------------------------
    // File uploads

    /// Uploads a file of request envelopes (the spec's FileInfo form) to the async endpoint
    /// of `action` (`search`, `subscribe`, `unsubscribe`, `txn-status`), streaming `file`. The
    /// envelopes are sent as they are (sign them first); the registry admits each as a request
    /// of its own and reports each row. Not retried: the registry acts on rows as it reads them.
    pub fn upload<R: std::io::Read + Send + 'static>(
        &self,
        action: &str,
        format: FileFormat,
        file_name: &str,
        file: R,
    ) -> Result<UploadReport> {
        let ds = &self.inner.ds;
        let path = match action {
            "search" => &ds.endpoints.search,
            "subscribe" => &ds.endpoints.subscribe,
            "unsubscribe" => &ds.endpoints.unsubscribe,
            "txn-status" => &ds.endpoints.txn_status,
            other => {
                return Err(Error::Config {
                    field: "action".into(),
                    reason: format!(
                        "{other:?} has no async endpoint to upload to; use search, subscribe, unsubscribe or txn-status"
                    ),
                })
            }
        };
        let url = ds.url(path);
        let auth = self.inner.tokens.authorization(ds, &self.inner.transport)?;
        let form = upload::form(action, format, file_name, file)?;
        let resp = self
            .inner
            .transport
            .post_form(&url, form, auth.as_deref())?;
        let ctx = Ctx {
            endpoint: &url,
            transaction_id: None,
        };
        let v: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::Json(format!("upload answer from {url} is not JSON: {e}")))?;
        if !(200..300).contains(&resp.status) {
            let e = &v["message"]["error"];
            return Err(ctx.protocol(
                e["code"].as_str().unwrap_or("err.request.bad"),
                e["message"].as_str().unwrap_or("upload refused"),
            ));
        }
        UploadReport::from_ack(&v)
            .ok_or_else(|| ctx.shape("message.upload", "required in an upload's answer"))
    }

    /// Async searches in one upload: one signed envelope per spec (the bytes
    /// [`DCIClient::search_async`] would send), as a JSON file. Returns the report and each
    /// row's `transaction_id`, in row order; the results arrive by on-search callback
    /// ([`DCIClient::wait_for`] works for the accepted rows).
    pub fn upload_searches(&self, specs: &[SearchSpec]) -> Result<(UploadReport, Vec<String>)> {
        required(!specs.is_empty(), "specs", "at least one search")?;
        self.require_callback_uri()?;
        let ds = &self.inner.ds;
        let mut envelopes = Vec::with_capacity(specs.len());
        let mut txns = Vec::with_capacity(specs.len());
        for spec in specs {
            spec.check()?;
            let mut ids = Ids::fresh();
            let message = request::search_request(ds, spec, &mut ids)?;
            let o = self.outgoing(&ds.endpoints.search, "search", &message, 1, ids)?;
            envelopes.push(self.signed(&o)?);
            txns.push(o.ids.transaction_id.clone());
        }
        for t in &txns {
            self.inner.pending.register(t, "on-search");
        }
        let file = serde_json::to_vec(&envelopes)?;
        let report = self.upload(
            "search",
            FileFormat::Json,
            "searches.json",
            std::io::Cursor::new(file),
        )?;
        Ok((report, txns))
    }

    /// Transaction status through the sync endpoint (`/registry/sync/txn/status`).
    pub fn txn_status(&self, q: &TxnStatusQuery) -> Result<TxnStatusResult> {
        let q = &q.normalized();
        q.check()?;
        let mut ids = Ids::fresh();
        let message = request::txn_status_request(q, &mut ids);
        let path = &self.inner.ds.endpoints.sync_txn_status;
        let o = self.outgoing(path, "txn-status", &message, 1, ids)?;
        let (sent, env, sig) = self.sync_call(&o)?;
        response::parse_txn_status(&sent.ctx(&o.ids), &env, sig)
    }

    /// Transaction status through the async endpoint (`/registry/txn/status`); returns the ACK,
    /// the status arrives by the txn/on-status callback.
    pub fn txn_status_async(&self, q: &TxnStatusQuery) -> Result<Ack> {
        let q = &q.normalized();
        q.check()?;
        let mut ids = Ids::fresh();
        let message = request::txn_status_request(q, &mut ids);
        let path = &self.inner.ds.endpoints.txn_status;
        self.async_call(
            self.outgoing(path, "txn-status", &message, 1, ids)?,
            AsyncKind::Read,
        )
    }

    /// A sync call to a registry-specific endpoint (IBR `/registry/sync/enrolled`, the DR sync
    /// endpoints): `body` is the message without `transaction_id`. The HTTP status, an error ACK,
    /// the header status and the signature are checked; the items are left to the caller.
    pub fn call_sync(
        &self,
        path: &str,
        action: &str,
        body: Map<String, Value>,
    ) -> Result<RawResponse> {
        let ids = Ids::fresh();
        let mut m = Map::new();
        m.insert(
            "transaction_id".into(),
            Value::String(ids.transaction_id.clone()),
        );
        m.extend(body);
        let o = self.outgoing(path, action, &m, 1, ids)?;
        let (sent, env, signature) = self.sync_call(&o)?;
        response::check_header(&sent.ctx(&o.ids), &env)?;
        Ok(RawResponse {
            transaction_id: o.ids.transaction_id,
            envelope: env,
            signature,
        })
    }

    /// [`DCIClient::call_sync`] for a registry-specific endpoint that answers with a list of
    /// items at `message.{list}` (IBR `enrolled_response`, DR `disabled_response`): the items,
    /// once none of them is a rejection (an item with status `rjct` is `Error::Protocol` with
    /// its reason code).
    pub fn call_sync_items(
        &self,
        path: &str,
        action: &str,
        body: Map<String, Value>,
        list: &str,
    ) -> Result<Vec<Value>> {
        let raw = self.call_sync(path, action, body)?;
        let url = self.inner.ds.url(path);
        let ctx = Ctx {
            endpoint: &url,
            transaction_id: Some(&raw.transaction_id),
        };
        let items = match raw.envelope.pointer(&format!("/message/{list}")) {
            Some(Value::Array(a)) => a.clone(),
            _ => return Err(ctx.shape(&format!("message.{list}"), "required list")),
        };
        for it in &items {
            if response::s(it, "status").is_some_and(|s| s.eq_ignore_ascii_case("rjct")) {
                let code = response::s(it, "status_reason_code").unwrap_or_else(|| "rjct".into());
                let msg = response::s(it, "status_reason_message").unwrap_or_default();
                return Err(ctx.protocol(&code, &msg));
            }
        }
        Ok(items)
    }

    /// Checks auth and reachability: gets a token (OAuth2), then sends a one-record identifier
    /// search that matches nothing. An item-level `rjct.*` still counts as reachable.
    pub fn test_connection(&self) -> Result<ConnectionReport> {
        let start = Instant::now();
        let auth = self
            .inner
            .tokens
            .authorization(&self.inner.ds, &self.inner.transport)?;
        let spec = SearchSpec::by_id("UIN", "libdci-connection-test").page(1, 1);
        let (item_rejection, signature) = match self.search_sync(&spec) {
            Ok(r) => (None, r.signature),
            Err(Error::Protocol { code, .. }) if code.starts_with("rjct.") => {
                (Some(code), SignatureCheck::default())
            }
            Err(e) => return Err(e),
        };
        Ok(ConnectionReport {
            authenticated: auth.is_some(),
            reachable: true,
            item_rejection,
            signature,
            elapsed_ms: start.elapsed().as_millis() as u64,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Callbacks

    /// Verifies and parses a callback (on-search, on-subscribe, on-unsubscribe, notify,
    /// txn/on-status), matches it to the pending transaction, and returns the result with the
    /// ACK body to answer with. `headers` are the HTTP request headers (name, value); a
    /// `Content-Type` other than JSON is refused. An `Err` means the callback itself is not
    /// acceptable: answer it with [`callback::error_ack`] and HTTP 400 (401 for signatures).
    pub fn handle_callback(
        &self,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<CallbackOutcome> {
        callback::handle(self, body, headers)
    }

    /// [`DCIClient::handle_callback`] with the answer in one serialisable value: the HTTP
    /// status and body to answer with, and what was found (what the bindings hand out).
    pub fn answer_callback(&self, body: &[u8], headers: &[(&str, &str)]) -> CallbackAnswer {
        CallbackAnswer::new(self.handle_callback(body, headers))
    }

    /// Waits for the callback of an async call (by its transaction_id, as in the [`Ack`]).
    /// A registry rejection (`rjct`) arrives as `Error::Protocol`; no callback within `timeout`
    /// is `Error::Transport { kind: Timeout }`.
    pub fn wait_for(&self, transaction_id: &str, timeout: Duration) -> Result<CallbackResult> {
        self.inner.pending.wait(transaction_id, timeout)
    }

    /// Registers a handler called for every notify callback this client accepts.
    pub fn on_notify(&self, handler: impl Fn(&NotifyEvent) + Send + Sync + 'static) {
        if let Ok(mut g) = self.inner.notify_handlers.write() {
            g.push(Arc::new(handler));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Internals

    fn require_callback_uri(&self) -> Result<()> {
        if self.inner.ds.our_callback_uri.is_none() {
            return Err(Error::Config {
                field: "our_callback_uri".into(),
                reason: "required for async calls (the registry posts the result there)".into(),
            });
        }
        Ok(())
    }

    /// A request ready to send: its envelope, built once from the typed message.
    fn outgoing<'a, M: Serialize>(
        &self,
        path: &'a str,
        action: &'a str,
        message: &M,
        total_count: usize,
        ids: Ids,
    ) -> Result<Outgoing<'a>> {
        self.outgoing_in(&self.inner.ds, path, action, message, total_count, ids)
    }

    /// [`DCIClient::outgoing`] with the header built from `ds` (the data source with a call's
    /// options applied).
    fn outgoing_in<'a, M: Serialize>(
        &self,
        ds: &DataSource,
        path: &'a str,
        action: &'a str,
        message: &M,
        total_count: usize,
        ids: Ids,
    ) -> Result<Outgoing<'a>> {
        let envelope = request::request_envelope(ds, action, message, total_count, &ids)?;
        Ok(Outgoing {
            path,
            action,
            envelope,
            ids,
        })
    }

    /// A sync exchange: sends, refuses an error ACK, verifies the response signature.
    fn sync_call(&self, o: &Outgoing<'_>) -> Result<(Sent, Value, SignatureCheck)> {
        let (sent, env, body) = self.exchange(o, true)?;
        if let Some(e) = response::ack_error(&sent.ctx(&o.ids), &env) {
            return Err(e);
        }
        let sig = self.verify(&sent.url, &body, &env)?;
        Ok((sent, env, sig))
    }

    fn async_call(&self, o: Outgoing<'_>, kind: AsyncKind) -> Result<Ack> {
        if kind == AsyncKind::Read {
            self.require_callback_uri()?;
        }
        let idempotent = kind == AsyncKind::Read;
        let (ids, action) = (&o.ids, o.action);
        let txn = ids.transaction_id.clone();
        let callback_action = crate::model::callback_action(action)
            .ok_or_else(|| Error::Internal(format!("no callback action for {action}")))?;
        // Registered before sending: the callback may arrive before the ACK is read.
        self.inner.pending.register(&txn, callback_action);
        let out = (|| {
            let (sent, env, body) = self.exchange(&o, idempotent)?;
            let ctx = sent.ctx(ids);
            // ACKs carry no data and the spec gives them no signature: an unsigned one is
            // accepted in both modes; one that is signed is still checked.
            if self.inner.keys.is_some()
                && !crate::signature::is_missing(env.get("signature").and_then(Value::as_str))
            {
                self.verify(&sent.url, &body, &env)?;
            }
            let ack = response::parse_ack(&ctx, &env, &ids.message_id, ids.reference_ids.clone())?;
            Ok(ack)
        })();
        match &out {
            Ok(ack) => self
                .inner
                .pending
                .set_correlation(&txn, ack.correlation_id.as_deref()),
            Err(_) => self.inner.pending.forget(&txn),
        }
        out
    }

    /// Verifies the response signature when a registry key is configured.
    fn verify(&self, url: &str, body: &[u8], env: &Value) -> Result<SignatureCheck> {
        match &self.inner.keys {
            None => Ok(SignatureCheck::default()),
            Some(k) => {
                if env.get("header").is_none()
                    && crate::signature::is_missing(env.get("signature").and_then(Value::as_str))
                {
                    // A bare ACK: nothing to verify.
                    return Ok(SignatureCheck::default());
                }
                k.verify(&self.inner.transport, body, env, url)
            }
        }
    }

    /// The envelope of `o` as sent: signed with the data source's key (or, unsigned, in the
    /// dialect's form).
    fn signed(&self, o: &Outgoing<'_>) -> Result<Value> {
        let mut env = o.envelope.clone();
        match &self.inner.signer {
            Some(s) => s.sign_value(&mut env, None)?,
            None if !self.inner.ds.dialect.keeps_empty_signature() => {
                if let Some(m) = env.as_object_mut() {
                    m.remove("signature");
                }
            }
            None => {}
        }
        Ok(env)
    }

    /// Builds, signs and sends an envelope; returns the parsed JSON and the bytes received.
    fn exchange(&self, o: &Outgoing<'_>, idempotent: bool) -> Result<(Sent, Value, Vec<u8>)> {
        let inner = &self.inner;
        let ds = &inner.ds;
        let url = ds.url(o.path);
        let txn = o.ids.transaction_id.as_str();
        let bytes = serde_json::to_vec(&self.signed(o)?)?;

        let mut attempt = 0u32;
        let mut renewed_token = false;
        loop {
            let auth = inner.tokens.authorization(ds, &inner.transport)?;
            let sent = inner
                .transport
                .post_json(&url, &bytes, auth.as_deref(), Some(txn));
            let retryable = idempotent && attempt < ds.max_retries;
            let resp = match sent {
                Ok(r) => r,
                Err(Error::Transport {
                    kind: crate::error::TransportKind::Connection,
                    ..
                }) if retryable => {
                    transport::backoff(attempt, None);
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match resp.status {
                200..=299 => {
                    let env: Value = serde_json::from_slice(&resp.body).map_err(|e| {
                        Error::Json(format!(
                            "response from {url} (transaction {txn}) is not JSON: {e}"
                        ))
                    })?;
                    return Ok((Sent { url }, env, resp.body));
                }
                401 => {
                    // A 401 naming a signature code refuses our request signature, not the
                    // token: a fresh token would not help, so the code is reported at once.
                    if let Some((code, message)) = signature_refused(&resp.body) {
                        let ctx = Ctx {
                            endpoint: &url,
                            transaction_id: Some(txn),
                        };
                        return Err(ctx.protocol(&code, &message));
                    }
                    if matches!(ds.auth, AuthConfig::OAuth2 { .. }) && !renewed_token {
                        inner.tokens.clear();
                        renewed_token = true;
                        continue;
                    }
                    return Err(Error::Auth {
                        endpoint: url,
                        message: format!("HTTP 401: {}", auth::clip(&resp.body)),
                        transaction_id: Some(txn.to_string()),
                    });
                }
                s if transport::is_transient(s) && retryable => {
                    transport::backoff(attempt, resp.retry_after);
                    attempt += 1;
                    continue;
                }
                status => {
                    return Err(Error::Http {
                        status,
                        endpoint: url,
                        body: auth::clip(&resp.body),
                        transaction_id: Some(txn.to_string()),
                    })
                }
            }
        }
    }

    pub(crate) fn keys(&self) -> Option<&verify::RegistryKeys> {
        self.inner.keys.as_ref()
    }
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }
    pub(crate) fn pending(&self) -> &callback::Pending {
        &self.inner.pending
    }
    pub(crate) fn notify_handlers(&self) -> Vec<NotifyHandler> {
        self.inner
            .notify_handlers
            .read()
            .map(|g| g.clone())
            .unwrap_or_default()
    }
}

/// The `(code, message)` of a refusal body whose DCI code is a signature error
/// (`err.signature.invalid`, `err.signature.missing`).
fn signature_refused(body: &[u8]) -> Option<(String, String)> {
    response::refusal_code(body).filter(|(code, _)| code.starts_with("err.signature."))
}

/// `Ok` when `ok`, else a validation error naming `path` and `rule`.
fn required(ok: bool, path: &str, rule: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(vec![Violation::new(path, rule)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn client_is_send_and_sync() {
        assert_send_sync::<DCIClient>();
    }
}
