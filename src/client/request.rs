//! What a caller asks for (search, subscribe, unsubscribe, txn status) and the typed messages
//! built from it. Each request is first built in the spec's form as a `dci::model` type (field
//! names of latest-bundled `crvs_api_v1.0.0.yaml`: `SearchRequest`, `SubscribeRequest`, ...);
//! the data source's dialect then adapts it in one step ([`Dialect::adapt_search_item`],
//! [`Dialect::adapt_header`]), and it is serialised once.
//!
//! [`SearchSpec`] is the one description of a search that every door converts into: the C ABI
//! deserialises it from `search_json`, Python builds it from its keyword arguments, so the
//! same call sends the same bytes from either.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::datasource::DataSource;
use crate::client::dialect::{self, Dialect};
use crate::error::{Error, Result, Violation};
use crate::model::{
    self, setters, Extra, Frequency, Int, PaginationRequest, SearchCriteria, SearchRequest,
    SearchRequestItem, SortItem, SubscribeCriteria, SubscribeRequest, SubscribeRequestItem,
    TxnAttributeType, TxnStatusRequest, TxnStatusRequestBody, TxnType, UnSubscribeRequest,
};
use crate::query::{Query, QueryType};

/// The spec's query types (`query_type`).
pub const IDTYPE_VALUE: &str = "idtype-value";
pub const EXPRESSION: &str = "expression";
pub const PREDICATE: &str = "predicate";
pub const GRAPHQL: &str = "graphql";

/// What to search for, and how to page through it. Deserialised by the C ABI from
/// `search_json` (`query_type` and `query` required; unknown fields refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    pub query_type: String,
    pub query: Value,
    /// `reg_type`; None = from the data source's registry type (or the dialect's rule).
    #[serde(default)]
    pub reg_type: Option<String>,
    #[serde(default)]
    pub reg_event_type: Option<String>,
    #[serde(default)]
    pub reg_record_type: Option<String>,
    /// 1-based.
    #[serde(default = "first_page")]
    pub page_number: u32,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default)]
    pub sort: Option<Value>,
    #[serde(default)]
    pub consent: Option<Value>,
    #[serde(default)]
    pub authorize: Option<Value>,
    #[serde(default)]
    pub locale: Option<String>,
}

fn first_page() -> u32 {
    1
}
fn default_page_size() -> u32 {
    100
}

impl SearchSpec {
    pub fn new(query_type: impl Into<String>, query: Value) -> Self {
        SearchSpec {
            query_type: query_type.into(),
            query,
            reg_type: None,
            reg_event_type: None,
            reg_record_type: None,
            page_number: first_page(),
            page_size: default_page_size(),
            sort: None,
            consent: None,
            authorize: None,
            locale: None,
        }
    }

    /// From a query built with [`crate::query`] (its wire form).
    pub fn from_query(q: &Query) -> Self {
        let (query_type, query) = q.to_wire();
        Self::new(query_type, query)
    }

    /// From JSON text (the C ABI's `search_json`); the error names `what`.
    pub fn from_json_str(text: &str, what: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Json(format!("{what}: {e}")))
    }

    /// `idtype-value`: `{"type": identifier_type, "value": identifier_value}`.
    pub fn by_id(identifier_type: impl Into<String>, identifier_value: impl Into<String>) -> Self {
        let q = crate::query::IdTypeValue::new(identifier_type, identifier_value.into());
        Self::from_query(&Query::IdTypeValue(q))
    }

    /// `predicate`: a list of `{seq_num, expression1, condition, expression2}` items.
    pub fn predicate(query: Value) -> Self {
        Self::new(PREDICATE, query)
    }

    /// `expression`: as given (an expression object or list).
    pub fn expression(query: Value) -> Self {
        Self::new(EXPRESSION, query)
    }

    /// `attribute >= from AND attribute <= to`, as a spec predicate (dialects with their own
    /// range syntax recognise it: [`SearchSpec::date_range_parts`]).
    pub fn date_range(
        attribute: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
    ) -> Self {
        use crate::query::{ExpPredicate, Operator, Predicate, PredicateList};
        let a = attribute.into();
        let range = Predicate::when(a.clone(), Operator::Ge, from.into()).and(ExpPredicate::new(
            a,
            Operator::Le,
            to.into(),
        ));
        Self::new(PREDICATE, PredicateList::new().with(range).to_value())
    }

    /// A predicate query from OpenSPP's conditions `[{attribute, operator, value}]` (also
    /// `attribute_name` / `attribute_value`), all of which must hold: one predicate item per
    /// condition. Operators are the spec's (`eq gt ge lt le in`) or their symbols (`=`, `==`,
    /// `>`, `>=`, `<`, `<=`); `!=` / `ne` and `not in` are the negation of `eq` / `in`.
    pub fn conditions(conditions: &[Value]) -> Result<Self> {
        use crate::query::{Operator, Predicate, PredicateList};
        let mut list = PredicateList::new();
        let mut violations = Vec::new();
        for (i, c) in conditions.iter().enumerate() {
            let at = |f: &str| format!("conditions[{i}].{f}");
            let get = |a: &str, b: &str| c.get(a).or_else(|| c.get(b));
            let attribute = get("attribute", "attribute_name").and_then(Value::as_str);
            let op = get("operator", "op").and_then(Value::as_str).map(str::trim);
            let value = get("value", "attribute_value");
            let (Some(attribute), Some(op), Some(value)) = (attribute, op, value) else {
                violations.push(Violation::new(
                    at("attribute"),
                    "each condition needs attribute, operator and value",
                ));
                continue;
            };
            let (operator, negate) = match op.to_ascii_lowercase().as_str() {
                "=" | "==" | "eq" => (Operator::Eq, false),
                "!=" | "<>" | "ne" => (Operator::Eq, true),
                ">" | "gt" => (Operator::Gt, false),
                ">=" | "ge" | "gte" => (Operator::Ge, false),
                "<" | "lt" => (Operator::Lt, false),
                "<=" | "le" | "lte" => (Operator::Le, false),
                "in" => (Operator::In, false),
                "not in" | "not_in" => (Operator::In, true),
                other => {
                    violations.push(Violation::new(
                        at("operator"),
                        format!("unknown operator {other:?} (expected =, !=, >, >=, <, <=, in, not in or eq, gt, ge, lt, le)"),
                    ));
                    continue;
                }
            };
            let mut p = Predicate::when(attribute, operator, value.clone()).seq_num(i as i64 + 1);
            if negate {
                p = p.negated();
            }
            list = list.with(p);
        }
        if conditions.is_empty() {
            violations.push(Violation::new("conditions", "at least one condition"));
        }
        if !violations.is_empty() {
            return Err(Error::Validation(violations));
        }
        Ok(Self::new(PREDICATE, list.to_value()))
    }

    pub fn page(mut self, page_number: u32, page_size: u32) -> Self {
        self.page_number = page_number;
        self.page_size = page_size;
        self
    }
    setters! {
        reg_type: String,
        reg_event_type: String,
        reg_record_type: String,
        sort: Value,
        consent: Value,
        authorize: Value,
        locale: String,
    }

    /// For an identifier query: its type and value (dialects with their own lookup syntax
    /// rephrase it).
    pub fn id_lookup(&self) -> Option<(String, Value)> {
        crate::query::idtype_lookup(&self.query_type, &self.query)
    }

    /// For a date range (one predicate `a ge f and a le t`, as [`SearchSpec::date_range`]
    /// builds it): `(attribute, from, to)`.
    pub fn date_range_parts(&self) -> Option<(String, String, String)> {
        let Ok(Query::Predicate(list)) = Query::parse(&self.query_type, &self.query) else {
            return None;
        };
        let [p] = list.items.as_slice() else {
            return None;
        };
        let e2 = p.expression2.as_ref()?;
        let (e1, cond) = (&p.expression1, p.condition?);
        let both = cond.as_str() == "and"
            && e1.attribute_name == e2.attribute_name
            && e1.operator.as_str() == "ge"
            && e2.operator.as_str() == "le";
        match (
            both,
            e1.attribute_value.as_str(),
            e2.attribute_value.as_str(),
        ) {
            (true, Some(f), Some(t)) => {
                Some((e1.attribute_name.clone(), f.to_string(), t.to_string()))
            }
            _ => None,
        }
    }

    /// Checks the spec before anything is sent: pagination, and the grammar of an
    /// identifier or predicate query (expressions are peers' own grammars, sent as given).
    pub(crate) fn check(&self) -> Result<()> {
        let mut v = Vec::new();
        if self.page_number < 1 {
            v.push(Violation::new("pagination.page_number", "at least 1"));
        }
        if self.page_size < 1 {
            v.push(Violation::new("pagination.page_size", "at least 1"));
        }
        if self.query_type.trim().is_empty() {
            v.push(Violation::new("search_criteria.query_type", "required"));
        }
        if self.query.is_null() {
            v.push(Violation::new("search_criteria.query", "required"));
        }
        if !v.is_empty() {
            return Err(Error::Validation(v));
        }
        if matches!(
            self.query_type.parse::<QueryType>(),
            Ok(QueryType::IdTypeValue | QueryType::Predicate)
        ) {
            Query::parse(&self.query_type, &self.query)?;
        }
        Ok(())
    }

    /// One `search_request` item in the spec's form, then adapted to the data source's
    /// dialect.
    pub fn to_item(
        &self,
        ds: &DataSource,
        reference_id: &str,
        ts: &str,
    ) -> Result<SearchRequestItem> {
        let sort: Option<Vec<SortItem>> = typed(
            &self.sort,
            "search_criteria.sort",
            "a list of {attribute_name, sort_order}",
        )?;
        let mut extra = Extra::new();
        if let Some(e) = &self.reg_event_type {
            extra.insert("reg_event_type".into(), Value::String(e.clone()));
        }
        let mut item = SearchRequestItem {
            reference_id: reference_id.to_string(),
            timestamp: ts.to_string(),
            search_criteria: SearchCriteria {
                version: Some(model::SPEC_VERSION.to_string()),
                reg_type: Some(reg_type_or_registrys(&self.reg_type, ds)),
                reg_record_type: self.reg_record_type.clone(),
                query_type: model::QueryType::from_wire(&self.query_type),
                response_entity: None,
                query: self.query.clone(),
                sort,
                pagination: Some(PaginationRequest {
                    page_size: Some(Int(self.page_size.into())),
                    page_number: Some(Int(self.page_number.into())),
                    extra: Extra::new(),
                }),
                consent: self.consent.clone(),
                authorize: self.authorize.clone(),
                extra,
            },
            locale: self.locale.clone().or_else(|| ds.locale.clone()),
            extra: Extra::new(),
        };
        ds.dialect
            .adapt_search_item(&mut item, self, ds.our_callback_uri.as_deref());
        // reg_event_type is the Jan-2025 name of reg_record_type (a dialect may consume it, as
        // opencrvs does); both left for the registry is ambiguous, and a registry refuses it.
        let c = &item.search_criteria;
        if let Some(v) = model::both_record_type_names(
            "search_criteria",
            c.reg_record_type.is_some(),
            c.extra.contains_key("reg_event_type"),
        ) {
            return Err(Error::Validation(vec![v]));
        }
        Ok(item)
    }
}

/// The `reg_type` given, else the data source's registry type's (`ns:org:RegistryType:FR`, ...).
fn reg_type_or_registrys(given: &Option<String>, ds: &DataSource) -> String {
    given
        .clone()
        .unwrap_or_else(|| ds.registry_type.reg_type().to_string())
}

/// A part given as JSON read as its model type; the error names `path` and the shape expected.
fn typed<T: serde::de::DeserializeOwned>(
    v: &Option<Value>,
    path: &str,
    expected: &str,
) -> Result<Option<T>> {
    v.as_ref()
        .map(|v| {
            serde_json::from_value(v.clone()).map_err(|e| {
                Error::Validation(vec![Violation::new(path, format!("{expected}: {e}"))])
            })
        })
        .transpose()
}

/// One subscription to registry events (`subscribe_criteria`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeSpec {
    /// `reg_event_type`, e.g. `spdci-common:RegistryEventType:LiveBirth`.
    pub reg_event_type: String,
    pub reg_type: Option<String>,
    /// `filter_type` (a query type); default `idtype-value`.
    pub filter_type: Option<String>,
    /// `filter`; default: match every record (`{"type": "*", "value": "*"}`).
    pub filter: Option<Value>,
    /// `notify_record_type`; default `Person`.
    pub notify_record_type: Option<String>,
    /// `frequency` (`{start_time, end_time, frequency}`), optional.
    pub frequency: Option<Value>,
    pub authorize: Option<Value>,
    pub locale: Option<String>,
}

impl SubscribeSpec {
    pub fn event(reg_event_type: impl Into<String>) -> Self {
        SubscribeSpec {
            reg_event_type: reg_event_type.into(),
            reg_type: None,
            filter_type: None,
            filter: None,
            notify_record_type: None,
            frequency: None,
            authorize: None,
            locale: None,
        }
    }

    /// One `subscribe_request` item.
    pub fn to_item(
        &self,
        ds: &DataSource,
        reference_id: &str,
        ts: &str,
    ) -> Result<SubscribeRequestItem> {
        let frequency: Option<Frequency> = typed(
            &self.frequency,
            "subscribe_criteria.frequency",
            "{start_time, end_time, frequency}",
        )?;
        Ok(SubscribeRequestItem {
            reference_id: reference_id.to_string(),
            timestamp: ts.to_string(),
            subscribe_criteria: SubscribeCriteria {
                version: Some(model::SPEC_VERSION.to_string()),
                reg_type: Some(reg_type_or_registrys(&self.reg_type, ds)),
                reg_event_type: Some(self.reg_event_type.clone()),
                frequency,
                filter_type: Some(model::QueryType::from_wire(
                    self.filter_type.as_deref().unwrap_or(IDTYPE_VALUE),
                )),
                filter: Some(
                    self.filter
                        .clone()
                        .unwrap_or_else(|| serde_json::json!({"type": "*", "value": "*"})),
                ),
                notify_record_type: Some(
                    self.notify_record_type
                        .clone()
                        .unwrap_or_else(|| "Person".to_string()),
                ),
                authorize: self.authorize.clone(),
                extra: Extra::new(),
            },
            locale: self.locale.clone().or_else(|| ds.locale.clone()),
            extra: Extra::new(),
        })
    }
}

/// A transaction status query (`txnstatus_request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnStatusQuery {
    /// `search`, `subscribe` or `unsubscribe`.
    pub txn_type: String,
    /// `transaction_id`, `reference_id_list`, `correlation_id` or `subscription_code_list`.
    pub attribute_type: String,
    pub attribute_value: Value,
    pub locale: Option<String>,
}

impl TxnStatusQuery {
    /// The status of a search transaction, by its transaction_id.
    pub fn search_transaction(transaction_id: impl Into<String>) -> Self {
        Self::by("search", "transaction_id", transaction_id.into())
    }

    /// The status of a transaction by the correlation_id the registry acknowledged.
    pub fn correlation(txn_type: impl Into<String>, correlation_id: impl Into<String>) -> Self {
        Self::by(txn_type.into(), "correlation_id", correlation_id.into())
    }

    fn by(txn_type: impl Into<String>, attribute_type: &str, value: String) -> Self {
        TxnStatusQuery {
            txn_type: txn_type.into(),
            attribute_type: attribute_type.into(),
            attribute_value: Value::String(value),
            locale: None,
        }
    }

    /// OpenSPP's `attribute_type: "reference_id"` with one reference id is the spec's
    /// `reference_id_list` with a one-element list.
    pub fn normalized(&self) -> Self {
        let mut q = self.clone();
        if q.attribute_type == "reference_id" {
            q.attribute_type = "reference_id_list".into();
            if let Value::String(s) = &q.attribute_value {
                q.attribute_value = Value::Array(vec![Value::String(s.clone())]);
            }
        }
        q
    }

    pub(crate) fn check(&self) -> Result<()> {
        let mut v = Vec::new();
        if !matches!(
            self.txn_type.as_str(),
            "search" | "subscribe" | "unsubscribe"
        ) {
            v.push(Violation::new(
                "txnstatus_request.txn_type",
                "one of search, subscribe, unsubscribe",
            ));
        }
        if !matches!(
            self.attribute_type.as_str(),
            "transaction_id" | "reference_id_list" | "correlation_id" | "subscription_code_list"
        ) {
            v.push(Violation::new(
                "txnstatus_request.attribute_type",
                "one of transaction_id, reference_id_list, correlation_id, subscription_code_list",
            ));
        }
        let empty = match &self.attribute_value {
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => true,
        };
        if empty {
            v.push(Violation::new(
                "txnstatus_request.attribute_value",
                "a non-empty string or list",
            ));
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(v))
        }
    }

    /// The `txnstatus_request` body.
    pub fn to_body(&self, reference_id: &str) -> TxnStatusRequestBody {
        TxnStatusRequestBody {
            reference_id: reference_id.to_string(),
            txn_type: TxnType::from_wire(&self.txn_type),
            attribute_type: TxnAttributeType::from_wire(&self.attribute_type),
            attribute_value: self.attribute_value.clone(),
            locale: self.locale.clone(),
            extra: Extra::new(),
        }
    }
}

/// The generated values of one request: ids and the time. [`Ids::fresh`] makes new ones; tests
/// and reproducible output set them.
#[derive(Debug, Clone, PartialEq)]
pub struct Ids {
    pub transaction_id: String,
    pub message_id: String,
    /// One per request item; more are generated when a message has more items.
    pub reference_ids: Vec<String>,
    pub time: DateTime<Utc>,
}

impl Ids {
    /// New UUIDs and now (truncated to what the dialects write).
    pub fn fresh() -> Self {
        Ids {
            transaction_id: model::new_id(),
            message_id: model::new_id(),
            reference_ids: vec![model::new_id()],
            time: dialect::truncate_ts(Utc::now()),
        }
    }

    /// The `i`-th reference id (generated when not given).
    fn reference_id(&mut self, i: usize) -> String {
        while self.reference_ids.len() <= i {
            self.reference_ids.push(model::new_id());
        }
        self.reference_ids[i].clone()
    }
}

/// The `SearchRequest` message for one search.
pub fn search_request(ds: &DataSource, spec: &SearchSpec, ids: &mut Ids) -> Result<SearchRequest> {
    let ts = ds.dialect.format_ts(ids.time);
    let item = spec.to_item(ds, &ids.reference_id(0), &ts)?;
    ids.reference_ids.truncate(1);
    Ok(SearchRequest {
        transaction_id: ids.transaction_id.clone(),
        search_request: vec![item],
        extra: Extra::new(),
    })
}

/// The `SubscribeRequest` message: one item per spec.
pub fn subscribe_request(
    ds: &DataSource,
    specs: &[SubscribeSpec],
    ids: &mut Ids,
) -> Result<SubscribeRequest> {
    let ts = ds.dialect.format_ts(ids.time);
    let items = specs
        .iter()
        .enumerate()
        .map(|(i, s)| s.to_item(ds, &ids.reference_id(i), &ts))
        .collect::<Result<Vec<_>>>()?;
    ids.reference_ids.truncate(items.len());
    Ok(SubscribeRequest {
        transaction_id: ids.transaction_id.clone(),
        subscribe_request: items,
        extra: Extra::new(),
    })
}

/// The `UnSubscribeRequest` message.
pub fn unsubscribe_request(ds: &DataSource, codes: &[String], ids: &Ids) -> UnSubscribeRequest {
    UnSubscribeRequest {
        transaction_id: ids.transaction_id.clone(),
        timestamp: ds.dialect.format_ts(ids.time),
        subscription_codes: codes.to_vec(),
        extra: Extra::new(),
    }
}

/// The `TxnStatusRequest` message.
pub fn txn_status_request(q: &TxnStatusQuery, ids: &mut Ids) -> TxnStatusRequest {
    let body = q.to_body(&ids.reference_id(0));
    ids.reference_ids.truncate(1);
    TxnStatusRequest {
        transaction_id: ids.transaction_id.clone(),
        txnstatus_request: body,
        extra: Extra::new(),
    }
}

/// The request header (`MsgHeader_V1.0.0`) in the data source's dialect, as JSON.
pub fn request_header(ds: &DataSource, action: &str, ids: &Ids, total_count: usize) -> Value {
    let receiver = ds.receiver_id_or_host();
    dialect::build_header(
        ds.dialect,
        &dialect::HeaderFields {
            message_id: &ids.message_id,
            message_ts: ids.time,
            action,
            sender_id: ds.our_sender_id.trim(),
            sender_uri: ds.our_callback_uri.as_deref(),
            receiver_id: Some(&receiver),
            total_count: total_count as u64,
        },
    )
}

/// The unsigned envelope `{signature: "", header, message}` of a request.
pub fn request_envelope<M: Serialize>(
    ds: &DataSource,
    action: &str,
    message: &M,
    total_count: usize,
    ids: &Ids,
) -> Result<Value> {
    let mut env = model::Envelope::new(
        request_header(ds, action, ids, total_count),
        serde_json::to_value(message)?,
    );
    // `signature` first, as the spec lists it; OpenSPP 2's envelope model requires the field.
    env.signature = Some(String::new());
    env.to_value()
}

impl Dialect {
    /// Whether the envelope keeps an empty `signature` when unsigned (OpenSPP 2's model
    /// requires the field).
    pub fn keeps_empty_signature(self) -> bool {
        self == Dialect::Openspp2
    }
}
