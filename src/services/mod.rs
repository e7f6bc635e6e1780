//! Registry services: thin layers over [`crate::client::DCIClient`] with the domain methods
//! OpenSPP's client documentation describes (CRVS, IBR, DR), and the record mapping helpers.
//! All result types are `serde::Serialize` (the bindings turn them into dicts).

/// What every service has beside its `new`: `from_data_source` (a client for the data source,
/// then `new`) and `client`.
macro_rules! service_client {
    ($service:ident) => {
        impl $service {
            pub fn from_data_source(ds: $crate::client::DataSource) -> $crate::error::Result<Self> {
                Ok(Self::new($crate::client::DCIClient::new(ds)?))
            }

            pub fn client(&self) -> &$crate::client::DCIClient {
                &self.client
            }
        }
    };
}

pub mod crvs;
pub mod dr;
pub mod ibr;
pub mod mapping;

pub use crvs::{vital_events, BirthRecord, CrvsService, VitalEvent};
pub use dr::{preferred_identifier, DisabilityStatus, DisabilitySync, DrService};
pub use ibr::{BeneficiaryInfo, DuplicationResult, EnrolledItem, EnrollmentStatus, IbrService};
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
