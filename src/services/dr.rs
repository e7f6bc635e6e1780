//! DR (disability registry) service: disability status and Washington Group functional scores.
//!
//! Washington Group Short Set domains (spec `FunctionalLimitationType`/`DisabilityTypeEnum`):
//! `VIS_SS` Vision, `HEAR_SS` Hearing, `MOB_SS` Mobility, `COG_SS` Cognition, `SC_SS` Self-Care,
//! `COM_SS` Communication; each scored 1-4 (`FunctionalSeverityEnum`: 1 no difficulty, 2 some
//! difficulty, 3 a lot of difficulty, 4 cannot do it at all). A person with disability (PWD) is
//! one with at least one domain at 3 or more: the Washington Group's recommended cut-off.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::response::{self, Ctx};
use crate::client::DCIClient;
use crate::error::Result;
use crate::model::{DisabledCriteria, Extra, QueryType};
use crate::query::IdTypeValue;
use crate::services::text;

/// The Washington Group cut-off: a domain scored at least this is a disability.
pub const WG_CUTOFF: u8 = 3;

/// (code, domain name) of the six Washington Group Short Set domains.
pub const WG_DOMAINS: [(&str, &str); 6] = [
    ("VIS_SS", "Vision"),
    ("HEAR_SS", "Hearing"),
    ("MOB_SS", "Mobility"),
    ("COG_SS", "Cognition"),
    ("SC_SS", "Self-Care"),
    ("COM_SS", "Communication"),
];

/// What the registry says about a person's disability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisabilityStatus {
    pub has_disability: bool,
    /// Impairment types (`disability_details[].impairment_type`) and the WG domains at the cut-off.
    pub disability_types: Vec<String>,
    /// Washington Group scores by domain name (`Vision`, ...), 1-4.
    pub functional_scores: BTreeMap<String, u8>,
    pub disability_status: Option<String>,
    pub disability_level: Option<String>,
    /// `last_updated`, else `registration_date`.
    pub assessment_date: Option<String>,
    pub source_registry: Option<String>,
    pub raw_record: Value,
}

/// The identifier types a DR lookup prefers, in order (OpenSPP's priority); else the first.
pub const PREFERRED_ID_TYPES: &[&str] = &["UIN", "DRN", "NATIONAL_ID", "NID"];

/// The identifier to look a person up by: the first of [`PREFERRED_ID_TYPES`] the person has
/// (any case), else the first one; None when there is none.
pub fn preferred_identifier(ids: &[(String, String)]) -> Option<&(String, String)> {
    PREFERRED_ID_TYPES
        .iter()
        .find_map(|t| {
            ids.iter()
                .find(|(it, v)| it.eq_ignore_ascii_case(t) && !v.is_empty())
        })
        .or_else(|| ids.iter().find(|(_, v)| !v.is_empty()))
}

/// What to store locally for a person after asking the registry (OpenSPP's
/// `sync_disability_data` writes these to `spp.dci.disability.status`). A person the registry
/// does not hold is stored as without disability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisabilitySync {
    pub has_disability: bool,
    pub disability_types: Vec<String>,
    pub functional_scores: BTreeMap<String, u8>,
    pub assessment_date: Option<String>,
    pub source_registry: Option<String>,
    /// The record as received (`{}` when not found).
    pub raw_data: Value,
    /// `"synced"`.
    pub state: String,
    /// Whether the registry holds the person.
    pub found: bool,
}

pub struct DrService {
    client: DCIClient,
}

service_client!(DrService);

impl DrService {
    pub fn new(client: DCIClient) -> Self {
        DrService { client }
    }

    /// The person's disability record: through `/registry/sync/get-disability-details` when
    /// `endpoints.disability_details` is set, the search endpoint otherwise. None = not found.
    pub fn get_disability_status(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<Option<DisabilityStatus>> {
        Ok(self
            .record(identifier_type, identifier_value)?
            .map(|r| disability_status(&r)))
    }

    /// The Washington Group scores (domain name -> 1..4); empty when the person is not found or
    /// the record carries none.
    pub fn get_functional_scores(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<BTreeMap<String, u8>> {
        Ok(self
            .record(identifier_type, identifier_value)?
            .map(|r| functional_scores(&r))
            .unwrap_or_default())
    }

    /// The Washington Group scores by domain with the record's `assessment_date` (when it has
    /// one); None when the person is not found (OpenSPP's `get_functional_assessment`).
    pub fn get_functional_assessment(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<Option<serde_json::Map<String, Value>>> {
        Ok(self.record(identifier_type, identifier_value)?.map(|rec| {
            let mut m: serde_json::Map<String, Value> = functional_scores(&rec)
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect();
            if let Some(d) = disability_status(&rec).assessment_date {
                m.insert("assessment_date".into(), Value::String(d));
            }
            m
        }))
    }

    /// What to store for the person: the registry's disability record, or "no disability"
    /// when it holds none.
    pub fn sync_disability_data(
        &self,
        identifier_type: &str,
        identifier_value: &str,
    ) -> Result<DisabilitySync> {
        let status = self.get_disability_status(identifier_type, identifier_value)?;
        Ok(match status {
            Some(s) => DisabilitySync {
                has_disability: s.has_disability,
                disability_types: s.disability_types,
                functional_scores: s.functional_scores,
                assessment_date: s.assessment_date,
                source_registry: s.source_registry,
                raw_data: s.raw_record,
                state: "synced".into(),
                found: true,
            },
            None => DisabilitySync {
                has_disability: false,
                disability_types: Vec::new(),
                functional_scores: BTreeMap::new(),
                assessment_date: None,
                source_registry: None,
                raw_data: Value::Object(Default::default()),
                state: "synced".into(),
                found: false,
            },
        })
    }

    /// Whether the person is a person with disability: any WG domain at 3 or more. A record
    /// without WG scores falls back to the registry's own answer: `/registry/sync/disabled`
    /// when `endpoints.disabled` is set, the record's disability status otherwise.
    pub fn is_pwd(&self, identifier_type: &str, identifier_value: &str) -> Result<bool> {
        let Some(rec) = self.record(identifier_type, identifier_value)? else {
            return Ok(false);
        };
        let scores = functional_scores(&rec);
        if !scores.is_empty() {
            return Ok(scores.values().any(|s| *s >= WG_CUTOFF));
        }
        if let Some(d) = self.disabled(identifier_type, identifier_value)? {
            return Ok(d);
        }
        Ok(disability_status(&rec).has_disability)
    }

    /// `/registry/sync/disabled` (`disabled_status` yes/no), when `endpoints.disabled` is set.
    pub fn disabled(&self, identifier_type: &str, identifier_value: &str) -> Result<Option<bool>> {
        let Some(path) = self.client.data_source().endpoints.disabled.clone() else {
            return Ok(None);
        };
        let items = self.client.call_sync_items(
            &path,
            "search",
            criteria(identifier_type, identifier_value),
            "disabled_response",
        )?;
        let yes = |it: &Value| {
            response::s(it, "disabled_status").is_some_and(|s| s.eq_ignore_ascii_case("yes"))
        };
        let any = items.iter().any(yes);
        Ok(Some(any))
    }

    fn record(&self, identifier_type: &str, identifier_value: &str) -> Result<Option<Value>> {
        let ds = self.client.data_source();
        let result = match ds.endpoints.disability_details.clone() {
            Some(path) => {
                let raw = self.client.call_sync(
                    &path,
                    "search",
                    criteria(identifier_type, identifier_value),
                )?;
                let url = ds.url(&path);
                let ctx = Ctx {
                    endpoint: &url,
                    transaction_id: Some(&raw.transaction_id),
                };
                response::parse_search(&ctx, &raw.envelope, "search_response", raw.signature)?
            }
            None => self
                .client
                .search_by_id(identifier_type, identifier_value)?,
        };
        Ok(result.first_record().cloned())
    }
}

/// The `disabled_criteria` body (`DisabledCriteria`, an `idtype-value` query), which the
/// disability details endpoint reads too.
fn criteria(identifier_type: &str, identifier_value: &str) -> Map<String, Value> {
    let (query_type, query) = IdTypeValue::new(identifier_type, identifier_value).to_wire();
    let c = DisabledCriteria {
        query_type: Some(QueryType::from_wire(query_type)),
        query: Some(query),
        extra: Extra::new(),
    };
    let mut m = Map::new();
    m.insert(
        "disabled_criteria".into(),
        serde_json::to_value(c).unwrap_or(Value::Null),
    );
    m
}

/// The WG domain name of a code (`VIS_SS`, `type:VIS_SS`, `Vision`, ...).
pub fn wg_domain(code: &str) -> Option<&'static str> {
    let c = code.rsplit([':', '#', '/']).next().unwrap_or(code).trim();
    WG_DOMAINS
        .iter()
        .find(|(k, n)| {
            c.eq_ignore_ascii_case(k)
                || c.eq_ignore_ascii_case(n)
                || (*n == "Self-Care"
                    && ["self care", "selfcare", "self_care"]
                        .iter()
                        .any(|a| c.eq_ignore_ascii_case(a)))
                || (*n == "Vision" && c.eq_ignore_ascii_case("seeing"))
        })
        .map(|(_, n)| *n)
}

/// A severity 1-4 from `3`, `"3"` or `"category:3"`; anything else is None.
fn severity(v: &Value) -> Option<u8> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.rsplit(':').next()?.trim().parse().ok()?,
        _ => return None,
    };
    (1..=4).contains(&n).then_some(n as u8)
}

/// The Washington Group scores a record carries: `disability_info` items
/// (`disability_limitation_type` + `functional_severity`, spec `DisabilityInfo.jsonld`; also
/// `functional_domain`), a `functional_scores` or `washington_group` map, or domain codes as keys; also inside `personal_details` /
/// `demographic_info`. The highest score per domain wins.
pub fn functional_scores(rec: &Value) -> BTreeMap<String, u8> {
    let mut out = BTreeMap::new();
    collect_scores(rec, &mut out);
    for k in ["personal_details", "demographic_info", "member"] {
        if let Some(inner) = rec.get(k) {
            collect_scores(inner, &mut out);
        }
    }
    out
}

fn collect_scores(rec: &Value, out: &mut BTreeMap<String, u8>) {
    let mut put = |domain: &str, s: u8| {
        let e = out.entry(domain.to_string()).or_insert(s);
        *e = (*e).max(s);
    };
    if let Some(list) = rec.get("disability_info").and_then(Value::as_array) {
        for it in list {
            let code = [
                "disability_limitation_type",
                "functional_limitation_type",
                "limitation_type",
                "functional_domain",
                "type",
            ]
            .iter()
            .find_map(|k| it.get(*k).and_then(Value::as_str));
            let sev = ["functional_severity", "severity", "score"]
                .iter()
                .find_map(|k| it.get(*k).and_then(severity));
            if let (Some(d), Some(s)) = (code.and_then(wg_domain), sev) {
                put(d, s);
            }
        }
    }
    // `functional_scores`, or `washington_group` ({VIS_SS: n}, as the reference demo emits).
    for m in ["functional_scores", "washington_group"]
        .iter()
        .filter_map(|k| rec.get(*k).and_then(Value::as_object))
    {
        for (k, v) in m {
            if let (Some(d), Some(s)) = (wg_domain(k), severity(v)) {
                put(d, s);
            }
        }
    }
    if let Some(m) = rec.as_object() {
        for (code, _) in WG_DOMAINS {
            if let Some(s) = m.get(code).and_then(severity) {
                if let Some(d) = wg_domain(code) {
                    put(d, s);
                }
            }
        }
    }
}

/// Reads a DR record (`PWD_Person` or a `Member` with `disability_info`).
pub fn disability_status(rec: &Value) -> DisabilityStatus {
    let scores = functional_scores(rec);
    let mut types: Vec<String> = rec
        .get("disability_details")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| text(d, "impairment_type"))
                .collect()
        })
        .unwrap_or_default();
    for (domain, s) in &scores {
        if *s >= WG_CUTOFF && !types.contains(domain) {
            types.push(domain.clone());
        }
    }
    let status = text(rec, "disability_status");
    let explicit = status.as_deref().map(|s| s.trim().to_ascii_lowercase());
    let flag = ["is_disabled", "has_disability"]
        .iter()
        .find_map(|k| rec.get(*k).and_then(Value::as_bool));
    let has = match explicit.as_deref() {
        Some("approved" | "registered" | "yes" | "true" | "disabled" | "active") => true,
        Some("rejected" | "denied" | "no" | "false" | "not_disabled") => false,
        _ => flag.unwrap_or(!types.is_empty()),
    };
    DisabilityStatus {
        has_disability: has,
        disability_types: types,
        functional_scores: scores,
        disability_status: status,
        disability_level: text(rec, "disability_level")
            .or_else(|| text(rec, "disability_status_level")),
        assessment_date: text(rec, "last_updated").or_else(|| text(rec, "registration_date")),
        source_registry: text(rec, "source_registry").or_else(|| text(rec, "registry_name")),
        raw_record: rec.clone(),
    }
}
