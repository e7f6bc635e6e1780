//! The SQLite backend: one file, WAL mode, created and migrated at open.
//!
//! Reads go through a small pool of connections (a lookup is one short index probe, so a
//! blocking mutex per connection is cheaper than a thread hop); searches have a pool of their
//! own, so slow searches holding every connection cannot stall lookups, tokens and callbacks;
//! writes go through one writer connection, as SQLite allows one writer at a time anyway.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Params, Row};
use serde_json::Value;

use super::attrs::{self, IndexSet};
use super::columns::{CLIENT_COLS, SENDER_COLS, SUB_COLS, TXN_COLS};
use super::*;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  id INTEGER PRIMARY KEY,
  registry TEXT NOT NULL,
  record_type TEXT NOT NULL,
  record_key TEXT NOT NULL,
  data TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (registry, record_key)
);
CREATE INDEX IF NOT EXISTS records_registry_type ON records (registry, record_type, id);
CREATE TABLE IF NOT EXISTS identifiers (
  registry TEXT NOT NULL,
  id_type TEXT NOT NULL,
  id_value TEXT NOT NULL,
  record_id INTEGER NOT NULL,
  PRIMARY KEY (registry, id_type, id_value, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifiers_record ON identifiers (record_id);
CREATE TABLE IF NOT EXISTS attrs (
  record_id INTEGER NOT NULL,
  path TEXT NOT NULL,
  seq INTEGER NOT NULL,
  registry TEXT NOT NULL,
  class TEXT NOT NULL,
  text TEXT,
  num REAL,
  int INTEGER,
  date TEXT,
  secs INTEGER,
  nanos INTEGER,
  bool INTEGER,
  PRIMARY KEY (record_id, path, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attrs_text ON attrs (registry, path, class, text) WHERE text IS NOT NULL;
CREATE INDEX IF NOT EXISTS attrs_num ON attrs (registry, path, num, class, int)
  WHERE num IS NOT NULL;
CREATE INDEX IF NOT EXISTS attrs_date ON attrs (registry, path, date, class, secs, nanos)
  WHERE date IS NOT NULL;
CREATE INDEX IF NOT EXISTS attrs_multi ON attrs (registry, path) WHERE seq > 0;
CREATE TABLE IF NOT EXISTS clients (
  client_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  sender_id TEXT,
  active INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS senders (
  sender_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  jwks TEXT NOT NULL,
  jwks_url TEXT,
  allowed_ops TEXT NOT NULL,
  registries TEXT NOT NULL,
  fields TEXT NOT NULL,
  consent_required INTEGER NOT NULL,
  signature_policy TEXT NOT NULL,
  active INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  callback_uri TEXT
);
CREATE TABLE IF NOT EXISTS transactions (
  id INTEGER PRIMARY KEY,
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
  created_at INTEGER NOT NULL,
  deviations TEXT
);
CREATE INDEX IF NOT EXISTS transactions_txn ON transactions (sender_id, transaction_id);
CREATE INDEX IF NOT EXISTS transactions_corr ON transactions (correlation_id);
CREATE INDEX IF NOT EXISTS transactions_created ON transactions (created_at);
CREATE TABLE IF NOT EXISTS subscriptions (
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
  created_at INTEGER NOT NULL,
  schedule_cron TEXT,
  schedule_start INTEGER,
  schedule_end INTEGER
);
CREATE TABLE IF NOT EXISTS pending_events (
  id INTEGER PRIMARY KEY,
  subscription_code TEXT NOT NULL,
  item TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_events_sub ON pending_events (subscription_code, id);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at INTEGER,
  failed INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, failed, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_corr ON outbox (correlation_id);
CREATE TABLE IF NOT EXISTS outbox_attempts (
  outbox_id INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_attempts_entry ON outbox_attempts (outbox_id, started_at);
"#;

const SCHEMA_VERSION: &str = "1";

/// SQLite storage.
pub struct SqliteStore {
    /// The `(registry, path)` pairs kept in `attrs`.
    indexes: IndexSet,
    /// Longest a search may run (ms; 0 = no limit).
    query_timeout_ms: std::sync::atomic::AtomicU64,
    writer: Mutex<Connection>,
    readers: Pool,
    /// Connections for [`Store::search`] only.
    searchers: Pool,
}

/// The page cache of each search connection (KiB).
const SEARCH_CACHE_KIB: i64 = 16 * 1024;

/// Read connections, each behind its own lock.
struct Pool {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Pool {
    fn open(path: &Path, n: usize) -> StoreResult<Pool> {
        Ok(Pool {
            conns: (0..n.max(1))
                .map(|_| open_conn(path).map(Mutex::new))
                .collect::<StoreResult<Vec<_>>>()?,
            next: AtomicUsize::new(0),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        // Take the first free connection, else wait on the one round-robin points at.
        for i in 0..n {
            if let Ok(c) = self.conns[(start + i) % n].try_lock() {
                return f(&c);
            }
        }
        let c = self.conns[start % n]
            .lock()
            .map_err(|_| StoreError("reader lock poisoned".into()))?;
        f(&c)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn open_conn(path: &Path) -> StoreResult<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    // Searches walk index ranges and probe the attribute table: a page cache of 32 MiB and
    // reads through mmap keep those walks out of read(2) calls.
    c.pragma_update(None, "cache_size", -32768)?;
    c.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    Ok(c)
}

/// Adds `column` (with its SQL type) to `table` in databases made before it existed (NULL in
/// the old rows).
fn add_column(c: &Connection, table: &str, column: &str, sql_type: &str) -> StoreResult<()> {
    let has: bool = c.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has {
        c.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN {column} {sql_type}"
        ))?;
    }
    Ok(())
}

/// Columns added since the first schema: senders' callback base (NULL: none registered),
/// strict mode's deviations of an accepted request (the inspector shows them), subscriptions'
/// schedule (NULL: notified at once).
fn migrate_columns(c: &Connection) -> StoreResult<()> {
    add_column(c, "senders", "callback_uri", "TEXT")?;
    add_column(c, "transactions", "deviations", "TEXT")?;
    add_column(c, "subscriptions", "schedule_cron", "TEXT")?;
    add_column(c, "subscriptions", "schedule_start", "INTEGER")?;
    add_column(c, "subscriptions", "schedule_end", "INTEGER")
}

fn list(v: &str) -> Vec<String> {
    serde_json::from_str(v).unwrap_or_default()
}

fn to_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path`, with `readers` read connections
    /// and the default attribute indexes.
    pub fn open(path: &Path, readers: usize) -> StoreResult<Self> {
        Self::open_with(path, readers, &[])
    }

    /// [`SqliteStore::open`] with further attribute indexes (`--index` values: `PATH` or
    /// `REGISTRY:PATH`). Indexes missing from the database (all of them in a database made
    /// before attribute indexes existed) are filled in from the stored records here; an index
    /// once added is kept up to date by every later open, with or without the flag.
    pub fn open_with(path: &Path, readers: usize, extra: &[String]) -> StoreResult<Self> {
        Self::open_pools(path, readers, 1, extra)
    }

    /// [`SqliteStore::open_with`] with `searchers` connections for searches (one search at
    /// a time on each; `dci serve --search-workers`).
    pub fn open_pools(
        path: &Path,
        readers: usize,
        searchers: usize,
        extra: &[String],
    ) -> StoreResult<Self> {
        let mut w = open_conn(path)?;
        w.execute_batch(SCHEMA)?;
        migrate_columns(&w)?;
        w.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT(key) DO NOTHING",
            [SCHEMA_VERSION],
        )?;
        let indexes = migrate_indexes(&mut w, extra)?;
        let searchers = Pool::open(path, searchers)?;
        // A search may walk a large part of the file: through a bounded page cache, not
        // mmap, so one search cannot map hundreds of MB into the server's RSS.
        for c in &searchers.conns {
            let c = c
                .lock()
                .map_err(|_| StoreError("reader lock poisoned".into()))?;
            c.pragma_update(None, "mmap_size", 0)?;
            c.pragma_update(None, "cache_size", -SEARCH_CACHE_KIB)?;
        }
        Ok(SqliteStore {
            indexes,
            query_timeout_ms: std::sync::atomic::AtomicU64::new(0),
            writer: Mutex::new(w),
            readers: Pool::open(path, readers)?,
            searchers,
        })
    }

    /// Stops each later search after `ms` milliseconds (0: no limit) with a
    /// [`StoreError::is_timeout`] error.
    pub fn set_query_timeout_ms(&self, ms: u64) {
        self.query_timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether a search compiles exactly to SQL, and SQLite's query plan for its count (for
    /// tests and for operators checking that a search uses an index).
    pub fn explain(&self, q: &SearchQuery) -> StoreResult<(bool, Vec<String>)> {
        self.read(|c| super::sqlite_search::explain(c, q, &self.indexes))
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.readers.with(f)
    }

    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut c = self
            .writer
            .lock()
            .map_err(|_| StoreError("writer lock poisoned".into()))?;
        f(&mut c)
    }

    /// Every row `sql` selects (with `p`), read by `row`.
    fn all<T>(
        &self,
        sql: &str,
        p: impl Params,
        row: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        self.read(|c| {
            let mut st = c.prepare_cached(sql)?;
            let v = st
                .query_map(p, row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(v)
        })
    }

    /// The row `sql` selects (with `p`), if there is one.
    fn one<T>(
        &self,
        sql: &str,
        p: impl Params,
        row: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.read(|c| Ok(c.prepare_cached(sql)?.query_row(p, row).optional()?))
    }

    /// The row of `t` with key `id`.
    fn get<T>(&self, t: &Keyed<T>, id: &str) -> StoreResult<Option<T>> {
        let sql = format!("SELECT {} FROM {} WHERE {} = ?1", t.cols, t.table, t.key);
        self.one(&sql, [id], t.row)
    }

    /// Every row of `t`, by key.
    fn list<T>(&self, t: &Keyed<T>) -> StoreResult<Vec<T>> {
        let sql = format!("SELECT {} FROM {} ORDER BY {}", t.cols, t.table, t.key);
        self.all(&sql, [], t.row)
    }

    /// Sets `active` on the row of `t` with key `id`; false when there is none.
    fn set_active<T>(&self, t: &Keyed<T>, id: &str, active: bool) -> StoreResult<bool> {
        let sql = format!("UPDATE {} SET active = ?2 WHERE {} = ?1", t.table, t.key);
        Ok(self.exec(&sql, params![id, active as i64])? > 0)
    }

    /// Runs one statement on the writer connection; returns how many rows it changed.
    fn exec(&self, sql: &str, p: impl Params) -> StoreResult<usize> {
        self.write(|c| Ok(c.execute(sql, p)?))
    }
}

/// The attribute indexes wanted (defaults, `extra`, and those the database already keeps); fills
/// in the missing ones from the stored records, then records the set in `meta`.
fn migrate_indexes(w: &mut Connection, extra: &[String]) -> StoreResult<IndexSet> {
    let stored: IndexSet = w
        .query_row(
            "SELECT value FROM meta WHERE key = 'attr_indexes'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|t| serde_json::from_str::<Vec<(String, String)>>(&t).ok())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut wanted = attrs::defaults();
    for e in extra {
        wanted.extend(attrs::parse_index(e)?);
    }
    wanted.extend(stored.iter().cloned());
    let missing: IndexSet = wanted.difference(&stored).cloned().collect();
    if !missing.is_empty() {
        backfill(w, &missing)?;
        let list: Vec<&(String, String)> = wanted.iter().collect();
        w.execute(
            "INSERT INTO meta (key, value) VALUES ('attr_indexes', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [serde_json::to_string(&list)?],
        )?;
    }
    Ok(wanted)
}

/// Writes the `attrs` rows of `paths` for every stored record of their registries, in batches.
fn backfill(w: &mut Connection, paths: &IndexSet) -> StoreResult<()> {
    let registries: std::collections::BTreeSet<&str> =
        paths.iter().map(|(r, _)| r.as_str()).collect();
    for reg in registries {
        let mut after = 0i64;
        loop {
            let tx = w.transaction()?;
            let batch: Vec<(i64, String)> = {
                let mut st = tx.prepare_cached(
                    "SELECT id, data FROM records WHERE registry = ?1 AND id > ?2
                     ORDER BY id LIMIT 2000",
                )?;
                let rows = st
                    .query_map(params![reg, after], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                rows
            };
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            for (id, text) in &batch {
                let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                write_attrs(&tx, reg, *id, &v, attrs::paths_of(paths, reg))?;
            }
            tx.commit()?;
            after = last;
        }
    }
    Ok(())
}

/// Writes the `attrs` rows of `record` for `paths` (replacing rows of the same path).
fn write_attrs<'a>(
    tx: &Connection,
    registry: &str,
    id: i64,
    record: &Value,
    paths: impl Iterator<Item = &'a str>,
) -> rusqlite::Result<()> {
    let mut del = tx.prepare_cached("DELETE FROM attrs WHERE record_id = ?1 AND path = ?2")?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO attrs (record_id, path, seq, registry, class, text, num, int, date, secs,
           nanos, bool) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for path in paths {
        del.execute(params![id, path])?;
        for (seq, row) in dci::query::plan::index_rows(record, path)
            .iter()
            .enumerate()
        {
            ins.execute(params![
                id,
                path,
                seq as i64,
                registry,
                row.class.code(),
                row.text,
                row.number.map(|n| n.num),
                row.number.and_then(|n| n.int),
                row.time.as_ref().map(|t| t.date.as_str()),
                row.time
                    .as_ref()
                    .and_then(|t| t.instant)
                    .map(|(secs, _)| secs),
                row.time
                    .as_ref()
                    .and_then(|t| t.instant)
                    .map(|(_, nanos)| nanos),
                row.boolean
            ])?;
        }
    }
    Ok(())
}

fn record_row(r: &Row) -> rusqlite::Result<Record> {
    Ok(Record {
        id: r.get(0)?,
        registry: r.get(1)?,
        record_type: r.get(2)?,
        key: r.get(3)?,
        data: r.get(4)?,
    })
}

fn client_row(r: &Row) -> rusqlite::Result<Client> {
    Ok(Client {
        client_id: r.get(0)?,
        name: r.get(1)?,
        secret_hash: r.get(2)?,
        scopes: list(&r.get::<_, String>(3)?),
        sender_id: r.get(4)?,
        active: r.get::<_, i64>(5)? != 0,
    })
}

/// A table whose rows are found by one key column and can be switched off (clients, senders).
struct Keyed<T> {
    table: &'static str,
    key: &'static str,
    cols: &'static str,
    row: fn(&Row) -> rusqlite::Result<T>,
}

const CLIENTS: Keyed<Client> = Keyed {
    table: "clients",
    key: "client_id",
    cols: CLIENT_COLS,
    row: client_row,
};

const SENDERS: Keyed<Sender> = Keyed {
    table: "senders",
    key: "sender_id",
    cols: SENDER_COLS,
    row: sender_row,
};

fn sender_row(r: &Row) -> rusqlite::Result<Sender> {
    Ok(Sender {
        sender_id: r.get(0)?,
        name: r.get(1)?,
        jwks: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or(Value::Null),
        jwks_url: r.get(3)?,
        allowed_ops: list(&r.get::<_, String>(4)?),
        registries: list(&r.get::<_, String>(5)?),
        fields: list(&r.get::<_, String>(6)?),
        consent_required: r.get::<_, i64>(7)? != 0,
        signature_policy: SignaturePolicy::parse(&r.get::<_, String>(8)?)
            .unwrap_or(SignaturePolicy::Required),
        active: r.get::<_, i64>(9)? != 0,
        callback_uri: r.get(10)?,
    })
}

fn txn_row(r: &Row) -> rusqlite::Result<Transaction> {
    txn_row_at(r, 0)
}

/// A transaction whose [`TXN_COLS`] start at column `at`.
fn txn_row_at(r: &Row, at: usize) -> rusqlite::Result<Transaction> {
    Ok(Transaction {
        transaction_id: r.get(at)?,
        message_id: r.get(at + 1)?,
        correlation_id: r.get(at + 2)?,
        sender_id: r.get(at + 3)?,
        operation: r.get(at + 4)?,
        registry: r.get(at + 5)?,
        request: r.get(at + 6)?,
        response: r.get(at + 7)?,
        status: r.get(at + 8)?,
        error_code: r.get(at + 9)?,
        created_at: r.get(at + 10)?,
        deviations: r.get(at + 11)?,
    })
}

/// Most rows one [`Store::recent_transactions`] or [`Store::outbox_of`] call reads.
pub const MAX_RECENT: usize = 500;

fn insert_attempt(c: &Connection, id: i64, a: &Attempt) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO outbox_attempts (outbox_id, started_at, duration_ms, ok, result)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id,
        a.started_at,
        a.duration_ms,
        a.ok as i64,
        a.result
    ])?;
    Ok(())
}

fn outbox_row(r: &Row) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        id: r.get(0)?,
        kind: r.get(1)?,
        url: r.get(2)?,
        body: r.get(3)?,
        attempts: r.get(4)?,
        next_attempt_at: r.get(5)?,
        correlation_id: r.get(6)?,
    })
}

fn sub_row(r: &Row) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        code: r.get(0)?,
        sender_id: r.get(1)?,
        registry: r.get(2)?,
        reg_event_type: r.get(3)?,
        filter_type: r.get(4)?,
        filter: r
            .get::<_, Option<String>>(5)?
            .and_then(|s| serde_json::from_str(&s).ok()),
        notify_record_type: r.get(6)?,
        callback_uri: r.get(7)?,
        status: r.get(8)?,
        transaction_id: r.get(9)?,
        created_at: r.get(10)?,
        schedule: match (r.get(11)?, r.get(12)?, r.get(13)?) {
            (Some(cron), Some(start_ms), Some(end_ms)) => Some(crate::schedule::Schedule {
                cron,
                start_ms,
                end_ms,
            }),
            _ => None,
        },
    })
}

fn insert_txn(c: &Connection, t: &Transaction) -> rusqlite::Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO transactions ({TXN_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
    ))?
    .execute(params![
        t.transaction_id,
        t.message_id,
        t.correlation_id,
        t.sender_id,
        t.operation,
        t.registry,
        t.request,
        t.response,
        t.status,
        t.error_code,
        t.created_at,
        t.deviations
    ])?;
    Ok(())
}

fn insert_subscription(c: &Connection, s: &Subscription) -> rusqlite::Result<()> {
    c.execute(
        &format!(
            "INSERT OR REPLACE INTO subscriptions ({SUB_COLS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            s.code,
            s.sender_id,
            s.registry,
            s.reg_event_type,
            s.filter_type,
            s.filter.as_ref().map(Value::to_string),
            s.notify_record_type,
            s.callback_uri,
            s.status,
            s.transaction_id,
            s.created_at,
            s.schedule.as_ref().map(|x| x.cron.as_str()),
            s.schedule.as_ref().map(|x| x.start_ms),
            s.schedule.as_ref().map(|x| x.end_ms),
        ],
    )?;
    // An ended subscription's batch would never be sent.
    if s.status != "subscribe" {
        drop_batch(c, &s.code)?;
    }
    Ok(())
}

fn drop_batch(c: &Connection, code: &str) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM pending_events WHERE subscription_code = ?1")?
        .execute([code])
        .map(drop)
}

fn insert_pending(c: &Connection, events: &[PendingEvent]) -> rusqlite::Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO pending_events (subscription_code, item, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for e in events {
        st.execute(params![e.subscription_code, e.item, e.created_at])?;
    }
    Ok(())
}

fn insert_outbox(c: &Connection, entries: &[(String, String, String)]) -> rusqlite::Result<()> {
    let now = now_ms();
    let mut st = c.prepare_cached(
        "INSERT INTO outbox (kind, url, body, correlation_id, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?;
    for (kind, url, body) in entries {
        let corr = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| {
                v.pointer("/message/correlation_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        st.execute(params![kind, url, body, corr, now])?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn upsert_records(&self, records: &[NewRecord]) -> StoreResult<Vec<i64>> {
        self.upsert_records_notifying(records, &[], &[])
    }

    fn upsert_records_notifying(
        &self,
        records: &[NewRecord],
        outbox: &[(String, String, String)],
        batched: &[PendingEvent],
    ) -> StoreResult<Vec<i64>> {
        self.write(|c| {
            let tx = c.transaction()?;
            insert_outbox(&tx, outbox)?;
            insert_pending(&tx, batched)?;
            let mut ids = Vec::with_capacity(records.len());
            {
                let mut up = tx.prepare_cached(
                    "INSERT INTO records (registry, record_type, record_key, data, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(registry, record_key) DO UPDATE SET
                       record_type = excluded.record_type, data = excluded.data,
                       updated_at = excluded.updated_at
                     RETURNING id",
                )?;
                let mut del = tx.prepare_cached("DELETE FROM identifiers WHERE record_id = ?1")?;
                let mut ins = tx.prepare_cached(
                    "INSERT OR IGNORE INTO identifiers (registry, id_type, id_value, record_id)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                let now = now_ms();
                for r in records {
                    let text = serde_json::to_string(&r.data)?;
                    let id: i64 = up.query_row(
                        params![r.registry, r.record_type, r.key, text, now],
                        |row| row.get(0),
                    )?;
                    del.execute([id])?;
                    for (t, v) in identifiers_of(&r.data) {
                        ins.execute(params![r.registry, t, v, id])?;
                    }
                    let paths = attrs::paths_of(&self.indexes, &r.registry);
                    write_attrs(&tx, &r.registry, id, &r.data, paths)?;
                    ids.push(id);
                }
            }
            tx.commit()?;
            Ok(ids)
        })
    }

    fn record_by_id(&self, id: i64) -> StoreResult<Option<Record>> {
        self.one(
            "SELECT id, registry, record_type, record_key, data FROM records WHERE id = ?1",
            [id],
            record_row,
        )
    }

    fn ids_by_identifier(
        &self,
        registry: &str,
        id_type: &str,
        id_value: &str,
    ) -> StoreResult<Vec<i64>> {
        self.all(
            "SELECT record_id FROM identifiers
             WHERE registry = ?1 AND id_type = ?2 AND id_value = ?3 ORDER BY record_id",
            params![registry, id_type, id_value],
            |r| r.get(0),
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
             WHERE i.registry = ?1 AND i.id_type = ?2 AND i.id_value = ?3 ORDER BY r.id",
            params![registry, id_type, id_value],
            record_row,
        )
    }

    fn scan(
        &self,
        registry: &str,
        record_type: Option<&str>,
        f: &mut dyn FnMut(Record) -> bool,
    ) -> StoreResult<()> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, registry, record_type, record_key, data FROM records
                 WHERE registry = ?1 AND (?2 IS NULL OR record_type = ?2) ORDER BY id",
            )?;
            let mut rows = st.query(params![registry, record_type])?;
            while let Some(row) = rows.next()? {
                if !f(record_row(row)?) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn search(&self, q: &SearchQuery) -> StoreResult<(Vec<Value>, usize)> {
        let ms = self.query_timeout_ms.load(Ordering::Relaxed);
        self.searchers.with(|c| {
            super::sqlite_search::with_time_limit(c, ms, || {
                super::sqlite_search::search(c, q, &self.indexes)
            })
        })
    }

    fn count_records(&self, registry: Option<&str>) -> StoreResult<i64> {
        let sql = "SELECT COUNT(*) FROM records WHERE (?1 IS NULL OR registry = ?1)";
        Ok(self.one(sql, [registry], |r| r.get(0))?.unwrap_or(0))
    }

    fn put_client(&self, cl: &Client) -> StoreResult<()> {
        self.exec(
            "INSERT INTO clients (client_id, name, secret_hash, scopes, sender_id, active, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(client_id) DO UPDATE SET name = excluded.name,
               secret_hash = excluded.secret_hash, scopes = excluded.scopes,
               sender_id = excluded.sender_id, active = excluded.active",
            params![
                cl.client_id,
                cl.name,
                cl.secret_hash,
                to_list(&cl.scopes),
                cl.sender_id,
                cl.active as i64,
                now_ms()
            ],
        )
        .map(drop)
    }

    fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.get(&CLIENTS, client_id)
    }

    fn clients(&self) -> StoreResult<Vec<Client>> {
        self.list(&CLIENTS)
    }

    fn set_client_active(&self, client_id: &str, active: bool) -> StoreResult<bool> {
        self.set_active(&CLIENTS, client_id, active)
    }

    fn put_sender(&self, s: &Sender) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT OR REPLACE INTO senders ({SENDER_COLS}, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                s.sender_id,
                s.name,
                s.jwks.to_string(),
                s.jwks_url,
                to_list(&s.allowed_ops),
                to_list(&s.registries),
                to_list(&s.fields),
                s.consent_required as i64,
                s.signature_policy.name(),
                s.active as i64,
                s.callback_uri,
                now_ms()
            ],
        )
        .map(drop)
    }

    fn sender(&self, sender_id: &str) -> StoreResult<Option<Sender>> {
        self.get(&SENDERS, sender_id)
    }

    fn senders(&self) -> StoreResult<Vec<Sender>> {
        self.list(&SENDERS)
    }

    fn set_sender_active(&self, sender_id: &str, active: bool) -> StoreResult<bool> {
        self.set_active(&SENDERS, sender_id, active)
    }

    fn log_transactions(&self, txns: &[Transaction]) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction()?;
            for t in txns {
                insert_txn(&tx, t)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn log_with_outbox(
        &self,
        txn: &Transaction,
        outbox: &[(String, String, String)],
        subscriptions: &[Subscription],
    ) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction()?;
            insert_txn(&tx, txn)?;
            insert_outbox(&tx, outbox)?;
            for sub in subscriptions {
                insert_subscription(&tx, sub)?;
            }
            tx.commit()?;
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
            "SELECT {TXN_COLS} FROM transactions WHERE sender_id = ?1 AND {col} = ?2
             ORDER BY id DESC LIMIT 100"
        );
        self.all(&sql, params![sender_id, value], txn_row)
    }

    fn recent_message_ids(&self, since_ms: i64) -> StoreResult<Vec<(String, String, i64)>> {
        self.all(
            // Accepted requests only: a rejected one may be junk that names another sender's
            // message_id without its key (issue 11 section 3).
            "SELECT sender_id, message_id, created_at FROM transactions
             WHERE created_at >= ?1 AND error_code IS NULL",
            [since_ms],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    fn claim_message(&self, _: &str, _: &str, _: i64, _: i64) -> StoreResult<bool> {
        // One process serves a SQLite file: its replay cache (rebuilt from the audit log at
        // start) has already decided.
        Ok(true)
    }

    fn subscription(&self, code: &str) -> StoreResult<Option<Subscription>> {
        let sql = format!("SELECT {SUB_COLS} FROM subscriptions WHERE code = ?1");
        self.one(&sql, [code], sub_row)
    }

    fn active_subscriptions(&self, registry: &str) -> StoreResult<Vec<Subscription>> {
        let sql = format!(
            "SELECT {SUB_COLS} FROM subscriptions WHERE registry = ?1 AND status = 'subscribe'
             ORDER BY created_at"
        );
        self.all(&sql, [registry], sub_row)
    }

    fn set_subscription_status(&self, code: &str, status: &str) -> StoreResult<bool> {
        self.write(|c| {
            let tx = c.transaction()?;
            let sql = "UPDATE subscriptions SET status = ?2 WHERE code = ?1";
            let changed = tx.execute(sql, params![code, status])? > 0;
            if status != "subscribe" {
                drop_batch(&tx, code)?;
            }
            tx.commit()?;
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
        self.all(&sql, [], |r| Ok((sub_row(r)?, r.get(14)?)))
    }

    fn pending_events(&self, code: &str, limit: usize) -> StoreResult<Vec<PendingEvent>> {
        self.all(
            "SELECT id, subscription_code, item, created_at FROM pending_events
             WHERE subscription_code = ?1 ORDER BY id LIMIT ?2",
            params![code, limit as i64],
            |r| {
                Ok(PendingEvent {
                    id: r.get(0)?,
                    subscription_code: r.get(1)?,
                    item: r.get(2)?,
                    created_at: r.get(3)?,
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
        self.write(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM pending_events WHERE subscription_code = ?1 AND id <= ?2",
                params![code, through_id],
            )?;
            insert_outbox(&tx, outbox)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn enqueue(&self, entries: &[(String, String, String)]) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction()?;
            insert_outbox(&tx, entries)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn due_outbox(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &[String],
    ) -> StoreResult<Vec<OutboxEntry>> {
        // One `substr(url, 1, length(?)) <> ?` per skipped prefix (an exact prefix compare;
        // LIKE would read `_` and `%` in a host as wildcards).
        let skips: String = (0..skip.len())
            .map(|i| format!(" AND substr(url, 1, length(?{n})) <> ?{n}", n = i + 3))
            .collect();
        let sql = format!(
            "SELECT id, kind, url, body, attempts, next_attempt_at, correlation_id FROM outbox
             WHERE delivered_at IS NULL AND failed = 0 AND next_attempt_at <= ?1{skips}
             ORDER BY id LIMIT ?2"
        );
        let limit = limit as i64;
        let mut p: Vec<&dyn rusqlite::ToSql> = vec![&now_ms, &limit];
        p.extend(skip.iter().map(|s| s as &dyn rusqlite::ToSql));
        self.all(&sql, p.as_slice(), outbox_row)
    }

    fn release_outbox(&self, _: &[i64]) -> StoreResult<()> {
        // Nothing is leased: the outbox worker's in-flight set keeps entries from being
        // started twice.
        Ok(())
    }

    fn mark_delivered(&self, id: i64, attempt: &Attempt) -> StoreResult<()> {
        let done = attempt.started_at + attempt.duration_ms;
        self.write(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
                params![id, done],
            )?;
            insert_attempt(&tx, id, attempt)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn mark_attempt(
        &self,
        id: i64,
        next_at_ms: i64,
        give_up: bool,
        attempt: &Attempt,
    ) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3,
                   failed = ?4 WHERE id = ?1",
                params![id, next_at_ms, attempt.result, give_up as i64],
            )?;
            insert_attempt(&tx, id, attempt)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn recent_transactions(
        &self,
        f: &TxnFilter,
        limit: usize,
    ) -> StoreResult<Vec<(i64, Transaction)>> {
        // Each filter is `?N IS NULL OR col = ?N`: one statement, cached, for every combination.
        let sql = format!(
            "SELECT id, {TXN_COLS} FROM transactions
             WHERE (?1 IS NULL OR sender_id = ?1) AND (?2 IS NULL OR status = ?2)
               AND (?3 IS NULL OR operation = ?3) AND (?4 IS NULL OR id < ?4)
             ORDER BY id DESC LIMIT ?5"
        );
        let limit = limit.min(MAX_RECENT) as i64;
        self.all(
            &sql,
            params![f.sender_id, f.status, f.operation, f.before_id, limit],
            |r| {
                let id: i64 = r.get(0)?;
                // txn_row reads from column 0: shift by one.
                Ok((id, txn_row_at(r, 1)?))
            },
        )
    }

    fn outbox_of(&self, correlation_ids: &[String]) -> StoreResult<Vec<OutboxState>> {
        let ids = &correlation_ids[..correlation_ids.len().min(MAX_RECENT)];
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = (1..=ids.len()).map(|i| format!("?{i}")).collect::<Vec<_>>();
        let sql = format!(
            "SELECT id, kind, url, correlation_id, attempts, next_attempt_at, delivered_at,
                    failed, last_error, created_at
             FROM outbox WHERE correlation_id IN ({}) ORDER BY id",
            marks.join(",")
        );
        let p: Vec<&dyn rusqlite::ToSql> = ids.iter().map(|s| s as &dyn rusqlite::ToSql).collect();
        let mut entries = self.all(&sql, p.as_slice(), |r| {
            Ok(OutboxState {
                id: r.get(0)?,
                kind: r.get(1)?,
                url: r.get(2)?,
                correlation_id: r.get(3)?,
                attempts: r.get(4)?,
                next_attempt_at: r.get(5)?,
                delivered_at: r.get(6)?,
                failed: r.get::<_, i64>(7)? != 0,
                last_error: r.get(8)?,
                created_at: r.get(9)?,
                tries: Vec::new(),
            })
        })?;
        for e in &mut entries {
            // Attempts are bounded by --max-attempts; the limit guards an old database.
            e.tries = self.all(
                "SELECT started_at, duration_ms, ok, result FROM outbox_attempts
                 WHERE outbox_id = ?1 ORDER BY started_at LIMIT 100",
                [e.id],
                |r| {
                    Ok(Attempt {
                        started_at: r.get(0)?,
                        duration_ms: r.get(1)?,
                        ok: r.get::<_, i64>(2)? != 0,
                        result: r.get(3)?,
                    })
                },
            )?;
        }
        Ok(entries)
    }

    fn pending_outbox(&self) -> StoreResult<i64> {
        let sql = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed = 0";
        Ok(self.one(sql, [], |r| r.get(0))?.unwrap_or(0))
    }

    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.one("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
    }

    fn meta_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        self.write(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                params![key, value],
            )?;
            Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?)
        })
    }

    fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_database_gets_the_deviations_column_and_attempts_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        // The transactions table as it was before the inspector.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE transactions (id INTEGER PRIMARY KEY, transaction_id TEXT NOT NULL,
                   message_id TEXT NOT NULL, correlation_id TEXT NOT NULL, sender_id TEXT NOT NULL,
                   operation TEXT NOT NULL, registry TEXT NOT NULL, request TEXT NOT NULL,
                   response TEXT NOT NULL, status TEXT NOT NULL, error_code TEXT,
                   created_at INTEGER NOT NULL);
                 INSERT INTO transactions VALUES (1, 't0', 'm0', 'c0', 's1', 'search', 'crvs',
                   '{}', '{}', 'succ', NULL, 5);",
            )
            .unwrap();
        let s = SqliteStore::open_with(&path, 1, &[]).unwrap();
        let t = Transaction {
            transaction_id: "t1".into(),
            correlation_id: "c1".into(),
            sender_id: "s1".into(),
            operation: "search".into(),
            status: "succ".into(),
            deviations: Some(r#"[{"field":"header.receiver_id","rule":"recommended"}]"#.into()),
            created_at: 10,
            ..Transaction::default()
        };
        s.log_with_outbox(
            &t,
            &[(
                "on-search".into(),
                "http://cb/on-search".into(),
                r#"{"message":{"correlation_id":"c1"}}"#.into(),
            )],
            &[],
        )
        .unwrap();
        let rows = s.recent_transactions(&TxnFilter::default(), 10).unwrap();
        let got: Vec<(i64, Option<String>)> = rows
            .iter()
            .map(|(id, t)| (*id, t.deviations.clone()))
            .collect();
        assert_eq!(got, vec![(2, t.deviations.clone()), (1, None)]);
        let only = TxnFilter {
            before_id: Some(2),
            ..TxnFilter::default()
        };
        assert_eq!(
            s.recent_transactions(&only, 10).unwrap()[0]
                .1
                .transaction_id,
            "t0"
        );

        let entry = s.due_outbox(i64::MAX, 10, &[]).unwrap().remove(0);
        let failed = Attempt {
            started_at: 100,
            duration_ms: 7,
            ok: false,
            result: "POST answered 503".into(),
        };
        s.mark_attempt(entry.id, 200, false, &failed).unwrap();
        let ok = Attempt {
            started_at: 300,
            duration_ms: 4,
            ok: true,
            result: "200 OK ACK".into(),
        };
        s.mark_delivered(entry.id, &ok).unwrap();
        let state = s.outbox_of(&["c1".into()]).unwrap().remove(0);
        assert_eq!(state.tries, vec![failed, ok]);
        assert_eq!(state.attempts, 2);
        assert_eq!(state.delivered_at, Some(304));
        assert_eq!(state.last_error.as_deref(), Some("POST answered 503"));
        assert!(s.outbox_of(&["other".into()]).unwrap().is_empty());
    }
}
