//! The DCI message model: the envelope `{signature, header, message}`, its headers, every
//! registry message (search, subscribe, notify, unsubscribe, txn status, IBR and DR specifics),
//! the ack and error responses, wire enums with their codes, record views, validation and
//! builders.
//!
//! Design:
//! - Every struct keeps the fields it does not know in `extra` (`#[serde(flatten)]`), so a
//!   parse and re-serialise loses nothing.
//! - Inputs are read leniently (the spec's misspellings, numbers sent as strings, unknown enum
//!   values kept as `Other`); outputs use the corrected names and types. See
//!   docs/spec-decisions.md, "Message model".
//! - Validation works on JSON values ([`validate_value`]), so a request too broken to parse into
//!   the typed structs still gets every violation named by path. The typed `validate()` methods
//!   serialise and run the same rules.
//! - Signatures are computed over the JSON as received, never over these structs re-serialised.

/// `impl DciMessage` for message types whose `MessageKind` variant has the type's name:
/// `Type => items_field` counts that list for `header.total_count`; `Type => one` counts 1.
macro_rules! dci_message {
    ($($ty:ident => $count:tt),* $(,)?) => {
        $(impl DciMessage for $ty {
            const KIND: MessageKind = MessageKind::$ty;
            fn item_count(&self) -> usize {
                dci_message!(@count self, $count)
            }
        })*
    };
    (@count $self:ident, one) => { 1 };
    (@count $self:ident, $field:ident) => { $self.$field.len() };
}

mod ack;
mod builder;
mod codes;
mod dr;
mod envelope;
mod header;
mod ibr;
mod notify;
mod records;
mod search;
mod subscribe;
mod txn_status;
mod unsubscribe;
mod validate;

pub use ack::*;
pub use builder::*;
pub use codes::*;
pub use dr::*;
pub use envelope::*;
pub use header::*;
pub use ibr::*;
pub use notify::*;
pub use records::*;
pub use search::*;
pub use subscribe::*;
pub use txn_status::*;
pub use unsubscribe::*;
pub use validate::*;

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fields a struct does not model, kept in received order.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// Spec version written into `version` fields by the builders.
pub const SPEC_VERSION: &str = "1.0.0";

/// The current time in UTC as RFC 3339 with milliseconds and a `Z` suffix
/// (`2025-01-29T10:20:30.123Z`), the form the spec's examples use.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An integer count (`total_count`, `page_size`, ...). The spec's examples often send these as
/// strings (`"total_count": "1"`), so input accepts an integer, an integral float or a decimal
/// string; output is always a JSON integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Int(pub i64);

impl Int {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for Int {
    fn from(v: i64) -> Self {
        Int(v)
    }
}

impl From<Int> for i64 {
    fn from(v: Int) -> Self {
        v.0
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Int {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer (or a string holding one)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom(format!("integer {v} out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Int(v as i64))
                } else {
                    Err(E::custom(format!("expected an integer, got {v}")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.trim()
                    .parse::<i64>()
                    .map(Int)
                    .map_err(|_| E::custom(format!("expected an integer, got string {v:?}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Serde helpers for the lenient reading of loosely built messages.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    use super::Int;

    /// An optional count: `null`, absent and `""` (as the spec's examples send for
    /// `completed_count`) all read as `None`.
    pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Int>, D::Error> {
        let v = Value::deserialize(d)?;
        match v {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            other => Int::deserialize(other)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }

    /// A list that some peers send as a single object (`"search_request": {...}` in the DR and
    /// FR examples): read as a one-item list, written back as a list.
    pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: serde::de::DeserializeOwned,
    {
        let v = Value::deserialize(d)?;
        match v {
            Value::Array(a) => a
                .into_iter()
                .map(|x| T::deserialize(x).map_err(serde::de::Error::custom))
                .collect(),
            other @ Value::Object(_) => T::deserialize(other)
                .map(|x| vec![x])
                .map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "expected a list of items, got {other}"
            ))),
        }
    }
}
