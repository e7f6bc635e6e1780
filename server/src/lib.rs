//! The reference DCI registry server (`dci serve`), as a library: tests and Rust hosts start it
//! in-process with [`serve`]; the `dci` binary (`cli/`) only parses arguments.
//!
//! One request flows: bytes -> [`security::admit`] (token, sender, signature over the
//! received bytes, spec checks, skew, replay, then the typed message of its [`op::Op`]) ->
//! the operation ([`search`], [`verify`], [`subscribe`]) -> a typed response, signed
//! ([`reply`]) -> the audit log; async work goes through the [`outbox`]. Storage is behind the [`store::Store`] trait (SQLite by default).

pub mod admin;
pub mod auth;
pub mod config;
pub mod conn;
pub mod demo;
pub mod egress;
pub mod inspector;
pub mod outbox;
pub mod ratelimit;
pub mod reply;
pub mod routes;
pub mod schedule;
pub mod search;
pub mod security;
pub mod store;
pub mod subscribe;
pub mod upload;
pub mod verify;

// The registry kit's modules, under the names the server's modules use.
pub use dci::registry::{op, strict, validate};

/// Entry points for the fuzz targets (`fuzz/`, docs/fuzzing.md) into checks that are private
/// to their modules: the same functions the server runs, not copies. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use std::collections::HashMap;

    use dci::keys::VerifyingKey;

    pub use crate::auth::TokenClaims;

    /// The token endpoint's `application/x-www-form-urlencoded` decoding.
    pub fn token_form(body: &[u8]) -> HashMap<String, String> {
        crate::auth::parse_form(body)
    }

    /// The token endpoint's HTTP Basic credentials.
    pub fn basic_credentials(authorization: &str) -> Option<(String, String)> {
        crate::auth::basic_credentials(authorization)
    }

    /// The bearer check without its cache and client lookup.
    pub fn verify_token(
        key: &VerifyingKey,
        token: &str,
        now: i64,
    ) -> Result<TokenClaims, &'static str> {
        crate::auth::verify_token(key, token, now)
    }
}

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use dci::keys::{Algorithm, Jwks, SigningKey, VerifyingKey};
use dci::registry::ReplayGuard;
use dci::signature::Signer;
use serde_json::Value;

pub use config::ServeConfig;
use store::{PgStore, SqliteStore, Store, Transaction};

/// Shared state of the running server.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: ServeConfig,
    pub store: Arc<dyn Store>,
    pub signer: Signer,
    pub verifying_key: VerifyingKey,
    pub jwks: Value,
    /// Our decryption keys (`--encryption-key`; their public halves are in `jwks`, `use: enc`).
    pub encryption_keys: Vec<dci::encryption::DecryptionKey>,
    pub tokens: auth::Tokens,
    pub replay: security::ReplayCache,
    pub senders: security::SenderCache,
    pub outbox_wake: tokio::sync::Notify,
    /// Every outbound request (callbacks, notifications, JWKS) goes through this client,
    /// built by [`egress::client`].
    pub http: reqwest::Client,
    pub egress: egress::Egress,
    pub callback_token: Option<String>,
    /// One permit per search worker (`--search-workers`): searches wait here, not on a
    /// database connection, so waiting holds no thread.
    pub search_slots: tokio::sync::Semaphore,
    /// `--rate-limit-client` and `--rate-limit-sender` (None: off).
    pub client_rate: Option<ratelimit::Limiter>,
    pub sender_rate: Option<ratelimit::Limiter>,
    /// New transactions and callback attempts for the inspector's open event streams.
    pub inspector: inspector::Hub,
    audit: Mutex<Option<mpsc::Sender<AuditMsg>>>,
}

/// What the audit writer thread receives (moved through the channel once, so the size
/// difference between the variants costs nothing worth a box).
#[allow(clippy::large_enum_variant)]
enum AuditMsg {
    /// An entry, and who waits for its commit (told whether it was written).
    Entry(Transaction, Option<tokio::sync::oneshot::Sender<bool>>),
    /// Answered once every entry queued before it is written.
    Flush(mpsc::SyncSender<()>),
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Logs a transaction through the batching writer, not waiting for it (rejections: they
    /// enter no replay record).
    pub fn audit(&self, t: Transaction) {
        self.inspector.transaction(&t);
        if let Some(t) = self.send_audit(t, None) {
            if let Err(e) = self.store.log_transactions(&[t]) {
                tracing::error!(error = %e, "audit write failed");
            }
        }
    }

    /// Logs a transaction and waits for its commit: an accepted request's row is its replay
    /// record, so it must be durable before the answer goes out (a restart rebuilds the replay
    /// cache from these rows). Entries arriving while the writer commits share its next
    /// commit. False when it could not be written.
    pub async fn audit_durable(&self, t: Transaction) -> bool {
        // Shown once committed (a copy only while an inspector is watching).
        let shown = (self.inspector.subscribers() > 0).then(|| t.clone());
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let written = match self.send_audit(t, Some(done_tx)) {
            None => done_rx.await.unwrap_or(false),
            // The writer is gone (shutting down): write it here.
            Some(t) => self
                .store
                .log_transactions(&[t])
                .inspect_err(|e| tracing::error!(error = %e, "audit write failed"))
                .is_ok(),
        };
        if let Some(t) = shown.filter(|_| written) {
            self.inspector.transaction(&t);
        }
        written
    }

    /// Queues an entry for the writer thread; gives it back if the writer is gone.
    fn send_audit(
        &self,
        t: Transaction,
        done: Option<tokio::sync::oneshot::Sender<bool>>,
    ) -> Option<Transaction> {
        match self.audit.lock() {
            Ok(g) => match g.as_ref() {
                Some(tx) => tx
                    .send(AuditMsg::Entry(t, done))
                    .err()
                    .and_then(|e| match e.0 {
                        AuditMsg::Entry(t, _) => Some(t),
                        AuditMsg::Flush(_) => None,
                    }),
                None => Some(t),
            },
            Err(_) => Some(t),
        }
    }

    /// Waits until every audit entry queued so far is written (txn/status reads the log, so
    /// it sees every earlier request although the writer batches). Blocking: call it off the
    /// async workers.
    pub fn flush_audit(&self) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let sent = match self.audit.lock() {
            Ok(g) => g
                .as_ref()
                .is_some_and(|tx| tx.send(AuditMsg::Flush(done_tx)).is_ok()),
            Err(_) => false,
        };
        if sent {
            let _ = done_rx.recv();
        }
    }
}

/// Starts the audit writer thread: it writes queued entries in batches (one SQLite
/// transaction per batch, a group commit) until the channel closes. It does not linger for
/// more: requests wait for their commit, so under load the entries queued during one commit
/// make the next batch.
fn audit_writer(store: Arc<dyn Store>) -> (mpsc::Sender<AuditMsg>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<AuditMsg>();
    let h = std::thread::spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut batch = Vec::new();
            let mut waiting = Vec::new();
            let mut flushes = Vec::new();
            let mut next = Some(first);
            while let Some(m) = next.take() {
                match m {
                    AuditMsg::Entry(t, done) => {
                        batch.push(t);
                        waiting.extend(done);
                    }
                    AuditMsg::Flush(done) => flushes.push(done),
                }
                if batch.len() < AUDIT_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            let written = batch.is_empty()
                || store
                    .log_transactions(&batch)
                    .inspect_err(
                        |e| tracing::error!(error = %e, n = batch.len(), "audit batch write failed"),
                    )
                    .is_ok();
            for done in waiting {
                let _ = done.send(written);
            }
            for done in flushes {
                let _ = done.send(());
            }
        }
    });
    (tx, h)
}

/// Most entries in one audit commit.
const AUDIT_BATCH: usize = 2000;

/// The server's signing key: from `--key`, else the one kept in the database (made on first
/// start, so the JWKS stays the same across restarts).
pub fn server_key(config: &ServeConfig, store: &dyn Store) -> anyhow_like::Result<SigningKey> {
    if let Some(p) = &config.key_file {
        let pem =
            std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        return SigningKey::from_pem(&pem).map_err(|e| format!("{}: {e}", p.display()));
    }
    if let Some(pem) = store.meta("server_key_pem").map_err(|e| e.to_string())? {
        return SigningKey::from_pem(&pem).map_err(|e| format!("stored server key: {e}"));
    }
    let key = SigningKey::generate(Algorithm::Ed25519).map_err(|e| e.to_string())?;
    let pem = key.to_pem().map_err(|e| e.to_string())?;
    // Insert-if-absent: of instances starting together on one database, all keep the key
    // stored first, so each accepts the tokens the others issue.
    let pem = store
        .meta_or_insert("server_key_pem", &pem)
        .map_err(|e| e.to_string())?;
    SigningKey::from_pem(&pem).map_err(|e| format!("stored server key: {e}"))
}

/// The server's decryption keys: the `--encryption-key` file, else with `--demo` an RSA and an
/// X25519 key kept in the database (made on first start), else none.
pub fn server_encryption_keys(
    config: &ServeConfig,
    store: &dyn Store,
) -> anyhow_like::Result<Vec<dci::encryption::DecryptionKey>> {
    use dci::encryption::{DecryptionKey, KeyAlgorithm};
    if let Some(p) = &config.encryption_key_file {
        let pem =
            std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        let key = DecryptionKey::from_pem(&pem, &config.encryption_key_id)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        return Ok(vec![key]);
    }
    if !config.demo {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    for (alg, kid, meta) in [
        (
            KeyAlgorithm::RsaOaep256,
            "server-enc-rsa",
            "server_enc_rsa_pem",
        ),
        (
            KeyAlgorithm::EcdhEsA256Kw,
            "server-enc-x25519",
            "server_enc_x25519_pem",
        ),
    ] {
        let key = match store.meta(meta).map_err(|e| e.to_string())? {
            Some(pem) => DecryptionKey::from_pem(&pem, kid)
                .map_err(|e| format!("stored encryption key {kid}: {e}"))?,
            None => {
                let key = DecryptionKey::generate(alg, kid).map_err(|e| e.to_string())?;
                let pem = key.to_pem().map_err(|e| e.to_string())?;
                store.set_meta(meta, &pem).map_err(|e| e.to_string())?;
                key
            }
        };
        keys.push(key);
    }
    Ok(keys)
}

/// String errors for the command layer.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
}

/// Opens the database of `config.db`: a PostgreSQL URL (`postgres://...`), else a SQLite file.
pub fn open_store(config: &ServeConfig) -> anyhow_like::Result<Arc<dyn Store>> {
    if let Some(url) = config
        .db
        .to_str()
        .filter(|d| store::postgres::is_postgres_url(d))
    {
        // Connections besides the search pool: the audit writer, the outbox, lookups.
        let s = PgStore::open(url, 8, config.search_workers, &config.indexes)
            .map_err(|e| format!("opening the PostgreSQL database: {e}"))?;
        s.set_query_timeout_ms(config.query_timeout_ms);
        // A lease outlives one delivery attempt (bounded by the callback timeout).
        s.set_lease_ms(2 * config.callback_timeout_ms as i64 + 60_000);
        return Ok(Arc::new(s));
    }
    let s = SqliteStore::open_pools(&config.db, 4, config.search_workers, &config.indexes)
        .map_err(|e| format!("opening {}: {e}", config.db.display()))?;
    s.set_query_timeout_ms(config.query_timeout_ms);
    Ok(Arc::new(s))
}

/// Runs the server until SIGINT or SIGTERM; in-flight requests and deliveries finish first.
pub async fn serve(config: ServeConfig) -> anyhow_like::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    serve_on(config, listener, shutdown_signal()).await
}

/// [`serve`] on a listener the caller bound (tests bind port 0 and start it in-process),
/// until `shutdown` completes; `config.listen` is not used.
pub async fn serve_on(
    config: ServeConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow_like::Result<()> {
    let store = open_store(&config)?;
    let key = server_key(&config, store.as_ref())?;
    let verifying_key = key.verifying_key();
    let mut signer = Signer::new(key, config.server_id.clone(), config.key_id.clone());
    signer.profile = config.profile;
    let mut jwks = Jwks {
        keys: vec![(Some(signer.kid()), verifying_key.clone())],
    }
    .to_json();
    let encryption_keys = server_encryption_keys(&config, store.as_ref())?;
    if let Some(list) = jwks.get_mut("keys").and_then(Value::as_array_mut) {
        for k in &encryption_keys {
            list.push(k.public_key().map_err(|e| e.to_string())?.to_jwk());
        }
    }

    let demo_info = if config.demo {
        Some(demo::prepare(store.as_ref(), &config)?)
    } else {
        None
    };

    let (audit_tx, audit_thread) = audit_writer(store.clone());
    // --demo implies --allow-private-callbacks (its banner says so).
    let egress = egress::Egress {
        allow_private: config.allow_private_callbacks || config.demo,
    };
    if egress.allow_private && !config.demo {
        tracing::warn!(
            "--allow-private-callbacks: callbacks may go to loopback and private addresses"
        );
    }
    let http = egress::client(
        egress,
        std::time::Duration::from_millis(config.callback_timeout_ms.max(1)),
    )
    .map_err(|e| format!("HTTP client: {e}"))?;
    let state = AppState(Arc::new(Inner {
        callback_token: config.callback_token.clone(),
        config: config.clone(),
        store: store.clone(),
        signer,
        verifying_key,
        jwks,
        encryption_keys,
        tokens: auth::Tokens::default(),
        replay: security::ReplayCache::default(),
        senders: security::SenderCache::default(),
        outbox_wake: tokio::sync::Notify::new(),
        http,
        egress,
        search_slots: tokio::sync::Semaphore::new(config.search_workers.max(1)),
        client_rate: config.rate_limit_client.map(ratelimit::Limiter::new),
        sender_rate: config.rate_limit_sender.map(ratelimit::Limiter::new),
        inspector: inspector::Hub::default(),
        audit: Mutex::new(Some(audit_tx)),
    }));
    // Rebuild the replay cache from the audit log, so a restart does not reopen the window.
    let window_ms = 2 * config.clock_skew_secs * 1000;
    let now = chrono::Utc::now().timestamp_millis();
    if let Ok(seen) = store.recent_message_ids(now - window_ms) {
        for (s, m, t) in seen {
            let _ = state.replay.first_time(&s, &m, t, window_ms);
        }
    }

    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(outbox::run(state.clone(), stop_rx.clone()));
    let scheduler = tokio::spawn(schedule::run(state.clone(), stop_rx.clone()));
    tokio::spawn(jwks_refresh(state.clone(), stop_rx));

    let pending = store.pending_outbox().unwrap_or(0);
    tracing::info!(%addr, registry = %config.default_registry, pending_callbacks = pending, "dci registry server listening");
    if let Some(info) = demo_info {
        demo::print_banner(&info, &addr.to_string());
    } else {
        demo::print_stdout(&format!("dci registry server listening on http://{addr}\n"));
    }

    let app = routes::router(state.clone());
    // The inspector's event streams never end by themselves: end them when shutdown starts,
    // or the connections they hold would keep the server from stopping.
    let st = state.clone();
    let shutdown = async move {
        shutdown.await;
        st.inspector.close();
    };
    conn::serve(listener, app, conn::Limits::of(&config), shutdown).await;
    tracing::info!("shutting down: finishing deliveries and the audit log");
    let _ = stop_tx.send(true);
    let _ = scheduler.await;
    let _ = worker.await;
    if let Ok(mut g) = state.audit.lock() {
        g.take();
    }
    let _ = audit_thread.join();
    tracing::info!("stopped");
    Ok(())
}

/// Fetches the JWKS of every sender registered with a JWKS URL, at start and every 5 minutes;
/// a fetch that fails or does not parse keeps the keys already stored.
async fn jwks_refresh(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let senders = state.store.senders().unwrap_or_default();
        for mut s in senders.into_iter().filter(|s| s.jwks_url.is_some()) {
            let url = s.jwks_url.clone().unwrap_or_default();
            let fetched = async {
                let checked = state.egress.check(&url);
                if let Err(why) = &checked {
                    tracing::warn!(sender = %s.sender_id, %url, %why, "sender JWKS URL refused");
                }
                let v: Value = state
                    .http
                    .get(checked.ok()?)
                    .send()
                    .await
                    .ok()?
                    .error_for_status()
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                Jwks::from_json(&v).ok().map(|_| v)
            }
            .await;
            match fetched {
                Some(v) if v != s.jwks => {
                    s.jwks = v;
                    match state.store.put_sender(&s) {
                        Ok(()) => {
                            tracing::info!(sender = %s.sender_id, %url, "sender JWKS refreshed")
                        }
                        Err(e) => {
                            tracing::error!(sender = %s.sender_id, error = %e, "storing a fetched JWKS failed")
                        }
                    }
                }
                Some(_) => {}
                None => {
                    tracing::warn!(sender = %s.sender_id, %url, "sender JWKS could not be fetched; keeping the stored keys")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(300)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
