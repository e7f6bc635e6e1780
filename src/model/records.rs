//! Typed views of registry records (`reg_records` items). Records travel as JSON values; these
//! views read the fields the spec's extensions name and keep everything else in `extra`, so a
//! view converted back to JSON holds the same data. JSON-LD keys (`@context`, `@id`, `@type`)
//! stay in `extra`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;
use crate::error::{Error, Result};

/// Conversion between a record JSON value and its typed view.
pub trait RecordView: Serialize + DeserializeOwned {
    /// Reads a view of `record`; fails only if a modelled field has the wrong JSON type.
    fn from_record(record: &Value) -> Result<Self> {
        serde_json::from_value(record.clone()).map_err(|e| Error::Json(format!("record: {e}")))
    }

    /// The view as a record JSON value.
    fn to_record(&self) -> Result<Value> {
        serde_json::to_value(self).map_err(|e| Error::Json(e.to_string()))
    }
}

/// Declares a record view: each listed field is an optional JSON value (or the given type),
/// absent stays absent, and every other key of the record is kept in `extra`.
macro_rules! record_view {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$fmeta:meta])* $field:ident $(: $ty:ty)?),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<record_view!(@type $($ty)?)>,
            )+
            #[serde(flatten)]
            pub extra: Extra,
        }

        impl RecordView for $name {}
    };
    (@type) => { Value };
    (@type $ty:ty) => { $ty };
}

record_view! {
    /// A person (CRVS / social `Person`, DCI `Person`).
    Person {
        /// An identifier object or a list of them.
        identifier,
        /// `{given_name, surname, second_name, prefix, suffix}` or a string.
        name,
        sex, birth_date, death_date, address, phone_number, email, marital_status,
        registration_date,
    }
}

record_view! {
    /// A group / household (social `Group`).
    Group {
        group_identifier, group_type, group_size, poverty_score, group_head_info,
        member_list: Vec<Member>,
        registration_date,
    }
}

record_view! {
    /// A group member (social `Member`).
    Member {
        member_identifier,
        /// The member's person record.
        demographic_info,
        related_person, is_disabled, marital_status,
    }
}

record_view! {
    /// An IBR beneficiary: the assistance unit (group) or member and their benefits.
    Beneficiary { assistance_unit, member, programme, enrollment_status }
}

record_view! {
    /// A DR disabled person.
    DisabledPerson {
        personal_details, disability_status, disability_level, disability_details,
        disability_support, registration_date,
    }
}

record_view! {
    /// An FR farmer. The FR extension spells the personal details `famer_personal_details`;
    /// that name is read and written as `farmer_personal_details`.
    Farmer {
        #[serde(alias = "famer_personal_details")]
        farmer_personal_details,
        family_details, land_details, farmer_type, registration_date,
    }
}
