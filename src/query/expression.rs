//! Expression queries: `{"type": "ns:org:QueryType:expression", "value": {"expression": E}}`.
//!
//! The spec leaves the grammar of `E` to the `type`. libdci evaluates the Mongo-style form the
//! spec's examples use, `{"collection": "Group", "query": FILTER}` (or `FILTER` alone), and carries
//! every other grammar (a GraphQL string, SQL, ...) through untouched as [`ExpressionBody::Raw`].
//!
//! # The filter grammar
//!
//! - A document `{"a": C1, "b": C2}` holds when every entry holds (AND); `{}` matches everything.
//! - `{"$and": [F, ...]}`, `{"$or": [F, ...]}`, `{"$nor": [F, ...]}` combine filters (non-empty
//!   lists); `{"$not": F}` negates a filter.
//! - A field entry `"path": {"$op": v, ...}` applies each operator to the dotted path (all must
//!   hold): `$eq $ne $lt $lte $gt $gte $in $nin $startsWith $exists`, and `$not: {"$op": v}`
//!   negates operators on that field. `"path": v` with a non-operator value means `$eq: v`.
//! - Operator names are also accepted without the `$` when every key of the operator document
//!   is one (`{"member.member_identifier": {"eq": "ABC451123"}}`, as in the DR spec's
//!   `disabled_criteria` example); there `ge` and `le` (the spec's `ExpOperator` spellings)
//!   are also read as `gte` and `lte`. A `$` key that is not an operator is an error naming it.
//! - Arrays along the path and comparisons follow [`super::path`] and [`super::compare`];
//!   `$ne`, `$nin` and `$not` are the negations of `$eq`, `$in` and their operand, so they hold
//!   for a record that lacks the attribute (as in MongoDB).

use serde_json::{Map, Value};

use super::evaluate::{
    field_eq, field_exists, field_in, field_ord, field_starts_with, is_ge, is_gt, is_le, is_lt,
    type_name,
};
use super::QueryType;
use crate::error::{Error, Result};

/// A Mongo-style filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Nor(Vec<Filter>),
    Not(Box<Filter>),
    /// Operators on one dotted path; all must hold.
    Field {
        path: String,
        ops: Vec<FieldOp>,
    },
}

/// One operator applied to a field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldOp {
    Eq(Value),
    Ne(Value),
    Lt(Value),
    Lte(Value),
    Gt(Value),
    Gte(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    StartsWith(String),
    Exists(bool),
    Not(Vec<FieldOp>),
}

const OPERATORS: [&str; 13] = [
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "nin",
    "startsWith",
    "exists",
    "not",
    "ge",
    "le",
];

impl FieldOp {
    fn name(&self) -> &'static str {
        match self {
            FieldOp::Eq(_) => "$eq",
            FieldOp::Ne(_) => "$ne",
            FieldOp::Lt(_) => "$lt",
            FieldOp::Lte(_) => "$lte",
            FieldOp::Gt(_) => "$gt",
            FieldOp::Gte(_) => "$gte",
            FieldOp::In(_) => "$in",
            FieldOp::Nin(_) => "$nin",
            FieldOp::StartsWith(_) => "$startsWith",
            FieldOp::Exists(_) => "$exists",
            FieldOp::Not(_) => "$not",
        }
    }

    fn operand(&self) -> Value {
        match self {
            FieldOp::Eq(v)
            | FieldOp::Ne(v)
            | FieldOp::Lt(v)
            | FieldOp::Lte(v)
            | FieldOp::Gt(v)
            | FieldOp::Gte(v) => v.clone(),
            FieldOp::In(l) | FieldOp::Nin(l) => Value::Array(l.clone()),
            FieldOp::StartsWith(s) => Value::String(s.clone()),
            FieldOp::Exists(b) => Value::Bool(*b),
            FieldOp::Not(ops) => ops_to_value(ops),
        }
    }

    fn holds(&self, record: &Value, path: &str) -> bool {
        match self {
            FieldOp::Eq(v) => field_eq(record, path, v),
            FieldOp::Ne(v) => !field_eq(record, path, v),
            FieldOp::Lt(v) => field_ord(record, path, v, is_lt),
            FieldOp::Lte(v) => field_ord(record, path, v, is_le),
            FieldOp::Gt(v) => field_ord(record, path, v, is_gt),
            FieldOp::Gte(v) => field_ord(record, path, v, is_ge),
            FieldOp::In(l) => field_in(record, path, l),
            FieldOp::Nin(l) => !field_in(record, path, l),
            FieldOp::StartsWith(p) => field_starts_with(record, path, p),
            FieldOp::Exists(b) => field_exists(record, path) == *b,
            FieldOp::Not(ops) => !ops.iter().all(|o| o.holds(record, path)),
        }
    }
}

fn ops_to_value(ops: &[FieldOp]) -> Value {
    let mut m = Map::new();
    for op in ops {
        m.insert(op.name().to_string(), op.operand());
    }
    Value::Object(m)
}

/// Start a filter on a dotted path: `field("age").lt(25)`.
pub fn field(path: impl Into<String>) -> FieldRef {
    FieldRef(path.into())
}

/// A path waiting for its operator; see [`field`].
#[derive(Debug, Clone)]
pub struct FieldRef(String);

impl FieldRef {
    fn op(self, op: FieldOp) -> Filter {
        Filter::Field {
            path: self.0,
            ops: vec![op],
        }
    }
}

/// The comparisons of one value: `field("age").gte(18)` is `FieldOp::Gte(18)`.
macro_rules! comparisons {
    ($($method:ident => $op:ident),+ $(,)?) => {
        impl FieldRef {
            $(pub fn $method(self, v: impl Into<Value>) -> Filter {
                self.op(FieldOp::$op(v.into()))
            })+
        }
    };
}
comparisons!(eq => Eq, ne => Ne, lt => Lt, lte => Lte, gt => Gt, gte => Gte);

impl FieldRef {
    pub fn is_in<V: Into<Value>>(self, vs: impl IntoIterator<Item = V>) -> Filter {
        self.op(FieldOp::In(vs.into_iter().map(Into::into).collect()))
    }
    pub fn nin<V: Into<Value>>(self, vs: impl IntoIterator<Item = V>) -> Filter {
        self.op(FieldOp::Nin(vs.into_iter().map(Into::into).collect()))
    }
    pub fn starts_with(self, prefix: impl Into<String>) -> Filter {
        self.op(FieldOp::StartsWith(prefix.into()))
    }
    pub fn exists(self, present: bool) -> Filter {
        self.op(FieldOp::Exists(present))
    }
    /// Several operators on the same field, all of which must hold.
    pub fn ops(self, ops: Vec<FieldOp>) -> Filter {
        Filter::Field { path: self.0, ops }
    }
}

impl Filter {
    pub fn and(fs: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::And(fs.into_iter().collect())
    }
    pub fn or(fs: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Or(fs.into_iter().collect())
    }
    pub fn nor(fs: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Nor(fs.into_iter().collect())
    }
    /// `{"$not": f}`.
    pub fn negate(f: Filter) -> Filter {
        Filter::Not(Box::new(f))
    }

    /// Whether `record` satisfies the filter.
    pub fn matches(&self, record: &Value) -> bool {
        match self {
            Filter::And(fs) => fs.iter().all(|f| f.matches(record)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(record)),
            Filter::Nor(fs) => !fs.iter().any(|f| f.matches(record)),
            Filter::Not(f) => !f.matches(record),
            Filter::Field { path, ops } => ops.iter().all(|o| o.holds(record, path)),
        }
    }

    /// The filter document.
    pub fn to_value(&self) -> Value {
        let list = |k: &str, fs: &[Filter]| {
            let mut m = Map::new();
            m.insert(
                k.to_string(),
                Value::Array(fs.iter().map(Filter::to_value).collect()),
            );
            Value::Object(m)
        };
        match self {
            // The empty conjunction is the filter `{}` (every record): `$and` takes no empty list.
            Filter::And(fs) if fs.is_empty() => Value::Object(Map::new()),
            Filter::And(fs) => list("$and", fs),
            Filter::Or(fs) => list("$or", fs),
            Filter::Nor(fs) => list("$nor", fs),
            Filter::Not(f) => {
                let mut m = Map::new();
                m.insert("$not".into(), f.to_value());
                Value::Object(m)
            }
            Filter::Field { path, ops } => {
                let mut names: Vec<&str> = ops.iter().map(FieldOp::name).collect();
                names.sort_unstable();
                names.dedup();
                if names.len() == ops.len() {
                    let mut m = Map::new();
                    m.insert(path.clone(), ops_to_value(ops));
                    Value::Object(m)
                } else {
                    // The same operator twice cannot share one JSON object.
                    let parts: Vec<Filter> = ops
                        .iter()
                        .map(|o| Filter::Field {
                            path: path.clone(),
                            ops: vec![o.clone()],
                        })
                        .collect();
                    list("$and", &parts)
                }
            }
        }
    }

    /// Parse a filter document; `at` names its place in the query for errors.
    pub fn from_json(v: &Value, at: &str) -> Result<Filter> {
        let obj = v.as_object().ok_or_else(|| {
            Error::Query(format!(
                "{at}: expected a filter object, got {}",
                type_name(v)
            ))
        })?;
        let mut parts = Vec::with_capacity(obj.len());
        for (k, val) in obj {
            let here = format!("{at}.{k}");
            let part = match k.as_str() {
                "$and" | "$or" | "$nor" => {
                    let items = val.as_array().ok_or_else(|| {
                        Error::Query(format!(
                            "{here}: expected a list of filters, got {}",
                            type_name(val)
                        ))
                    })?;
                    if items.is_empty() {
                        return Err(Error::Query(format!("{here}: empty list")));
                    }
                    let fs = items
                        .iter()
                        .enumerate()
                        .map(|(i, f)| Filter::from_json(f, &format!("{here}[{i}]")))
                        .collect::<Result<Vec<_>>>()?;
                    match k.as_str() {
                        "$and" => Filter::And(fs),
                        "$or" => Filter::Or(fs),
                        _ => Filter::Nor(fs),
                    }
                }
                "$not" => Filter::Not(Box::new(Filter::from_json(val, &here)?)),
                op if op.starts_with('$') => {
                    return Err(Error::Query(format!(
                        "{at}: unknown operator {op:?} (expected $and, $or, $nor, $not or a field)"
                    )))
                }
                path => Filter::Field {
                    path: path.to_string(),
                    ops: parse_ops(val, &here)?,
                },
            };
            parts.push(part);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }
}

/// The operators of one field entry.
fn parse_ops(val: &Value, at: &str) -> Result<Vec<FieldOp>> {
    let Some(obj) = val.as_object().filter(|o| !o.is_empty()) else {
        return Ok(vec![FieldOp::Eq(val.clone())]);
    };
    let dollar = obj.keys().filter(|k| k.starts_with('$')).count();
    let bare_ops = obj.keys().all(|k| OPERATORS.contains(&k.as_str()));
    if dollar == 0 && !bare_ops {
        // A plain embedded document: equality with it.
        return Ok(vec![FieldOp::Eq(val.clone())]);
    }
    if dollar != 0 && dollar != obj.len() {
        return Err(Error::Query(format!(
            "{at}: mixes operators and plain fields"
        )));
    }
    let mut ops = Vec::with_capacity(obj.len());
    for (k, operand) in obj {
        let name = k.strip_prefix('$').unwrap_or(k);
        let here = format!("{at}.{k}");
        let list = |v: &Value| -> Result<Vec<Value>> {
            v.as_array().cloned().ok_or_else(|| {
                Error::Query(format!("{here}: expected a list, got {}", type_name(v)))
            })
        };
        let op = match name {
            "eq" => FieldOp::Eq(operand.clone()),
            "ne" => FieldOp::Ne(operand.clone()),
            "lt" => FieldOp::Lt(operand.clone()),
            "lte" | "le" => FieldOp::Lte(operand.clone()),
            "gt" => FieldOp::Gt(operand.clone()),
            "gte" | "ge" => FieldOp::Gte(operand.clone()),
            "in" => FieldOp::In(list(operand)?),
            "nin" => FieldOp::Nin(list(operand)?),
            "startsWith" => FieldOp::StartsWith(
                operand
                    .as_str()
                    .ok_or_else(|| {
                        Error::Query(format!(
                            "{here}: expected a string, got {}",
                            type_name(operand)
                        ))
                    })?
                    .to_string(),
            ),
            "exists" => FieldOp::Exists(operand.as_bool().ok_or_else(|| {
                Error::Query(format!(
                    "{here}: expected a boolean, got {}",
                    type_name(operand)
                ))
            })?),
            "not" => {
                if !operand
                    .as_object()
                    .is_some_and(|o| !o.is_empty() && o.keys().all(|k| k.starts_with('$')))
                {
                    return Err(Error::Query(format!(
                        "{here}: expected an object of operators"
                    )));
                }
                FieldOp::Not(parse_ops(operand, &here)?)
            }
            _ => {
                return Err(Error::Query(format!(
                    "{at}: unknown operator {k:?} (expected one of $eq, $ne, $lt, $lte, $gt, \
                     $gte, $in, $nin, $startsWith, $exists, $not)"
                )))
            }
        };
        ops.push(op);
    }
    Ok(ops)
}

/// What an expression carries: a filter libdci evaluates, or another grammar passed through.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpressionBody {
    /// The Mongo-style filter, with its optional `collection`.
    Filter {
        collection: Option<String>,
        filter: Filter,
    },
    /// Any other grammar (a GraphQL string, SQL, ...), carried as `value.expression`.
    Raw(Value),
}

/// The spec's expression query: `{"type": <grammar>, "value": {"expression": ...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// The grammar, e.g. `ns:org:QueryType:expression`, `ns:org:QueryType:graphql`.
    pub type_uri: String,
    pub body: ExpressionBody,
    /// The `query_type` to put on the wire (default `expression`, which every spec version's
    /// `query_type` enum holds; the older enums lack `graphql`).
    pub query_type: QueryType,
}

/// The `type` of a Mongo-style expression.
pub const EXPRESSION_TYPE: &str = "ns:org:QueryType:expression";
/// The `type` of a GraphQL expression.
pub const GRAPHQL_TYPE: &str = "ns:org:QueryType:graphql";

impl Expression {
    /// A Mongo-style expression.
    pub fn filter(filter: Filter) -> Self {
        Expression {
            type_uri: EXPRESSION_TYPE.to_string(),
            body: ExpressionBody::Filter {
                collection: None,
                filter,
            },
            query_type: QueryType::Expression,
        }
    }

    /// Another grammar, passed through untouched as `value.expression`.
    pub fn raw(type_uri: impl Into<String>, expression: impl Into<Value>) -> Self {
        Expression {
            type_uri: type_uri.into(),
            body: ExpressionBody::Raw(expression.into()),
            query_type: QueryType::Expression,
        }
    }

    /// A GraphQL query string.
    pub fn graphql(text: impl Into<String>) -> Self {
        Expression::raw(GRAPHQL_TYPE, Value::String(text.into()))
    }

    /// Set the `collection` (Mongo-style expressions only; ignored for raw ones).
    pub fn collection(mut self, name: impl Into<String>) -> Self {
        if let ExpressionBody::Filter { collection, .. } = &mut self.body {
            *collection = Some(name.into());
        }
        self
    }

    /// Set the grammar URI (`type`).
    pub fn type_uri(mut self, t: impl Into<String>) -> Self {
        self.type_uri = t.into();
        self
    }

    /// Set the wire `query_type` (e.g. [`QueryType::Graphql`] for the newest specs).
    pub fn query_type(mut self, qt: QueryType) -> Self {
        self.query_type = qt;
        self
    }

    /// The query JSON.
    pub fn to_value(&self) -> Value {
        let expression = match &self.body {
            ExpressionBody::Filter { collection, filter } => {
                let mut m = Map::new();
                if let Some(c) = collection {
                    m.insert("collection".into(), c.clone().into());
                }
                m.insert("query".into(), filter.to_value());
                Value::Object(m)
            }
            ExpressionBody::Raw(v) => v.clone(),
        };
        let mut value = Map::new();
        value.insert("expression".into(), expression);
        let mut m = Map::new();
        m.insert("type".into(), self.type_uri.clone().into());
        m.insert("value".into(), Value::Object(value));
        Value::Object(m)
    }

    /// `(query_type, query)` for the search request builder.
    pub fn to_wire(&self) -> (&'static str, Value) {
        (self.query_type.as_str(), self.to_value())
    }

    /// Parse the `query` of an expression search. Accepts the spec's
    /// `{"type", "value": {"expression": ...}}`, a `value` without the `expression` wrapper, and
    /// a bare filter document (as in the DR spec's `disabled_criteria`).
    pub fn from_json(v: &Value, query_type: QueryType) -> Result<Self> {
        let (type_uri, body, at) = match v {
            Value::Object(o)
                if o.len() == 2
                    && o.get("type").is_some_and(Value::is_string)
                    && o.contains_key("value") =>
            {
                let t = o.get("type").and_then(Value::as_str).unwrap_or_default();
                let value = o.get("value").unwrap_or(&Value::Null);
                match value.as_object().and_then(|m| m.get("expression")) {
                    Some(e) => (t.to_string(), e, "query.value.expression"),
                    None => (t.to_string(), value, "query.value"),
                }
            }
            Value::String(_) => (GRAPHQL_TYPE.to_string(), v, "query"),
            _ => (EXPRESSION_TYPE.to_string(), v, "query"),
        };
        let grammar = type_uri.rsplit(':').next().unwrap_or_default();
        let raw = query_type == QueryType::Graphql
            || !body.is_object()
            || ["graphql", "sql"]
                .iter()
                .any(|g| g.eq_ignore_ascii_case(grammar));
        let body = if raw {
            ExpressionBody::Raw(body.clone())
        } else {
            parse_filter_body(body, at)?
        };
        Ok(Expression {
            type_uri,
            body,
            query_type,
        })
    }

    /// Whether `record` satisfies the expression. Raw grammars are not evaluated: an error.
    pub fn matches(&self, record: &Value) -> Result<bool> {
        match &self.body {
            ExpressionBody::Filter { filter, .. } => Ok(filter.matches(record)),
            ExpressionBody::Raw(_) => Err(Error::Query(format!(
                "query.type: the {:?} grammar is passed through but not evaluated by libdci \
                 (only the Mongo-style expression is)",
                self.type_uri
            ))),
        }
    }
}

fn parse_filter_body(body: &Value, at: &str) -> Result<ExpressionBody> {
    let obj = body.as_object().ok_or_else(|| {
        Error::Query(format!("{at}: expected an object, got {}", type_name(body)))
    })?;
    let Some(query) = obj.get("query") else {
        return Ok(ExpressionBody::Filter {
            collection: None,
            filter: Filter::from_json(body, at)?,
        });
    };
    for k in obj.keys() {
        if k != "query" && k != "collection" && !k.starts_with('@') {
            return Err(Error::Query(format!(
                "{at}.{k}: unknown field (expected collection and query)"
            )));
        }
    }
    let collection = match obj.get("collection") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(Error::Query(format!(
                "{at}.collection: expected a string, got {}",
                type_name(other)
            )))
        }
    };
    Ok(ExpressionBody::Filter {
        collection,
        filter: Filter::from_json(query, &format!("{at}.query"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_ge_and_le_are_gte_and_lte() {
        let f = Filter::from_json(&json!({"age": {"ge": 30, "le": 40}}), "query").unwrap();
        assert_eq!(
            f,
            field("age").ops(vec![FieldOp::Gte(json!(30)), FieldOp::Lte(json!(40))])
        );
        assert!(f.matches(&json!({"age": 30})));
        assert!(!f.matches(&json!({"age": 41})));
    }
}
