//! Identifier queries: `{"type": "UIN", "value": "12314567890"}` (query_type `idtype-value`).
//!
//! A record matches when it carries an identifier of that type with that value, found in any of:
//! - an identifier list (or a single identifier object) at one of [`IDENTIFIER_PATHS`], whose
//!   items are `{identifier_type, identifier_value}` (the spec's `Identifier`), or
//!   `{type, value}` / `{id_type, id_value}`;
//! - a top-level field named like the type (`{"UIN": "123"}`), or its lower-case spelling.
//!
//! The same lists serve predicate and expression queries: an `attribute_name` of one segment
//! that the record lacks (`UIN`, as in the spec's examples) reaches the record's identifiers of
//! that type (see [`super::path`]).
//!
//! Types compare without regard to ASCII case and by their last `:`-separated segment, so
//! `UIN`, `uin` and `spdci:IdType:UIN` are one type. Values compare with
//! [`super::compare::values_equal`] (`123` equals `"123"`). A type or value of `"*"` matches
//! any (the "match all" filter some subscribers send).

use serde_json::{Map, Value};

use super::compare::values_equal;
use super::evaluate::type_name;
use super::path::resolve;
use crate::error::{Error, Result};

/// Where records keep their identifiers (spec Person, Group, Member and DR/FR records).
pub const IDENTIFIER_PATHS: [&str; 6] = [
    "identifier",
    "identifiers",
    "group_identifier",
    "member_identifier",
    "demographic_info.identifier",
    "person.identifier",
];

/// An `idtype-value` query.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTypeValue {
    /// The identifier type (`UIN`, `BRN`, `MOBILE`, ...), the spec's `IdType`.
    pub id_type: String,
    /// The identifier value (usually a string; the spec also allows numbers, booleans, objects).
    pub value: Value,
}

impl IdTypeValue {
    pub fn new(id_type: impl Into<String>, value: impl Into<Value>) -> Self {
        IdTypeValue {
            id_type: id_type.into(),
            value: value.into(),
        }
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), self.id_type.clone().into());
        m.insert("value".into(), self.value.clone());
        Value::Object(m)
    }

    /// `("idtype-value", query)` for the search request builder.
    pub fn to_wire(&self) -> (&'static str, Value) {
        ("idtype-value", self.to_value())
    }

    pub fn from_json(v: &Value) -> Result<Self> {
        let obj = v.as_object().ok_or_else(|| {
            Error::Query(format!(
                "query: expected an object {{type, value}}, got {}",
                type_name(v)
            ))
        })?;
        for k in obj.keys() {
            if k != "type" && k != "value" && !k.starts_with('@') {
                return Err(Error::Query(format!(
                    "query.{k}: unknown field (expected type and value)"
                )));
            }
        }
        let id_type = match obj.get("type") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => return Err(Error::Query("query.type: empty".into())),
            Some(other) => {
                return Err(Error::Query(format!(
                    "query.type: expected a string, got {}",
                    type_name(other)
                )))
            }
            None => return Err(Error::Query("query.type: required".into())),
        };
        let value = match obj.get("value") {
            None => return Err(Error::Query("query.value: required".into())),
            Some(Value::Null) => return Err(Error::Query("query.value: null".into())),
            Some(Value::Array(_)) => {
                return Err(Error::Query(
                    "query.value: expected a string, number, boolean or object, got an array"
                        .into(),
                ))
            }
            Some(v) => v.clone(),
        };
        Ok(IdTypeValue { id_type, value })
    }

    /// Whether `record` carries this identifier.
    pub fn matches(&self, record: &Value) -> bool {
        let any = self.value.as_str() == Some("*");
        let value_ok = |v: &Value| any || values_equal(v, &self.value);
        if identifier_values(record, &self.id_type)
            .into_iter()
            .any(value_ok)
        {
            return true;
        }
        if let Value::Object(map) = record {
            let lower = self.id_type.to_ascii_lowercase();
            for key in [self.id_type.as_str(), lower.as_str()] {
                if let Some(v) = map.get(key) {
                    if value_ok(v) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// The values of the record's identifiers of type `id_type`, from the lists at
/// [`IDENTIFIER_PATHS`] (not from top-level fields).
pub fn identifier_values<'a>(record: &'a Value, id_type: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for path in IDENTIFIER_PATHS {
        for found in resolve(record, path) {
            let entries: &[Value] = match found {
                Value::Array(items) => items,
                one => std::slice::from_ref(one),
            };
            for e in entries {
                if let Some((t, v)) = identifier_entry(e) {
                    if type_matches(t, id_type) {
                        out.push(v);
                    }
                }
            }
        }
    }
    out
}

/// `(type, value)` of one identifier object, in any of the accepted spellings.
fn identifier_entry(e: &Value) -> Option<(&str, &Value)> {
    let o = e.as_object()?;
    for (tk, vk) in [
        ("identifier_type", "identifier_value"),
        ("type", "value"),
        ("id_type", "id_value"),
    ] {
        if let (Some(t), Some(v)) = (o.get(tk).and_then(Value::as_str), o.get(vk)) {
            return Some((t, v));
        }
    }
    None
}

/// Two identifier types are one type (see the module docs).
pub fn type_matches(record_type: &str, query_type: &str) -> bool {
    if query_type == "*" {
        return true;
    }
    let last = |s: &str| s.rsplit(':').next().unwrap_or(s).trim().to_string();
    last(record_type).eq_ignore_ascii_case(&last(query_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_spellings() {
        assert!(type_matches("UIN", "uin"));
        assert!(type_matches("spdci:IdType:UIN", "UIN"));
        assert!(!type_matches("BRN", "UIN"));
        assert!(type_matches("BRN", "*"));
    }

    #[test]
    fn errors_name_the_field() {
        let e = IdTypeValue::from_json(&json!({"type": "UIN"})).unwrap_err();
        assert_eq!(e.to_string(), "query error: query.value: required");
        let e = IdTypeValue::from_json(&json!({"type": 5, "value": "1"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "query error: query.type: expected a string, got a number"
        );
    }
}
