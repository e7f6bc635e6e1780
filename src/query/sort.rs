//! Sorting search results by the spec's `sort`: a list of
//! `{"attribute_name": "poverty_score", "sort_order": "asc" | "desc"}`.
//!
//! - Keys apply in list order; the sort is stable (records that tie keep their order).
//! - `attribute_name` is a dotted path ([`super::path`]; a one-segment name the record lacks
//!   reaches its identifiers of that type, so `UIN` sorts by UIN); when it reaches several
//!   values (an array or an array along the path) the first one is the key.
//! - Values order by kind, then within the kind: `null` < booleans < numbers (including strings
//!   that read as numbers, so `"9"` < `"10"`) < dates and date-times (dates as midnight UTC) <
//!   other strings (by code point) < arrays and objects (by their JSON text).
//! - A record without the attribute sorts last, in both directions.
//! - `sort_order` defaults to `asc` when absent; any other value than `asc`/`desc` is an error
//!   (the spec's `rjct.sort.invalid`).

use std::cmp::Ordering;

use serde_json::Value;

use super::compare::{Num, Temporal};
use super::evaluate::values_at;
use super::evaluate::{object_at, required_name, type_name};
use crate::error::{Error, Result};

/// `asc` or `desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// One sort key, the spec's `SearchSort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub attribute_name: String,
    pub sort_order: SortOrder,
}

impl SortKey {
    pub fn asc(attribute_name: impl Into<String>) -> Self {
        SortKey {
            attribute_name: attribute_name.into(),
            sort_order: SortOrder::Asc,
        }
    }
    pub fn desc(attribute_name: impl Into<String>) -> Self {
        SortKey {
            attribute_name: attribute_name.into(),
            sort_order: SortOrder::Desc,
        }
    }
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "attribute_name": self.attribute_name,
            "sort_order": self.sort_order.as_str(),
        })
    }
}

/// Parse the `sort` of a search (a list; `null` or absent is no sorting; one object alone is
/// taken as a list of one).
pub fn parse_sort(v: &Value) -> Result<Vec<SortKey>> {
    let items: &[Value] = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        Value::Object(_) => std::slice::from_ref(v),
        other => {
            return Err(Error::Query(format!(
                "sort: expected a list, got {}",
                type_name(other)
            )))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let at = format!("sort[{i}]");
            let o = object_at(it, &at)?;
            let attribute_name = required_name(o, "attribute_name", &at)?;
            let sort_order = match o.get("sort_order") {
                None | Some(Value::Null) => SortOrder::Asc,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("asc") => SortOrder::Asc,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("desc") => SortOrder::Desc,
                Some(other) => {
                    return Err(Error::Query(format!(
                        "{at}.sort_order: expected asc or desc, got {other}"
                    )))
                }
            };
            Ok(SortKey {
                attribute_name,
                sort_order,
            })
        })
        .collect()
}

/// The keys of a parsed request's `search_criteria.sort` (the same rules as [`parse_sort`]).
pub fn keys_of(items: &[crate::model::SortItem]) -> Result<Vec<SortKey>> {
    parse_sort(&serde_json::to_value(items)?)
}

/// Sort `records` in place by the spec's `sort` value.
pub fn sort_records(records: &mut [Value], sort: &Value) -> Result<()> {
    let keys = parse_sort(sort)?;
    sort_by_keys(records, &keys);
    Ok(())
}

/// Sort `records` in place by typed keys (stable).
pub fn sort_by_keys(records: &mut [Value], keys: &[SortKey]) {
    if keys.is_empty() || records.len() < 2 {
        return;
    }
    // Extract keys once; comparing extracted keys is a total order, as sort_by requires.
    let mut order: Vec<(RecordSortKey, usize)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (RecordSortKey::of(r, keys), i))
        .collect();
    order.sort_by(|(a, _), (b, _)| a.cmp(b, keys));
    let mut taken: Vec<Value> = records.iter_mut().map(std::mem::take).collect();
    for (slot, (_, i)) in records.iter_mut().zip(order) {
        *slot = std::mem::take(&mut taken[i]);
    }
}

/// The values one record sorts by under some keys, extracted once, so a server can sort many
/// records by keeping only these (and an id) instead of the records.
#[derive(Debug, Clone)]
pub struct RecordSortKey(Vec<Option<SortVal>>);

impl RecordSortKey {
    pub fn of(record: &Value, keys: &[SortKey]) -> RecordSortKey {
        RecordSortKey(
            keys.iter()
                .map(|k| {
                    values_at(record, &k.attribute_name)
                        .first()
                        .and_then(|v| first(v))
                        .map(SortVal::of)
                })
                .collect(),
        )
    }

    /// The order of two records' keys under the `keys` they were extracted with (records
    /// without the attribute last in both directions).
    pub fn cmp(&self, other: &RecordSortKey, keys: &[SortKey]) -> Ordering {
        for (k, (x, y)) in keys.iter().zip(self.0.iter().zip(&other.0)) {
            let o = match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => {
                    let o = x.cmp(y);
                    if k.sort_order == SortOrder::Desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// The first value of an array (none for an empty one), or the value itself.
fn first(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(items) => items.first(),
        other => Some(other),
    }
}

/// A sort key with a total order.
#[derive(Debug, Clone)]
pub(crate) enum SortVal {
    Null,
    Bool(bool),
    /// `f64` first (total order), then the integer value to separate large integers.
    Num(f64, i128),
    Time(i128),
    Str(String),
    Other(String),
}

impl SortVal {
    fn of(v: &Value) -> SortVal {
        let num = |n: Num| match n {
            Num::Int(i) => SortVal::Num(i as f64, i),
            Num::Float(f) => SortVal::Num(f, f as i128),
        };
        match v {
            Value::Null => SortVal::Null,
            Value::Bool(b) => SortVal::Bool(*b),
            Value::Number(n) => Num::from_json(n).map(num).unwrap_or(SortVal::Null),
            Value::String(s) => {
                if let Some(t) = Temporal::parse(s) {
                    SortVal::Time(t.sort_nanos())
                } else if let Some(n) = Num::parse(s) {
                    num(n)
                } else {
                    SortVal::Str(s.clone())
                }
            }
            other => SortVal::Other(other.to_string()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortVal::Null => 0,
            SortVal::Bool(_) => 1,
            SortVal::Num(..) => 2,
            SortVal::Time(_) => 3,
            SortVal::Str(_) => 4,
            SortVal::Other(_) => 5,
        }
    }

    fn cmp(&self, other: &SortVal) -> Ordering {
        match (self, other) {
            (SortVal::Bool(a), SortVal::Bool(b)) => a.cmp(b),
            (SortVal::Num(a, i), SortVal::Num(b, j)) => a.total_cmp(b).then(i.cmp(j)),
            (SortVal::Time(a), SortVal::Time(b)) => a.cmp(b),
            (SortVal::Str(a), SortVal::Str(b)) | (SortVal::Other(a), SortVal::Other(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_of_typed_items_follow_parse_sort() {
        let items: Vec<crate::model::SortItem> = serde_json::from_value(json!([
            {"attribute_name": "a", "sort_order": "DESC"}, {"attribute_name": "b"}
        ]))
        .unwrap();
        assert_eq!(
            keys_of(&items).unwrap(),
            [SortKey::desc("a"), SortKey::asc("b")]
        );
        let bad: Vec<crate::model::SortItem> =
            serde_json::from_value(json!([{"sort_order": "up"}])).unwrap();
        assert_eq!(
            keys_of(&bad).unwrap_err().to_string(),
            "query error: sort[0].attribute_name: required"
        );
    }
}
