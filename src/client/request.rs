//! What a caller asks for (search, subscribe, unsubscribe, txn status) and the `message`
//! bodies built from it, in the data source's dialect. Field names are the spec's
//! (latest-bundled `crvs_api_v1.0.0.yaml`, `SearchRequest`, `SubscribeRequest`, ...).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::client::datasource::DataSource;
use crate::client::dialect::{self, Dialect};
use crate::error::{Error, Result, Violation};

/// The spec's query types (`query_type`).
pub const IDTYPE_VALUE: &str = "idtype-value";
pub const EXPRESSION: &str = "expression";
pub const PREDICATE: &str = "predicate";
pub const GRAPHQL: &str = "graphql";

/// What to search for, and how to page through it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpec {
    pub query_type: String,
    pub query: Value,
    /// `reg_type`; None = from the data source's registry type (or the dialect's rule).
    pub reg_type: Option<String>,
    pub reg_event_type: Option<String>,
    pub reg_record_type: Option<String>,
    /// 1-based.
    pub page_number: u32,
    pub page_size: u32,
    pub sort: Option<Value>,
    pub consent: Option<Value>,
    pub authorize: Option<Value>,
    pub locale: Option<String>,
    /// For the date-range shortcut: kept so dialects with their own range syntax can rebuild it.
    #[serde(skip)]
    pub(crate) date_range: Option<(String, String, String)>,
    /// For the identifier shortcut: kept so dialects with their own lookup syntax can rebuild it.
    #[serde(skip)]
    pub(crate) id_lookup: Option<(String, Value)>,
}

impl SearchSpec {
    pub fn new(query_type: impl Into<String>, query: Value) -> Self {
        SearchSpec {
            query_type: query_type.into(),
            query,
            reg_type: None,
            reg_event_type: None,
            reg_record_type: None,
            page_number: 1,
            page_size: 100,
            sort: None,
            consent: None,
            authorize: None,
            locale: None,
            date_range: None,
            id_lookup: None,
        }
    }

    /// From a query built with [`crate::query`] (its wire form).
    pub fn from_query(q: &crate::query::Query) -> Self {
        let (query_type, query) = q.to_wire();
        let mut s = Self::new(query_type, query);
        if let Some((t, v)) = q.idtype_lookup() {
            s.id_lookup = Some((t.to_string(), v.clone()));
        }
        s
    }

    /// `idtype-value`: `{"type": identifier_type, "value": identifier_value}`.
    pub fn by_id(identifier_type: impl Into<String>, identifier_value: impl Into<String>) -> Self {
        let (t, v) = (
            identifier_type.into(),
            Value::String(identifier_value.into()),
        );
        let mut s = Self::new(IDTYPE_VALUE, json!({"type": t, "value": v}));
        s.id_lookup = Some((t, v));
        s
    }

    /// `predicate`: a list of `{seq_num, expression1, condition, expression2}` items.
    pub fn predicate(query: Value) -> Self {
        Self::new(PREDICATE, query)
    }

    /// `expression`: as given (an expression object or list).
    pub fn expression(query: Value) -> Self {
        Self::new(EXPRESSION, query)
    }

    /// `attribute >= from AND attribute <= to`, as a spec predicate.
    pub fn date_range(
        attribute: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
    ) -> Self {
        let (a, f, t) = (attribute.into(), from.into(), to.into());
        let q = json!([{
            "seq_num": 1,
            "expression1": {"attribute_name": a, "operator": "ge", "attribute_value": f},
            "condition": "and",
            "expression2": {"attribute_name": a, "operator": "le", "attribute_value": t}
        }]);
        let mut s = Self::new(PREDICATE, q);
        s.date_range = Some((a, f, t));
        s
    }

    pub fn page(mut self, page_number: u32, page_size: u32) -> Self {
        self.page_number = page_number;
        self.page_size = page_size;
        self
    }
    pub fn reg_type(mut self, v: impl Into<String>) -> Self {
        self.reg_type = Some(v.into());
        self
    }
    pub fn reg_event_type(mut self, v: impl Into<String>) -> Self {
        self.reg_event_type = Some(v.into());
        self
    }
    pub fn reg_record_type(mut self, v: impl Into<String>) -> Self {
        self.reg_record_type = Some(v.into());
        self
    }
    pub fn sort(mut self, v: Value) -> Self {
        self.sort = Some(v);
        self
    }
    pub fn consent(mut self, v: Value) -> Self {
        self.consent = Some(v);
        self
    }
    pub fn authorize(mut self, v: Value) -> Self {
        self.authorize = Some(v);
        self
    }
    pub fn locale(mut self, v: impl Into<String>) -> Self {
        self.locale = Some(v.into());
        self
    }

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
        if v.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(v))
        }
    }

    /// One `search_request` item in the dialect's form.
    pub(crate) fn to_item(&self, ds: &DataSource, reference_id: &str, ts: &str) -> Value {
        let d = ds.dialect;
        let mut c = Map::new();
        c.insert("version".into(), json!("1.0.0"));
        let (mut query_type, mut query) = (self.query_type.clone(), self.query.clone());
        match d {
            Dialect::Opencrvs => {
                c.insert(
                    "reg_type".into(),
                    json!(self
                        .reg_type
                        .clone()
                        .unwrap_or_else(|| dialect::opencrvs_reg_type(
                            self.reg_event_type.as_deref()
                        ))),
                );
                if let Some((a, f, t)) = &self.date_range {
                    query_type = EXPRESSION.into();
                    query = json!({
                        "type": "ns:org:QueryType:expression",
                        "value": {a.clone(): {"type": "range", "gte": f, "lte": t}}
                    });
                }
            }
            Dialect::Openg2p => {
                c.insert(
                    "reg_type".into(),
                    json!(self.reg_type.as_deref().unwrap_or("Individual")),
                );
                if let Some(e) = &self.reg_event_type {
                    c.insert("reg_event_type".into(), json!(e));
                }
                c.insert(
                    "reg_record_type".into(),
                    json!(self.reg_record_type.as_deref().unwrap_or("Individual")),
                );
                if let Some((_, v)) = &self.id_lookup {
                    query_type = EXPRESSION.into();
                    query = dialect::openg2p_search_text(v);
                }
            }
            Dialect::Spdci | Dialect::Openspp2 => {
                c.insert(
                    "reg_type".into(),
                    json!(self
                        .reg_type
                        .clone()
                        .unwrap_or_else(|| ds.registry_type.reg_type().to_string())),
                );
                if let Some(e) = &self.reg_event_type {
                    c.insert("reg_event_type".into(), json!(e));
                }
                if let Some(r) = &self.reg_record_type {
                    c.insert("reg_record_type".into(), json!(r));
                }
            }
        }
        c.insert("query_type".into(), json!(query_type));
        c.insert("query".into(), query);
        if let Some(s) = &self.sort {
            c.insert("sort".into(), s.clone());
        }
        c.insert(
            "pagination".into(),
            json!({"page_size": self.page_size, "page_number": self.page_number}),
        );
        let purpose_ref = ds.our_callback_uri.as_deref();
        // OpenCRVS reads consent beside search_criteria, in its own shape; the spec (and the
        // other dialects) put it inside search_criteria.
        let mut item_consent = None;
        if d == Dialect::Opencrvs {
            item_consent = Some(
                self.consent
                    .clone()
                    .unwrap_or_else(|| dialect::opencrvs_consent(reference_id, ts, purpose_ref)),
            );
        } else {
            let consent = self.consent.clone().or_else(|| {
                (d == Dialect::Openg2p).then(|| dialect::default_consent(ts, purpose_ref))
            });
            if let Some(x) = consent {
                c.insert("consent".into(), x);
            }
        }
        let authorize = self.authorize.clone().or_else(|| {
            (d == Dialect::Openg2p).then(|| dialect::default_authorize(ts, purpose_ref))
        });
        if let Some(x) = authorize {
            c.insert("authorize".into(), x);
        }
        let mut item = Map::new();
        item.insert("reference_id".into(), json!(reference_id));
        item.insert("timestamp".into(), json!(ts));
        item.insert("search_criteria".into(), Value::Object(c));
        if let Some(x) = item_consent {
            item.insert("consent".into(), x);
        }
        let locale = self
            .locale
            .clone()
            .or_else(|| ds.locale.clone())
            .or_else(|| (d == Dialect::Opencrvs).then(|| "eng".to_string()));
        if let Some(l) = locale {
            item.insert("locale".into(), json!(l));
        }
        Value::Object(item)
    }
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

    pub(crate) fn to_item(&self, ds: &DataSource, reference_id: &str, ts: &str) -> Value {
        let mut c = Map::new();
        c.insert("version".into(), json!("1.0.0"));
        c.insert(
            "reg_type".into(),
            json!(self
                .reg_type
                .clone()
                .unwrap_or_else(|| ds.registry_type.reg_type().to_string())),
        );
        c.insert("reg_event_type".into(), json!(self.reg_event_type));
        if let Some(f) = &self.frequency {
            c.insert("frequency".into(), f.clone());
        }
        c.insert(
            "filter_type".into(),
            json!(self.filter_type.as_deref().unwrap_or(IDTYPE_VALUE)),
        );
        c.insert(
            "filter".into(),
            self.filter
                .clone()
                .unwrap_or_else(|| json!({"type": "*", "value": "*"})),
        );
        c.insert(
            "notify_record_type".into(),
            json!(self.notify_record_type.as_deref().unwrap_or("Person")),
        );
        if let Some(a) = &self.authorize {
            c.insert("authorize".into(), a.clone());
        }
        let mut item = Map::new();
        item.insert("reference_id".into(), json!(reference_id));
        item.insert("timestamp".into(), json!(ts));
        item.insert("subscribe_criteria".into(), Value::Object(c));
        if let Some(l) = self.locale.clone().or_else(|| ds.locale.clone()) {
            item.insert("locale".into(), json!(l));
        }
        Value::Object(item)
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
        TxnStatusQuery {
            txn_type: "search".into(),
            attribute_type: "transaction_id".into(),
            attribute_value: Value::String(transaction_id.into()),
            locale: None,
        }
    }

    /// The status of a transaction by the correlation_id the registry acknowledged.
    pub fn correlation(txn_type: impl Into<String>, correlation_id: impl Into<String>) -> Self {
        TxnStatusQuery {
            txn_type: txn_type.into(),
            attribute_type: "correlation_id".into(),
            attribute_value: Value::String(correlation_id.into()),
            locale: None,
        }
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

    pub(crate) fn to_body(&self, reference_id: &str) -> Value {
        let mut m = Map::new();
        m.insert("reference_id".into(), json!(reference_id));
        m.insert("txn_type".into(), json!(self.txn_type));
        m.insert("attribute_type".into(), json!(self.attribute_type));
        m.insert("attribute_value".into(), self.attribute_value.clone());
        if let Some(l) = &self.locale {
            m.insert("locale".into(), json!(l));
        }
        Value::Object(m)
    }
}
