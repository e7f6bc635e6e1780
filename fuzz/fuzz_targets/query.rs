//! Queries: `Query::parse` -> `Plan::of` -> evaluation against the fixed records of
//! tests/fixtures/query/records.json, and the same plan compiled to SQL by the server's SQLite
//! store. Invariants: the plan answers as `Query::matches` does (its documented definition),
//! `to_wire` parses back to the same query, and the SQL search selects exactly the records
//! the evaluator matches (docs/server.md, "Query compilation").
//!
//! Input: JSON `{"query_type": .., "query": .., "sort": ..}`; any other JSON is tried as the
//! `query` of every query type.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use dci::query::{parse_sort, Plan, Query};
use dci_server::store::{NewRecord, SearchQuery, SqliteStore, Store};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const TYPES: [&str; 4] = ["idtype-value", "predicate", "expression", "graphql"];

/// The fixed records in a SQLite store under `crvs`, indexed by the default paths.
fn store() -> &'static SqliteStore {
    static STORE: OnceLock<(tempfile::TempDir, SqliteStore)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temp dir");
            let store = SqliteStore::open(&dir.path().join("fuzz.db"), 1).expect("store opens");
            let records: Vec<NewRecord> = fuzz_support::records()
                .iter()
                .enumerate()
                .map(|(i, r)| NewRecord {
                    registry: "crvs".into(),
                    record_type: "Person".into(),
                    key: format!("k{i}"),
                    data: r.clone(),
                })
                .collect();
            store.upsert_records(&records).expect("records insert");
            store.set_query_timeout_ms(2_000);
            (dir, store)
        })
        .1
}

fn ids(records: &[Value]) -> BTreeSet<String> {
    records.iter().map(|r| r["id"].to_string()).collect()
}

fn check(query_type: &str, query: &Value, sort: &Value) {
    let Ok(q) = Query::parse(query_type, query) else {
        return;
    };
    let (wire_type, wire) = q.to_wire();
    let back = Query::parse(wire_type, &wire)
        .unwrap_or_else(|e| panic!("to_wire {wire_type} {wire} does not parse back: {e}"));
    assert_eq!(back, q, "to_wire does not round-trip");
    let Ok(plan) = Plan::of(&q) else {
        return;
    };
    let mut matched = Vec::new();
    for record in fuzz_support::records() {
        let by_query = q.matches(record).expect("a planned query evaluates");
        assert_eq!(
            plan.matches(record),
            by_query,
            "plan and query disagree on {record}"
        );
        assert_eq!(
            dci::query::matches(record, query_type, query).ok(),
            Some(by_query)
        );
        if by_query {
            matched.push(record.clone());
        }
    }
    let keys = parse_sort(sort).unwrap_or_default();
    let sq = SearchQuery {
        registry: "crvs",
        record_type: None,
        plan: &plan,
        keys: &keys,
        offset: 0,
        limit: 1000,
    };
    let _ = store().explain(&sq);
    match store().search(&sq) {
        Ok((found, total)) => {
            assert_eq!(
                ids(&found),
                ids(&matched),
                "SQL and evaluator select differently"
            );
            assert_eq!(total, matched.len(), "SQL count differs");
        }
        Err(e) if e.is_timeout() => {}
        Err(e) => panic!("the SQL search of a valid plan failed: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let null = Value::Null;
    match (
        input.get("query_type").and_then(Value::as_str),
        input.get("query"),
    ) {
        (Some(qt), Some(q)) => check(qt, q, input.get("sort").unwrap_or(&null)),
        _ => {
            for qt in TYPES {
                check(qt, &input, &null);
            }
        }
    }
});
