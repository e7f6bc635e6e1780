//! The registry services over a `dci_client`: CRVS (births, deaths), IBR (enrolment,
//! duplication) and DR (disability, Washington Group scores). Each call is a thin layer over
//! the client's searches; results cross as JSON text.

use std::ffi::c_char;

use serde::Deserialize;

use super::client::dci_client;
use super::string::{in_json, in_str, out_string};
use super::{boundary, dci_error, dci_result, handle, out_ptr, write_out, FfiError, FfiResult};
use dci::client::DCIClient;
use dci::error::Error;
use dci::services::{CrvsService, DrService, IbrService};

fn to_json<T: serde::Serialize>(v: &T) -> FfiResult<String> {
    serde_json::to_string(v).map_err(|e| FfiError::Core(Error::Internal(format!("result: {e}"))))
}

/// The client and the identifier every person lookup takes.
fn lookup<'a>(
    client: *const dci_client,
    identifier_type: *const c_char,
    identifier_value: *const c_char,
) -> FfiResult<(DCIClient, &'a str, &'a str)> {
    let c = handle(client, "client")?.0.clone();
    Ok((
        c,
        in_str(identifier_type, "identifier_type")?,
        in_str(identifier_value, "identifier_value")?,
    ))
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let (c, t, v) = lookup(client, identifier_type, identifier_value)?;
        let r = CrvsService::new(c).verify_birth(t, v)?;
        out_string(out, &to_json(&r)?);
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let (c, t, v) = lookup(client, identifier_type, identifier_value)?;
        write_out(out, CrvsService::new(c).is_deceased(t, v)?);
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let c = handle(client, "client")?.0.clone();
        let types: Vec<String> = if event_types_json.is_null() {
            Vec::new()
        } else {
            serde_json::from_value(in_json(event_types_json, "event_types_json")?).map_err(|e| {
                Error::Json(format!("event_types_json: expected a list of strings: {e}"))
            })?
        };
        let refs: Vec<&str> = types.iter().map(String::as_str).collect();
        out_string(
            out,
            &to_json(&CrvsService::new(c).subscribe_events(&refs)?)?,
        );
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let c = handle(client, "client")?.0.clone();
        let records = CrvsService::new(c)
            .search_births(in_str(date_from, "date_from")?, in_str(date_to, "date_to")?)?;
        out_string(out, &to_json(&records)?);
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let c = handle(client, "client")?.0.clone();
        let ids: Vec<Identifier> =
            serde_json::from_value(in_json(identifiers_json, "identifiers_json")?)
                .map_err(|e| Error::Json(format!("identifiers_json: {e}")))?;
        let pairs: Vec<(&str, &str)> = ids
            .iter()
            .map(|i| (i.identifier_type.as_str(), i.identifier_value.as_str()))
            .collect();
        out_string(
            out,
            &to_json(&IbrService::new(c).check_duplication(&pairs)?)?,
        );
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let (c, t, v) = lookup(client, identifier_type, identifier_value)?;
        out_string(
            out,
            &to_json(&IbrService::new(c).search_beneficiary(t, v)?)?,
        );
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let (c, t, v) = lookup(client, identifier_type, identifier_value)?;
        write_out(out, IbrService::new(c).enrolled(t, v)?);
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let (c, t, v) = lookup(client, identifier_type, identifier_value)?;
        out_string(
            out,
            &to_json(&DrService::new(c).get_disability_status(t, v)?)?,
        );
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let (c, t, v) = lookup(client, identifier_type, identifier_value)?;
        out_string(
            out,
            &to_json(&DrService::new(c).get_functional_scores(t, v)?)?,
        );
        Ok(())
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
    boundary(err, || {
        let out = out_ptr(out, "out")?;
        let (c, t, v) = lookup(client, identifier_type, identifier_value)?;
        write_out(out, DrService::new(c).is_pwd(t, v)?);
        Ok(())
    })
}
