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

    /// [`CrvsService::is_deceased`] under OpenSPP's name.
    pub fn check_death(&self, identifier_type: &str, identifier_value: &str) -> Result<bool> {
        self.is_deceased(identifier_type, identifier_value)
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

/// One vital event read from a notification (OpenSPP's `process_notification` stores these as
/// `spp.dci.crvs.event` records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VitalEvent {
    /// Lowercase (`birth`, `death`, ...), from the item's `reg_event_type` or the message's
    /// `event_type`; None when the notification names none.
    pub event_type: Option<String>,
    pub event_date: Option<String>,
    /// The first identifier of the person.
    pub identifier_type: Option<String>,
    pub identifier_value: Option<String>,
    /// The record (spec form) or the notification (OpenSPP's flat form) as received.
    pub raw_data: Value,
}

/// The lowercase event name of a `reg_event_type` (`spdci-common:RegistryEventType:LiveBirth`
/// -> `birth`, `DEATH` -> `death`).
fn event_name(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(|e| {
        let last = e.rsplit([':', '/', '#']).next().unwrap_or(e);
        match last.to_ascii_lowercase().as_str() {
            "livebirth" | "live_birth" => "birth".to_string(),
            other => other.to_string(),
        }
    })
}

/// The vital events of a notification: a notify envelope or its message, in the spec's form
/// (`notify_event[].data.reg_records[]`, one event per record) or OpenSPP's flat form
/// (`{event_type, event_date, identifiers: [{type, value}]}`, one event).
pub fn vital_events(notification: &Value) -> Result<Vec<VitalEvent>> {
    let m = notification.get("message").unwrap_or(notification);
    if let Some(Value::Array(items)) = m.get("notify_event") {
        let mut out = Vec::new();
        for item in items {
            let data = item.get("data").unwrap_or(&Value::Null);
            let records: Vec<&Value> = match data.get("reg_records") {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(r @ Value::Object(_)) => vec![r],
                _ => Vec::new(),
            };
            let kind = event_name(
                data.get("reg_event_type")
                    .or_else(|| item.get("reg_event_type"))
                    .or_else(|| m.get("event_type")),
            );
            for rec in records {
                let reg = mapping::from_dci(rec);
                let first = reg.identifiers.first();
                out.push(VitalEvent {
                    event_type: kind.clone(),
                    event_date: text(rec, "event_date")
                        .or_else(|| text(rec, "date_of_event"))
                        .or_else(|| text(item, "timestamp")),
                    identifier_type: first.map(|i| i.identifier_type.clone()),
                    identifier_value: first.map(|i| i.identifier_value.clone()),
                    raw_data: rec.clone(),
                });
            }
        }
        return Ok(out);
    }
    if m.get("event_type").is_some() || m.get("identifiers").is_some() {
        let first = m.get("identifiers").and_then(|i| i.get(0));
        let get = |k: &str| {
            first
                .and_then(|f| f.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        return Ok(vec![VitalEvent {
            event_type: event_name(m.get("event_type")),
            event_date: text(m, "event_date"),
            identifier_type: get("type").or_else(|| get("identifier_type")),
            identifier_value: get("value").or_else(|| get("identifier_value")),
            raw_data: notification.clone(),
        }]);
    }
    Err(crate::error::Error::Validation(vec![
        crate::error::Violation::new(
            "message.notify_event",
            "a notification carries notify_event items (or event_type and identifiers)",
        ),
    ]))
}

/// Whether a CRVS record says the person died.
pub fn record_is_deceased(rec: &Value) -> bool {
    let flag = |k: &str| rec.get(k).and_then(Value::as_bool).unwrap_or(false);
    text(rec, "death_date").is_some() || flag("is_deceased") || flag("deceased")
}
