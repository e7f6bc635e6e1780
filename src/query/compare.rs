//! Type-aware comparison of a record value with a query value.
//!
//! The spec leaves attribute values loosely typed (`attribute_value` is a string, number, boolean
//! or object, and its own examples send `"25"` for an age), so comparison looks at both sides:
//!
//! - number with number: numerically (integers exactly, otherwise as `f64`);
//! - number with a string that reads as a number (`"25"`, `"2.5"`): numerically;
//! - string with string: as time when both are RFC 3339 date-times or ISO dates
//!   (`2020-01-01`, `2020-01-01T10:00:00Z`; a date-time without an offset is taken as UTC).
//!   When one side is a date only, the other is compared by its calendar date as written,
//!   so `2020-12-31T22:00:00Z` is `eq`, `le` and `ge` `2020-12-31`. For ordering (`lt`, `gt`, ...)
//!   two strings that both read as numbers compare numerically; otherwise strings compare
//!   by Unicode code point, case-sensitively. Equality of two plain strings is exact (`"007"` is
//!   not `"7"`: identifiers are strings);
//! - boolean with boolean, or with the strings `"true"` / `"false"`;
//! - `null` equals only `null`;
//! - arrays and objects are equal when their JSON values are equal (numbers by value);
//! - anything else is incomparable: equality is false and every ordering is false.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Number, Value};

/// A string read as a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Temporal {
    /// A calendar date (`2020-01-01`).
    Date(NaiveDate),
    /// An instant, in UTC nanoseconds since the epoch, with the calendar date as written.
    Instant { nanos: i128, date: NaiveDate },
}

impl Temporal {
    pub(crate) fn parse(s: &str) -> Option<Temporal> {
        let s = s.trim();
        // Cheap shape check first: every accepted form starts with YYYY-MM-DD.
        let b = s.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
            return None;
        }
        if b.len() == 10 {
            return NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(Temporal::Date);
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Temporal::Instant {
                nanos: nanos(dt.timestamp(), dt.timestamp_subsec_nanos()),
                date: dt.date_naive(),
            });
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(ndt) = NaiveDateTime::parse_from_str(s, fmt) {
                let utc = ndt.and_utc();
                return Some(Temporal::Instant {
                    nanos: nanos(utc.timestamp(), utc.timestamp_subsec_nanos()),
                    date: ndt.date(),
                });
            }
        }
        None
    }

    fn date(&self) -> NaiveDate {
        match self {
            Temporal::Date(d) => *d,
            Temporal::Instant { date, .. } => *date,
        }
    }

    /// A total order key for sorting: dates sort as midnight UTC.
    pub(crate) fn sort_nanos(&self) -> i128 {
        match self {
            Temporal::Date(d) => {
                let utc = d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
                nanos(utc.timestamp(), 0)
            }
            Temporal::Instant { nanos, .. } => *nanos,
        }
    }

    fn compare(&self, other: &Temporal) -> Ordering {
        match (self, other) {
            (Temporal::Instant { nanos: a, .. }, Temporal::Instant { nanos: b, .. }) => a.cmp(b),
            // A date-only side compares at date granularity.
            _ => self.date().cmp(&other.date()),
        }
    }
}

fn nanos(secs: i64, sub: u32) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(sub)
}

/// A number kept exact where it is an integer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub(crate) fn from_json(n: &Number) -> Option<Num> {
        if let Some(i) = n.as_i64() {
            Some(Num::Int(i128::from(i)))
        } else if let Some(u) = n.as_u64() {
            Some(Num::Int(i128::from(u)))
        } else {
            n.as_f64().filter(|f| f.is_finite()).map(Num::Float)
        }
    }

    /// A string that reads as a finite number (`"25"`, `"-2.5"`, `"1e3"`).
    pub(crate) fn parse(s: &str) -> Option<Num> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        // Only plain decimal spellings: f64::from_str also takes "inf" and "NaN".
        if !s
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E'))
        {
            return None;
        }
        if let Ok(i) = s.parse::<i128>() {
            return Some(Num::Int(i));
        }
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Float)
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    pub(crate) fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Whether the record value `a` equals the query value `b` under the rules above.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Bool(x), Value::String(s)) | (Value::String(s), Value::Bool(x)) => {
            parse_bool(s) == Some(*x)
        }
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            matches!(compare_numeric(a, b), Some(Ordering::Equal))
        }
        (Value::String(x), Value::String(y)) => {
            if x == y {
                return true;
            }
            match (Temporal::parse(x), Temporal::parse(y)) {
                (Some(p), Some(q)) => p.compare(&q) == Ordering::Equal,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

fn as_num(v: &Value) -> Option<Num> {
    match v {
        Value::Number(n) => Num::from_json(n),
        Value::String(s) => Num::parse(s),
        _ => None,
    }
}

fn compare_numeric(a: &Value, b: &Value) -> Option<Ordering> {
    as_num(a)?.compare(as_num(b)?)
}

/// The order of the record value `a` relative to the query value `b`, or `None` when the two
/// cannot be ordered (then `lt`, `le`, `gt` and `ge` are all false).
pub fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(_), Value::Number(_) | Value::String(_))
        | (Value::String(_), Value::Number(_)) => compare_numeric(a, b),
        (Value::String(x), Value::String(y)) => {
            if let (Some(p), Some(q)) = (Temporal::parse(x), Temporal::parse(y)) {
                return Some(p.compare(&q));
            }
            if let (Some(p), Some(q)) = (Num::parse(x), Num::parse(y)) {
                return p.compare(q);
            }
            Some(x.as_str().cmp(y.as_str()))
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_numeric_strings() {
        assert!(values_equal(&json!(25), &json!("25")));
        assert!(values_equal(&json!(2.5), &json!("2.5")));
        assert!(values_equal(&json!(3), &json!(3.0)));
        assert_eq!(
            compare_values(&json!(3), &json!("25")),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare_values(&json!("3"), &json!("25")),
            Some(Ordering::Less)
        );
        assert!(!values_equal(&json!("007"), &json!("7")));
        assert!(!values_equal(&json!(7), &json!("seven")));
        assert_eq!(compare_values(&json!(7), &json!("seven")), None);
        assert_eq!(Num::parse("inf").map(Num::as_f64), None);
        assert_eq!(Num::parse("NaN").map(Num::as_f64), None);
    }

    #[test]
    fn big_integers_compare_exactly() {
        let a = json!(9007199254740993u64);
        let b = json!(9007199254740992u64);
        assert!(!values_equal(&a, &b));
        assert_eq!(compare_values(&a, &b), Some(Ordering::Greater));
    }

    #[test]
    fn dates_and_times() {
        assert!(values_equal(
            &json!("2020-01-01T02:00:00+02:00"),
            &json!("2020-01-01T00:00:00Z")
        ));
        assert!(values_equal(
            &json!("2020-12-31T22:00:00Z"),
            &json!("2020-12-31")
        ));
        assert_eq!(
            compare_values(&json!("2021-01-01T00:00:00Z"), &json!("2020-12-31")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare_values(
                &json!("2020-01-01T00:00:00"),
                &json!("2020-01-01T00:00:01Z")
            ),
            Some(Ordering::Less)
        );
        assert_eq!(Temporal::parse("2020-13-01"), None);
    }

    #[test]
    fn bools_and_nulls() {
        assert!(values_equal(&json!(true), &json!("true")));
        assert!(!values_equal(&json!(false), &json!("true")));
        assert!(values_equal(&Value::Null, &Value::Null));
        assert!(!values_equal(&Value::Null, &json!("")));
    }
}
