//! The PostgreSQL backend (`--db postgres://...`): the same tables as SQLite, records as JSONB
//! beside the text they were imported as, and the rows several `dci serve` processes share
//! (replay claims, outbox leases, the signing key) claimed in the database.
//!
//! The [`Store`] trait is synchronous. Each call runs its future on a small runtime owned by the
//! store (the connections' I/O tasks live there) and waits for it: from an async worker thread
//! through `block_in_place`, so the worker hands its other tasks on instead of stalling them,
//! and from a blocking thread (`spawn_blocking`, where the handlers put long calls) directly.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::attrs::{self, IndexSet};
use super::columns::{CLIENT_COLS, SENDER_COLS, SUB_COLS, TXN_COLS};
use super::*;

/// Migrations in order: version `i + 1` is `MIGRATIONS[i]`. Applied at open, each in its own
/// transaction, under an advisory lock so instances starting together apply each once.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  registry TEXT NOT NULL,
  record_type TEXT NOT NULL,
  record_key TEXT NOT NULL,
  -- The record as imported (answers carry it; JSONB does not keep key order or spacing).
  data TEXT NOT NULL,
  -- The same record for SQL (reports, operators' queries); searches use attrs.
  doc JSONB GENERATED ALWAYS AS (data::jsonb) STORED,
  updated_at BIGINT NOT NULL,
  UNIQUE (registry, record_key)
);
CREATE INDEX records_registry_type ON records (registry, record_type, id);
CREATE TABLE identifiers (
  registry TEXT NOT NULL,
  id_type TEXT NOT NULL,
  id_value TEXT NOT NULL,
  record_id BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
  PRIMARY KEY (registry, id_type, id_value, record_id)
);
CREATE INDEX identifiers_record ON identifiers (record_id);
-- One typed row per value an indexed path reaches (store/attrs.rs). Text and dates compare
-- bytewise (COLLATE "C"), as the core evaluator and SQLite do.
CREATE TABLE attrs (
  record_id BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  seq INTEGER NOT NULL,
  registry TEXT NOT NULL,
  class TEXT NOT NULL,
  text TEXT COLLATE "C",
  num DOUBLE PRECISION,
  int BIGINT,
  date TEXT COLLATE "C",
  secs BIGINT,
  nanos BIGINT,
  bool BIGINT,
  PRIMARY KEY (record_id, path, seq)
);
-- INCLUDE record_id: a range is answered from the index alone (SQLite's WITHOUT ROWID
-- indexes carry the primary key anyway; a PostgreSQL heap is not ordered by it).
CREATE INDEX attrs_text ON attrs (registry, path, class, text) INCLUDE (record_id)
  WHERE text IS NOT NULL;
CREATE INDEX attrs_num ON attrs (registry, path, num, class, int) INCLUDE (record_id)
  WHERE num IS NOT NULL;
CREATE INDEX attrs_date ON attrs (registry, path, date, class, secs, nanos) INCLUDE (record_id)
  WHERE date IS NOT NULL;
CREATE INDEX attrs_multi ON attrs (registry, path) INCLUDE (record_id) WHERE seq > 0;
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  sender_id TEXT,
  active BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE senders (
  sender_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  jwks TEXT NOT NULL,
  jwks_url TEXT,
  allowed_ops TEXT NOT NULL,
  registries TEXT NOT NULL,
  fields TEXT NOT NULL,
  consent_required BOOLEAN NOT NULL,
  signature_policy TEXT NOT NULL,
  active BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  callback_uri TEXT
);
CREATE TABLE transactions (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  operation TEXT NOT NULL,
  registry TEXT NOT NULL,
  request TEXT NOT NULL,
  response TEXT NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT,
  created_at BIGINT NOT NULL,
  deviations TEXT
);
CREATE INDEX transactions_txn ON transactions (sender_id, transaction_id);
CREATE INDEX transactions_msg ON transactions (sender_id, message_id);
CREATE INDEX transactions_corr ON transactions (correlation_id);
CREATE INDEX transactions_created ON transactions (created_at);
-- Replay claims: the first instance to insert (sender, message_id) admits the message.
CREATE TABLE replay (
  sender_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  seen_at BIGINT NOT NULL,
  PRIMARY KEY (sender_id, message_id)
);
CREATE INDEX replay_seen ON replay (seen_at);
CREATE TABLE subscriptions (
  code TEXT PRIMARY KEY,
  sender_id TEXT NOT NULL,
  registry TEXT NOT NULL,
  reg_event_type TEXT,
  filter_type TEXT,
  filter TEXT,
  notify_record_type TEXT,
  callback_uri TEXT NOT NULL,
  status TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  schedule_cron TEXT,
  schedule_start BIGINT,
  schedule_end BIGINT
);
CREATE TABLE pending_events (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subscription_code TEXT NOT NULL,
  item TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX pending_events_sub ON pending_events (subscription_code, id);
CREATE TABLE outbox (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  -- Claimed by an instance until then (unix ms); NULL: free.
  lease_until BIGINT,
  delivered_at BIGINT,
  failed BOOLEAN NOT NULL DEFAULT FALSE,
  last_error TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL AND NOT failed;
CREATE INDEX outbox_corr ON outbox (correlation_id);
CREATE TABLE outbox_attempts (
  outbox_id BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL,
  ok BOOLEAN NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX outbox_attempts_entry ON outbox_attempts (outbox_id, started_at);
"#];

/// The advisory lock key the migrations run under ("dci-sche" as bytes).
const MIGRATION_LOCK: i64 = 0x6463_692d_7363_6865;

/// Runs `$body` (which may use `?` and returns `Ok(..)`) with `$tx` bound to a transaction,
/// committed when the body succeeds.
macro_rules! in_tx {
    ($s:expr, $tx:ident, $body:block) => {
        $s.run(async {
            let mut c = $s.pool.get().await?;
            let txn = c.transaction().await?;
            let out: StoreResult<_> = {
                let $tx = &txn;
                async move { $body }.await
            };
            let out = out?;
            txn.commit().await?;
            Ok(out)
        })
    };
}

/// PostgreSQL storage.
pub struct PgStore {
    /// The `(registry, path)` pairs kept in `attrs`.
    indexes: IndexSet,
    /// Longest a search statement may run (ms; 0 = no limit).
    query_timeout_ms: AtomicU64,
    /// How long a claimed outbox entry stays with its instance (ms).
    lease_ms: AtomicI64,
    /// Claims since the last sweep of expired replay rows.
    claims: AtomicU64,
    pool: Pool,
    /// Connections for [`Store::search`] only (`--search-workers`).
    searchers: Pool,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which may not happen on an async thread.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.code() == Some(&SqlState::QUERY_CANCELED) {
            // The statement timeout (57014): PgStore::search names the limit.
            return StoreError(format!("{QUERY_TIMEOUT} (statement_timeout) exceeded"));
        }
        StoreError(StoreError::from_pg(&e))
    }
}

impl StoreError {
    /// The server's message and SQLSTATE when it sent one, else the driver's own words.
    fn from_pg(e: &tokio_postgres::Error) -> String {
        match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError(format!("PostgreSQL pool: {e}"))
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn list(v: &str) -> Vec<String> {
    serde_json::from_str(v).unwrap_or_default()
}

fn to_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// A URL without its password (for messages).
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

impl PgStore {
    /// Connects to `url`, applies the migrations not yet applied, and fills in attribute
    /// indexes missing from the database (defaults and `extra`, as [`SqliteStore::open_with`]).
    /// `conns` connections serve everything but searches, which get `searchers` of their own.
    pub fn open(url: &str, conns: usize, searchers: usize, extra: &[String]) -> StoreResult<Self> {
        let cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError(format!("--db {}: {e}", redacted(url))))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dci-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError(format!("PostgreSQL runtime: {e}")))?;
        let pool = |n: usize| {
            let mgr = Manager::from_config(
                cfg.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(mgr)
                .max_size(n.max(1))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| StoreError(format!("PostgreSQL pool: {e}")))
        };
        let mut store = PgStore {
            indexes: IndexSet::new(),
            query_timeout_ms: AtomicU64::new(0),
            lease_ms: AtomicI64::new(120_000),
            claims: AtomicU64::new(0),
            pool: pool(conns)?,
            searchers: pool(searchers)?,
            rt: Some(rt),
        };
        store.run(async {
            let mut c = store.pool.get().await.map_err(|e| {
                // deadpool says only "db error"; the server's own words are in the source.
                let why = match &e {
                    deadpool_postgres::PoolError::Backend(b) => StoreError::from_pg(b),
                    other => other.to_string(),
                };
                StoreError(format!("connecting to {}: {why}", redacted(url)))
            })?;
            migrate(&mut c).await
        })?;
        store.indexes = store.run(async {
            let mut c = store.pool.get().await?;
            migrate_indexes(&mut c, extra).await
        })?;
        Ok(store)
    }

    /// Stops each later search statement after `ms` milliseconds (0: no limit) with a
    /// [`StoreError::is_timeout`] error (`SET LOCAL statement_timeout`).
    pub fn set_query_timeout_ms(&self, ms: u64) {
        self.query_timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// How long an outbox entry claimed by [`Store::due_outbox`] is kept from other instances.
    pub fn set_lease_ms(&self, ms: i64) {
        self.lease_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// Whether a search compiles exactly to SQL, and PostgreSQL's plan for it.
    pub fn explain(&self, q: &SearchQuery) -> StoreResult<(bool, Vec<String>)> {
        self.run(async {
            let c = self.searchers.get().await?;
            super::pg_search::explain(&c, q, &self.indexes).await
        })
    }

    /// Runs `f` to completion on the store's runtime (see the module docs).
    fn run<F: Future + Send>(&self, f: F) -> F::Output
    where
        F::Output: Send,
    {
        let h = self
            .rt
            .as_ref()
            .expect("runtime lives as long as the store")
            .handle();
        match tokio::runtime::Handle::try_current() {
            Ok(cur) if cur.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| h.block_on(f))
            }
            // A current-thread runtime cannot give its thread away: wait on another one.
            Ok(_) => std::thread::scope(|s| {
                s.spawn(|| h.block_on(f))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            }),
            Err(_) => h.block_on(f),
        }
    }

    /// Every row `sql` selects (with `p`), read by `row`.
    fn all<T: Send>(
        &self,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
        row: impl Fn(&Row) -> StoreResult<T> + Send,
    ) -> StoreResult<Vec<T>> {
        self.run(async {
            let c = self.pool.get().await?;
            let st = c.prepare_cached(sql).await?;
            c.query(&st, p).await?.iter().map(row).collect()
        })
    }

    /// The row `sql` selects (with `p`), if there is one.
    fn one<T: Send>(
        &self,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
        row: impl Fn(&Row) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        Ok(self.all(sql, p, row)?.into_iter().next())
    }

    /// Runs one statement; returns how many rows it changed.
    fn exec(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.run(async {
            let c = self.pool.get().await?;
            let st = c.prepare_cached(sql).await?;
            Ok(c.execute(&st, p).await?)
        })
    }
}

async fn migrate(c: &mut deadpool_postgres::Object) -> StoreResult<()> {
    let tx = c.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // No "already exists, skipping" notice at every start.
    tx.batch_execute("SET LOCAL client_min_messages = warning")
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
           version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let have: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await?
        .get(0);
    if have as usize > MIGRATIONS.len() {
        return Err(StoreError(format!(
            "the database's schema version is {have}; this dci knows up to {} (upgrade dci)",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
            &[&(i as i32 + 1), &now_ms()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// As SQLite's: the wanted indexes (defaults, `extra`, those stored), the missing ones filled
/// in from the stored records, and the set recorded in `meta`.
async fn migrate_indexes(
    c: &mut deadpool_postgres::Object,
    extra: &[String],
) -> StoreResult<IndexSet> {
    let mut wanted = attrs::defaults();
    for e in extra {
        wanted.extend(attrs::parse_index(e)?);
    }
    let tx = c.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(MIGRATION_LOCK + 1)])
        .await?;
    let stored: IndexSet = tx
        .query_opt("SELECT value FROM meta WHERE key = 'attr_indexes'", &[])
        .await?
        .and_then(|r| serde_json::from_str::<Vec<(String, String)>>(&r.get::<_, String>(0)).ok())
        .unwrap_or_default()
        .into_iter()
        .collect();
    wanted.extend(stored.iter().cloned());
    let missing: IndexSet = wanted.difference(&stored).cloned().collect();
    if !missing.is_empty() {
        let registries: std::collections::BTreeSet<&str> =
            missing.iter().map(|(r, _)| r.as_str()).collect();
        for reg in registries {
            let mut after = 0i64;
            loop {
                let rows = tx
                    .query(
                        "SELECT id, data FROM records WHERE registry = $1 AND id > $2
                         ORDER BY id LIMIT 2000",
                        &[&reg, &after],
                    )
                    .await?;
                let Some(last) = rows.last() else { break };
                after = last.get(0);
                let batch: Vec<(i64, Value)> = rows
                    .iter()
                    .map(|r| {
                        let v = serde_json::from_str(r.get::<_, &str>(1)).unwrap_or(Value::Null);
                        (r.get(0), v)
                    })
                    .collect();
                let paths: Vec<&str> = attrs::paths_of(&missing, reg).collect();
                write_attrs(&tx, reg, &batch, &paths).await?;
            }
        }
        let list: Vec<&(String, String)> = wanted.iter().collect();
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('attr_indexes', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&serde_json::to_string(&list)?],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(wanted)
}

/// Replaces the `attrs` rows of `paths` for each `(id, record)` of `registry` (two statements
/// for the whole batch: the rows go in as arrays).
async fn write_attrs(
    tx: &impl GenericClient,
    registry: &str,
    records: &[(i64, Value)],
    paths: &[&str],
) -> StoreResult<()> {
    if records.is_empty() || paths.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = records.iter().map(|(id, _)| *id).collect();
    let path_list: Vec<&str> = paths.to_vec();
    let del = tx
        .prepare_cached("DELETE FROM attrs WHERE record_id = ANY($1) AND path = ANY($2)")
        .await?;
    tx.execute(&del, &[&ids, &path_list]).await?;
    #[derive(Default)]
    struct Cols {
        id: Vec<i64>,
        path: Vec<String>,
        seq: Vec<i32>,
        class: Vec<&'static str>,
        text: Vec<Option<String>>,
        num: Vec<Option<f64>>,
        int: Vec<Option<i64>>,
        date: Vec<Option<String>>,
        secs: Vec<Option<i64>>,
        nanos: Vec<Option<i64>>,
        bool: Vec<Option<i64>>,
    }
    let mut c = Cols::default();
    for (id, record) in records {
        for path in paths {
            for (seq, row) in dci::query::plan::index_rows(record, path)
                .into_iter()
                .enumerate()
            {
                c.id.push(*id);
                c.path.push(path.to_string());
                c.seq.push(seq as i32);
                c.class.push(row.class.code());
                c.text.push(row.text);
                c.num.push(row.number.map(|n| n.num));
                c.int.push(row.number.and_then(|n| n.int));
                let instant = row.time.as_ref().and_then(|t| t.instant);
                c.date.push(row.time.map(|t| t.date));
                c.secs.push(instant.map(|(s, _)| s));
                c.nanos.push(instant.map(|(_, n)| n));
                c.bool.push(row.boolean.map(i64::from));
            }
        }
    }
    if c.id.is_empty() {
        return Ok(());
    }
    let ins = tx
        .prepare_cached(
            "INSERT INTO attrs (record_id, path, seq, registry, class, text, num, int, date,
               secs, nanos, bool)
             SELECT i, p, s, $4, cl, t, n, it, d, se, na, b
             FROM unnest($1::bigint[], $2::text[], $3::int[], $5::text[], $6::text[],
               $7::float8[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[],
               $12::bigint[]) AS u(i, p, s, cl, t, n, it, d, se, na, b)",
        )
        .await?;
    tx.execute(
        &ins,
        &[
            &c.id, &c.path, &c.seq, &registry, &c.class, &c.text, &c.num, &c.int, &c.date, &c.secs,
            &c.nanos, &c.bool,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_pending(tx: &impl GenericClient, events: &[PendingEvent]) -> StoreResult<()> {
    for e in events {
        tx.execute(
            "INSERT INTO pending_events (subscription_code, item, created_at) VALUES ($1, $2, $3)",
            &[&e.subscription_code, &e.item, &e.created_at],
        )
        .await?;
    }
    Ok(())
}

async fn insert_outbox(
    tx: &impl GenericClient,
    entries: &[(String, String, String)],
) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let st = tx
        .prepare_cached(
            "INSERT INTO outbox (kind, url, body, correlation_id, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .await?;
    for (kind, url, body) in entries {
        let corr = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| {
                v.pointer("/message/correlation_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        tx.execute(&st, &[kind, url, body, &corr, &now]).await?;
    }
    Ok(())
}

async fn insert_txns(tx: &impl GenericClient, txns: &[Transaction]) -> StoreResult<()> {
    let st = tx
        .prepare_cached(&format!(
            "INSERT INTO transactions ({TXN_COLS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .await?;
    for t in txns {
        tx.execute(
            &st,
            &[
                &t.transaction_id,
                &t.message_id,
                &t.correlation_id,
                &t.sender_id,
                &t.operation,
                &t.registry,
                &t.request,
                &t.response,
                &t.status,
                &t.error_code,
                &t.created_at,
                &t.deviations,
            ],
        )
        .await?;
    }
    Ok(())
}

fn txn_row(r: &Row) -> StoreResult<Transaction> {
    txn_row_at(r, 0)
}

/// A transaction whose [`TXN_COLS`] start at column `at`.
fn txn_row_at(r: &Row, at: usize) -> StoreResult<Transaction> {
    Ok(Transaction {
        transaction_id: r.try_get(at)?,
        message_id: r.try_get(at + 1)?,
        correlation_id: r.try_get(at + 2)?,
        sender_id: r.try_get(at + 3)?,
        operation: r.try_get(at + 4)?,
        registry: r.try_get(at + 5)?,
        request: r.try_get(at + 6)?,
        response: r.try_get(at + 7)?,
        status: r.try_get(at + 8)?,
        error_code: r.try_get(at + 9)?,
        created_at: r.try_get(at + 10)?,
        deviations: r.try_get(at + 11)?,
    })
}

async fn insert_attempt(tx: &impl GenericClient, id: i64, a: &Attempt) -> StoreResult<()> {
    let st = tx
        .prepare_cached(
            "INSERT INTO outbox_attempts (outbox_id, started_at, duration_ms, ok, result)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(&st, &[&id, &a.started_at, &a.duration_ms, &a.ok, &a.result])
        .await?;
    Ok(())
}

fn sub_row(r: &Row) -> StoreResult<Subscription> {
    Ok(Subscription {
        code: r.try_get(0)?,
        sender_id: r.try_get(1)?,
        registry: r.try_get(2)?,
        reg_event_type: r.try_get(3)?,
        filter_type: r.try_get(4)?,
        filter: r
            .try_get::<_, Option<String>>(5)?
            .and_then(|s| serde_json::from_str(&s).ok()),
        notify_record_type: r.try_get(6)?,
        callback_uri: r.try_get(7)?,
        status: r.try_get(8)?,
        transaction_id: r.try_get(9)?,
        created_at: r.try_get(10)?,
        schedule: match (r.try_get(11)?, r.try_get(12)?, r.try_get(13)?) {
            (Some(cron), Some(start_ms), Some(end_ms)) => Some(crate::schedule::Schedule {
                cron,
                start_ms,
                end_ms,
            }),
            _ => None,
        },
    })
}

fn record_row(r: &Row) -> StoreResult<Record> {
    Ok(Record {
        id: r.try_get(0)?,
        registry: r.try_get(1)?,
        record_type: r.try_get(2)?,
        key: r.try_get(3)?,
        data: r.try_get(4)?,
    })
}

fn client_row(r: &Row) -> StoreResult<Client> {
    Ok(Client {
        client_id: r.try_get(0)?,
        name: r.try_get(1)?,
        secret_hash: r.try_get(2)?,
        scopes: list(r.try_get(3)?),
        sender_id: r.try_get(4)?,
        active: r.try_get(5)?,
    })
}

fn sender_row(r: &Row) -> StoreResult<Sender> {
    Ok(Sender {
        sender_id: r.try_get(0)?,
        name: r.try_get(1)?,
        jwks: serde_json::from_str(r.try_get(2)?).unwrap_or(Value::Null),
        jwks_url: r.try_get(3)?,
        allowed_ops: list(r.try_get(4)?),
        registries: list(r.try_get(5)?),
        fields: list(r.try_get(6)?),
        consent_required: r.try_get(7)?,
        signature_policy: SignaturePolicy::parse(r.try_get(8)?)
            .unwrap_or(SignaturePolicy::Required),
        active: r.try_get(9)?,
        callback_uri: r.try_get(10)?,
    })
}

fn outbox_row(r: &Row) -> StoreResult<OutboxEntry> {
    Ok(OutboxEntry {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        url: r.try_get(2)?,
        body: r.try_get(3)?,
        attempts: r.try_get(4)?,
        next_attempt_at: r.try_get(5)?,
        correlation_id: r.try_get(6)?,
    })
}

const RECORD_COLS: &str = "id, registry, record_type, record_key, data";

impl Store for PgStore {
    fn upsert_records(&self, records: &[NewRecord]) -> StoreResult<Vec<i64>> {
        self.upsert_records_notifying(records, &[], &[])
    }

    fn upsert_records_notifying(
        &self,
        records: &[NewRecord],
        outbox: &[(String, String, String)],
        batched: &[PendingEvent],
    ) -> StoreResult<Vec<i64>> {
        // The last of several records with one key wins, as one upsert after another would.
        let mut last: std::collections::HashMap<(&str, &str), usize> = Default::default();
        for (i, r) in records.iter().enumerate() {
            last.insert((r.registry.as_str(), r.key.as_str()), i);
        }
        let mut unique: Vec<usize> = last.values().copied().collect();
        unique.sort_unstable();
        let texts = unique
            .iter()
            .map(|&i| serde_json::to_string(&records[i].data))
            .collect::<Result<Vec<_>, _>>()?;
        let indexes = &self.indexes;
        in_tx!(self, tx, {
            insert_outbox(tx, outbox).await?;
            insert_pending(tx, batched).await?;
            if unique.is_empty() {
                return Ok(Vec::new());
            }
            let col = |f: fn(&NewRecord) -> &str| -> Vec<&str> {
                unique.iter().map(|&i| f(&records[i])).collect()
            };
            let (regs, types, keys) = (
                col(|r| &r.registry),
                col(|r| &r.record_type),
                col(|r| &r.key),
            );
            let st = tx
                .prepare_cached(
                    "INSERT INTO records (registry, record_type, record_key, data, updated_at)
                     SELECT g, t, k, d, $5 FROM unnest($1::text[], $2::text[], $3::text[],
                       $4::text[]) AS u(g, t, k, d)
                     ON CONFLICT (registry, record_key) DO UPDATE SET
                       record_type = excluded.record_type, data = excluded.data,
                       updated_at = excluded.updated_at
                     RETURNING id, registry, record_key",
                )
                .await?;
            let rows = tx
                .query(&st, &[&regs, &types, &keys, &texts, &now_ms()])
                .await?;
            let mut id_of: std::collections::HashMap<(String, String), i64> = rows
                .iter()
                .map(|r| ((r.get(1), r.get(2)), r.get(0)))
                .collect();
            let ids: Vec<i64> = records
                .iter()
                .map(|r| {
                    id_of
                        .get(&(r.registry.clone(), r.key.clone()))
                        .copied()
                        .ok_or_else(|| StoreError(format!("record {} not stored", r.key)))
                })
                .collect::<StoreResult<_>>()?;
            let stored: Vec<i64> = unique.iter().map(|&i| ids[i]).collect();
            let del = tx
                .prepare_cached("DELETE FROM identifiers WHERE record_id = ANY($1)")
                .await?;
            tx.execute(&del, &[&stored]).await?;
            let (mut ir, mut it, mut iv, mut ii) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (&i, &id) in unique.iter().zip(&stored) {
                for (t, v) in identifiers_of(&records[i].data) {
                    ir.push(records[i].registry.as_str());
                    it.push(t);
                    iv.push(v);
                    ii.push(id);
                }
            }
            if !ii.is_empty() {
                let ins = tx
                    .prepare_cached(
                        "INSERT INTO identifiers (registry, id_type, id_value, record_id)
                         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
                         ON CONFLICT DO NOTHING",
                    )
                    .await?;
                tx.execute(&ins, &[&ir, &it, &iv, &ii]).await?;
            }
            let regs: std::collections::BTreeSet<&str> = unique
                .iter()
                .map(|&i| records[i].registry.as_str())
                .collect();
            for reg in regs {
                let batch: Vec<(i64, Value)> = unique
                    .iter()
                    .zip(&stored)
                    .filter(|(&i, _)| records[i].registry == reg)
                    .map(|(&i, &id)| (id, records[i].data.clone()))
                    .collect();
                let paths: Vec<&str> = attrs::paths_of(indexes, reg).collect();
                write_attrs(tx, reg, &batch, &paths).await?;
            }
            id_of.clear();
            Ok(ids)
        })
    }

    fn record_by_id(&self, id: i64) -> StoreResult<Option<Record>> {
        let sql = format!("SELECT {RECORD_COLS} FROM records WHERE id = $1");
        self.one(&sql, &[&id], record_row)
    }

    fn ids_by_identifier(
        &self,
        registry: &str,
        id_type: &str,
        id_value: &str,
    ) -> StoreResult<Vec<i64>> {
        self.all(
            "SELECT record_id FROM identifiers
             WHERE registry = $1 AND id_type = $2 AND id_value = $3 ORDER BY record_id",
            &[&registry, &id_type, &id_value],
            |r| Ok(r.try_get(0)?),
        )
    }

    fn records_by_identifier(
        &self,
        registry: &str,
        id_type: &str,
        id_value: &str,
    ) -> StoreResult<Vec<Record>> {
        self.all(
            "SELECT r.id, r.registry, r.record_type, r.record_key, r.data
             FROM identifiers i JOIN records r ON r.id = i.record_id
             WHERE i.registry = $1 AND i.id_type = $2 AND i.id_value = $3 ORDER BY r.id",
            &[&registry, &id_type, &id_value],
            record_row,
        )
    }

    fn scan(
        &self,
        registry: &str,
        record_type: Option<&str>,
        f: &mut dyn FnMut(Record) -> bool,
    ) -> StoreResult<()> {
        // Pages by id, so a scan holds one page, not the registry.
        let mut after = 0i64;
        loop {
            let sql = format!(
                "SELECT {RECORD_COLS} FROM records
                 WHERE registry = $1 AND ($2::text IS NULL OR record_type = $2) AND id > $3
                 ORDER BY id LIMIT 1000"
            );
            let page = self.all(&sql, &[&registry, &record_type, &after], record_row)?;
            let Some(last) = page.last().map(|r| r.id) else {
                return Ok(());
            };
            for r in page {
                if !f(r) {
                    return Ok(());
                }
            }
            after = last;
        }
    }

    fn count_records(&self, registry: Option<&str>) -> StoreResult<i64> {
        let sql = "SELECT count(*) FROM records WHERE ($1::text IS NULL OR registry = $1)";
        Ok(self
            .one(sql, &[&registry], |r| Ok(r.try_get(0)?))?
            .unwrap_or(0))
    }

    fn search(&self, q: &SearchQuery) -> StoreResult<(Vec<Value>, usize)> {
        let ms = self.query_timeout_ms.load(Ordering::Relaxed);
        self.run(async {
            let mut c = self.searchers.get().await?;
            let tx = c.transaction().await?;
            if ms > 0 {
                tx.batch_execute(&format!("SET LOCAL statement_timeout = {ms}"))
                    .await?;
            }
            match super::pg_search::search(&tx, q, &self.indexes).await {
                Err(e) if e.is_timeout() => Err(StoreError(format!(
                    "{QUERY_TIMEOUT} ({ms} ms, --query-timeout-ms) exceeded"
                ))),
                Err(e) => Err(e),
                Ok(r) => {
                    tx.commit().await?;
                    Ok(r)
                }
            }
        })
    }

    fn put_client(&self, cl: &Client) -> StoreResult<()> {
        self.exec(
            "INSERT INTO clients (client_id, name, secret_hash, scopes, sender_id, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (client_id) DO UPDATE SET name = excluded.name,
               secret_hash = excluded.secret_hash, scopes = excluded.scopes,
               sender_id = excluded.sender_id, active = excluded.active",
            &[
                &cl.client_id,
                &cl.name,
                &cl.secret_hash,
                &to_list(&cl.scopes),
                &cl.sender_id,
                &cl.active,
                &now_ms(),
            ],
        )
        .map(drop)
    }

    fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLS} FROM clients WHERE client_id = $1");
        self.one(&sql, &[&client_id], client_row)
    }

    fn clients(&self) -> StoreResult<Vec<Client>> {
        let sql = format!("SELECT {CLIENT_COLS} FROM clients ORDER BY client_id");
        self.all(&sql, &[], client_row)
    }

    fn set_client_active(&self, client_id: &str, active: bool) -> StoreResult<bool> {
        let sql = "UPDATE clients SET active = $2 WHERE client_id = $1";
        Ok(self.exec(sql, &[&client_id, &active])? > 0)
    }

    fn put_sender(&self, s: &Sender) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO senders ({SENDER_COLS}, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (sender_id) DO UPDATE SET name = excluded.name,
                   jwks = excluded.jwks, jwks_url = excluded.jwks_url,
                   allowed_ops = excluded.allowed_ops, registries = excluded.registries,
                   fields = excluded.fields, consent_required = excluded.consent_required,
                   signature_policy = excluded.signature_policy, active = excluded.active,
                   callback_uri = excluded.callback_uri, created_at = excluded.created_at"
            ),
            &[
                &s.sender_id,
                &s.name,
                &s.jwks.to_string(),
                &s.jwks_url,
                &to_list(&s.allowed_ops),
                &to_list(&s.registries),
                &to_list(&s.fields),
                &s.consent_required,
                &s.signature_policy.name(),
                &s.active,
                &s.callback_uri,
                &now_ms(),
            ],
        )
        .map(drop)
    }

    fn sender(&self, sender_id: &str) -> StoreResult<Option<Sender>> {
        let sql = format!("SELECT {SENDER_COLS} FROM senders WHERE sender_id = $1");
        self.one(&sql, &[&sender_id], sender_row)
    }

    fn senders(&self) -> StoreResult<Vec<Sender>> {
        let sql = format!("SELECT {SENDER_COLS} FROM senders ORDER BY sender_id");
        self.all(&sql, &[], sender_row)
    }

    fn set_sender_active(&self, sender_id: &str, active: bool) -> StoreResult<bool> {
        let sql = "UPDATE senders SET active = $2 WHERE sender_id = $1";
        Ok(self.exec(sql, &[&sender_id, &active])? > 0)
    }

    fn log_transactions(&self, txns: &[Transaction]) -> StoreResult<()> {
        in_tx!(self, tx, { insert_txns(tx, txns).await })
    }

    fn log_with_outbox(
        &self,
        txn: &Transaction,
        outbox: &[(String, String, String)],
        subscriptions: &[Subscription],
    ) -> StoreResult<()> {
        in_tx!(self, tx, {
            insert_txns(tx, std::slice::from_ref(txn)).await?;
            insert_outbox(tx, outbox).await?;
            let st = tx
                .prepare_cached(&format!(
                    "INSERT INTO subscriptions ({SUB_COLS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                     ON CONFLICT (code) DO UPDATE SET sender_id = excluded.sender_id,
                       schedule_cron = excluded.schedule_cron,
                       schedule_start = excluded.schedule_start,
                       schedule_end = excluded.schedule_end,
                       registry = excluded.registry, reg_event_type = excluded.reg_event_type,
                       filter_type = excluded.filter_type, filter = excluded.filter,
                       notify_record_type = excluded.notify_record_type,
                       callback_uri = excluded.callback_uri, status = excluded.status,
                       transaction_id = excluded.transaction_id,
                       created_at = excluded.created_at"
                ))
                .await?;
            for s in subscriptions {
                let filter = s.filter.as_ref().map(Value::to_string);
                tx.execute(
                    &st,
                    &[
                        &s.code,
                        &s.sender_id,
                        &s.registry,
                        &s.reg_event_type,
                        &s.filter_type,
                        &filter,
                        &s.notify_record_type,
                        &s.callback_uri,
                        &s.status,
                        &s.transaction_id,
                        &s.created_at,
                        &s.schedule.as_ref().map(|x| x.cron.as_str()),
                        &s.schedule.as_ref().map(|x| x.start_ms),
                        &s.schedule.as_ref().map(|x| x.end_ms),
                    ],
                )
                .await?;
                // An ended subscription's batch would never be sent.
                if s.status != "subscribe" {
                    tx.execute(
                        "DELETE FROM pending_events WHERE subscription_code = $1",
                        &[&s.code],
                    )
                    .await?;
                }
            }
            Ok(())
        })
    }

    fn transactions_by(
        &self,
        sender_id: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Vec<Transaction>> {
        let col = match attribute {
            "transaction_id" => "transaction_id",
            "correlation_id" => "correlation_id",
            "message_id" => "message_id",
            other => return Err(StoreError(format!("unknown attribute {other}"))),
        };
        let sql = format!(
            "SELECT {TXN_COLS} FROM transactions WHERE sender_id = $1 AND {col} = $2
             ORDER BY id DESC LIMIT 100"
        );
        self.all(&sql, &[&sender_id, &value], txn_row)
    }

    fn recent_message_ids(&self, since_ms: i64) -> StoreResult<Vec<(String, String, i64)>> {
        self.all(
            "SELECT sender_id, message_id, created_at FROM transactions
             WHERE created_at >= $1 AND error_code IS NULL",
            &[&since_ms],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        )
    }

    fn claim_message(
        &self,
        sender_id: &str,
        message_id: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool> {
        // A claim older than the window is taken over (the id may be used again then, as with
        // one instance); every 1000 claims the expired ones are swept.
        if self.claims.fetch_add(1, Ordering::Relaxed) % 1000 == 999 {
            self.exec(
                "DELETE FROM replay WHERE seen_at < $1",
                &[&(now_ms - window_ms)],
            )?;
        }
        let got = self.one(
            "INSERT INTO replay (sender_id, message_id, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at = excluded.seen_at
               WHERE replay.seen_at <= excluded.seen_at - $4
             RETURNING 1",
            &[&sender_id, &message_id, &now_ms, &window_ms],
            |_| Ok(()),
        )?;
        Ok(got.is_some())
    }

    fn subscription(&self, code: &str) -> StoreResult<Option<Subscription>> {
        let sql = format!("SELECT {SUB_COLS} FROM subscriptions WHERE code = $1");
        self.one(&sql, &[&code], sub_row)
    }

    fn active_subscriptions(&self, registry: &str) -> StoreResult<Vec<Subscription>> {
        let sql = format!(
            "SELECT {SUB_COLS} FROM subscriptions WHERE registry = $1 AND status = 'subscribe'
             ORDER BY created_at, code"
        );
        self.all(&sql, &[&registry], sub_row)
    }

    fn set_subscription_status(&self, code: &str, status: &str) -> StoreResult<bool> {
        in_tx!(self, tx, {
            let changed = tx
                .execute(
                    "UPDATE subscriptions SET status = $2 WHERE code = $1",
                    &[&code, &status],
                )
                .await?
                > 0;
            if status != "subscribe" {
                tx.execute(
                    "DELETE FROM pending_events WHERE subscription_code = $1",
                    &[&code],
                )
                .await?;
            }
            Ok(changed)
        })
    }

    fn pending_batches(&self) -> StoreResult<Vec<(Subscription, i64)>> {
        let cols = SUB_COLS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, b.first_at FROM subscriptions s
             JOIN (SELECT subscription_code, MIN(created_at) AS first_at FROM pending_events
                   GROUP BY subscription_code) b ON b.subscription_code = s.code
             WHERE s.status = 'subscribe' ORDER BY b.first_at"
        );
        self.all(&sql, &[], |r| Ok((sub_row(r)?, r.try_get(14)?)))
    }

    fn pending_events(&self, code: &str, limit: usize) -> StoreResult<Vec<PendingEvent>> {
        let limit = limit as i64;
        self.all(
            "SELECT id, subscription_code, item, created_at FROM pending_events
             WHERE subscription_code = $1 ORDER BY id LIMIT $2",
            &[&code, &limit],
            |r| {
                Ok(PendingEvent {
                    id: r.try_get(0)?,
                    subscription_code: r.try_get(1)?,
                    item: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                })
            },
        )
    }

    fn flush_batch(
        &self,
        code: &str,
        through_id: i64,
        outbox: &[(String, String, String)],
    ) -> StoreResult<()> {
        // The instance whose DELETE takes the events queues their notify: another instance
        // flushing the same batch at once deletes nothing and queues nothing.
        in_tx!(self, tx, {
            let taken = tx
                .execute(
                    "DELETE FROM pending_events WHERE subscription_code = $1 AND id <= $2",
                    &[&code, &through_id],
                )
                .await?;
            if taken > 0 {
                insert_outbox(tx, outbox).await?;
            }
            Ok(())
        })
    }

    fn enqueue(&self, entries: &[(String, String, String)]) -> StoreResult<()> {
        in_tx!(self, tx, { insert_outbox(tx, entries).await })
    }

    fn due_outbox(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &[String],
    ) -> StoreResult<Vec<OutboxEntry>> {
        // Claimed: each entry returned is leased to this instance, and rows another instance
        // is claiming at this moment are skipped, not waited for.
        let skips: String = (0..skip.len())
            .map(|i| format!(" AND substr(url, 1, length(${n})) <> ${n}", n = i + 4))
            .collect();
        let sql = format!(
            "UPDATE outbox o SET lease_until = $2 FROM (
               SELECT id FROM outbox
               WHERE delivered_at IS NULL AND NOT failed AND next_attempt_at <= $1
                 AND (lease_until IS NULL OR lease_until <= $1){skips}
               ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) d
             WHERE o.id = d.id
             RETURNING o.id, o.kind, o.url, o.body, o.attempts, o.next_attempt_at,
               o.correlation_id"
        );
        let until = now_ms + self.lease_ms.load(Ordering::Relaxed);
        let limit = limit as i64;
        let mut p: Params = vec![&now_ms, &until, &limit];
        p.extend(skip.iter().map(|s| s as &(dyn ToSql + Sync)));
        let mut v = self.all(&sql, &p, outbox_row)?;
        v.sort_by_key(|e| e.id);
        Ok(v)
    }

    fn release_outbox(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        self.exec(
            "UPDATE outbox SET lease_until = NULL WHERE id = ANY($1)",
            &[&ids],
        )
        .map(drop)
    }

    fn mark_delivered(&self, id: i64, attempt: &Attempt) -> StoreResult<()> {
        let done = attempt.started_at + attempt.duration_ms;
        in_tx!(self, tx, {
            tx.execute(
                "UPDATE outbox SET delivered_at = $2, attempts = attempts + 1,
                   lease_until = NULL WHERE id = $1",
                &[&id, &done],
            )
            .await?;
            insert_attempt(tx, id, attempt).await
        })
    }

    fn mark_attempt(
        &self,
        id: i64,
        next_at_ms: i64,
        give_up: bool,
        attempt: &Attempt,
    ) -> StoreResult<()> {
        in_tx!(self, tx, {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3,
                   failed = $4, lease_until = NULL WHERE id = $1",
                &[&id, &next_at_ms, &attempt.result, &give_up],
            )
            .await?;
            insert_attempt(tx, id, attempt).await
        })
    }

    fn recent_transactions(
        &self,
        f: &TxnFilter,
        limit: usize,
    ) -> StoreResult<Vec<(i64, Transaction)>> {
        let sql = format!(
            "SELECT id, {TXN_COLS} FROM transactions
             WHERE ($1::text IS NULL OR sender_id = $1) AND ($2::text IS NULL OR status = $2)
               AND ($3::text IS NULL OR operation = $3) AND ($4::bigint IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $5"
        );
        let limit = limit.min(super::sqlite::MAX_RECENT) as i64;
        self.all(
            &sql,
            &[&f.sender_id, &f.status, &f.operation, &f.before_id, &limit],
            |r| Ok((r.try_get(0)?, txn_row_at(r, 1)?)),
        )
    }

    fn outbox_of(&self, correlation_ids: &[String]) -> StoreResult<Vec<OutboxState>> {
        let ids: Vec<&str> = correlation_ids
            .iter()
            .take(super::sqlite::MAX_RECENT)
            .map(String::as_str)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut entries = self.all(
            "SELECT id, kind, url, correlation_id, attempts, next_attempt_at, delivered_at,
                    failed, last_error, created_at
             FROM outbox WHERE correlation_id = ANY($1) ORDER BY id",
            &[&ids],
            |r| {
                Ok(OutboxState {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    url: r.try_get(2)?,
                    correlation_id: r.try_get(3)?,
                    attempts: r.try_get(4)?,
                    next_attempt_at: r.try_get(5)?,
                    delivered_at: r.try_get(6)?,
                    failed: r.try_get(7)?,
                    last_error: r.try_get(8)?,
                    created_at: r.try_get(9)?,
                    tries: Vec::new(),
                })
            },
        )?;
        for e in &mut entries {
            // Attempts are bounded by --max-attempts; the limit guards a long-lived entry.
            e.tries = self.all(
                "SELECT started_at, duration_ms, ok, result FROM outbox_attempts
                 WHERE outbox_id = $1 ORDER BY started_at LIMIT 100",
                &[&e.id],
                |r| {
                    Ok(Attempt {
                        started_at: r.try_get(0)?,
                        duration_ms: r.try_get(1)?,
                        ok: r.try_get(2)?,
                        result: r.try_get(3)?,
                    })
                },
            )?;
        }
        Ok(entries)
    }

    fn pending_outbox(&self) -> StoreResult<i64> {
        let sql = "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND NOT failed";
        Ok(self.one(sql, &[], |r| Ok(r.try_get(0)?))?.unwrap_or(0))
    }

    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.one("SELECT value FROM meta WHERE key = $1", &[&key], |r| {
            Ok(r.try_get(0)?)
        })
    }

    fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .map(drop)
    }

    fn meta_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        // One statement: the row inserted, or (on conflict) the one another instance stored.
        // Twice: a row another instance inserts meanwhile is not in this statement's snapshot.
        for _ in 0..2 {
            let got = self.one(
                "WITH ins AS (INSERT INTO meta (key, value) VALUES ($1, $2)
               ON CONFLICT (key) DO NOTHING RETURNING value)
             SELECT value FROM ins UNION ALL SELECT value FROM meta WHERE key = $1",
                &[&key, &value],
                |r| Ok(r.try_get::<_, String>(0)?),
            )?;
            if let Some(v) = got {
                return Ok(v);
            }
        }
        Err(StoreError(format!("meta {key} neither inserted nor found")))
    }
}

/// For tests of both backends: the PostgreSQL server they use and a fresh database on it.
#[doc(hidden)]
pub mod testing {
    /// `DCI_TEST_POSTGRES_URL`, the server tests create their databases on. When it is unset
    /// and PostgreSQL is required (`DCI_REQUIRE_POSTGRES=1`, or `CI` set, as in .ci/run),
    /// this panics: a CI run must not pass without the PostgreSQL half. Else None, and the
    /// caller says loudly that the PostgreSQL half did not run.
    pub fn server_url() -> Option<String> {
        let set = |k: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty() && v != "0" && v != "false")
        };
        match set("DCI_TEST_POSTGRES_URL") {
            Some(u) => Some(u),
            None if set("DCI_REQUIRE_POSTGRES").is_some() || set("CI").is_some() => panic!(
                "DCI_TEST_POSTGRES_URL is unset but PostgreSQL is required here (CI or \
                 DCI_REQUIRE_POSTGRES=1): run the tests under scripts/with-postgres"
            ),
            None => {
                eprintln!(
                    "NOTE: PostgreSQL half NOT RUN: DCI_TEST_POSTGRES_URL is unset \
                     (scripts/with-postgres sets it; CI requires it)"
                );
                None
            }
        }
    }

    /// A new empty database on [`server_url`]'s server, as a URL (one per test, so tests
    /// run in parallel without sharing rows).
    pub fn fresh_database(tag: &str) -> Option<String> {
        let base = server_url()?;
        let name = format!(
            "dci_{}_{}",
            tag.chars()
                .map(|c| if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                })
                .take(30)
                .collect::<String>(),
            uuid::Uuid::new_v4().simple()
        );
        batch(&base, &format!("CREATE DATABASE {name}"));
        let mut u = url::Url::parse(&base).expect("DCI_TEST_POSTGRES_URL is a URL");
        u.set_path(&name);
        Some(u.to_string())
    }

    /// Runs `sql` (statements without results) on the database at `url`.
    pub fn batch(url: &str, sql: &str) {
        let sql = sql.to_string();
        on_thread(
            url,
            move |c| async move { c.batch_execute(&sql).await.unwrap() },
        );
    }

    /// The first column of the first row `sql` selects, as an integer.
    pub fn query_i64(url: &str, sql: &str) -> i64 {
        let sql = sql.to_string();
        on_thread(url, move |c| async move {
            c.query_one(&sql, &[]).await.unwrap().get(0)
        })
    }

    /// Runs `f` with a connection to `url` on a thread of its own (the caller may be inside
    /// a runtime).
    fn on_thread<T: Send + 'static, F: std::future::Future<Output = T>>(
        url: &str,
        f: impl FnOnce(tokio_postgres::Client) -> F + Send + 'static,
    ) -> T {
        let url = url.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
                tokio::spawn(conn);
                f(c).await
            })
        })
        .join()
        .unwrap()
    }
}
