//! Queries: builders for the spec's query types and the evaluator that decides whether a JSON
//! record matches one.
//!
//! | `query_type` | `query` | typed form |
//! |---|---|---|
//! | `idtype-value` | `{"type": "UIN", "value": "123"}` | [`IdTypeValue`] |
//! | `predicate` | `[{"seq_num", "expression1", "condition", "expression2"}]` | [`PredicateList`] |
//! | `expression` | `{"type": "ns:org:QueryType:expression", "value": {"expression": ...}}` | [`Expression`] |
//! | `graphql` | the same, with a GraphQL string | [`Expression::graphql`] (not evaluated) |
//!
//! Every typed form converts to `(query_type, query)` for the search request builder
//! ([`Query::to_wire`]) and parses back ([`Query::parse`]), with errors ([`Error::Query`]) that name
//! the field path and the problem (`query[1].expression1.operator: unknown operator "like" ...`).
//!
//! `query_type` is read without regard to ASCII case and may be namespaced
//! (`ns:org:QueryType:expression`). Because the spec's own examples send predicate lists under
//! `query_type: expression`, an `expression` query that is a list, or an object with
//! `expression1` or `attribute_name`, is read as a predicate query.
//!
//! Semantics: [`predicate`] (how `seq_num` and `condition` combine), [`expression`] (the filter
//! grammar), [`idtype`] (where identifiers are looked for), [`path`] (dotted paths and arrays),
//! [`compare`] (numbers, dates, strings) and [`sort`]. They are also written down in
//! `docs/spec-decisions.md` ("Queries").
//!
//! ```
//! use dci::query::{matches, Query, predicate::{Operator, Predicate, PredicateList, ExpPredicate}};
//! use serde_json::json;
//!
//! let q = PredicateList::new().with(
//!     Predicate::when("age", Operator::Lt, "25").and(ExpPredicate::new("poverty_score", Operator::Lt, 2.5)),
//! );
//! let (query_type, query) = q.to_wire();
//! assert_eq!(query_type, "predicate");
//! assert!(matches(&json!({"age": 19, "poverty_score": 1.5}), query_type, &query).unwrap());
//! assert!(!matches(&json!({"age": 30, "poverty_score": 1.5}), query_type, &query).unwrap());
//! ```

pub mod compare;
mod evaluate;
pub mod expression;
pub mod idtype;
pub mod path;
pub mod plan;
pub mod predicate;
pub mod sort;

use serde_json::Value;

use crate::error::{Error, Result};

pub use compare::{compare_values, values_equal};
pub use expression::{field, Expression, ExpressionBody, FieldOp, Filter};
pub use idtype::IdTypeValue;
pub use plan::Plan;
pub use predicate::{Condition, ExpPredicate, Operator, Predicate, PredicateList};
pub use sort::{
    keys_of, parse_sort, sort_by_keys, sort_records, RecordSortKey, SortKey, SortOrder,
};

/// A closed spec enum of the query grammar: `ALL`, `as_str`, `Display`, and a `FromStr` that
/// takes any ASCII case and, for namespaced spellings (`ns:org:QueryType:predicate`),
/// the last segment. Unlike the model's open `wire_enum!` (unknown values kept as `Other`), an
/// unknown spelling is an error naming the enum and listing the spellings: a query must not be
/// widened by a word it does not understand.
macro_rules! closed_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident ($what:literal) {
        $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::error::Error;
            fn from_str(s: &str) -> crate::error::Result<Self> {
                let last = s.rsplit(':').next().unwrap_or(s).trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(last))
                    .ok_or_else(|| {
                        let wires: &[&str] = &[$($wire),+];
                        crate::error::Error::Query(format!(
                            "unknown {} {s:?} (expected one of {})",
                            $what,
                            wires.join(", ")
                        ))
                    })
            }
        }
    };
}
pub(crate) use closed_enum;

closed_enum! {
    /// The spec's `QueryTypeEnum`.
    pub enum QueryType ("query type") {
        IdTypeValue => "idtype-value",
        Expression => "expression",
        Predicate => "predicate",
        Graphql => "graphql",
    }
}

/// A parsed query of any type.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    IdTypeValue(IdTypeValue),
    Predicate(PredicateList),
    Expression(Expression),
}

impl From<IdTypeValue> for Query {
    fn from(q: IdTypeValue) -> Self {
        Query::IdTypeValue(q)
    }
}
impl From<PredicateList> for Query {
    fn from(q: PredicateList) -> Self {
        Query::Predicate(q)
    }
}
impl From<Expression> for Query {
    fn from(q: Expression) -> Self {
        Query::Expression(q)
    }
}

/// One equality every matching record satisfies: some value at `path` (or an element of an
/// array there; for a one-segment path the record lacks, one of its identifiers of that type)
/// is [`values_equal`] to `value`. A server may use it to narrow candidates
/// through an index before running the full evaluator on them.
#[derive(Debug, Clone, PartialEq)]
pub struct EqConstraint {
    pub path: String,
    pub value: Value,
}

impl Query {
    /// Parse `search_criteria.query` given its `query_type`.
    pub fn parse(query_type: &str, query: &Value) -> Result<Query> {
        let qt: QueryType = query_type
            .parse()
            .map_err(|e| Error::Query(format!("query_type: {}", predicate::strip(&e))))?;
        Ok(match qt {
            QueryType::IdTypeValue => Query::IdTypeValue(IdTypeValue::from_json(query)?),
            QueryType::Predicate => Query::Predicate(PredicateList::from_json(query)?),
            QueryType::Expression if looks_like_predicate(query) => {
                Query::Predicate(PredicateList::from_json(query)?)
            }
            QueryType::Expression | QueryType::Graphql => {
                Query::Expression(Expression::from_json(query, qt)?)
            }
        })
    }

    /// [`Query::parse`] for a query libdci must evaluate: a grammar it only passes through
    /// (GraphQL, or another `query.type` than the Mongo-style expression) is refused here,
    /// rather than by [`Query::matches`] later.
    pub fn parse_evaluable(query_type: &str, query: &Value) -> Result<Query> {
        let q = Query::parse(query_type, query)?;
        if let Query::Expression(e) = &q {
            if matches!(e.body, ExpressionBody::Raw(_)) {
                return Err(Error::Query(format!(
                    "query.type: {:?} is not evaluated by libdci (only idtype-value, predicate \
                     and the Mongo-style expression are); build it with Query.graphql to send it",
                    e.type_uri
                )));
            }
        }
        Ok(q)
    }

    /// `(query_type, query)` for the search request builder.
    pub fn to_wire(&self) -> (&'static str, Value) {
        match self {
            Query::IdTypeValue(q) => q.to_wire(),
            Query::Predicate(q) => q.to_wire(),
            Query::Expression(q) => q.to_wire(),
        }
    }

    /// Whether `record` matches. Errors only for a grammar libdci does not evaluate (GraphQL).
    pub fn matches(&self, record: &Value) -> Result<bool> {
        match self {
            Query::IdTypeValue(q) => Ok(q.matches(record)),
            Query::Predicate(q) => q.matches(record),
            Query::Expression(q) => q.matches(record),
        }
    }

    /// For an identifier query: the identifier type and value to look up in an index.
    pub fn idtype_lookup(&self) -> Option<(&str, &Value)> {
        match self {
            Query::IdTypeValue(q) => Some((q.id_type.as_str(), &q.value)),
            _ => None,
        }
    }

    /// Equalities every matching record satisfies (empty when there is none to use: an
    /// identifier query, an `or`, a `not`, ...). Equality with `null` is left out (it also
    /// matches a missing attribute).
    pub fn equality_constraints(&self) -> Vec<EqConstraint> {
        let mut out = Vec::new();
        match self {
            Query::IdTypeValue(_) => {}
            Query::Predicate(list) => {
                for p in &list.items {
                    let mut push = |e: &ExpPredicate| {
                        if e.operator == Operator::Eq && !e.attribute_value.is_null() {
                            out.push(EqConstraint {
                                path: e.attribute_name.clone(),
                                value: e.attribute_value.clone(),
                            });
                        }
                    };
                    match (p.condition, &p.expression2) {
                        (None, _) => push(&p.expression1),
                        (Some(Condition::And), Some(e2)) => {
                            push(&p.expression1);
                            push(e2);
                        }
                        (Some(Condition::Not), Some(_)) => push(&p.expression1),
                        _ => {}
                    }
                }
            }
            Query::Expression(e) => {
                if let ExpressionBody::Filter { filter, .. } = &e.body {
                    filter_constraints(filter, &mut out);
                }
            }
        }
        out
    }
}

fn filter_constraints(f: &Filter, out: &mut Vec<EqConstraint>) {
    match f {
        Filter::And(fs) => fs.iter().for_each(|f| filter_constraints(f, out)),
        Filter::Field { path, ops } => {
            for op in ops {
                if let FieldOp::Eq(v) = op {
                    if !v.is_null() {
                        out.push(EqConstraint {
                            path: path.clone(),
                            value: v.clone(),
                        });
                    }
                }
            }
        }
        Filter::Or(_) | Filter::Nor(_) | Filter::Not(_) => {}
    }
}

fn looks_like_predicate(v: &Value) -> bool {
    match v {
        Value::Array(_) => true,
        Value::Object(o) => o.contains_key("expression1") || o.contains_key("attribute_name"),
        _ => false,
    }
}

/// Whether `record` matches the query (`query_type` as on the wire: `idtype-value`,
/// `predicate`, `expression`, also namespaced; `query` as the `search_criteria.query` JSON).
///
/// Errors ([`Error::Query`]) name the problem and its place: an unknown query type, operator or
/// condition, a malformed query, or a grammar libdci does not evaluate (GraphQL).
pub fn matches(record: &Value, query_type: &str, query: &Value) -> Result<bool> {
    Query::parse(query_type, query)?.matches(record)
}

/// For an `idtype-value` query: the identifier type and value, for an index lookup.
/// `None` for other query types or a malformed query.
pub fn idtype_lookup(query_type: &str, query: &Value) -> Option<(String, Value)> {
    match Query::parse(query_type, query).ok()? {
        Query::IdTypeValue(q) => Some((q.id_type, q.value)),
        _ => None,
    }
}

/// The equalities every record matching the query satisfies (see
/// [`Query::equality_constraints`]).
pub fn equality_constraints(query_type: &str, query: &Value) -> Result<Vec<EqConstraint>> {
    Ok(Query::parse(query_type, query)?.equality_constraints())
}
