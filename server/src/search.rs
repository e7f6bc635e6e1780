//! Read operations over the records: search (idtype-value, predicate, expression), IBR
//! enrolled, DR disabled / disability support / disability details. Queries, comparison and
//! sort are the core's (`dci::query`); an idtype-value query is an index probe.

use dci::model::{
    DisabledRequest, DisabledResponse, DisabledResponseItem, EnrolledRequest, EnrolledResponse,
    EnrolledResponseItem, Extra, GetDisabilitySupportRequest, ReasonCode, RequestStatus,
    SearchRequest, SearchRequestItem, SearchResponse, SearchResponseItem, YesNo,
};
use dci::query::{
    keys_of, sort_by_keys, Expression, ExpressionBody, FieldOp, Filter, Plan, Query, SortKey,
};
use serde_json::{Map, Value};

use super::store::{SearchQuery, Sender, Store, QUERY_TIMEOUT};
use dci::registry::answer::now_ts;
pub use dci::registry::answer::{answered, item, page, rejected};
use dci::registry::share;

pub use dci::registry::op::{pick_record_type, record_types, reg_type};

/// An identifier value as the index keeps it: a string as it is, anything else as its JSON.
pub fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parsed(data: &str) -> Option<Value> {
    serde_json::from_str(data).ok()
}

/// The records of `registry` with the identifier `(id_type, id_value)`, at most `limit`.
fn by_identifier(
    store: &dyn Store,
    registry: &str,
    id_type: &str,
    id_value: &str,
    limit: usize,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for id in store
        .ids_by_identifier(registry, id_type, id_value)
        .map_err(|e| e.to_string())?
    {
        if out.len() >= limit {
            break;
        }
        if let Some(v) = store
            .record_by_id(id)
            .map_err(|e| e.to_string())?
            .and_then(|r| parsed(&r.data))
        {
            out.push(v);
        }
    }
    Ok(out)
}

/// The first record of `registry` with an identifier.
pub fn first_record(
    store: &dyn Store,
    registry: &str,
    id_type: &str,
    id_value: &str,
) -> Result<Option<Value>, String> {
    Ok(by_identifier(store, registry, id_type, id_value, 1)?.pop())
}

/// Records of `registry` (one record type, or all) that `query` matches, sorted by `keys`,
/// `limit` of them from `offset`, and how many match in all. An idtype-value query is an
/// identifier index probe; the others are compiled to the database ([`Store::search`]).
fn find(
    store: &dyn Store,
    registry: &str,
    record_type: Option<&str>,
    query: &Query,
    keys: &[SortKey],
    (offset, limit): (usize, usize),
) -> Result<(Vec<Value>, usize), String> {
    if let Some((t, v)) = query.idtype_lookup() {
        let found = store
            .records_by_identifier(registry, t, &id_string(v))
            .map_err(|e| e.to_string())?;
        let mut found: Vec<Value> = found
            .into_iter()
            .filter(|r| record_type.is_none_or(|t| t == r.record_type))
            .filter_map(|r| parsed(&r.data))
            .collect();
        sort_by_keys(&mut found, keys);
        let total = found.len();
        let page = found.into_iter().skip(offset).take(limit).collect();
        return Ok((page, total));
    }
    let plan = Plan::of(query).map_err(|e| e.to_string())?;
    store
        .search(&SearchQuery {
            registry,
            record_type,
            plan: &plan,
            keys,
            offset,
            limit,
        })
        .map_err(|e| e.to_string())
}

/// The work one search response may take (`dci serve --max-page-size`,
/// `--max-response-records`, `--max-response-bytes`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_page_size: usize,
    pub max_records: usize,
    pub max_bytes: usize,
    /// The time all items of one request may take (ms, `--query-timeout-ms`; 0: none): an item
    /// not started by then is rejected without running.
    pub max_ms: u64,
}

impl Limits {
    pub fn of(c: &super::config::ServeConfig) -> Self {
        Limits {
            max_page_size: c.max_page_size,
            max_records: c.max_response_records,
            max_bytes: c.max_response_bytes,
            max_ms: c.query_timeout_ms,
        }
    }
}

/// What is left of a response's [`Limits`] as its items are answered in order.
struct Budget {
    limits: Limits,
    records: usize,
    bytes: usize,
    deadline: Option<std::time::Instant>,
}

impl Budget {
    fn new(limits: Limits) -> Self {
        let ms = std::time::Duration::from_millis(limits.max_ms);
        Budget {
            limits,
            records: limits.max_records,
            bytes: limits.max_bytes,
            deadline: (limits.max_ms > 0).then(|| std::time::Instant::now() + ms),
        }
    }

    /// Why the next item cannot be run at all: no record or time left for it.
    fn spent(&self) -> Option<String> {
        if self.records == 0 || self.bytes == 0 {
            return Some(format!(
                "response: the response's limit of {} records or {} bytes (max_response_records, max_response_bytes) is used up by the items before this one; ask for fewer items or a smaller page_size",
                self.limits.max_records, self.limits.max_bytes
            ));
        }
        if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Some(format!(
                "response: the request's search time limit ({} ms, query_timeout_ms) is used up by the items before this one; ask for fewer items",
                self.limits.max_ms
            ));
        }
        None
    }

    /// Takes `records` out of the budget, or says which limit they would pass.
    fn take(&mut self, records: &[Value]) -> Result<(), String> {
        if records.len() > self.records {
            return Err(format!(
                "response: this item's records would bring the response over its limit of {} records (max_response_records; {} left for this item); ask for fewer items or a smaller page_size",
                self.limits.max_records, self.records
            ));
        }
        let bytes: usize = records.iter().map(json_len).sum();
        if bytes > self.bytes {
            return Err(format!(
                "response: this item's records ({bytes} bytes) would bring the response over its limit of {} bytes (max_response_bytes); ask for fewer items or a smaller page_size",
                self.limits.max_bytes
            ));
        }
        self.records -= records.len();
        self.bytes -= bytes;
        Ok(())
    }
}

/// The length of a value's JSON text, without building it.
fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    let _ = serde_json::to_writer(&mut n, v);
    n.0
}

/// Answers one search item.
fn search_item(
    store: &dyn Store,
    registry: &str,
    sender: &Sender,
    it: &SearchRequestItem,
    budget: &mut Budget,
) -> SearchResponseItem {
    let c = &it.search_criteria;
    let criteria_invalid =
        |m: &str| rejected(&it.reference_id, ReasonCode::SearchCriteriaInvalid, m);
    if let Some(refused) = dci::registry::host::consent_refusal(sender, it) {
        return refused;
    }
    let query = match Query::parse(c.query_type.as_str(), &c.query) {
        Ok(q) => q,
        Err(e) => return criteria_invalid(&e.to_string()),
    };
    if let Query::Expression(Expression {
        body: ExpressionBody::Raw(_),
        type_uri,
        ..
    }) = &query
    {
        return criteria_invalid(&format!(
            "query: the {type_uri:?} grammar is not supported by this registry"
        ));
    }
    let keys = match keys_of(c.sort.as_deref().unwrap_or_default()) {
        Ok(k) => k,
        Err(e) => return rejected(&it.reference_id, ReasonCode::SortInvalid, &e.to_string()),
    };
    let record_type = pick_record_type(registry, c.reg_record_type.as_deref());
    if let Some(why) = budget.spent() {
        return rejected(
            &it.reference_id,
            ReasonCode::SearchTooManyRecordsFound,
            &why,
        );
    }
    let (page_size, page_number) = page(it);
    let max_page_size = budget.limits.max_page_size;
    if page_size > max_page_size {
        return rejected(
            &it.reference_id,
            ReasonCode::PaginationInvalid,
            &format!("search_criteria.pagination.page_size {page_size} is over this registry's limit of {max_page_size} (max_page_size)"),
        );
    }
    // One record more than the budget holds is enough to know the item does not fit.
    let fetch = page_size.min(budget.records.saturating_add(1));
    let window = ((page_number - 1).saturating_mul(page_size), fetch);
    let (found, total) = match find(store, registry, record_type, &query, &keys, window) {
        Ok(f) => f,
        // The spec has no timeout code for an item; a search this costly reads too many records.
        Err(e) if e.starts_with(&format!("storage: {QUERY_TIMEOUT}")) => {
            return rejected(
                &it.reference_id,
                ReasonCode::SearchTooManyRecordsFound,
                &format!("search_criteria: {e}: narrow the query or search indexed attributes"),
            )
        }
        Err(e) => return criteria_invalid(&e),
    };
    let records: Vec<Value> = found.into_iter().map(|v| share(sender, v)).collect();
    if let Err(why) = budget.take(&records) {
        return rejected(
            &it.reference_id,
            ReasonCode::SearchTooManyRecordsFound,
            &why,
        );
    }
    dci::registry::host::paged_item(it, registry, records, (page_size, page_number), total)
}

/// Answers a SearchRequest; returns the SearchResponse and how many items succeeded.
pub fn search(
    store: &dyn Store,
    registry: &str,
    sender: &Sender,
    req: &SearchRequest,
    correlation_id: &str,
    limits: Limits,
) -> (SearchResponse, usize) {
    let mut budget = Budget::new(limits);
    let items: Vec<SearchResponseItem> = req
        .search_request
        .iter()
        .map(|it| search_item(store, registry, sender, it, &mut budget))
        .collect();
    let ok = items
        .iter()
        .filter(|i| i.status == RequestStatus::Success)
        .count();
    (
        SearchResponse {
            transaction_id: req.transaction_id.clone(),
            correlation_id: correlation_id.to_string(),
            search_response: items,
            extra: Map::new(),
        },
        ok,
    )
}

/// Whether every item of a search is an identifier lookup without sort (answered inline,
/// without a thread hop).
pub fn is_lookup(req: &SearchRequest) -> bool {
    req.search_request.iter().all(|it| {
        it.search_criteria.query_type == dci::model::QueryType::IdtypeValue
            && it.search_criteria.sort.is_none()
    })
}

/// The paths whose identifier objects an IBR/DR `eq` query finds through the index.
const ID_PATHS: [&str; 5] = [
    "identifier",
    "person_identifier",
    "member_identifier",
    "member.member_identifier",
    "beneficiary_identifier",
];

/// The identifier types the index is probed with for an `eq` on an identifier path.
const PROBED_TYPES: [&str; 5] = ["UIN", "NationalID", "BRN", "BID", "DID"];

/// An IBR/DR filter in which an identifier object at a path also compares by its
/// `identifier_value` (`{"person_identifier": {"eq": "123"}}` finds the person whose
/// `person_identifier` is `{identifier_type, identifier_value: "123"}`).
fn by_identifier_value(f: Filter) -> Filter {
    let each = |fs: Vec<Filter>| fs.into_iter().map(by_identifier_value).collect();
    match f {
        Filter::And(fs) => Filter::And(each(fs)),
        Filter::Or(fs) => Filter::Or(each(fs)),
        Filter::Nor(fs) => Filter::Nor(each(fs)),
        Filter::Not(f) => Filter::Not(Box::new(by_identifier_value(*f))),
        Filter::Field { path, ops } => {
            Filter::And(ops.into_iter().map(|op| field_op(&path, op)).collect())
        }
    }
}

fn field_op(path: &str, op: FieldOp) -> Filter {
    let positive = |op: FieldOp| {
        Filter::or([
            Filter::Field {
                path: path.to_string(),
                ops: vec![op.clone()],
            },
            Filter::Field {
                path: format!("{path}.identifier_value"),
                ops: vec![op],
            },
        ])
    };
    match op {
        FieldOp::Ne(v) => Filter::negate(positive(FieldOp::Eq(v))),
        FieldOp::Nin(l) => Filter::negate(positive(FieldOp::In(l))),
        FieldOp::Not(ops) => Filter::negate(Filter::And(
            ops.into_iter().map(|o| field_op(path, o)).collect(),
        )),
        FieldOp::Exists(b) => Filter::Field {
            path: path.to_string(),
            ops: vec![FieldOp::Exists(b)],
        },
        other => positive(other),
    }
}

/// The records of `registry` for an enrolled/disabled criteria, at most `limit`: `query_type`
/// `idtype-value` is an identifier lookup; otherwise the query is read as `dci::query` reads
/// it (`expression` by default, whose bare form is the spec's `{path: {op: value}}`), and an
/// `eq` on an identifier path alone is an index probe.
fn criteria_find(
    store: &dyn Store,
    registry: &str,
    query_type: Option<&dci::model::QueryType>,
    query: Option<&Value>,
    limit: usize,
) -> Result<Vec<Value>, dci::Error> {
    let storage = |e: String| dci::Error::Internal(e);
    let query = query.cloned().unwrap_or(Value::Null);
    let parsed = Query::parse(query_type.map_or("expression", |q| q.as_str()), &query)?;
    if let Some((path, Value::String(v))) = single_eq(&parsed) {
        if ID_PATHS.contains(&path) {
            let mut out = Vec::new();
            for t in PROBED_TYPES {
                out.extend(by_identifier(store, registry, t, v, limit).map_err(storage)?);
            }
            out.truncate(limit);
            return Ok(out);
        }
    }
    let parsed = match parsed {
        Query::Expression(Expression {
            body: ExpressionBody::Filter { filter, collection },
            type_uri,
            query_type,
        }) => Query::Expression(Expression {
            body: ExpressionBody::Filter {
                filter: by_identifier_value(filter),
                collection,
            },
            type_uri,
            query_type,
        }),
        other => other,
    };
    find(store, registry, None, &parsed, &[], (0, limit))
        .map(|(records, _)| records)
        .map_err(storage)
}

/// The path and value of a filter that is one `eq` on one path.
fn single_eq(q: &Query) -> Option<(&str, &Value)> {
    match q {
        Query::Expression(Expression {
            body:
                ExpressionBody::Filter {
                    filter: Filter::Field { path, ops },
                    ..
                },
            ..
        }) => match ops.as_slice() {
            [FieldOp::Eq(v)] => Some((path.as_str(), v)),
            _ => None,
        },
        _ => None,
    }
}

fn reference_of(extra: &Extra, correlation_id: &str) -> String {
    extra
        .get("reference_id")
        .and_then(Value::as_str)
        .unwrap_or(correlation_id)
        .to_string()
}

/// A sync endpoint answering one yes/no item (IBR enrolled, DR disabled): the same shape, with
/// the names of each spec (`enrolled_response[].enrolled_status`,
/// `disabled_response[].disabled_status`).
macro_rules! yes_no_endpoint {
    ($(#[$doc:meta])* $name:ident($registry:literal, $req:ident . $criteria:ident) -> $resp:ident { $list:ident: $item:ident { $field:ident } }) => {
        $(#[$doc])*
        pub fn $name(
            store: &dyn Store,
            req: &$req,
            correlation_id: &str,
        ) -> Result<$resp, dci::Error> {
            let c = &req.$criteria;
            let found = criteria_find(store, $registry, c.query_type.as_ref(), c.query.as_ref(), 1)?;
            Ok($resp {
                transaction_id: req.transaction_id.clone(),
                correlation_id: correlation_id.to_string(),
                $list: vec![$item {
                    reference_id: reference_of(&c.extra, correlation_id),
                    timestamp: now_ts(),
                    status: RequestStatus::Success,
                    status_reason_message: None,
                    $field: if found.is_empty() { YesNo::No } else { YesNo::Yes },
                    extra: Map::new(),
                }],
                extra: Map::new(),
            })
        }
    };
}

yes_no_endpoint! {
    /// IBR /registry/sync/enrolled: `enrolled_status` yes/no.
    enrolled("ibr", EnrolledRequest.enrolled_criteria)
        -> EnrolledResponse { enrolled_response: EnrolledResponseItem { enrolled_status } }
}

yes_no_endpoint! {
    /// DR /registry/sync/disabled: `disabled_status` yes/no.
    disabled("dr", DisabledRequest.disabled_criteria)
        -> DisabledResponse { disabled_response: DisabledResponseItem { disabled_status } }
}

/// DR get-disability-support / get-disability-details: the matching records' support or
/// details part (`disability_support` / `disability_info` and the Washington Group scores).
pub fn disability_part(
    store: &dyn Store,
    sender: &Sender,
    req: &GetDisabilitySupportRequest,
    correlation_id: &str,
    details: bool,
) -> Result<SearchResponse, dci::Error> {
    let c = &req.disabled_criteria;
    let keys: &[&str] = if details {
        &[
            "disability_status",
            "disability_level",
            "disability_info",
            "washington_group",
            "disability_details",
        ]
    } else {
        &["disability_support", "programs_enrollments"]
    };
    let found = criteria_find(store, "dr", c.query_type.as_ref(), c.query.as_ref(), 100)?;
    let records: Vec<Value> = found
        .into_iter()
        .map(|r| share(sender, r))
        .map(|r| {
            let o: Map<String, Value> = ["@type", "identifier", "name"]
                .iter()
                .chain(keys)
                .filter_map(|k| r.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect();
            Value::Object(o)
        })
        .collect();
    let reference_id = reference_of(&c.extra, correlation_id);
    Ok(SearchResponse {
        transaction_id: req.transaction_id.clone(),
        correlation_id: correlation_id.to_string(),
        search_response: vec![answered(
            &reference_id,
            reg_type("dr").into(),
            None,
            records,
        )],
        extra: Map::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewRecord, SqliteStore};
    use serde_json::json;

    fn store_with(
        registry: &str,
        record_type: &str,
        records: &[Value],
    ) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), 1).unwrap();
        let recs: Vec<NewRecord> = records
            .iter()
            .enumerate()
            .map(|(i, r)| NewRecord {
                registry: registry.into(),
                record_type: record_type.into(),
                key: format!("k{i}"),
                data: r.clone(),
            })
            .collect();
        store.upsert_records(&recs).unwrap();
        (dir, store)
    }

    const LIMITS: Limits = Limits {
        max_page_size: 100,
        max_records: 10_000,
        max_bytes: 1 << 24,
        max_ms: 0,
    };

    fn sender() -> Sender {
        crate::demo::demo_sender(json!({"keys": []}))
    }

    /// The `id`s of the records a sorted expression search answers, in order.
    fn sorted_ids(store: &SqliteStore, sort: Value) -> Vec<String> {
        let req: SearchRequest =
            serde_json::from_value(json!({"transaction_id": "t", "search_request": [{
            "reference_id": "r", "timestamp": "2025-01-01T00:00:00Z",
            "search_criteria": {"query_type": "expression", "sort": sort,
                "query": {"type": "ns:org:QueryType:expression", "value": {"expression": {}}}}}]}))
            .unwrap();
        let (resp, ok) = search(store, "crvs", &sender(), &req, "c", LIMITS);
        assert_eq!(ok, 1, "{resp:?}");
        let data = resp.search_response[0].data.as_ref().unwrap();
        data.records()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn sorts_date_times_by_instant_not_by_text() {
        // "2020-01-01T23:00:00-05:00" is 2020-01-02T04:00Z, after "2020-01-02T01:00:00+00:00"
        // although it sorts first as text.
        let (_d, store) = store_with(
            "crvs",
            "Person",
            &[
                json!({"id": "a", "registration_date": "2020-01-01T23:00:00-05:00"}),
                json!({"id": "b", "registration_date": "2020-01-02T01:00:00+00:00"}),
                json!({"id": "c", "registration_date": "2020-01-01"}),
            ],
        );
        let asc = json!([{"attribute_name": "registration_date", "sort_order": "asc"}]);
        assert_eq!(sorted_ids(&store, asc), ["c", "b", "a"]);
        let desc = json!([{"attribute_name": "registration_date", "sort_order": "desc"}]);
        assert_eq!(sorted_ids(&store, desc), ["a", "b", "c"]);
    }

    #[test]
    fn sorts_numeric_strings_by_number_as_dci_query_does() {
        let records = [
            json!({"id": "nine", "poverty_score": "9"}),
            json!({"id": "ten", "poverty_score": "10"}),
            json!({"id": "two-and-a-half", "poverty_score": 2.5}),
            json!({"id": "none"}),
        ];
        let (_d, store) = store_with("crvs", "Person", &records);
        let sort = json!([{"attribute_name": "poverty_score"}]);
        let got = sorted_ids(&store, sort.clone());
        assert_eq!(got, ["two-and-a-half", "nine", "ten", "none"]);
        // The same order as the core's own sort.
        let mut core = records.to_vec();
        dci::query::sort_records(&mut core, &sort).unwrap();
        let core: Vec<&str> = core.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(got, core);
    }

    #[test]
    fn a_bad_sort_rejects_the_item_once() {
        let (_d, store) = store_with("crvs", "Person", &[json!({"id": "a"})]);
        let req: SearchRequest = serde_json::from_value(json!({"transaction_id": "t", "search_request": [{
            "reference_id": "r", "timestamp": "2025-01-01T00:00:00Z",
            "search_criteria": {"query_type": "idtype-value", "query": {"type": "UIN", "value": "1"},
                "sort": [{"sort_order": "asc"}, {"attribute_name": "x", "sort_order": "up"}]}}]}))
        .unwrap();
        let (resp, ok) = search(&store, "crvs", &sender(), &req, "c", LIMITS);
        assert_eq!(ok, 0);
        assert_eq!(resp.search_response.len(), 1);
        let item = &resp.search_response[0];
        assert_eq!(item.status_reason_code, Some(ReasonCode::SortInvalid));
        assert_eq!(
            item.status_reason_message.as_deref(),
            Some("query error: sort[0].attribute_name: required")
        );
    }

    #[test]
    fn ibr_dr_queries_compare_identifier_objects_by_value() {
        let (_d, store) = store_with(
            "dr",
            "DisabledPerson",
            &[
                json!({"id": "p1", "person_identifier": {"identifier_type": "UIN", "identifier_value": "A1"}, "age": 30}),
                json!({"id": "p2", "person_identifier": {"identifier_type": "UIN", "identifier_value": "B2"}, "age": 40}),
            ],
        );
        let ids = |q: Value| -> Vec<String> {
            criteria_find(&store, "dr", None, Some(&q), 10)
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids(json!({"person_identifier": {"in": ["A1", "C3"]}})),
            ["p1"]
        );
        assert_eq!(ids(json!({"person_identifier": {"ne": "A1"}})), ["p2"]);
        assert_eq!(ids(json!({"age": {"ge": 30, "lt": 40}})), ["p1"]);
        assert_eq!(
            ids(json!({"age": {"le": 40}, "person_identifier": {"nin": ["A1"]}})),
            ["p2"]
        );
        let e =
            criteria_find(&store, "dr", None, Some(&json!({"age": {"$like": 3}})), 10).unwrap_err();
        assert!(e.to_string().contains("unknown operator"), "{e}");
    }

    #[test]
    fn items_after_the_request_time_limit_are_not_run() {
        let mut b = Budget::new(Limits {
            max_ms: 1,
            ..LIMITS
        });
        std::thread::sleep(std::time::Duration::from_millis(3));
        assert_eq!(
            b.spent().as_deref(),
            Some("response: the request's search time limit (1 ms, query_timeout_ms) is used up by the items before this one; ask for fewer items")
        );
        // Without a time limit only records and bytes count.
        b = Budget::new(LIMITS);
        assert_eq!(b.spent(), None);
        b.take(&[json!({"a": 1})]).unwrap();
        assert_eq!((b.records, b.bytes), (9_999, (1 << 24) - 7));
    }

    #[test]
    fn record_type_names() {
        assert_eq!(
            pick_record_type("crvs", Some("spdci-extensions-dci:Person")),
            Some("Person")
        );
        assert_eq!(pick_record_type("social", Some("member")), Some("Member"));
        assert_eq!(pick_record_type("social", Some("Farm")), None);
    }
}
