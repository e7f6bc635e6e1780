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

macro_rules! opt {
    () => {
        Option<Value>
    };
}

/// A person (CRVS / social `Person`, DCI `Person`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Person {
    /// An identifier object or a list of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: opt!(),
    /// `{given_name, surname, second_name, prefix, suffix}` or a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub death_date: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marital_status: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: opt!(),
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group / household (social `Group`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Group {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_identifier: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_type: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_size: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poverty_score: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_head_info: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_list: Option<Vec<Member>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: opt!(),
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group member (social `Member`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Member {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_identifier: opt!(),
    /// The member's person record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demographic_info: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_person: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_disabled: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marital_status: opt!(),
    #[serde(flatten)]
    pub extra: Extra,
}

/// An IBR beneficiary: the assistance unit (group) or member and their benefits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Beneficiary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistance_unit: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_status: opt!(),
    #[serde(flatten)]
    pub extra: Extra,
}

/// A DR disabled person.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DisabledPerson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_details: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability_status: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability_level: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability_details: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability_support: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: opt!(),
    #[serde(flatten)]
    pub extra: Extra,
}

/// An FR farmer. The FR extension spells the personal details `famer_personal_details`; that
/// name is read and written as `farmer_personal_details`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Farmer {
    #[serde(
        default,
        alias = "famer_personal_details",
        skip_serializing_if = "Option::is_none"
    )]
    pub farmer_personal_details: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_details: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land_details: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub farmer_type: opt!(),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: opt!(),
    #[serde(flatten)]
    pub extra: Extra,
}

impl RecordView for Person {}
impl RecordView for Group {}
impl RecordView for Member {}
impl RecordView for Beneficiary {}
impl RecordView for DisabledPerson {}
impl RecordView for Farmer {}
