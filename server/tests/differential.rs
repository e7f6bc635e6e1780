//! Differential test: seeded random predicate and expression queries (every operator, nested
//! and/or/not/nor, missing attributes, mixed types, sorts, pages) over the demo dataset plus
//! records with mixed-type values; each backend (SQLite, and PostgreSQL when
//! DCI_TEST_POSTGRES_URL is set, which CI requires: `scripts/with-postgres`) must return exactly
//! the records, order and total_count that the core evaluator (`dci::query`) computes over the
//! same data. Records are compared as JSON values.

use dci::query::{sort_by_keys, Plan, Query, SortKey};
use dci_server::store::attrs::DEFAULT_INDEXES;
use dci_server::store::postgres::testing;
use dci_server::store::{NewRecord, PgStore, SearchQuery, SqliteStore, Store};
use serde_json::{json, Value};

/// The demo's seeded generator, with the picks this test needs.
struct Rng(dci_server::demo::Rng);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(dci_server::demo::Rng(seed))
    }
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.0.chance(percent as u64)
    }
}

/// Records whose values mix types along the searched paths.
/// The server's default response limits.
const LIMITS: dci_server::search::Limits = dci_server::search::Limits {
    max_page_size: 1000,
    max_records: 10_000,
    max_bytes: 16 << 20,
    max_ms: 0,
};

fn odd_records() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "crvs",
            "Person",
            json!({"birth_date": 2020, "sex": true, "name": {"given_name": ["Musa", "Ali"]}}),
        ),
        (
            "crvs",
            "Person",
            json!({"birth_date": "2020-01-15T23:30:00-05:00", "sex": "true", "address": {"region_code": 5}}),
        ),
        (
            "crvs",
            "Person",
            json!({"birth_date": ["2019-05-01", "2020-01-20"], "sex": 1, "address": {"region_code": "5"}}),
        ),
        (
            "crvs",
            "Person",
            json!({"birth_date": null, "sex": "1", "name": [{"given_name": "Musa"}, {"given_name": "Zed"}]}),
        ),
        (
            "crvs",
            "Person",
            json!({"birth_date": "2020-02-01T00:00:00Z", "sex": "female ", "name.given_name": "Musa"}),
        ),
        (
            "crvs",
            "Person",
            json!({"birth_date": "2020-01-31T23:59:59.5+00:00", "sex": null, "UIN": "100000007"}),
        ),
        (
            "crvs",
            "Person",
            json!({"birth_date": "20200101", "sex": "female", "registration_date": "2020-01-01"}),
        ),
        (
            "crvs",
            "Person",
            json!({"birth_date": "2020-01-01 08:00:00", "address": {"region_code": ["northern_region", 7]}}),
        ),
        (
            "crvs",
            "Person",
            json!({"name": {"given_name": "Műsa", "surname": "Ünal"}, "death_date": "2024-13-01"}),
        ),
        (
            "crvs",
            "Person",
            json!({"name": {"given_name": "", "surname": 12}, "death_date": {"at": "2024-01-01"}}),
        ),
        (
            "crvs",
            "Person",
            json!({"identifier": [{"identifier_type": "UIN", "identifier_value": 100000003}]}),
        ),
        ("crvs", "Person", json!([1, 2, 3])),
        (
            "social",
            "Member",
            json!({"age": "25", "location": "northern_region"}),
        ),
        (
            "social",
            "Member",
            json!({"age": 25.0, "is_disabled": "true"}),
        ),
        (
            "social",
            "Member",
            json!({"age": "2.5e1", "relationship": ["head", "child"]}),
        ),
        (
            "social",
            "Member",
            json!({"age": 9007199254740993u64, "location": 3}),
        ),
        (
            "social",
            "Group",
            json!({"poverty_score": "3.5", "group_size": "4"}),
        ),
        (
            "social",
            "Group",
            json!({"poverty_score": [1.5, 8.5], "group_size": 4.0}),
        ),
        (
            "social",
            "Group",
            json!({"poverty_score": false, "group_size": "four"}),
        ),
    ]
}

/// The paths queried per registry: the indexed ones, unindexed ones, identifiers by type, and
/// a path no record has.
fn paths(registry: &str) -> Vec<&'static str> {
    let indexed = DEFAULT_INDEXES
        .iter()
        .find(|(r, _)| *r == registry)
        .map_or(&[][..], |(_, p)| *p);
    let others: &[&'static str] = match registry {
        "crvs" => &[
            "marital_status",
            "birth_place.name",
            "parent1_identifier.identifier_value",
            "UIN",
            "nickname",
        ],
        _ => &[
            "is_disabled",
            "member_list.relationship",
            "group_head_info.name.given_name",
            "nickname",
        ],
    };
    indexed.iter().chain(others).copied().collect()
}

/// Values seen at `path` in the data, and variants of them in other types.
fn value_pool(records: &[Value], path: &str) -> Vec<Value> {
    let mut pool = vec![
        json!(null),
        json!(true),
        json!("true"),
        json!(0),
        json!("5"),
        json!(5),
        json!(25),
        json!("25"),
        json!(2.5),
        json!("2020-01-01"),
        json!("2020-01-01T00:00:00Z"),
        json!("2020-01-31T22:00:00-03:00"),
        json!("2020-02-01"),
        json!("M"),
        json!(["x"]),
        json!({"a": 1}),
    ];
    for r in records {
        for v in dci::query::path::resolve(r, path) {
            if pool.len() > 60 {
                return pool;
            }
            match v {
                Value::String(s) => {
                    pool.push(v.clone());
                    if s.len() >= 10 {
                        pool.push(json!(&s[..10]));
                        pool.push(json!(format!("{}T12:00:00+02:00", &s[..10])));
                    }
                }
                Value::Number(n) => {
                    pool.push(v.clone());
                    pool.push(json!(n.to_string()));
                }
                Value::Array(_) | Value::Object(_) | Value::Bool(_) | Value::Null => {
                    pool.push(v.clone())
                }
            }
        }
    }
    pool
}

struct Gen<'a> {
    rng: Rng,
    paths: &'a [&'static str],
    pools: &'a [Vec<Value>],
}

impl Gen<'_> {
    fn path_and_value(&mut self) -> (&'static str, Value) {
        let i = self.rng.below(self.paths.len());
        (self.paths[i], self.rng.pick(&self.pools[i]).clone())
    }

    fn exp_predicate(&mut self) -> Value {
        let (path, mut value) = self.path_and_value();
        let op = *self.rng.pick(&["eq", "lt", "le", "gt", "ge", "in", "EQ"]);
        if op == "in" {
            value = if self.rng.chance(20) {
                json!("female,male")
            } else {
                // Values from this path's own pool, so `in` finds something.
                let i = self.paths.iter().position(|p| *p == path).unwrap();
                let pool = &self.pools[i];
                Value::Array((0..3).map(|_| self.rng.pick(pool).clone()).collect())
            };
        }
        json!({"attribute_name": path, "operator": op, "attribute_value": value})
    }

    fn predicate_query(&mut self) -> Value {
        let n = self.rng.below(4);
        let items: Vec<Value> = (0..n)
            .map(|i| {
                let mut item =
                    json!({"seq_num": (n - i) as i64, "expression1": self.exp_predicate()});
                match self.rng.below(5) {
                    0 => item["condition"] = json!("and"),
                    1 => item["condition"] = json!("or"),
                    2 => item["condition"] = json!("not"),
                    _ => {}
                }
                let c = item
                    .get("condition")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if c.as_deref().is_some_and(|c| c != "not") || (c.is_some() && self.rng.chance(50))
                {
                    item["expression2"] = self.exp_predicate();
                }
                item
            })
            .collect();
        Value::Array(items)
    }

    fn field_ops(&mut self, depth: usize) -> (String, Value) {
        let i = self.rng.below(self.paths.len());
        let path = self.paths[i].to_string();
        let pool = &self.pools[i];
        let v = self.rng.pick(pool).clone();
        let ops = match self.rng.below(14) {
            0 => json!({"$eq": v}),
            1 => json!({"$ne": v}),
            2 => json!({"$lt": v}),
            3 => json!({"$lte": v}),
            4 => json!({"$gt": v}),
            5 => json!({"$gte": v}),
            6 => json!({"$in": [v, self.rng.pick(pool).clone()]}),
            7 => json!({"$nin": [v]}),
            8 => {
                let s = v.as_str().unwrap_or("Mu");
                let cut = s
                    .char_indices()
                    .nth(self.rng.below(4))
                    .map_or(s.len(), |(i, _)| i);
                json!({"$startsWith": &s[..cut]})
            }
            9 => json!({"$exists": self.rng.chance(50)}),
            10 if depth < 3 => {
                let (_, inner) = self.field_ops(depth + 1);
                match inner
                    .as_object()
                    .map(|o| o.keys().all(|k| k.starts_with('$')))
                {
                    Some(true) => json!({"$not": inner}),
                    _ => json!({"$exists": true}),
                }
            }
            11 => json!({"$gte": v, "$lt": self.rng.pick(pool).clone()}),
            12 => v,
            _ => json!({"eq": v}),
        };
        (path, ops)
    }

    fn filter(&mut self, depth: usize) -> Value {
        let k = if depth >= 3 { 5 } else { self.rng.below(8) };
        let sub = |g: &mut Self| -> Vec<Value> {
            (0..1 + g.rng.below(3))
                .map(|_| g.filter(depth + 1))
                .collect()
        };
        match k {
            0 => json!({"$and": sub(self)}),
            1 => json!({"$or": sub(self)}),
            2 => json!({"$nor": sub(self)}),
            3 => json!({"$not": self.filter(depth + 1)}),
            4 => json!({}),
            _ => {
                let mut m = serde_json::Map::new();
                for _ in 0..1 + self.rng.below(2) {
                    let (p, ops) = self.field_ops(depth);
                    m.insert(p, ops);
                }
                Value::Object(m)
            }
        }
    }

    fn query(&mut self) -> (&'static str, Value) {
        if self.rng.chance(40) {
            ("predicate", self.predicate_query())
        } else {
            let f = self.filter(0);
            (
                "expression",
                json!({"type": "ns:org:QueryType:expression", "value": {"expression": {"query": f}}}),
            )
        }
    }

    fn sort(&mut self) -> Vec<SortKey> {
        (0..self.rng.below(3))
            .map(|_| {
                let paths = self.paths;
                let p = *self.rng.pick(paths);
                if self.rng.chance(50) {
                    SortKey::asc(p)
                } else {
                    SortKey::desc(p)
                }
            })
            .collect()
    }
}

/// One backend under test.
enum Backend {
    // The directory lives as long as the store.
    Sqlite(#[allow(dead_code)] tempfile::TempDir, SqliteStore),
    Pg(PgStore),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(..) => "sqlite",
            Backend::Pg(..) => "postgres",
        }
    }
    fn store(&self) -> &dyn Store {
        match self {
            Backend::Sqlite(_, s) => s,
            Backend::Pg(s) => s,
        }
    }
    fn explain(&self, q: &SearchQuery) -> (bool, Vec<String>) {
        match self {
            Backend::Sqlite(_, s) => s.explain(q).unwrap(),
            Backend::Pg(s) => s.explain(q).unwrap(),
        }
    }
    fn set_query_timeout_ms(&self, ms: u64) {
        match self {
            Backend::Sqlite(_, s) => s.set_query_timeout_ms(ms),
            Backend::Pg(s) => s.set_query_timeout_ms(ms),
        }
    }
}

/// An empty store of each backend available (SQLite always; PostgreSQL as
/// [`testing::server_url`] says).
fn backends(tag: &str) -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("d.db"), 1).unwrap();
    let mut v = vec![Backend::Sqlite(dir, sqlite)];
    if let Some(url) = testing::fresh_database(tag) {
        let pg = PgStore::open(&url, 2, 1, &[]).unwrap();
        v.push(Backend::Pg(pg));
    }
    v
}

struct Fixture {
    backend: Backend,
    /// Per registry: (record_type, record) in id order.
    data: Vec<(&'static str, Vec<(String, Value)>)>,
}

impl Fixture {
    fn store(&self) -> &dyn Store {
        self.backend.store()
    }
}

fn fixtures(tag: &str) -> Vec<Fixture> {
    let mut all: Vec<NewRecord> = Vec::new();
    dci_server::demo::generate(120, &["crvs", "social"], |batch, _| all.extend(batch));
    for (i, (reg, rt, v)) in odd_records().into_iter().enumerate() {
        all.push(NewRecord {
            registry: reg.into(),
            record_type: rt.into(),
            key: format!("odd-{i}"),
            data: v,
        });
    }
    let data: Vec<(&'static str, Vec<(String, Value)>)> = ["crvs", "social"]
        .into_iter()
        .map(|reg| {
            let recs = all
                .iter()
                .filter(|r| r.registry == reg)
                .map(|r| (r.record_type.clone(), r.data.clone()))
                .collect();
            (reg, recs)
        })
        .collect();
    backends(tag)
        .into_iter()
        .map(|backend| {
            backend.store().upsert_records(&all).unwrap();
            Fixture {
                backend,
                data: data.clone(),
            }
        })
        .collect()
}

/// What the core computes: the matching records in id order, sorted, paged, and the count.
fn reference(
    records: &[(String, Value)],
    record_type: Option<&str>,
    q: &Query,
    keys: &[SortKey],
    offset: usize,
    limit: usize,
) -> (Vec<Value>, usize) {
    let mut found: Vec<Value> = records
        .iter()
        .filter(|(t, _)| record_type.is_none_or(|rt| rt == t))
        .filter(|(_, r)| q.matches(r).unwrap())
        .map(|(_, r)| r.clone())
        .collect();
    sort_by_keys(&mut found, keys);
    let total = found.len();
    (found.into_iter().skip(offset).take(limit).collect(), total)
}

#[test]
fn search_equals_the_core_evaluator_on_each_backend() {
    for fx in fixtures("differential") {
        differential(&fx);
    }
}

fn differential(fx: &Fixture) {
    let name = fx.backend.name();
    let mut nonempty = 0;
    let mut exact = 0;
    let queries = 3000;
    let pools: Vec<Vec<Vec<Value>>> = fx
        .data
        .iter()
        .map(|(registry, records)| {
            let plain: Vec<Value> = records.iter().map(|(_, r)| r.clone()).collect();
            paths(registry)
                .iter()
                .map(|p| value_pool(&plain, p))
                .collect()
        })
        .collect();
    let path_lists: Vec<Vec<&str>> = fx.data.iter().map(|(r, _)| paths(r)).collect();
    for n in 0..queries {
        let (registry, records) = &fx.data[n % 2];
        let mut g = Gen {
            rng: Rng::new(0xD1FF_0000 + n as u64),
            paths: &path_lists[n % 2],
            pools: &pools[n % 2],
        };
        let (qt, qv) = g.query();
        let query = Query::parse(qt, &qv).unwrap_or_else(|e| panic!("query {n} {qv}: {e}"));
        let plan = Plan::of(&query).unwrap();
        let keys = g.sort();
        let record_type = match (registry, g.rng.below(3)) {
            (&"social", 0) => Some("Member"),
            (&"social", 1) => Some("Group"),
            _ => None,
        };
        let limit = 1 + g.rng.below(25);
        let offset = limit * g.rng.below(4);
        let sq = SearchQuery {
            registry,
            record_type,
            plan: &plan,
            keys: &keys,
            offset,
            limit,
        };
        let got = fx.store().search(&sq).unwrap();
        let want = reference(records, record_type, &query, &keys, offset, limit);
        assert_eq!(
            got.1, want.1,
            "{name}: total_count of query {n} ({qt} {qv}, sort {keys:?}, type {record_type:?})"
        );
        assert_eq!(
            got.0, want.0,
            "{name}: records of query {n} ({qt} {qv}, sort {keys:?}, offset {offset}, limit {limit})"
        );
        if want.1 > 0 {
            nonempty += 1;
        }
        if fx.backend.explain(&sq).0 {
            exact += 1;
        }
    }
    eprintln!("{name}: {queries} queries: {nonempty} matched something, {exact} compiled exactly");
    // The queries must exercise both answers and both paths (exact SQL and pre-filter).
    assert!(
        nonempty > queries / 3,
        "only {nonempty} queries matched anything"
    );
    assert!(exact > queries / 5, "only {exact} queries compiled exactly");
    assert!(
        exact < queries - queries / 10,
        "{exact} of {queries} exact: the pre-filter path is not exercised"
    );
}

fn plan_of(qt: &str, q: Value) -> Plan {
    Plan::of(&Query::parse(qt, &q).unwrap()).unwrap()
}

/// The first `limit` crvs records of `plan`, unsorted.
fn crvs_page(plan: &Plan, limit: usize) -> SearchQuery<'_> {
    SearchQuery {
        registry: "crvs",
        record_type: None,
        plan,
        keys: &[],
        offset: 0,
        limit,
    }
}

#[test]
fn the_issue_searches_are_exact_and_use_indexes() {
    let date_range = plan_of(
        "predicate",
        json!([{"expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2020-01-01"},
                "condition": "and",
                "expression2": {"attribute_name": "birth_date", "operator": "lt", "attribute_value": "2020-02-01"}}]),
    );
    let sex_region = plan_of(
        "expression",
        json!({"type": "ns:org:QueryType:expression", "value": {"expression": {"query":
            {"$and": [{"sex": {"$eq": "female"}}, {"address.region_code": {"$eq": "northern_region"}}]}}}}),
    );
    let name_eq = plan_of(
        "predicate",
        json!([{"expression1": {"attribute_name": "name.given_name", "operator": "eq", "attribute_value": "Musa"}}]),
    );
    for fx in fixtures("issue_searches") {
        let name = fx.backend.name();
        for (plan, index) in [
            (&date_range, "attrs_date"),
            (&sex_region, "attrs_text"),
            (&name_eq, "attrs_text"),
        ] {
            let q = crvs_page(plan, 10);
            let (exact, lines) = fx.backend.explain(&q);
            assert!(exact, "{name}: {plan:?}");
            if name == "postgres" {
                // PostgreSQL's planner picks its own path by table statistics (a few hundred
                // rows here: scans are right); BENCHMARKS.md has its plans at 1M records.
                continue;
            }
            assert!(
                lines.iter().any(|l| l.contains(index)),
                "{plan:?} does not use {index}: {lines:?}"
            );
            // The driver's rows lead to the records by id; the registry is never scanned.
            assert!(
                lines[0].contains("USING INTEGER PRIMARY KEY (rowid=?)"),
                "{plan:?} does not follow the index: {lines:?}"
            );
            assert!(
                !lines
                    .iter()
                    .any(|l| l.starts_with("SCAN") || l.contains("records_registry_type")),
                "{plan:?} scans the records: {lines:?}"
            );
        }
        // An attribute outside the index is answered by the evaluator over a pre-filter.
        let unindexed = plan_of("expression", json!({"marital_status": "married"}));
        let q = crvs_page(&unindexed, 10);
        assert!(!fx.backend.explain(&q).0, "{name}");
        let (page, total) = fx.store().search(&q).unwrap();
        assert!(total > 10, "{name}: {total}");
        assert_eq!(page.len(), 10, "{name}");
        assert!(page.iter().all(|r| r["marital_status"] == "married"));
    }
}

/// Records keep their text as imported: key order and all (JSONB alone would reorder keys).
#[test]
fn records_come_back_as_imported() {
    let text = r#"{"zeta":1,"alpha":{"y":2,"b":[3,{"k":"v","a":null}]},"name":{"given_name":"Musa"},"num":1.50}"#;
    let data: Value = serde_json::from_str(text).unwrap();
    for b in backends("as_imported") {
        let store = b.store();
        let ids = store
            .upsert_records(&[NewRecord {
                registry: "crvs".into(),
                record_type: "Person".into(),
                key: "k1".into(),
                data: data.clone(),
            }])
            .unwrap();
        let rec = store.record_by_id(ids[0]).unwrap().unwrap();
        assert_eq!(
            rec.data,
            serde_json::to_string(&data).unwrap(),
            "{}",
            b.name()
        );
        let plan = plan_of("expression", json!({"name.given_name": "Musa"}));
        let (page, total) = store.search(&crvs_page(&plan, 10)).unwrap();
        assert_eq!(total, 1, "{}", b.name());
        assert_eq!(
            serde_json::to_string(&page[0]).unwrap(),
            serde_json::to_string(&data).unwrap(),
            "{}: key order kept",
            b.name()
        );
    }
}

#[test]
fn an_old_database_gets_its_indexes_at_open_and_extra_ones_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let store = SqliteStore::open(&path, 1).unwrap();
        let mut all = Vec::new();
        dci_server::demo::generate(50, &["crvs"], |batch, _| all.extend(batch));
        store.upsert_records(&all).unwrap();
    }
    // What a database made before attribute indexes looks like.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DELETE FROM attrs; DELETE FROM meta WHERE key = 'attr_indexes';")
            .unwrap();
    }
    let count = |sql: &str| -> i64 {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    let store = SqliteStore::open_with(&path, 1, &["crvs:marital_status".to_string()]).unwrap();
    assert_eq!(
        count("SELECT count(*) FROM attrs WHERE path = 'birth_date'"),
        50
    );
    assert_eq!(
        count("SELECT count(*) FROM attrs WHERE path = 'marital_status'"),
        50
    );
    let plan = plan_of("expression", json!({"marital_status": "married"}));
    let q = crvs_page(&plan, 100);
    assert!(
        store.explain(&q).unwrap().0,
        "marital_status is indexed now"
    );
    let (page, total) = store.search(&q).unwrap();
    assert_eq!(page.len(), total);
    assert!(total > 0 && page.iter().all(|r| r["marital_status"] == "married"));
    drop(store);
    // Reopened without the flag, the added index is kept (and maintained on writes).
    let store = SqliteStore::open(&path, 1).unwrap();
    assert!(store.explain(&q).unwrap().0);
    let rows_before = count("SELECT count(*) FROM attrs");
    let store2 = SqliteStore::open(&path, 1).unwrap();
    drop(store2);
    assert_eq!(
        count("SELECT count(*) FROM attrs"),
        rows_before,
        "open is idempotent"
    );
    let e = SqliteStore::open_with(&path, 1, &["crvs:".to_string()])
        .err()
        .unwrap();
    assert!(e.to_string().contains("--index \"crvs:\""), "{e}");
}

/// The PostgreSQL half of the test above: indexes missing from a database are filled in at
/// open, `--index` adds one, and an added index is kept by later opens.
#[test]
fn postgres_gets_missing_indexes_at_open_and_extra_ones_on_request() {
    let Some(url) = testing::fresh_database("old_db") else {
        return;
    };
    {
        let store = PgStore::open(&url, 1, 1, &[]).unwrap();
        let mut all = Vec::new();
        dci_server::demo::generate(50, &["crvs"], |batch, _| all.extend(batch));
        store.upsert_records(&all).unwrap();
    }
    testing::batch(
        &url,
        "DELETE FROM attrs; DELETE FROM meta WHERE key = 'attr_indexes';",
    );
    let count = |sql: &str| testing::query_i64(&url, sql);
    let store = PgStore::open(&url, 1, 1, &["crvs:marital_status".to_string()]).unwrap();
    assert_eq!(
        count("SELECT count(*) FROM attrs WHERE path = 'birth_date'"),
        50
    );
    assert_eq!(
        count("SELECT count(*) FROM attrs WHERE path = 'marital_status'"),
        50
    );
    let plan = plan_of("expression", json!({"marital_status": "married"}));
    let q = crvs_page(&plan, 100);
    assert!(
        store.explain(&q).unwrap().0,
        "marital_status is indexed now"
    );
    let (page, total) = store.search(&q).unwrap();
    assert_eq!(page.len(), total);
    assert!(total > 0 && page.iter().all(|r| r["marital_status"] == "married"));
    drop(store);
    let store = PgStore::open(&url, 1, 1, &[]).unwrap();
    assert!(store.explain(&q).unwrap().0, "kept without the flag");
    let rows_before = count("SELECT count(*) FROM attrs");
    drop(PgStore::open(&url, 1, 1, &[]).unwrap());
    assert_eq!(
        count("SELECT count(*) FROM attrs"),
        rows_before,
        "open is idempotent"
    );
    assert_eq!(
        count("SELECT max(version)::bigint FROM schema_version"),
        1,
        "migrations recorded once"
    );
    let e = PgStore::open(&url, 1, 1, &["crvs:".to_string()])
        .err()
        .unwrap();
    assert!(e.to_string().contains("--index \"crvs:\""), "{e}");
}

#[test]
fn a_search_over_the_time_limit_is_stopped_and_named() {
    let mut all = Vec::new();
    // Enough that reading every record takes far longer than 1 ms on either backend.
    dci_server::demo::generate(3000, &["crvs"], |batch, _| all.extend(batch));
    for b in backends("time_limit") {
        b.store().upsert_records(&all).unwrap();
        time_limit(&b);
    }
}

fn time_limit(b: &Backend) {
    let store = b.store();
    // Unindexed: every record is read and evaluated, far longer than 1 ms.
    let plan = plan_of(
        "expression",
        json!({"birth_place.name": {"$startsWith": "Z"}}),
    );
    let q = crvs_page(&plan, 10);
    b.set_query_timeout_ms(1);
    let e = store.search(&q).unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(
        e.to_string(),
        "storage: query time limit (1 ms, --query-timeout-ms) exceeded"
    );
    // Through the search endpoint's handler: the item is rejected naming the limit.
    let req: dci::model::SearchRequest = serde_json::from_value(json!({
        "transaction_id": "t", "search_request": [{
            "reference_id": "r", "timestamp": "2025-01-01T00:00:00Z",
            "search_criteria": {"query_type": "expression",
                "query": {"type": "ns:org:QueryType:expression",
                          "value": {"expression": {"birth_place.name": {"$startsWith": "Z"}}}}}}]}))
    .unwrap();
    let sender = dci_server::demo::demo_sender(json!({"keys": []}));
    let (resp, ok) = dci_server::search::search(store, "crvs", &sender, &req, "c", LIMITS);
    assert_eq!(ok, 0);
    let item = &resp.search_response[0];
    assert_eq!(
        item.status_reason_code.as_ref().map(|c| c.as_str()),
        Some("rjct.search.too_many_records_found")
    );
    assert!(
        item.status_reason_message
            .as_deref()
            .unwrap()
            .contains("--query-timeout-ms"),
        "{item:?}"
    );
    // Without the limit the same search completes, and the next one is not interrupted late.
    b.set_query_timeout_ms(0);
    assert_eq!(store.search(&q).unwrap().1, 0);
    b.set_query_timeout_ms(60_000);
    let (page, total) = store.search(&q).unwrap();
    assert_eq!((page.len(), total), (0, 0));
}
