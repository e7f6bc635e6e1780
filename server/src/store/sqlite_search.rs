//! Searches compiled to SQLite: a [`Plan`] becomes a WHERE clause over `records` whose field
//! tests are subqueries on the `attrs` table (one typed row per value an indexed path reaches,
//! see [`super::attrs`]).
//!
//! - A test on an indexed path compiles exactly ([`Test::row_filter`]); `and`, `or` and `not`
//!   of exact parts are exact. Then the count is `SELECT count(*)` and the page is
//!   `ORDER BY id LIMIT/OFFSET`, both in SQLite.
//! - Anything else (a path outside the index, equality with an array or object, an
//!   idtype-value plan) compiles to `TRUE`, which keeps the WHERE clause a superset: an `and`
//!   keeps its exact parts, an `or` or `not` with an inexact part becomes `TRUE`. The candidate
//!   rows are streamed in id order and the core's evaluator ([`Plan::matches`]) decides each;
//!   the count and the page window are taken over the exact matches, holding one page.
//! - With a sort, the matching rows are streamed and only their sort keys and ids are kept
//!   ([`dci::query::RecordSortKey`], in `candidates.rs`); the page's records are read again by id.
//!
//! One conjunct of the top-level `and` drives the query (`id IN (SELECT record_id FROM attrs
//! ...)`, through an index on the attribute's text, number or date); the others are correlated
//! `EXISTS` probes on the attribute table's primary key. The driver is the conjunct with the
//! fewest rows, counted up to [`PROBE`] rows each, then estimated from a sample of record ids.

use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde_json::Value;

use dci::query::plan::{Atom, AttrTest, Col, Plan, Rows, Test};

use super::attrs::IndexSet;
use super::candidates::{Candidates, Decided};
use super::{SearchQuery, StoreResult};

/// How many rows of a candidate driver are counted to choose the driver.
const PROBE: i64 = 2000;
/// How many record ids are sampled to rank candidates that all reach [`PROBE`].
const SAMPLES: i64 = 400;

/// A WHERE fragment and its parameters.
struct Frag {
    sql: String,
    params: Vec<Sql>,
    /// The fragment selects exactly the records the plan matches (not a superset).
    exact: bool,
}

impl Frag {
    fn lit(sql: &str, exact: bool) -> Frag {
        Frag {
            sql: sql.into(),
            params: Vec::new(),
            exact,
        }
    }
}

fn col(c: Col) -> &'static str {
    match c {
        Col::Text => "text",
        Col::Num => "num",
        Col::Int => "int",
        Col::Date => "date",
        Col::Secs => "secs",
        Col::Nanos => "nanos",
        Col::Bool => "bool",
    }
}

fn lit(l: &dci::query::plan::Lit) -> Sql {
    match l {
        dci::query::plan::Lit::Text(s) => Sql::Text(s.clone()),
        dci::query::plan::Lit::Real(f) => Sql::Real(*f),
        dci::query::plan::Lit::Int(i) => Sql::Integer(*i),
    }
}

/// One conjunction of atoms as SQL (`1` when empty).
fn conj(atoms: &[Atom], params: &mut Vec<Sql>) -> String {
    if atoms.is_empty() {
        return "1".into();
    }
    let parts: Vec<String> = atoms
        .iter()
        .map(|a| match a {
            Atom::ClassIn(cs) => {
                let codes: Vec<String> = cs.iter().map(|c| format!("'{}'", c.code())).collect();
                format!("class IN ({})", codes.join(","))
            }
            Atom::Cmp(c, op, l) => {
                params.push(lit(l));
                format!("{} {} ?", col(*c), op.sql())
            }
            Atom::Unset(c) => format!("{} IS NULL", col(*c)),
            // A literal, so SQLite can use the partial index `attrs_multi`.
            Atom::Multi => "seq > 0".into(),
        })
        .collect();
    parts.join(" AND ")
}

/// Whether an index on text, number or date can drive a conjunction.
fn indexable(atoms: &[Atom]) -> bool {
    atoms
        .iter()
        .any(|a| matches!(a, Atom::Cmp(Col::Text | Col::Num | Col::Date, _, _)))
}

/// `record_id`s of `registry` whose `path` rows satisfy one of `rows` (a UNION, one index
/// range per conjunction).
fn driver_select(registry: &str, path: &str, rows: &Rows, params: &mut Vec<Sql>) -> String {
    let selects: Vec<String> = rows
        .iter()
        .map(|c| {
            params.push(Sql::Text(registry.into()));
            params.push(Sql::Text(path.into()));
            let w = conj(c, params);
            format!("SELECT DISTINCT record_id AS id FROM attrs WHERE registry = ? AND path = ? AND {w}")
        })
        .collect();
    selects.join(" UNION ")
}

/// `EXISTS` a row of `path` for the record `r` satisfying one of `rows`.
fn exists(registry: &str, path: &str, rows: &Rows, params: &mut Vec<Sql>) -> String {
    if rows.is_empty() {
        return "0".into();
    }
    // With the registry, an equality probe can seek the text index on its whole key; any other
    // probe goes by the primary key (a range would walk the index instead).
    let seek = rows.iter().all(|c| {
        c.iter()
            .any(|a| matches!(a, Atom::Cmp(Col::Text, dci::query::plan::Cmp::Eq, _)))
    });
    let reg = if seek { "a.registry" } else { "+a.registry" };
    params.push(Sql::Text(registry.into()));
    params.push(Sql::Text(path.into()));
    let alts: Vec<String> = rows
        .iter()
        .map(|c| format!("({})", conj(c, params)))
        .collect();
    format!(
        "EXISTS (SELECT 1 FROM attrs a WHERE a.record_id = r.id AND {reg} = ? \
         AND a.path = ? AND ({}))",
        alts.join(" OR ")
    )
}

fn field(path: &str, test: &Test, registry: &str, indexed: &IndexSet) -> Frag {
    let key = (registry.to_string(), path.to_string());
    let Some(t) = indexed.contains(&key).then(|| test.row_filter()).flatten() else {
        return Frag::lit("1", false);
    };
    let mut params = Vec::new();
    let sql = match &t {
        AttrTest::Any(rows) => exists(registry, path, rows, &mut params),
        AttrTest::MissingOr(rows) => {
            params.push(Sql::Text(path.into()));
            let present = "EXISTS (SELECT 1 FROM attrs a WHERE a.record_id = r.id AND a.path = ?)";
            let e = exists(registry, path, rows, &mut params);
            format!("(NOT {present} OR {e})")
        }
    };
    Frag {
        sql,
        params,
        exact: true,
    }
}

/// The plan as a WHERE fragment over `records r` (a superset when not `exact`).
fn compile(plan: &Plan, registry: &str, indexed: &IndexSet) -> Frag {
    let join = |ps: &[Plan], op: &str, empty: &str, or: bool| {
        let parts: Vec<Frag> = ps.iter().map(|p| compile(p, registry, indexed)).collect();
        if parts.is_empty() {
            return Frag::lit(empty, true);
        }
        let exact = parts.iter().all(|f| f.exact);
        if or && !exact {
            // A superset of an `or` needs a superset of every part; TRUE is the honest one.
            return Frag::lit("1", false);
        }
        let mut params = Vec::new();
        let sqls: Vec<String> = parts
            .into_iter()
            .filter(|f| f.exact || f.sql != "1")
            .map(|f| {
                params.extend(f.params);
                format!("({})", f.sql)
            })
            .collect();
        Frag {
            sql: if sqls.is_empty() {
                "1".into()
            } else {
                sqls.join(op)
            },
            params,
            exact,
        }
    };
    match plan {
        Plan::All => Frag::lit("1", true),
        Plan::And(ps) => join(ps, " AND ", "1", false),
        Plan::Or(ps) => join(ps, " OR ", "0", true),
        Plan::Not(p) => {
            let f = compile(p, registry, indexed);
            if !f.exact {
                return Frag::lit("1", false);
            }
            Frag {
                sql: format!("NOT ({})", f.sql),
                params: f.params,
                exact: true,
            }
        }
        Plan::Field { path, test } => field(path, test, registry, indexed),
        Plan::Identifier(_) => Frag::lit("1", false),
    }
}

/// The top-level conjunct that drives the query: an indexed positive test whose every
/// conjunction can use an index, the one with the fewest rows. Each candidate's rows are
/// counted up to [`PROBE`]; when several reach it, they are ranked by how many of [`SAMPLES`]
/// record ids spread over the table they match.
fn pick_driver<'p>(
    c: &Connection,
    parts: &'p [Plan],
    registry: &str,
    indexed: &IndexSet,
) -> StoreResult<Option<(usize, &'p str, Rows)>> {
    let candidates: Vec<(usize, &str, Rows)> = parts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Plan::Field { path, test }
                if indexed.contains(&(registry.to_string(), path.clone())) =>
            {
                match test.row_filter() {
                    Some(AttrTest::Any(rows))
                        if !rows.is_empty() && rows.iter().all(|c| indexable(c)) =>
                    {
                        Some((i, path.as_str(), rows))
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    if candidates.len() < 2 {
        return Ok(candidates.into_iter().next());
    }
    // Tests of one path (`birth_date ge A and birth_date lt B`): records with one row there
    // satisfy both on that row, so the rows satisfying every test, with every record that has
    // several rows there, are a superset the index finds by one narrow range. The tests
    // themselves stay as filters.
    let mut candidates = candidates;
    let mut merged = Vec::new();
    for (k, (_, path, _)) in candidates.iter().enumerate() {
        let same: Vec<&Rows> = candidates
            .iter()
            .filter(|(_, p, _)| p == path)
            .map(|(_, _, r)| r)
            .collect();
        if same.len() < 2 || candidates[..k].iter().any(|(_, p, _)| p == path) {
            continue;
        }
        let mut rows: Rows = vec![Vec::new()];
        for r in same {
            rows = rows
                .iter()
                .flat_map(|a| r.iter().map(move |b| a.iter().chain(b).cloned().collect()))
                .collect();
        }
        // A row of two classes matches nothing: leave those combinations out.
        rows.retain(|c| {
            let sets: Vec<&[dci::query::plan::Class]> = c
                .iter()
                .filter_map(|a| match a {
                    Atom::ClassIn(cs) => Some(*cs),
                    _ => None,
                })
                .collect();
            sets.first()
                .is_none_or(|f| f.iter().any(|x| sets.iter().all(|s| s.contains(x))))
        });
        rows.push(vec![Atom::Multi]);
        merged.push((usize::MAX, *path, rows));
    }
    candidates.extend(merged);
    let mut ranked = Vec::with_capacity(candidates.len());
    for (i, path, rows) in candidates {
        // Each alternative on its own, so the LIMIT stops the index walk (a UNION or DISTINCT
        // would first collect every row).
        let mut n = 0i64;
        for alt in &rows {
            let mut params = vec![Sql::Text(registry.into()), Sql::Text(path.into())];
            let w = conj(alt, &mut params);
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM attrs WHERE registry = ? AND path = ? \
                 AND {w} LIMIT {PROBE})"
            );
            n += c
                .prepare_cached(&sql)?
                .query_row(params_from_iter(params), |r| r.get::<_, i64>(0))?;
        }
        ranked.push((n.min(PROBE), 0i64, i, path, rows));
    }
    if ranked.iter().filter(|r| r.0 >= PROBE).count() > 1 {
        let (lo, hi): (Option<i64>, Option<i64>) = c
            // Two subqueries: min and max in one SELECT would scan the table.
            .prepare_cached("SELECT (SELECT min(id) FROM records), (SELECT max(id) FROM records)")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(0));
        let step = ((hi - lo) / SAMPLES).max(1);
        for r in ranked.iter_mut().filter(|r| r.0 >= PROBE) {
            let mut params = vec![
                Sql::Integer(SAMPLES - 1),
                Sql::Integer(lo),
                Sql::Integer(step),
            ];
            let e = exists(registry, r.3, &r.4, &mut params);
            let sql = format!(
                "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
                 SELECT count(*) FROM (SELECT ? + i * ? AS id FROM s) r WHERE {e}"
            );
            r.1 = c
                .prepare_cached(&sql)?
                .query_row(params_from_iter(params), |row| row.get(0))?;
        }
    }
    let best = ranked
        .into_iter()
        .min_by_key(|r| (r.0, r.1))
        .map(|(_, _, i, p, rows)| (i, p, rows));
    Ok(best)
}

/// A search's WHERE clause over `records r`, its parameters, and whether it is exact.
pub(super) struct Built {
    /// `FROM records r WHERE ...`.
    pub base: String,
    pub params: Vec<Sql>,
    pub exact: bool,
    /// For counting: the driver's distinct ids as `r` and the other tests, without reading
    /// `records` (when no record type is asked for); else `base`.
    pub count_base: String,
    pub count_params: Vec<Sql>,
}

/// Compiles a search (see the module docs).
pub(super) fn build(c: &Connection, q: &SearchQuery, indexed: &IndexSet) -> StoreResult<Built> {
    let parts: Vec<Plan> = match q.plan {
        Plan::And(ps) => ps.clone(),
        other => vec![other.clone()],
    };
    let driver = pick_driver(c, &parts, q.registry, indexed)?;
    let mut params: Vec<Sql> = vec![
        Sql::Text(q.registry.into()),
        q.record_type.map_or(Sql::Null, |t| Sql::Text(t.into())),
    ];
    // ?2 is referenced twice by number; every later `?` is numbered after it, in text order.
    let mut wheres = vec![
        "r.registry = ?".to_string(),
        "(?2 IS NULL OR r.record_type = ?2)".to_string(),
    ];
    let mut exact = true;
    let mut driver_sql = None;
    if let Some((_, path, rows)) = &driver {
        // `+` keeps SQLite from scanning the registry's index instead of following the driver.
        wheres[0] = "+r.registry = ?".into();
        let mut dp = Vec::new();
        let sel = driver_select(q.registry, path, rows, &mut dp);
        wheres.push(format!("r.id IN ({sel})"));
        params.extend(dp.iter().cloned());
        driver_sql = Some((sel, dp));
    }
    let mut rest = Vec::new();
    let mut rest_params = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if driver.as_ref().is_some_and(|(d, ..)| *d == i) {
            continue;
        }
        let f = compile(p, q.registry, indexed);
        exact &= f.exact;
        if f.sql != "1" {
            rest.push(format!("({})", f.sql));
            rest_params.extend(f.params);
        }
    }
    wheres.extend(rest.iter().cloned());
    params.extend(rest_params.iter().cloned());
    let base = format!("FROM records r WHERE {}", wheres.join(" AND "));
    let (count_base, count_params) = match driver_sql {
        Some((sel, mut dp)) if q.record_type.is_none() => {
            dp.extend(rest_params);
            rest.insert(0, "1".into());
            (format!("FROM ({sel}) r WHERE {}", rest.join(" AND ")), dp)
        }
        _ => (base.clone(), params.clone()),
    };
    Ok(Built {
        base,
        params,
        exact,
        count_base,
        count_params,
    })
}

/// Whether the search is exact in SQL, and SQLite's plan for its count.
pub(super) fn explain(
    c: &Connection,
    q: &SearchQuery,
    indexed: &IndexSet,
) -> StoreResult<(bool, Vec<String>)> {
    let b = build(c, q, indexed)?;
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN SELECT r.data {}", b.base))?;
    let lines = st
        .query_map(params_from_iter(b.params), |r| r.get::<_, String>(3))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((b.exact, lines))
}

/// Runs `f` on `c`, interrupting SQLite (`sqlite3_interrupt`) once `ms` milliseconds have passed
/// (0: no limit); an interrupted search fails with a [`super::QUERY_TIMEOUT`] error. The watchdog
/// is joined before returning, so it can never interrupt the connection's next statement.
pub(super) fn with_time_limit<T>(
    c: &Connection,
    ms: u64,
    f: impl FnOnce() -> StoreResult<T>,
) -> StoreResult<T> {
    if ms == 0 {
        return f();
    }
    let handle = c.get_interrupt_handle();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = fired.clone();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            wait.recv_timeout(std::time::Duration::from_millis(ms))
        {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            handle.interrupt();
        }
    });
    let out = f();
    drop(done);
    let _ = watchdog.join();
    if fired.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(super::StoreError(format!(
            "{} ({ms} ms, --query-timeout-ms) exceeded",
            super::QUERY_TIMEOUT
        )));
    }
    out
}

/// Runs a search on one connection (see the module docs).
pub(super) fn search(
    c: &Connection,
    q: &SearchQuery,
    indexed: &IndexSet,
) -> StoreResult<(Vec<Value>, usize)> {
    let Built {
        base,
        params,
        exact,
        count_base,
        count_params,
    } = build(c, q, indexed)?;
    if exact && q.keys.is_empty() {
        let total: i64 = c
            .prepare_cached(&format!("SELECT count(*) {count_base}"))?
            .query_row(params_from_iter(count_params.iter()), |r| r.get(0))?;
        let count_params_page = count_params;
        // The page's ids come from the attribute table alone when it can answer (then only the
        // page's records are read), else from the records.
        let (sql, mut page_params) = if count_base != base {
            let sql = format!(
                "SELECT data FROM records WHERE id IN
                 (SELECT r.id {count_base} ORDER BY r.id LIMIT ? OFFSET ?) ORDER BY id"
            );
            (sql, count_params_page)
        } else {
            (
                format!("SELECT r.data {base} ORDER BY r.id LIMIT ? OFFSET ?"),
                params,
            )
        };
        page_params.push(Sql::Integer(q.limit.min(i64::MAX as usize) as i64));
        page_params.push(Sql::Integer(q.offset.min(i64::MAX as usize) as i64));
        let mut st = c.prepare_cached(&sql)?;
        let records = st
            .query_map(params_from_iter(page_params), |r| r.get::<_, String>(0))?
            .filter_map(|t| t.ok().and_then(|t| serde_json::from_str(&t).ok()))
            .collect();
        return Ok((records, total as usize));
    }

    // Stream the candidates in id order; decide inexact ones with the core's evaluator.
    let mut st = c.prepare_cached(&format!("SELECT r.id, r.data {base} ORDER BY r.id"))?;
    let mut rows = st.query(params_from_iter(params))?;
    let mut candidates = Candidates::new(q, exact);
    while let Some(row) = rows.next()? {
        let text: String = row.get(1)?;
        candidates.push(row.get(0)?, &text);
    }
    let (ids, total) = match candidates.finish() {
        Decided::Page(page, total) => return Ok((page, total)),
        Decided::Ids(ids, total) => (ids, total),
    };
    let mut by_id = c.prepare_cached("SELECT data FROM records WHERE id = ?1")?;
    let mut out = Vec::new();
    for id in &ids {
        let text: String = by_id.query_row([id], |r| r.get(0))?;
        if let Ok(v) = serde_json::from_str(&text) {
            out.push(v);
        }
    }
    Ok((out, total))
}
