//! The field tests shared by predicate and expression queries: each resolves a dotted path in
//! the record ([`super::path`]) and compares what it finds with the query value
//! ([`super::compare`]). A positive test holds when any value found (or any element of an array
//! found) satisfies it; a missing attribute satisfies none, except equality with `null`.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::compare::{compare_values, values_equal};
use super::idtype::identifier_values;
use super::path::{candidates, resolve};
use crate::error::{Error, Result};

/// The values an attribute name reaches: the dotted path, or, for a one-segment name the record
/// lacks, the values of the record's identifiers of that type (`UIN` in the spec's examples).
pub(crate) fn values_at<'a>(record: &'a Value, path: &str) -> Vec<&'a Value> {
    let found = resolve(record, path);
    if found.is_empty() && !path.contains('.') {
        return identifier_values(record, path);
    }
    found
}

/// Some value at `path` equals `q`; `null` also matches a missing attribute.
pub(crate) fn field_eq(record: &Value, path: &str, q: &Value) -> bool {
    let found = values_at(record, path);
    if q.is_null() && found.is_empty() {
        return true;
    }
    found
        .iter()
        .any(|v| candidates(v).any(|c| values_equal(c, q)))
}

/// Some value at `path` stands in an order to `q` that `accept` accepts.
pub(crate) fn field_ord(
    record: &Value,
    path: &str,
    q: &Value,
    accept: fn(Ordering) -> bool,
) -> bool {
    values_at(record, path)
        .iter()
        .any(|v| candidates(v).any(|c| compare_values(c, q).is_some_and(accept)))
}

/// Some value at `path` equals one of `list`.
pub(crate) fn field_in(record: &Value, path: &str, list: &[Value]) -> bool {
    list.iter().any(|q| field_eq(record, path, q))
}

/// Some string at `path` starts with `prefix` (case-sensitive).
pub(crate) fn field_starts_with(record: &Value, path: &str, prefix: &str) -> bool {
    values_at(record, path)
        .iter()
        .any(|v| candidates(v).any(|c| c.as_str().is_some_and(|s| s.starts_with(prefix))))
}

/// The attribute is present (even when `null`).
pub(crate) fn field_exists(record: &Value, path: &str) -> bool {
    !values_at(record, path).is_empty()
}

pub(crate) fn is_lt(o: Ordering) -> bool {
    o == Ordering::Less
}
pub(crate) fn is_le(o: Ordering) -> bool {
    o != Ordering::Greater
}
pub(crate) fn is_gt(o: Ordering) -> bool {
    o == Ordering::Greater
}
pub(crate) fn is_ge(o: Ordering) -> bool {
    o != Ordering::Less
}

/// A short description of a JSON value's type, for error messages.
/// `v` as an object, or an error naming `at` and what was found instead.
pub(crate) fn object_at<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| Error::Query(format!("{at}: expected an object, got {}", type_name(v))))
}

/// The non-empty string field `key` of `obj` (`attribute_name`), or an error naming
/// `{at}.{key}`.
pub(crate) fn required_name(obj: &Map<String, Value>, key: &str, at: &str) -> Result<String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(Error::Query(format!("{at}.{key}: empty"))),
        Some(other) => Err(Error::Query(format!(
            "{at}.{key}: expected a string, got {}",
            type_name(other)
        ))),
        None => Err(Error::Query(format!("{at}.{key}: required"))),
    }
}

/// How errors name a JSON value's type (one wording for queries and validation).
pub(crate) use crate::model::json_type_name as type_name;
