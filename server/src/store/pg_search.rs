//! Searches compiled to PostgreSQL: the same compilation as SQLite's (`sqlite_search.rs`, whose
//! module docs describe it), with `$n` parameters and without the hand-picked driver: each
//! indexed test is an `EXISTS` on `attrs`, and PostgreSQL's planner turns the top-level ones
//! into semi-joins and picks the index to drive from by its statistics.
//!
//! Exact plans are counted and paged in SQL; inexact ones (a path outside the index, ...) and
//! sorted ones stream the candidates in id order and let the core's evaluator decide, holding
//! one page (or the sort keys and ids) only.

use deadpool_postgres::GenericClient;
use futures_util::{pin_mut, TryStreamExt};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use dci::query::plan::{Atom, AttrTest, Col, Lit, Plan, Rows, Test};

use super::attrs::IndexSet;
use super::candidates::{Candidates, Decided};
use super::{SearchQuery, StoreResult};

/// A parameter of a compiled search.
#[derive(Debug, Clone)]
enum P {
    Text(String),
    Real(f64),
    Int(i64),
    NullText,
}

impl P {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            P::Text(s) => s,
            P::Real(f) => f,
            P::Int(i) => i,
            P::NullText => &None::<&str>,
        }
    }
}

/// SQL text being built and its parameters (`$1`, `$2`, ... in push order).
#[derive(Default)]
struct Sql {
    params: Vec<P>,
}

impl Sql {
    /// The placeholder of a new parameter, cast to its column's type.
    fn push(&mut self, p: P) -> String {
        let cast = match p {
            P::Text(_) | P::NullText => "text",
            P::Real(_) => "float8",
            P::Int(_) => "int8",
        };
        self.params.push(p);
        format!("${}::{cast}", self.params.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(P::sql).collect()
    }
}

fn col(c: Col) -> &'static str {
    match c {
        Col::Text => "a.text",
        Col::Num => "a.num",
        Col::Int => "a.int",
        Col::Date => "a.date",
        Col::Secs => "a.secs",
        Col::Nanos => "a.nanos",
        Col::Bool => "a.bool",
    }
}

fn lit(l: &Lit) -> P {
    match l {
        Lit::Text(s) => P::Text(s.clone()),
        Lit::Real(f) => P::Real(*f),
        Lit::Int(i) => P::Int(*i),
    }
}

/// One conjunction of atoms over the row `a` (`TRUE` when empty).
fn conj(atoms: &[Atom], s: &mut Sql) -> String {
    if atoms.is_empty() {
        return "TRUE".into();
    }
    let parts: Vec<String> = atoms
        .iter()
        .map(|a| match a {
            Atom::ClassIn(cs) => {
                let codes: Vec<String> = cs.iter().map(|c| format!("'{}'", c.code())).collect();
                format!("a.class IN ({})", codes.join(","))
            }
            Atom::Cmp(c, op, l) => {
                // Text and dates compare bytewise, as the core does (the columns are "C" too).
                let p = s.push(lit(l));
                let p = match c {
                    Col::Text | Col::Date => format!("{p} COLLATE \"C\""),
                    _ => p,
                };
                format!("{} {} {p}", col(*c), op.sql())
            }
            Atom::Unset(c) => format!("{} IS NULL", col(*c)),
            Atom::Multi => "a.seq > 0".into(),
        })
        .collect();
    parts.join(" AND ")
}

/// `EXISTS` a row of `path` for the record `r` satisfying one of `rows`.
fn exists(registry: &str, path: &str, rows: &Rows, s: &mut Sql) -> String {
    if rows.is_empty() {
        return "FALSE".into();
    }
    let reg = s.push(P::Text(registry.into()));
    let p = s.push(P::Text(path.into()));
    let alts: Vec<String> = rows.iter().map(|c| format!("({})", conj(c, s))).collect();
    format!(
        "EXISTS (SELECT 1 FROM attrs a WHERE a.record_id = r.id AND a.registry = {reg} \
         AND a.path = {p} AND ({}))",
        alts.join(" OR ")
    )
}

/// A WHERE fragment over `records r`; a superset of the plan's matches when not `exact`.
struct Frag {
    sql: String,
    exact: bool,
}

fn field(path: &str, test: &Test, registry: &str, indexed: &IndexSet, s: &mut Sql) -> Frag {
    let key = (registry.to_string(), path.to_string());
    let Some(t) = indexed.contains(&key).then(|| test.row_filter()).flatten() else {
        return Frag {
            sql: "TRUE".into(),
            exact: false,
        };
    };
    let sql = match &t {
        AttrTest::Any(rows) => exists(registry, path, rows, s),
        AttrTest::MissingOr(rows) => {
            let p = s.push(P::Text(path.into()));
            let present =
                format!("EXISTS (SELECT 1 FROM attrs a WHERE a.record_id = r.id AND a.path = {p})");
            let e = exists(registry, path, rows, s);
            format!("(NOT {present} OR {e})")
        }
    };
    Frag { sql, exact: true }
}

fn compile(plan: &Plan, registry: &str, indexed: &IndexSet, s: &mut Sql) -> Frag {
    let join = |ps: &[Plan], op: &str, empty: &str, or: bool, s: &mut Sql| {
        if ps.is_empty() {
            return Frag {
                sql: empty.into(),
                exact: true,
            };
        }
        // Compiled into a scratch parameter list, kept only if the fragment is used (an
        // inexact `or` is replaced by TRUE and its parameters must not be numbered).
        let mut scratch = Sql {
            params: s.params.clone(),
        };
        let parts: Vec<Frag> = ps
            .iter()
            .map(|p| compile(p, registry, indexed, &mut scratch))
            .collect();
        let exact = parts.iter().all(|f| f.exact);
        if or && !exact {
            return Frag {
                sql: "TRUE".into(),
                exact: false,
            };
        }
        *s = scratch;
        let sqls: Vec<String> = parts.iter().map(|f| format!("({})", f.sql)).collect();
        Frag {
            sql: sqls.join(op),
            exact,
        }
    };
    match plan {
        Plan::All => Frag {
            sql: "TRUE".into(),
            exact: true,
        },
        Plan::And(ps) => join(ps, " AND ", "TRUE", false, s),
        Plan::Or(ps) => join(ps, " OR ", "FALSE", true, s),
        Plan::Not(p) => {
            let mut scratch = Sql {
                params: s.params.clone(),
            };
            let f = compile(p, registry, indexed, &mut scratch);
            if !f.exact {
                return Frag {
                    sql: "TRUE".into(),
                    exact: false,
                };
            }
            *s = scratch;
            Frag {
                sql: format!("NOT ({})", f.sql),
                exact: true,
            }
        }
        Plan::Field { path, test } => field(path, test, registry, indexed, s),
        Plan::Identifier(_) => Frag {
            sql: "TRUE".into(),
            exact: false,
        },
    }
}

/// For tests of one path in the top-level `and` (`birth_date ge A and birth_date lt B`): a
/// narrow superset the planner can drive from, which it cannot see in the separate tests (its
/// statistics estimate each range alone). A record with one row at the path satisfies all
/// tests on that row; one with several rows (`attrs_multi`) is kept whatever its rows. The
/// tests themselves stay as filters.
fn same_path_drivers<'p>(
    plan: &'p Plan,
    registry: &str,
    indexed: &IndexSet,
    s: &mut Sql,
) -> Vec<(&'p str, String, String)> {
    let Plan::And(parts) = plan else {
        return Vec::new();
    };
    let mut by_path: std::collections::BTreeMap<&str, Vec<Rows>> = Default::default();
    for p in parts {
        if let Plan::Field { path, test } = p {
            if !indexed.contains(&(registry.to_string(), path.clone())) {
                continue;
            }
            if let Some(AttrTest::Any(rows)) = test.row_filter() {
                by_path.entry(path.as_str()).or_default().push(rows);
            }
        }
    }
    let mut out = Vec::new();
    for (path, tests) in by_path.into_iter().filter(|(_, t)| t.len() > 1) {
        let mut rows: Rows = vec![Vec::new()];
        for r in &tests {
            rows = rows
                .iter()
                .flat_map(|a| r.iter().map(move |b| a.iter().chain(b).cloned().collect()))
                .collect();
        }
        // A row of two disjoint class sets matches nothing: leave those combinations out.
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
        let mut selects: Vec<String> = rows
            .iter()
            .map(|c| {
                let reg = s.push(P::Text(registry.into()));
                let p = s.push(P::Text(path.into()));
                let w = conj(c, s);
                format!("SELECT a.record_id FROM attrs a WHERE a.registry = {reg} AND a.path = {p} AND {w}")
            })
            .collect();
        let reg = s.push(P::Text(registry.into()));
        let p = s.push(P::Text(path.into()));
        selects.push(format!(
            "SELECT a.record_id FROM attrs a WHERE a.registry = {reg} AND a.path = {p} AND a.seq > 0"
        ));
        let union = selects.join(" UNION ALL ");
        out.push((path, format!("r.id IN ({union})"), union));
    }
    out
}

/// `FROM records r WHERE ...` of a search, its parameters, and whether it is exact.
fn build(q: &SearchQuery, indexed: &IndexSet) -> Built {
    let mut s = Sql::default();
    let reg = s.push(P::Text(q.registry.into()));
    let rt = s.push(q.record_type.map_or(P::NullText, |t| P::Text(t.into())));
    let drivers = same_path_drivers(q.plan, q.registry, indexed, &mut s);
    let f = match q.plan {
        Plan::And(parts) if !drivers.is_empty() => {
            // The tests of a driven path are probed per candidate row (a scalar `SELECT
            // EXISTS`, which the planner does not turn into a semi-join over the whole range).
            let frags: Vec<Frag> = parts
                .iter()
                .map(|p| {
                    let f = compile(p, q.registry, indexed, &mut s);
                    match p {
                        Plan::Field { path, .. }
                            if f.exact && drivers.iter().any(|(d, ..)| d == path) =>
                        {
                            Frag {
                                sql: format!("(SELECT {})", f.sql),
                                exact: true,
                            }
                        }
                        _ => f,
                    }
                })
                .collect();
            Frag {
                exact: frags.iter().all(|f| f.exact),
                sql: frags
                    .iter()
                    .map(|f| format!("({})", f.sql))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            }
        }
        _ => compile(q.plan, q.registry, indexed, &mut s),
    };
    // Counting without a record type needs no record row: the ids come from `attrs` (whose
    // rows carry their record's registry), by the same-path driver or the first positive
    // indexed test, and the tests reference only `r.id`.
    // Its parameters follow the page query's (which does not reference them).
    let mut count_sql = Sql {
        params: s.params.clone(),
    };
    let ids = match drivers.first() {
        Some((_, _, union)) => Some(format!(
            "SELECT DISTINCT x.record_id AS id FROM ({union}) x"
        )),
        None => first_positive(q.plan, q.registry, indexed, &reg, &mut count_sql),
    };
    let and_drivers: String = drivers
        .iter()
        .map(|(_, d, _)| format!(" AND {d}"))
        .collect();
    let from = format!(
        "FROM records r WHERE r.registry = {reg} AND ({rt} IS NULL OR r.record_type = {rt}){and_drivers} \
         AND ({})",
        f.sql
    );
    let count_from = match ids {
        Some(ids) if q.record_type.is_none() && f.exact => format!(
            "FROM ({ids}) r WHERE {reg} IS NOT NULL AND {rt} IS NULL{and_drivers} AND ({})",
            f.sql
        ),
        _ => {
            count_sql.params.truncate(s.params.len());
            from.clone()
        }
    };
    Built {
        from,
        count_from,
        count_sql,
        sql: s,
        exact: f.exact,
    }
}

/// A compiled search: `FROM ... WHERE ...` for its records and for its count, parameters.
struct Built {
    from: String,
    count_from: String,
    count_sql: Sql,
    sql: Sql,
    exact: bool,
}

/// The record ids of the first indexed positive test of the plan's top-level `and` (or of the
/// plan itself), one index range per alternative; `reg` is the registry's placeholder.
fn first_positive(
    plan: &Plan,
    registry: &str,
    indexed: &IndexSet,
    reg: &str,
    s: &mut Sql,
) -> Option<String> {
    let parts = match plan {
        Plan::And(ps) => ps.as_slice(),
        other => std::slice::from_ref(other),
    };
    parts.iter().find_map(|p| {
        let Plan::Field { path, test } = p else {
            return None;
        };
        if !indexed.contains(&(registry.to_string(), path.clone())) {
            return None;
        }
        let Some(AttrTest::Any(rows)) = test.row_filter() else {
            return None;
        };
        if rows.is_empty() {
            return None;
        }
        let ph = s.push(P::Text(path.clone()));
        let alts: Vec<String> = rows.iter().map(|c| format!("({})", conj(c, s))).collect();
        Some(format!(
            "SELECT DISTINCT a.record_id AS id FROM attrs a WHERE a.registry = {reg} \
             AND a.path = {ph} AND ({})",
            alts.join(" OR ")
        ))
    })
}

/// Whether the search is exact in SQL, and PostgreSQL's plan for its page.
pub(super) async fn explain(
    c: &impl GenericClient,
    q: &SearchQuery<'_>,
    indexed: &IndexSet,
) -> StoreResult<(bool, Vec<String>)> {
    let Built {
        from,
        sql: s,
        exact,
        ..
    } = build(q, indexed);
    let sql = format!("EXPLAIN SELECT r.data {from} ORDER BY r.id LIMIT 10");
    let rows = c.query(&sql, &s.refs()).await?;
    Ok((exact, rows.iter().map(|r| r.get::<_, String>(0)).collect()))
}

/// Runs a search (see the module docs).
pub(super) async fn search(
    c: &impl GenericClient,
    q: &SearchQuery<'_>,
    indexed: &IndexSet,
) -> StoreResult<(Vec<Value>, usize)> {
    let Built {
        from,
        count_from,
        count_sql,
        sql: s,
        exact,
    } = build(q, indexed);
    let limit = q.limit.min(i64::MAX as usize) as i64;
    let offset = q.offset.min(i64::MAX as usize) as i64;
    if exact && q.keys.is_empty() {
        let total: i64 = c
            .query_one(&format!("SELECT count(*) {count_from}"), &count_sql.refs())
            .await?
            .get(0);
        let mut p = s.refs();
        let n = p.len();
        p.push(&limit);
        p.push(&offset);
        let sql = format!(
            "SELECT r.data {from} ORDER BY r.id LIMIT ${}::int8 OFFSET ${}::int8",
            n + 1,
            n + 2
        );
        let records = c
            .query(&sql, &p)
            .await?
            .iter()
            .filter_map(|r| serde_json::from_str(r.get::<_, &str>(0)).ok())
            .collect();
        return Ok((records, total as usize));
    }

    // Stream the candidates in id order; decide inexact ones with the core's evaluator.
    let sql = format!("SELECT r.id, r.data {from} ORDER BY r.id");
    let rows = c.query_raw(&sql, s.refs()).await?;
    pin_mut!(rows);
    let mut candidates = Candidates::new(q, exact);
    while let Some(row) = rows.try_next().await? {
        candidates.push(row.get(0), row.get::<_, &str>(1));
    }
    let (ids, total) = match candidates.finish() {
        Decided::Page(page, total) => return Ok((page, total)),
        Decided::Ids(ids, total) => (ids, total),
    };
    let rows = c
        .query("SELECT id, data FROM records WHERE id = ANY($1)", &[&ids])
        .await?;
    let mut by_id: std::collections::HashMap<i64, Value> = rows
        .iter()
        .filter_map(|r| Some((r.get(0), serde_json::from_str(r.get::<_, &str>(1)).ok()?)))
        .collect();
    Ok((
        ids.iter().filter_map(|id| by_id.remove(id)).collect(),
        total,
    ))
}
