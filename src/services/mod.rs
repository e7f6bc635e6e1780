//! Registry services: thin layers over [`crate::client::DCIClient`] with the domain methods
//! OpenSPP's client documentation describes (CRVS, IBR, DR), and the record mapping helpers.
//! All result types are `serde::Serialize` (the bindings turn them into dicts).

pub mod crvs;
pub mod dr;
pub mod ibr;
pub mod mapping;

pub use crvs::{BirthRecord, CrvsService};
pub use dr::{DisabilityStatus, DrService};
pub use ibr::{BeneficiaryInfo, DuplicationResult, EnrolledItem, IbrService};
pub use mapping::{from_dci, to_dci, Address, Identifier, Registrant};

use serde_json::Value;

/// A string field, or None when absent, null or empty.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
