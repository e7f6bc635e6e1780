//! A typed query plan: the three query types (idtype-value, predicate, expression) reduced to one
//! tree of field tests, validated once, for the evaluator and for databases.
//!
//! [`Plan::of`] builds it from a parsed [`Query`]; [`Plan::matches`] is exactly
//! [`Query::matches`] (the same field tests of [`super::evaluate`]), so `dci::query::matches`
//! stays the definition of what a plan means. A storage backend compiles a plan to its own SQL
//! without re-deriving the typing rules of [`super::compare`]:
//!
//! - at write time it keeps, per indexed path, one [`IndexRow`] for every value the path reaches
//!   ([`index_rows`]: the value and, for an array, each element; the same values the evaluator
//!   tests), with the value normalised into typed columns (class, text, number, date, instant);
//! - at query time [`Test::row_filter`] turns a field test into conditions over those columns
//!   ([`AttrTest`], a disjunction of conjunctions of [`Atom`]s) that hold for a row exactly when
//!   the evaluator's comparison holds for that value. A test it cannot express (equality with an
//!   array or object, an integer beyond 64 bits) gives `None`: the backend then pre-filters and
//!   runs [`Plan::matches`] on the candidates.
//!
//! Nothing here is SQL: SQLite (`dci-server`'s store) renders the atoms one way, and a second
//! backend (PostgreSQL) can render the same atoms over the same rows.

use chrono::{Duration, NaiveDate};
use serde_json::Value;

use super::compare::{Num, Temporal};
use super::evaluate::{
    field_eq, field_exists, field_in, field_ord, field_starts_with, is_ge, is_gt, is_le, is_lt,
    values_at,
};
use super::expression::{ExpressionBody, FieldOp, Filter};
use super::idtype::IdTypeValue;
use super::path::candidates;
use super::predicate::{Condition, ExpPredicate, Operator, Predicate};
use super::Query;
use crate::error::{Error, Result};

/// A query as a tree of field tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Every record (the empty predicate list, the filter `{}`).
    All,
    /// Every part holds (an empty list holds for every record).
    And(Vec<Plan>),
    /// Some part holds (an empty list holds for none).
    Or(Vec<Plan>),
    Not(Box<Plan>),
    /// One test on the values a dotted path reaches.
    Field {
        path: String,
        test: Test,
    },
    /// An idtype-value query (identifier lists and a top-level field named like the type).
    Identifier(IdTypeValue),
}

/// A test on the values at a path; a positive test holds when any value (or array element) does.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Some value equals (`null` also matches a missing attribute).
    Eq(Value),
    Lt(Value),
    Le(Value),
    Gt(Value),
    Ge(Value),
    /// Some value equals one of the list.
    In(Vec<Value>),
    /// Some string starts with the prefix (case-sensitive).
    StartsWith(String),
    /// The path reaches something (even `null`).
    Exists,
}

impl Plan {
    /// The plan of a parsed query. Errors for a grammar libdci does not evaluate (GraphQL).
    pub fn of(query: &Query) -> Result<Plan> {
        Ok(match query {
            Query::IdTypeValue(q) => Plan::Identifier(q.clone()),
            Query::Predicate(list) => and(list.ordered().into_iter().map(predicate_plan).collect()),
            Query::Expression(e) => match &e.body {
                ExpressionBody::Filter { filter, .. } => filter_plan(filter),
                ExpressionBody::Raw(_) => {
                    return Err(Error::Query(format!(
                        "query.type: the {:?} grammar is passed through but not evaluated by \
                         libdci (only the Mongo-style expression is)",
                        e.type_uri
                    )))
                }
            },
        })
    }

    /// Whether `record` matches: the same answer as [`Query::matches`] for the query the plan
    /// was built from.
    pub fn matches(&self, record: &Value) -> bool {
        match self {
            Plan::All => true,
            Plan::And(ps) => ps.iter().all(|p| p.matches(record)),
            Plan::Or(ps) => ps.iter().any(|p| p.matches(record)),
            Plan::Not(p) => !p.matches(record),
            Plan::Identifier(q) => q.matches(record),
            Plan::Field { path, test } => test.holds(record, path),
        }
    }
}

/// `And` of the parts, flattened; one part stands alone, none is [`Plan::All`].
fn and(mut parts: Vec<Plan>) -> Plan {
    let mut flat = Vec::with_capacity(parts.len());
    for p in parts.drain(..) {
        match p {
            Plan::And(inner) => flat.extend(inner),
            Plan::All => {}
            other => flat.push(other),
        }
    }
    match flat.len() {
        0 => Plan::All,
        1 => flat.remove(0),
        _ => Plan::And(flat),
    }
}

fn not(p: Plan) -> Plan {
    Plan::Not(Box::new(p))
}

fn exp_plan(e: &ExpPredicate) -> Plan {
    let v = e.attribute_value.clone();
    let test = match e.operator {
        Operator::Eq => Test::Eq(v),
        Operator::Lt => Test::Lt(v),
        Operator::Le => Test::Le(v),
        Operator::Gt => Test::Gt(v),
        Operator::Ge => Test::Ge(v),
        // Checked at parse time; a hand-built bad value matches nothing, as in the evaluator.
        Operator::In => match e.in_list() {
            Ok(list) => Test::In(list),
            Err(_) => return Plan::Or(Vec::new()),
        },
    };
    Plan::Field {
        path: e.attribute_name.clone(),
        test,
    }
}

/// One predicate item (see [`super::predicate`] for how `condition` joins the expressions).
fn predicate_plan(p: &Predicate) -> Plan {
    let e1 = exp_plan(&p.expression1);
    match (p.condition, &p.expression2) {
        (None, _) => e1,
        (Some(Condition::And), Some(e2)) => and(vec![e1, exp_plan(e2)]),
        (Some(Condition::Or), Some(e2)) => Plan::Or(vec![e1, exp_plan(e2)]),
        (Some(Condition::Not), None) => not(e1),
        (Some(Condition::Not), Some(e2)) => and(vec![e1, not(exp_plan(e2))]),
        // Rejected when parsed; the evaluator's check() refuses it as well.
        (Some(_), None) => Plan::Or(Vec::new()),
    }
}

fn filter_plan(f: &Filter) -> Plan {
    match f {
        Filter::And(fs) => and(fs.iter().map(filter_plan).collect()),
        Filter::Or(fs) => Plan::Or(fs.iter().map(filter_plan).collect()),
        Filter::Nor(fs) => not(Plan::Or(fs.iter().map(filter_plan).collect())),
        Filter::Not(f) => not(filter_plan(f)),
        Filter::Field { path, ops } => and(ops.iter().map(|o| op_plan(path, o)).collect()),
    }
}

fn op_plan(path: &str, op: &FieldOp) -> Plan {
    let field = |test| Plan::Field {
        path: path.to_string(),
        test,
    };
    match op {
        FieldOp::Eq(v) => field(Test::Eq(v.clone())),
        FieldOp::Ne(v) => not(field(Test::Eq(v.clone()))),
        FieldOp::Lt(v) => field(Test::Lt(v.clone())),
        FieldOp::Lte(v) => field(Test::Le(v.clone())),
        FieldOp::Gt(v) => field(Test::Gt(v.clone())),
        FieldOp::Gte(v) => field(Test::Ge(v.clone())),
        FieldOp::In(l) => field(Test::In(l.clone())),
        FieldOp::Nin(l) => not(field(Test::In(l.clone()))),
        FieldOp::StartsWith(p) => field(Test::StartsWith(p.clone())),
        FieldOp::Exists(true) => field(Test::Exists),
        FieldOp::Exists(false) => not(field(Test::Exists)),
        FieldOp::Not(ops) => not(and(ops.iter().map(|o| op_plan(path, o)).collect())),
    }
}

impl Test {
    fn holds(&self, record: &Value, path: &str) -> bool {
        match self {
            Test::Eq(v) => field_eq(record, path, v),
            Test::Lt(v) => field_ord(record, path, v, is_lt),
            Test::Le(v) => field_ord(record, path, v, is_le),
            Test::Gt(v) => field_ord(record, path, v, is_gt),
            Test::Ge(v) => field_ord(record, path, v, is_ge),
            Test::In(l) => field_in(record, path, l),
            Test::StartsWith(p) => field_starts_with(record, path, p),
            Test::Exists => field_exists(record, path),
        }
    }

    /// The test as conditions over the [`IndexRow`]s of its path, or `None` when the rows cannot
    /// decide it exactly.
    pub fn row_filter(&self) -> Option<AttrTest> {
        let any = |rows: Rows| Some(AttrTest::Any(rows));
        match self {
            Test::Eq(Value::Null) => Some(AttrTest::MissingOr(vec![vec![class(&[Class::Null])]])),
            Test::Eq(q) => any(eq_rows(q)?),
            Test::Lt(q) => any(ord_rows(Cmp::Lt, q)?),
            Test::Le(q) => any(ord_rows(Cmp::Le, q)?),
            Test::Gt(q) => any(ord_rows(Cmp::Gt, q)?),
            Test::Ge(q) => any(ord_rows(Cmp::Ge, q)?),
            Test::In(list) => {
                let mut rows = Vec::new();
                let mut missing = false;
                for q in list {
                    if q.is_null() {
                        missing = true;
                        rows.push(vec![class(&[Class::Null])]);
                    } else {
                        rows.extend(eq_rows(q)?);
                    }
                }
                Some(if missing {
                    AttrTest::MissingOr(rows)
                } else {
                    AttrTest::Any(rows)
                })
            }
            Test::StartsWith(p) => {
                let mut conj = vec![class(STRINGS)];
                if !p.is_empty() {
                    conj.push(Atom::Cmp(Col::Text, Cmp::Ge, Lit::Text(p.clone())));
                    if let Some(up) = prefix_upper(p) {
                        conj.push(Atom::Cmp(Col::Text, Cmp::Lt, Lit::Text(up)));
                    }
                }
                any(vec![conj])
            }
            Test::Exists => any(vec![Vec::new()]),
        }
    }
}

/// What a field test asks of the rows of its path.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrTest {
    /// Some row satisfies one of the conjunctions.
    Any(Rows),
    /// The path has no row, or some row satisfies one of the conjunctions (equality with `null`).
    MissingOr(Rows),
}

/// A disjunction of conjunctions (an empty conjunction holds for every row).
pub type Rows = Vec<Vec<Atom>>;

/// One condition on one column of an [`IndexRow`].
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// The row's class is one of these.
    ClassIn(&'static [Class]),
    /// The column is set and compares so with the literal.
    Cmp(Col, Cmp, Lit),
    /// The column is not set.
    Unset(Col),
    /// The row is not the path's only one (its record has several values there).
    Multi,
}

/// The typed columns of an [`IndexRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// The string (strings only).
    Text,
    /// The number as `f64` (numbers and numeric strings).
    Num,
    /// The number as a 64-bit integer, when it is one.
    Int,
    /// The calendar date as written, `YYYY-MM-DD` (dates and date-times).
    Date,
    /// The UTC instant: seconds since the epoch (date-times only).
    Secs,
    /// ... and nanoseconds within the second.
    Nanos,
    /// The boolean (booleans and the strings `true` / `false`), 0 or 1.
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Text(String),
    Real(f64),
    Int(i64),
}

/// What kind of value a row holds; strings are split by how [`super::compare`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Null,
    Bool,
    Number,
    /// A string that reads as a date or date-time.
    TimeString,
    /// A string that reads as a number.
    NumericString,
    /// Any other string.
    PlainString,
    /// An array or object.
    Composite,
}

impl Class {
    /// A one-letter code for storage.
    pub fn code(self) -> &'static str {
        match self {
            Class::Null => "z",
            Class::Bool => "b",
            Class::Number => "n",
            Class::TimeString => "t",
            Class::NumericString => "d",
            Class::PlainString => "s",
            Class::Composite => "c",
        }
    }
}

const STRINGS: &[Class] = &[Class::TimeString, Class::NumericString, Class::PlainString];

/// One value a path reaches, normalised for an index: the columns each class is compared by.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    pub class: Class,
    pub text: Option<String>,
    pub number: Option<IndexNumber>,
    pub time: Option<IndexTime>,
    pub boolean: Option<bool>,
}

/// A number (or numeric string): as f64 for range tests, and exactly when it is an i64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexNumber {
    pub num: f64,
    pub int: Option<i64>,
}

/// A date or date-time string: its calendar date, and its instant (unix seconds, nanoseconds)
/// when it has a time and an offset.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexTime {
    pub date: String,
    pub instant: Option<(i64, i64)>,
}

/// The rows of `path` in `record`: every value the evaluator tests for it (each value the path
/// reaches, and each element of an array it reaches).
pub fn index_rows(record: &Value, path: &str) -> Vec<IndexRow> {
    let mut out = Vec::new();
    for v in values_at(record, path) {
        out.extend(candidates(v).map(index_row));
    }
    out
}

fn index_row(v: &Value) -> IndexRow {
    let mut r = IndexRow {
        class: Class::Composite,
        text: None,
        number: None,
        time: None,
        boolean: None,
    };
    let set_num = |r: &mut IndexRow, n: Num| {
        let int = match n {
            Num::Int(i) => i64::try_from(i).ok(),
            _ => None,
        };
        r.number = Some(IndexNumber {
            num: n.as_f64(),
            int,
        });
    };
    match v {
        Value::Null => r.class = Class::Null,
        Value::Bool(b) => {
            r.class = Class::Bool;
            r.boolean = Some(*b);
        }
        Value::Number(n) => {
            r.class = Class::Number;
            if let Some(n) = Num::from_json(n) {
                set_num(&mut r, n);
            }
        }
        Value::String(s) => {
            r.text = Some(s.clone());
            r.boolean = match s.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            if let Some(t) = Temporal::parse(s) {
                r.class = Class::TimeString;
                let (date, instant) = temporal_parts(t);
                r.time = Some(IndexTime { date, instant });
            } else if let Some(n) = Num::parse(s) {
                r.class = Class::NumericString;
                set_num(&mut r, n);
            } else {
                r.class = Class::PlainString;
            }
        }
        Value::Array(_) | Value::Object(_) => {}
    }
    r
}

fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The calendar date as written, and the UTC instant for a date-time.
fn temporal_parts(t: Temporal) -> (String, Option<(i64, i64)>) {
    match t {
        Temporal::Date(d) => (date_text(d), None),
        Temporal::Instant { nanos, date } => {
            let secs = nanos.div_euclid(1_000_000_000);
            let sub = nanos.rem_euclid(1_000_000_000) as i64;
            (date_text(date), i64::try_from(secs).ok().map(|s| (s, sub)))
        }
    }
}

fn class(c: &'static [Class]) -> Atom {
    Atom::ClassIn(c)
}

fn cmp(col: Col, op: Cmp, lit: Lit) -> Atom {
    Atom::Cmp(col, op, lit)
}

/// Rows whose number compares so with `n` ([`Num::compare`]: integers exactly, else as f64).
fn num_rows(op: Cmp, n: Num, classes: &'static [Class]) -> Option<Rows> {
    Some(match n {
        Num::Int(i) => {
            let i = i64::try_from(i).ok()?;
            vec![
                vec![class(classes), cmp(Col::Int, op, Lit::Int(i))],
                vec![
                    class(classes),
                    Atom::Unset(Col::Int),
                    cmp(Col::Num, op, Lit::Real(i as f64)),
                ],
            ]
        }
        Num::Float(f) => vec![vec![class(classes), cmp(Col::Num, op, Lit::Real(f))]],
    })
}

/// Rows holding a date or date-time that compares so with `t` ([`Temporal`]: two instants by
/// instant, otherwise by calendar date).
fn time_rows(op: Cmp, t: Temporal) -> Option<Rows> {
    let tc = || class(&[Class::TimeString]);
    let (date, instant) = temporal_parts(t);
    Some(match (t, instant) {
        (Temporal::Date(_), _) => vec![vec![tc(), cmp(Col::Date, op, Lit::Text(date))]],
        (Temporal::Instant { date: d, .. }, Some((s, n))) => {
            // A date-time's calendar date is at most a day from its UTC date, so a bound on
            // the date two days wide lets an index on dates narrow instant comparisons.
            let lo = date_text(d - Duration::days(2));
            let hi = date_text(d + Duration::days(2));
            let near = |v: &mut Vec<Atom>| match op {
                Cmp::Lt | Cmp::Le => v.push(cmp(Col::Date, Cmp::Le, Lit::Text(hi.clone()))),
                Cmp::Gt | Cmp::Ge => v.push(cmp(Col::Date, Cmp::Ge, Lit::Text(lo.clone()))),
                Cmp::Eq => {
                    v.push(cmp(Col::Date, Cmp::Ge, Lit::Text(lo.clone())));
                    v.push(cmp(Col::Date, Cmp::Le, Lit::Text(hi.clone())));
                }
            };
            // (secs, nanos) op (s, n), spelled without row values.
            let strict = match op {
                Cmp::Lt | Cmp::Le => Cmp::Lt,
                Cmp::Gt | Cmp::Ge => Cmp::Gt,
                Cmp::Eq => Cmp::Eq,
            };
            let mut a = vec![tc(), cmp(Col::Secs, strict, Lit::Int(s))];
            let mut b = vec![
                tc(),
                cmp(Col::Secs, Cmp::Eq, Lit::Int(s)),
                cmp(Col::Nanos, op, Lit::Int(n)),
            ];
            near(&mut a);
            near(&mut b);
            let mut rows = vec![b];
            if op != Cmp::Eq {
                rows.push(a);
            }
            rows.push(vec![
                tc(),
                Atom::Unset(Col::Secs),
                cmp(Col::Date, op, Lit::Text(date)),
            ]);
            rows
        }
        // An instant beyond 64-bit seconds: leave it to the evaluator.
        (Temporal::Instant { .. }, None) => return None,
    })
}

/// Rows holding a value [`super::compare::values_equal`] to `q` (not `null`).
fn eq_rows(q: &Value) -> Option<Rows> {
    match q {
        Value::Null => Some(vec![vec![class(&[Class::Null])]]),
        Value::Bool(b) => Some(vec![vec![
            class(&[Class::Bool, Class::PlainString]),
            cmp(Col::Bool, Cmp::Eq, Lit::Int(*b as i64)),
        ]]),
        Value::Number(n) => match Num::from_json(n) {
            // A number equals numbers and numeric strings by value.
            Some(n) => num_rows(Cmp::Eq, n, &[Class::Number, Class::NumericString]),
            None => Some(Vec::new()),
        },
        Value::String(s) => {
            let mut rows = Vec::new();
            if let Some(t) = Temporal::parse(s) {
                rows.extend(time_rows(Cmp::Eq, t)?);
            } else {
                // Two strings are equal as written; a numeric string also equals a number.
                let c: &'static [Class] = if Num::parse(s).is_some() {
                    &[Class::NumericString]
                } else {
                    &[Class::PlainString]
                };
                rows.push(vec![
                    class(c),
                    cmp(Col::Text, Cmp::Eq, Lit::Text(s.clone())),
                ]);
                if let Some(n) = Num::parse(s) {
                    rows.extend(num_rows(Cmp::Eq, n, &[Class::Number])?);
                }
                if let Some(b) = match s.trim() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                } {
                    rows.push(vec![
                        class(&[Class::Bool]),
                        cmp(Col::Bool, Cmp::Eq, Lit::Int(b as i64)),
                    ]);
                }
            }
            Some(rows)
        }
        // Arrays and objects compare member by member: left to the evaluator.
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Rows holding a value that [`super::compare::compare_values`] orders so relative to `q`.
fn ord_rows(op: Cmp, q: &Value) -> Option<Rows> {
    match q {
        Value::Bool(b) => Some(vec![vec![
            class(&[Class::Bool]),
            cmp(Col::Bool, op, Lit::Int(*b as i64)),
        ]]),
        Value::Number(n) => match Num::from_json(n) {
            Some(n) => num_rows(op, n, &[Class::Number, Class::NumericString]),
            None => Some(Vec::new()),
        },
        Value::String(s) => {
            let text = |classes: &'static [Class]| {
                vec![class(classes), cmp(Col::Text, op, Lit::Text(s.clone()))]
            };
            let mut rows = Vec::new();
            if let Some(t) = Temporal::parse(s) {
                // Two times by time; a time with another string by code point.
                rows.extend(time_rows(op, t)?);
                rows.push(text(&[Class::NumericString, Class::PlainString]));
            } else if let Some(n) = Num::parse(s) {
                // Numbers and numeric strings by number, other strings by code point.
                rows.extend(num_rows(op, n, &[Class::Number, Class::NumericString])?);
                rows.push(text(&[Class::TimeString, Class::PlainString]));
            } else {
                rows.push(text(STRINGS));
            }
            Some(rows)
        }
        // null, arrays and objects order with nothing.
        Value::Null | Value::Array(_) | Value::Object(_) => Some(Vec::new()),
    }
}

/// The least string greater than every string starting with `p` (its last character
/// incremented), or `None` when there is none.
fn prefix_upper(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plan_matches_as_the_query_does() {
        let q = Query::parse(
            "predicate",
            &json!([{"expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": "25"},
                     "condition": "not",
                     "expression2": {"attribute_name": "sex", "operator": "eq", "attribute_value": "male"}}]),
        )
        .unwrap();
        let p = Plan::of(&q).unwrap();
        for r in [
            json!({"age": 19, "sex": "female"}),
            json!({"age": "19", "sex": "male"}),
            json!({"age": 30}),
            json!({"sex": "female"}),
        ] {
            assert_eq!(p.matches(&r), q.matches(&r).unwrap(), "{r}");
        }
        assert!(p.matches(&json!({"age": 19, "sex": "female"})));
    }

    #[test]
    fn rows_are_typed_as_compare_reads_them() {
        let r = json!({"d": ["2020-01-01T23:00:00-05:00", "25", 7, "x", true, null]});
        let rows = index_rows(&r, "d");
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[0].class, Class::Composite);
        assert_eq!(rows[1].class, Class::TimeString);
        let time = rows[1].time.as_ref().unwrap();
        assert_eq!(time.date, "2020-01-01");
        assert_eq!(time.instant.map(|(secs, _)| secs), Some(1_577_937_600));
        assert_eq!(rows[2].class, Class::NumericString);
        assert_eq!(rows[2].number.and_then(|n| n.int), Some(25));
        assert_eq!(rows[3].number.map(|n| n.num), Some(7.0));
        assert_eq!(rows[4].class, Class::PlainString);
        assert_eq!(rows[5].boolean, Some(true));
        assert_eq!(rows[6].class, Class::Null);
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper("Mu").as_deref(), Some("Mv"));
        assert_eq!(prefix_upper("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper("\u{10FFFF}"), None);
        assert_eq!(prefix_upper("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }
}
