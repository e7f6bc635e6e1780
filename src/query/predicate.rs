//! Predicate queries: the spec's `ExpPredicateWithConditionList`, a list of items
//! `{seq_num, expression1, condition, expression2}` where each expression is an `ExpPredicate`
//! `{attribute_name, operator, attribute_value}` (operators `gt lt eq ge le in`, conditions
//! `and or not`).
//!
//! # Semantics (the spec leaves these open; libdci decides as follows)
//!
//! - Within an item, `condition` joins the two expressions:
//!   `and` is `expression1 AND expression2`, `or` is `expression1 OR expression2`;
//!   `not` without `expression2` is `NOT expression1`, and with `expression2` it is
//!   `expression1 AND NOT expression2`. With no `condition` the item is `expression1` alone.
//!   `and`/`or` without `expression2`, or `expression2` without a `condition`, is an error.
//! - Items are evaluated in ascending `seq_num` (items without one follow, in list order; equal
//!   numbers keep list order) and are combined with AND: a record matches when every item
//!   holds. The spec defines no operator between items, and AND is the one reading under which
//!   the order cannot change the result, so `seq_num` fixes the evaluation order only.
//!   An OR across attributes fits in one item (`condition: or`) or in an expression query.
//! - An empty list matches every record.
//! - Empty strings for `seq_num`, `condition` and `expression2` (as in the spec's own examples)
//!   count as absent. Other unknown fields in an item (`expression3`) are errors: ignoring them
//!   would silently widen the result.
//! - `in` takes a JSON array; since the spec's `attribute_value` schema has no array type, a
//!   string is also accepted and split on commas (`"F,M"`). A missing attribute fails every
//!   operator (and so satisfies `not`); see [`super::compare`] for how values compare.

use serde_json::{Map, Value};

use super::closed_enum;
use super::evaluate::{
    field_eq, field_in, field_ord, is_ge, is_gt, is_le, is_lt, object_at, required_name, type_name,
};
use crate::error::{Error, Result};

closed_enum! {
    /// The spec's `ExpOperator`.
    pub enum Operator ("operator") {
        Gt => "gt",
        Lt => "lt",
        Eq => "eq",
        Ge => "ge",
        Le => "le",
        In => "in",
    }
}

closed_enum! {
    /// The spec's `ExpCondition`.
    pub enum Condition ("condition") {
        And => "and",
        Or => "or",
        Not => "not",
    }
}

/// One comparison, the spec's `ExpPredicate`: `attribute_name operator attribute_value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpPredicate {
    /// A dotted path into the record (`name.given_name`, `age`).
    pub attribute_name: String,
    pub operator: Operator,
    pub attribute_value: Value,
}

impl ExpPredicate {
    pub fn new(
        attribute_name: impl Into<String>,
        operator: Operator,
        attribute_value: impl Into<Value>,
    ) -> Self {
        ExpPredicate {
            attribute_name: attribute_name.into(),
            operator,
            attribute_value: attribute_value.into(),
        }
    }

    /// `attribute_name in [values...]`.
    pub fn is_in<V: Into<Value>>(
        attribute_name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        ExpPredicate::new(
            attribute_name,
            Operator::In,
            Value::Array(values.into_iter().map(Into::into).collect()),
        )
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("attribute_name".into(), self.attribute_name.clone().into());
        m.insert("operator".into(), self.operator.as_str().into());
        m.insert("attribute_value".into(), self.attribute_value.clone());
        Value::Object(m)
    }

    /// Parse one `ExpPredicate`; `at` names its place in the query for errors.
    pub fn from_json(v: &Value, at: &str) -> Result<Self> {
        let obj = object_at(v, at)?;
        if let Some(k) = unknown_field(obj, &["attribute_name", "operator", "attribute_value"]) {
            return Err(Error::Query(format!("{at}.{k}: unknown field")));
        }
        let attribute_name = required_name(obj, "attribute_name", at)?;
        let operator = match obj.get("operator") {
            Some(v) => parsed::<Operator>(string_at(v, at, "operator")?, at, "operator")?,
            None => return Err(Error::Query(format!("{at}.operator: required"))),
        };
        let attribute_value = obj
            .get("attribute_value")
            .cloned()
            .ok_or_else(|| Error::Query(format!("{at}.attribute_value: required")))?;
        let p = ExpPredicate {
            attribute_name,
            operator,
            attribute_value,
        };
        if p.operator == Operator::In {
            p.in_list()
                .map_err(|e| Error::Query(format!("{at}.attribute_value: {e}")))?;
        }
        Ok(p)
    }

    /// The list an `in` compares against.
    pub(crate) fn in_list(&self) -> std::result::Result<Vec<Value>, String> {
        match &self.attribute_value {
            Value::Array(items) => Ok(items.clone()),
            Value::String(s) => Ok(s
                .split(',')
                .map(|p| Value::String(p.trim().to_string()))
                .collect()),
            other => Err(format!(
                "operator in needs an array (or a comma-separated string), got {}",
                type_name(other)
            )),
        }
    }

    /// Whether `record` satisfies this comparison.
    pub fn matches(&self, record: &Value) -> bool {
        let (path, q) = (self.attribute_name.as_str(), &self.attribute_value);
        match self.operator {
            Operator::Eq => field_eq(record, path, q),
            Operator::Gt => field_ord(record, path, q, is_gt),
            Operator::Lt => field_ord(record, path, q, is_lt),
            Operator::Ge => field_ord(record, path, q, is_ge),
            Operator::Le => field_ord(record, path, q, is_le),
            // Checked at parse time; a hand-built bad value matches nothing.
            Operator::In => self
                .in_list()
                .map(|list| field_in(record, path, &list))
                .unwrap_or(false),
        }
    }
}

/// The first key of `obj` that is neither one of `fields` nor a JSON-LD `@` key.
fn unknown_field<'m>(obj: &'m Map<String, Value>, fields: &[&str]) -> Option<&'m str> {
    obj.keys()
        .map(String::as_str)
        .find(|k| !fields.contains(k) && !k.starts_with('@'))
}

/// `v` as a string, or the error naming `{at}.{field}` and what it is instead.
fn string_at<'v>(v: &'v Value, at: &str, field: &str) -> Result<&'v str> {
    v.as_str().ok_or_else(|| {
        Error::Query(format!(
            "{at}.{field}: expected a string, got {}",
            type_name(v)
        ))
    })
}

/// The spec word `s` as a `T` (an operator, a condition), its error placed at `{at}.{field}`.
fn parsed<T: std::str::FromStr<Err = Error>>(s: &str, at: &str, field: &str) -> Result<T> {
    s.parse()
        .map_err(|e| Error::Query(format!("{at}.{field}: {}", strip(&e))))
}

pub(super) fn strip(e: &Error) -> String {
    match e {
        Error::Query(m) => m.clone(),
        other => other.to_string(),
    }
}

/// One item of a predicate query, the spec's `ExpPredicateWithCondition`.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    pub seq_num: Option<i64>,
    pub expression1: ExpPredicate,
    pub condition: Option<Condition>,
    pub expression2: Option<ExpPredicate>,
}

impl Predicate {
    /// An item holding `expression1` alone.
    pub fn new(expression1: ExpPredicate) -> Self {
        Predicate {
            seq_num: None,
            expression1,
            condition: None,
            expression2: None,
        }
    }

    /// Shorthand for `Predicate::new(ExpPredicate::new(name, op, value))`.
    pub fn when(name: impl Into<String>, op: Operator, value: impl Into<Value>) -> Self {
        Predicate::new(ExpPredicate::new(name, op, value))
    }

    /// `expression1 AND expression2`.
    pub fn and(self, expression2: ExpPredicate) -> Self {
        self.join(Condition::And, Some(expression2))
    }

    /// `expression1 OR expression2`.
    pub fn or(self, expression2: ExpPredicate) -> Self {
        self.join(Condition::Or, Some(expression2))
    }

    /// `NOT expression1` (condition `not` without expression2).
    pub fn negated(self) -> Self {
        self.join(Condition::Not, None)
    }

    /// `expression1 AND NOT expression2`.
    pub fn and_not(self, expression2: ExpPredicate) -> Self {
        self.join(Condition::Not, Some(expression2))
    }

    pub fn seq_num(mut self, n: i64) -> Self {
        self.seq_num = Some(n);
        self
    }

    fn join(mut self, c: Condition, e2: Option<ExpPredicate>) -> Self {
        self.condition = Some(c);
        self.expression2 = e2;
        self
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(n) = self.seq_num {
            m.insert("seq_num".into(), n.into());
        }
        m.insert("expression1".into(), self.expression1.to_value());
        if let Some(c) = self.condition {
            m.insert("condition".into(), c.as_str().into());
        }
        if let Some(e) = &self.expression2 {
            m.insert("expression2".into(), e.to_value());
        }
        Value::Object(m)
    }

    /// Parse one item; `at` names its place (`query[0]`) for errors.
    pub fn from_json(v: &Value, at: &str) -> Result<Self> {
        let obj = object_at(v, at)?;
        let fields = ["seq_num", "expression1", "condition", "expression2"];
        if let Some(k) = unknown_field(obj, &fields) {
            return Err(Error::Query(format!(
                "{at}.{k}: unknown field (an item holds seq_num, expression1, condition \
                 and expression2; put further comparisons in another item)"
            )));
        }
        let seq_num = match obj.get("seq_num") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().parse::<i64>().map_err(|_| {
                Error::Query(format!("{at}.seq_num: expected an integer, got {s:?}"))
            })?),
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .or_else(|| {
                        n.as_f64()
                            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                            .map(|f| f as i64)
                    })
                    .ok_or_else(|| {
                        Error::Query(format!("{at}.seq_num: expected an integer, got {n}"))
                    })?,
            ),
            Some(other) => {
                return Err(Error::Query(format!(
                    "{at}.seq_num: expected an integer, got {}",
                    type_name(other)
                )))
            }
        };
        let expression1 = match obj.get("expression1") {
            Some(e) => ExpPredicate::from_json(e, &format!("{at}.expression1"))?,
            None => return Err(Error::Query(format!("{at}.expression1: required"))),
        };
        let condition = match obj.get("condition") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(v) => Some(parsed::<Condition>(
                string_at(v, at, "condition")?.trim(),
                at,
                "condition",
            )?),
        };
        let expression2 = match obj.get("expression2") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(e) => Some(ExpPredicate::from_json(e, &format!("{at}.expression2"))?),
        };
        let p = Predicate {
            seq_num,
            expression1,
            condition,
            expression2,
        };
        p.check(at)?;
        Ok(p)
    }

    /// The condition and expression2 fit together.
    fn check(&self, at: &str) -> Result<()> {
        match (self.condition, &self.expression2) {
            (Some(c @ (Condition::And | Condition::Or)), None) => Err(Error::Query(format!(
                "{at}.condition: {c:?} needs expression2",
                c = c.as_str()
            ))),
            (None, Some(_)) => Err(Error::Query(format!(
                "{at}.expression2: given without a condition (and, or or not)"
            ))),
            _ => Ok(()),
        }
    }

    /// Whether `record` satisfies this item (see the module docs for the semantics).
    pub fn matches(&self, record: &Value) -> Result<bool> {
        self.check("predicate")?;
        let e1 = self.expression1.matches(record);
        Ok(match (self.condition, &self.expression2) {
            (None, _) => e1,
            (Some(Condition::And), Some(e2)) => e1 && e2.matches(record),
            (Some(Condition::Or), Some(e2)) => e1 || e2.matches(record),
            (Some(Condition::Not), None) => !e1,
            (Some(Condition::Not), Some(e2)) => e1 && !e2.matches(record),
            (Some(_), None) => false, // rejected by check()
        })
    }
}

/// A predicate query, the spec's `ExpPredicateWithConditionList`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PredicateList {
    pub items: Vec<Predicate>,
}

impl PredicateList {
    pub fn new() -> Self {
        PredicateList::default()
    }

    /// Append an item; one without a `seq_num` gets the next number (1, 2, ...).
    pub fn with(mut self, mut item: Predicate) -> Self {
        if item.seq_num.is_none() {
            let next = self
                .items
                .iter()
                .filter_map(|p| p.seq_num)
                .max()
                .unwrap_or(0)
                + 1;
            item.seq_num = Some(next);
        }
        self.items.push(item);
        self
    }

    /// The query JSON (a list of items).
    pub fn to_value(&self) -> Value {
        Value::Array(self.items.iter().map(Predicate::to_value).collect())
    }

    /// `("predicate", query)` for the search request builder.
    pub fn to_wire(&self) -> (&'static str, Value) {
        ("predicate", self.to_value())
    }

    /// Parse the `query` of a predicate search. Also accepts a single item, or a single bare
    /// `ExpPredicate`, in place of the list (both appear in the spec's examples).
    pub fn from_json(v: &Value) -> Result<Self> {
        let items = match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, it)| Predicate::from_json(it, &format!("query[{i}]")))
                .collect::<Result<Vec<_>>>()?,
            Value::Object(o) if o.contains_key("expression1") => {
                vec![Predicate::from_json(v, "query")?]
            }
            Value::Object(o) if o.contains_key("attribute_name") => {
                vec![Predicate::new(ExpPredicate::from_json(v, "query")?)]
            }
            other => {
                return Err(Error::Query(format!(
                    "query: expected a list of predicates, got {}",
                    type_name(other)
                )))
            }
        };
        Ok(PredicateList { items })
    }

    /// The items in evaluation order: ascending `seq_num`, then those without one, stable.
    pub fn ordered(&self) -> Vec<&Predicate> {
        let mut v: Vec<&Predicate> = self.items.iter().collect();
        v.sort_by_key(|p| (p.seq_num.is_none(), p.seq_num.unwrap_or(0)));
        v
    }

    /// Whether `record` satisfies every item.
    pub fn matches(&self, record: &Value) -> Result<bool> {
        for p in self.ordered() {
            if !p.matches(record)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
