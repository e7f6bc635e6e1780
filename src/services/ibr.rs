//! IBR (integrated beneficiary registry) service: duplicate-enrolment checks and beneficiary
//! look-ups.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::response;
use crate::client::DCIClient;
use crate::error::{Error, Result, Violation};
use crate::model::{EnrolledCriteria, Extra, QueryType, ResponseEntity};
use crate::query::IdTypeValue;
use crate::services::mapping;
use crate::services::text;

/// The outcome of [`IbrService::check_duplication`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicationResult {
    pub is_duplicate: bool,
    /// Programme names (or identifiers when unnamed), sorted, without repeats.
    pub matched_programs: Vec<String>,
    /// One response envelope per identifier searched.
    pub raw_response: Vec<Value>,
}

/// A beneficiary found in the IBR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeneficiaryInfo {
    pub identifier_type: String,
    pub identifier_value: String,
    pub name: Option<String>,
    pub programs: Vec<String>,
    /// The record as received.
    pub metadata: Value,
    /// The `reference_id` of the search item the record came in.
    #[serde(default)]
    pub reference_id: Option<String>,
    /// The record's identifiers (`identifier_type`, `identifier_value`).
    #[serde(default)]
    pub identifiers: Vec<mapping::Identifier>,
}

/// Whether a person is enrolled, in which programmes, and the first record found (OpenSPP's
/// `get_enrollment_status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentStatus {
    pub enrolled: bool,
    /// Every programme of every record found (sorted, without repeats).
    pub programs: Vec<String>,
    pub beneficiary_info: Option<BeneficiaryInfo>,
}

/// One `enrolled_response` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolledItem {
    pub reference_id: Option<String>,
    pub status: String,
    /// `enrolled_status` `yes`.
    pub enrolled: bool,
    pub status_reason_message: Option<String>,
}

pub struct IbrService {
    client: DCIClient,
}

service_client!(IbrService);

impl IbrService {
    pub fn new(client: DCIClient) -> Self {
        IbrService { client }
    }

    /// Searches the IBR for each `(identifier_type, identifier_value)`; a record found for
    /// any of them is a duplicate. Fails closed: an error on any identifier is returned, never
    /// read as "not a duplicate".
    pub fn check_duplication(&self, identifiers: &[(&str, &str)]) -> Result<DuplicationResult> {
        if identifiers.is_empty() {
            return Err(Error::Validation(vec![Violation::new(
                "identifiers",
                "at least one (identifier_type, identifier_value)",
            )]));
        }
        let mut programs = BTreeSet::new();
        let mut found = false;
        let mut raw = Vec::new();
        for (t, v) in identifiers {
            let r = self.client.search_by_id(t, v)?;
            for rec in r.records() {
                found = true;
                programs.extend(programs_of(rec));
            }
            raw.push(r.raw);
        }
        Ok(DuplicationResult {
            is_duplicate: found,
            matched_programs: programs.into_iter().collect(),
            raw_response: raw,
        })
    }

    /// The beneficiaries the IBR holds under this identifier (usually none or one).
    pub fn search_beneficiary(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<Vec<BeneficiaryInfo>> {
        let r = self
            .client
            .search_by_id(identifier_type, identifier_value)?;
        Ok(r.items
            .iter()
            .flat_map(|item| item.records.iter().map(move |rec| (item, rec)))
            .map(|(item, rec)| BeneficiaryInfo {
                identifier_type: identifier_type.to_string(),
                identifier_value: identifier_value.to_string(),
                name: beneficiary_name(rec),
                programs: programs_of(rec).into_iter().collect(),
                metadata: rec.clone(),
                reference_id: item.reference_id.clone(),
                identifiers: mapping::from_dci(rec.get("member").unwrap_or(rec)).identifiers,
            })
            .collect())
    }

    /// Whether the person is enrolled: a search by identifier; every programme of every record
    /// found, and the first record as `beneficiary_info`.
    pub fn enrollment_status(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<EnrollmentStatus> {
        let found = self.search_beneficiary(identifier_type, identifier_value)?;
        let programs: BTreeSet<String> = found.iter().flat_map(|b| b.programs.clone()).collect();
        Ok(EnrollmentStatus {
            enrolled: !found.is_empty(),
            programs: programs.into_iter().collect(),
            beneficiary_info: found.into_iter().next(),
        })
    }

    /// Whether the person is enrolled, through `/registry/sync/enrolled` (`EnrolledRequest`
    /// with an `idtype-value` query; `response_entity` `Member`).
    pub fn enrolled(&self, identifier_type: &str, identifier_value: &str) -> Result<bool> {
        let (query_type, query) = IdTypeValue::new(identifier_type, identifier_value).to_wire();
        let items = self.enrolled_query(query_type, query, "Member")?;
        Ok(items.iter().any(|i| i.enrolled))
    }

    /// `/registry/sync/enrolled` with any query; every item's status is checked.
    pub fn enrolled_query(
        &self,
        query_type: &str,
        query: Value,
        response_entity: &str,
    ) -> Result<Vec<EnrolledItem>> {
        let criteria = EnrolledCriteria {
            query_type: Some(QueryType::from_wire(query_type)),
            response_entity: Some(ResponseEntity::from_wire(response_entity)),
            query: Some(query),
            extra: Extra::new(),
        };
        let mut body = Map::new();
        body.insert("enrolled_criteria".into(), serde_json::to_value(criteria)?);
        let path = self.client.data_source().endpoints.enrolled.clone();
        let items = self
            .client
            .call_sync_items(&path, "search", body, "enrolled_response")?;
        let out = items
            .iter()
            .map(|it| EnrolledItem {
                reference_id: response::s(it, "reference_id"),
                enrolled: response::s(it, "enrolled_status")
                    .is_some_and(|s| s.eq_ignore_ascii_case("yes")),
                status: response::s(it, "status").unwrap_or_default(),
                status_reason_message: response::s(it, "status_reason_message"),
            })
            .collect();
        Ok(out)
    }
}

fn beneficiary_name(rec: &Value) -> Option<String> {
    if let Some(n) = rec.get("name").and_then(Value::as_str) {
        return Some(n.to_string());
    }
    if let Some(n) = text(rec, "full_name") {
        return Some(n);
    }
    // Beneficiary records carry the person under `member` (IBR `Beneficiary.jsonld`).
    let person = rec.get("member").unwrap_or(rec);
    mapping::from_dci(person).full_name()
}

/// The programmes a record names: `programme_identifier` (a code, or an object with a nested
/// `programme`), `programme`, and lists under `programs`, `programmes`, `programs_enrollments`,
/// `programme_enrollments`, `enrollments`. Names are preferred to identifiers.
pub fn programs_of(rec: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn name_of(v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Object(_) => {
                if let Some(p) = v.get("programme").or_else(|| v.get("program")) {
                    if let Some(n) = name_of(p) {
                        return Some(n);
                    }
                }
                [
                    "programme_name",
                    "program_name",
                    "name",
                    "programme_identifier",
                    "program_id",
                    "programme_id",
                    "id",
                    "code",
                ]
                .iter()
                .find_map(|k| match v.get(*k) {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                })
            }
            _ => None,
        }
    }
    for k in ["programme_identifier", "programme", "program"] {
        if let Some(n) = rec.get(k).and_then(name_of) {
            out.insert(n);
        }
    }
    for k in [
        "programs",
        "programmes",
        "programs_enrollments",
        "programme_enrollments",
        "program_enrollments",
        "enrollments",
    ] {
        if let Some(a) = rec.get(k).and_then(Value::as_array) {
            out.extend(a.iter().filter_map(name_of));
        }
    }
    out
}
