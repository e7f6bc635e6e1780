//! CRVS (civil registration and vital statistics) service.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Ack, DCIClient, SearchSpec, SubscribeSpec};
use crate::error::Result;
use crate::services::mapping::{self, Registrant};
use crate::services::text;

/// `reg_event_type` of a live birth (spec example `spdci-common:RegistryEventType:LiveBirth`).
pub const LIVE_BIRTH: &str = "spdci-common:RegistryEventType:LiveBirth";
/// `reg_event_type` of a death.
pub const DEATH: &str = "spdci-common:RegistryEventType:Death";

/// A verified birth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BirthRecord {
    /// The identifier looked up.
    pub identifier_type: String,
    pub identifier_value: String,
    pub person_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub birth_place: Option<String>,
    pub registrant: Registrant,
    /// The record as received.
    pub record: Value,
}

pub struct CrvsService {
    client: DCIClient,
    /// The attribute [`CrvsService::search_births`] filters on (default `birth_date`).
    pub birth_date_attribute: String,
}

service_client!(CrvsService);

impl CrvsService {
    pub fn new(client: DCIClient) -> Self {
        CrvsService {
            client,
            birth_date_attribute: "birth_date".into(),
        }
    }

    /// Looks the person up by identifier; the first record found as a [`BirthRecord`], or None.
    pub fn verify_birth(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<Option<BirthRecord>> {
        let r = self
            .client
            .search_by_id(identifier_type, identifier_value)?;
        Ok(r.first_record().map(|rec| {
            let reg = mapping::from_dci(rec);
            BirthRecord {
                identifier_type: identifier_type.to_string(),
                identifier_value: identifier_value.to_string(),
                person_name: reg.full_name(),
                given_name: reg.given_name.clone(),
                family_name: reg.family_name.clone(),
                sex: reg.sex.clone(),
                birth_date: reg.birth_date.clone(),
                birth_place: reg.birth_place.clone(),
                registrant: reg,
                record: rec.clone(),
            }
        }))
    }

    /// True when the registry has the person and records a death (a non-empty `death_date`,
    /// or `is_deceased`/`deceased` true). No record is false.
    pub fn is_deceased(&self, identifier_type: &str, identifier_value: &str) -> Result<bool> {
        let r = self
            .client
            .search_by_id(identifier_type, identifier_value)?;
        let dead = r.records().any(record_is_deceased);
        Ok(dead)
    }

    /// Subscribes to vital events, one subscription per event type; no types = live birth and
    /// death. Returns the ACK (the codes arrive by the on-subscribe callback).
    pub fn subscribe_events(&self, event_types: &[&str]) -> Result<Ack> {
        let types: Vec<&str> = if event_types.is_empty() {
            vec![LIVE_BIRTH, DEATH]
        } else {
            event_types.to_vec()
        };
        let specs: Vec<SubscribeSpec> = types.iter().map(|t| SubscribeSpec::event(*t)).collect();
        self.client.subscribe(&specs)
    }

    /// Every birth registered between the two dates (inclusive), across all pages.
    pub fn search_births(&self, date_from: &str, date_to: &str) -> Result<Vec<Value>> {
        let spec = SearchSpec::date_range(&self.birth_date_attribute, date_from, date_to)
            .reg_event_type(LIVE_BIRTH);
        self.client.search_all(spec)
    }
}

/// Whether a CRVS record says the person died.
pub fn record_is_deceased(rec: &Value) -> bool {
    let flag = |k: &str| rec.get(k).and_then(Value::as_bool).unwrap_or(false);
    text(rec, "death_date").is_some() || flag("is_deceased") || flag("deceased")
}
