//! The registry services over a `dci_client`: CRVS (births, deaths), IBR (enrolment,
//! duplication) and DR (disability, Washington Group scores). Each call is a thin layer over
//! the client's searches; results cross as JSON text.

use std::ffi::c_char;

use serde::Deserialize;

use super::client::dci_client;
use super::string::{in_args, in_str};
use super::{dci_error, dci_result, handle, json_out, value_out, FfiResult};
use dci::client::DCIClient;
use dci::services::{CrvsService, DrService, IbrService};

/// A person lookup: the client and the identifier, checked, then `f` with them.
fn lookup<T>(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    f: impl FnOnce(DCIClient, &str, &str) -> dci::Result<T>,
) -> FfiResult<T> {
    let c = handle(client, "client")?.0.clone();
    let t = in_str(identifier_type, "identifier_type")?;
    let v = in_str(identifier_value, "identifier_value")?;
    Ok(f(c, t, v)?)
}

/// CRVS: looks the person up by identifier and writes the first birth record found to `*out`
/// as JSON (`{"identifier_type", "identifier_value", "person_name", "given_name",
/// "family_name", "sex", "birth_date", "birth_place", "registrant", "record"}`), or `null`
/// when nobody is found.
#[no_mangle]
pub extern "C" fn dci_crvs_verify_birth(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        lookup(client, identifier_type, identifier_value, |c, t, v| {
            CrvsService::new(c).verify_birth(t, v)
        })
    })
}

/// CRVS: whether a death is registered for the person (`false` when nobody is found).
#[no_mangle]
pub extern "C" fn dci_crvs_is_deceased(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    out: *mut bool,
    err: *mut *mut dci_error,
) -> dci_result {
    value_out(out, err, || {
        lookup(client, identifier_type, identifier_value, |c, t, v| {
            CrvsService::new(c).is_deceased(t, v)
        })
    })
}

/// CRVS: subscribes to vital events; `event_types_json` is a list of `reg_event_type`s
/// (NULL or `[]`: live births and deaths). Writes the acknowledgement to `*out`.
#[no_mangle]
pub extern "C" fn dci_crvs_subscribe_events(
    client: *const dci_client,
    event_types_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        let c = handle(client, "client")?.0.clone();
        let types: Vec<String> = if event_types_json.is_null() {
            Vec::new()
        } else {
            in_args(event_types_json, "event_types_json")?
        };
        let refs: Vec<&str> = types.iter().map(String::as_str).collect();
        Ok(CrvsService::new(c).subscribe_events(&refs)?)
    })
}

/// CRVS: every birth record with `birth_date` between `date_from` and `date_to` (inclusive,
/// `YYYY-MM-DD`), all pages, written to `*out` as a JSON list of records.
#[no_mangle]
pub extern "C" fn dci_crvs_search_births(
    client: *const dci_client,
    date_from: *const c_char,
    date_to: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        let c = handle(client, "client")?.0.clone();
        let (from, to) = (in_str(date_from, "date_from")?, in_str(date_to, "date_to")?);
        Ok(CrvsService::new(c).search_births(from, to)?)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Identifier {
    identifier_type: String,
    identifier_value: String,
}

/// IBR: searches for each identifier (`identifiers_json`: a non-empty list of
/// `{"identifier_type", "identifier_value"}`) and writes `{"is_duplicate",
/// "matched_programs", "raw_response"}` to `*out`. An error on any identifier fails the call
/// (never read as "not a duplicate").
#[no_mangle]
pub extern "C" fn dci_ibr_check_duplication(
    client: *const dci_client,
    identifiers_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        let c = handle(client, "client")?.0.clone();
        let ids: Vec<Identifier> = in_args(identifiers_json, "identifiers_json")?;
        let pairs: Vec<(&str, &str)> = ids
            .iter()
            .map(|i| (i.identifier_type.as_str(), i.identifier_value.as_str()))
            .collect();
        Ok(IbrService::new(c).check_duplication(&pairs)?)
    })
}

/// IBR: the beneficiaries held under the identifier, as a JSON list of
/// `{"identifier_type", "identifier_value", "name", "programs", "metadata"}`.
#[no_mangle]
pub extern "C" fn dci_ibr_search_beneficiary(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        lookup(client, identifier_type, identifier_value, |c, t, v| {
            IbrService::new(c).search_beneficiary(t, v)
        })
    })
}

/// IBR: whether the person is enrolled (through `/registry/sync/enrolled`).
#[no_mangle]
pub extern "C" fn dci_ibr_enrolled(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    out: *mut bool,
    err: *mut *mut dci_error,
) -> dci_result {
    value_out(out, err, || {
        lookup(client, identifier_type, identifier_value, |c, t, v| {
            IbrService::new(c).enrolled(t, v)
        })
    })
}

/// DR: the person's disability status as JSON, or `null` when not found.
#[no_mangle]
pub extern "C" fn dci_dr_get_disability_status(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        lookup(client, identifier_type, identifier_value, |c, t, v| {
            DrService::new(c).get_disability_status(t, v)
        })
    })
}

/// DR: the Washington Group scores as a JSON object (domain name -> 1..4; `{}` when the
/// person is not found or the record has none).
#[no_mangle]
pub extern "C" fn dci_dr_get_functional_scores(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    json_out(out, err, || {
        lookup(client, identifier_type, identifier_value, |c, t, v| {
            DrService::new(c).get_functional_scores(t, v)
        })
    })
}

/// DR: whether the person is a person with disability (any Washington Group domain at 3 or
/// more; the registry's own answer for records without scores; `false` when not found).
#[no_mangle]
pub extern "C" fn dci_dr_is_pwd(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
    out: *mut bool,
    err: *mut *mut dci_error,
) -> dci_result {
    value_out(out, err, || {
        lookup(client, identifier_type, identifier_value, |c, t, v| {
            DrService::new(c).is_pwd(t, v)
        })
    })
}
