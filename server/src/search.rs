//! Read operations over the records: search (idtype-value, predicate, expression), verify,
//! IBR enrolled, DR disabled / disability support / disability details.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::reply::now_ts;
use super::security::share;
use super::store::{Record, Sender, Store};

/// The record types each registry holds, in its schema's names.
pub fn record_types(registry: &str) -> &'static [&'static str] {
    match registry {
        "crvs" => &["Person"],
        "social" => &["Group", "Member"],
        "ibr" => &["Beneficiary"],
        "dr" => &["DisabledPerson"],
        "fr" => &["Farmer"],
        _ => &[],
    }
}

/// The `reg_type` we answer with for a registry.
pub fn reg_type(registry: &str) -> &'static str {
    match registry {
        "crvs" => "ns:org:RegistryType:Civil",
        "social" => "ns:org:RegistryType:Social",
        "ibr" => "ns:org:RegistryType:IBR",
        "dr" => "ns:org:RegistryType:DR",
        "fr" => "ns:org:RegistryType:FR",
        _ => "ns:org:RegistryType:Other",
    }
}

/// The record type a `reg_record_type` names, if it is one of this registry's
/// (`Person`, `spdci-extensions-dci:Person`, `person` all name Person). Unknown names do not
/// filter, so conformance suites with their own vocabularies still get answers.
pub fn pick_record_type(registry: &str, reg_record_type: Option<&str>) -> Option<&'static str> {
    let name = reg_record_type?.rsplit([':', '/', '#']).next()?;
    record_types(registry)
        .iter()
        .find(|t| t.eq_ignore_ascii_case(name))
        .copied()
}

/// The value at a dotted path; arrays along the way yield every element's value.
pub fn values_at<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur = vec![v];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for c in cur {
            match c {
                Value::Object(o) => {
                    if let Some(x) = o.get(seg) {
                        match x {
                            Value::Array(a) => next.extend(a.iter()),
                            other => next.push(other),
                        }
                    }
                }
                Value::Array(a) => {
                    for e in a {
                        if let Some(x) = e.get(seg) {
                            next.push(x);
                        }
                    }
                }
                _ => {}
            }
        }
        cur = next;
    }
    cur
}

/// An identifier object stands for its value in comparisons.
fn scalar(v: &Value) -> &Value {
    v.get("identifier_value").unwrap_or(v)
}

fn cmp_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::Number(y)) => x.parse::<f64>().ok()?.partial_cmp(&y.as_f64()?),
        (Value::Number(x), Value::String(y)) => x.as_f64()?.partial_cmp(&y.parse::<f64>().ok()?),
        _ => None,
    }
}

/// The `{path: {op: value}}` queries of IBR enrolled and DR disabled (operators eq, ne, gt,
/// lt, ge, le, in); every path must match.
pub fn simple_query_matches(record: &Value, query: &Value) -> Result<bool, String> {
    let q = query.as_object().ok_or("query must be an object")?;
    for (path, cond) in q {
        let conds: Vec<(String, Value)> = match cond {
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| (k.trim_start_matches('$').to_string(), v.clone()))
                .collect(),
            other => vec![("eq".into(), other.clone())],
        };
        let vals = values_at(record, path);
        for (op, want) in conds {
            let hit = vals.iter().any(|v| {
                let v = scalar(v);
                match op.as_str() {
                    "eq" => cmp_values(v, &want) == Some(Ordering::Equal),
                    "ne" => cmp_values(v, &want) != Some(Ordering::Equal),
                    "gt" => cmp_values(v, &want) == Some(Ordering::Greater),
                    "lt" => cmp_values(v, &want) == Some(Ordering::Less),
                    "ge" => matches!(
                        cmp_values(v, &want),
                        Some(Ordering::Greater | Ordering::Equal)
                    ),
                    "le" => matches!(cmp_values(v, &want), Some(Ordering::Less | Ordering::Equal)),
                    "in" => want.as_array().is_some_and(|a| {
                        a.iter().any(|w| cmp_values(v, w) == Some(Ordering::Equal))
                    }),
                    _ => false,
                }
            });
            if !["eq", "ne", "gt", "lt", "ge", "le", "in"].contains(&op.as_str()) {
                return Err(format!("{path}: unknown operator {op}"));
            }
            if !hit {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Records matching a search criteria, as `(id, sort keys)`, in result order.
pub fn find(
    store: &dyn Store,
    registry: &str,
    record_type: Option<&str>,
    query_type: &str,
    query: &Value,
    sort: &[(String, bool)],
) -> Result<Vec<Record>, String> {
    let mut out: Vec<Record> = Vec::new();
    if super::validate::query_type_name(query_type) == "idtype-value" {
        let t = query
            .get("type")
            .or_else(|| query.get("identifier_type"))
            .and_then(Value::as_str)
            .ok_or("query.type: required (the identifier type)")?;
        let v = match query.get("value").or_else(|| query.get("identifier_value")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => {
                return Err("query.value: required (the identifier value)".into())
            }
            Some(other) => other.to_string(),
        };
        let found = store
            .records_by_identifier(registry, t, &v)
            .map_err(|e| e.to_string())?;
        out.extend(
            found
                .into_iter()
                .filter(|r| record_type.is_none_or(|t| t == r.record_type)),
        );
    } else {
        if super::validate::query_type_name(query_type) == "graphql" {
            return Err("query_type graphql is not supported by this registry".into());
        }
        let mut err = None;
        store
            .scan(registry, record_type, &mut |r| {
                let Ok(v) = serde_json::from_str::<Value>(&r.data) else {
                    return true;
                };
                match dci::query::matches(&v, query_type, query) {
                    Ok(true) => {
                        out.push(r);
                        true
                    }
                    Ok(false) => true,
                    Err(e) => {
                        err = Some(e.to_string());
                        false
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        if let Some(e) = err {
            return Err(e);
        }
    }
    if !sort.is_empty() {
        let keyed: Vec<(Vec<Value>, Record)> = out
            .into_iter()
            .map(|r| {
                let v: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
                let keys = sort
                    .iter()
                    .map(|(p, _)| {
                        values_at(&v, p)
                            .first()
                            .map(|x| (*x).clone())
                            .unwrap_or(Value::Null)
                    })
                    .collect();
                (keys, r)
            })
            .collect();
        let mut keyed = keyed;
        keyed.sort_by(|(a, _), (b, _)| {
            for (i, (_, asc)) in sort.iter().enumerate() {
                let o = cmp_values(&a[i], &b[i]).unwrap_or(Ordering::Equal);
                let o = if *asc { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        out = keyed.into_iter().map(|(_, r)| r).collect();
    }
    Ok(out)
}

fn item_reject(reference_id: &Value, code: &str, message: &str) -> Value {
    json!({
        "reference_id": reference_id,
        "timestamp": now_ts(),
        "status": "rjct",
        "status_reason_code": code,
        "status_reason_message": super::reply::truncate(message, 999),
    })
}

/// Answers a SearchRequest message; returns the SearchResponse message and how many items
/// succeeded.
pub fn search(
    store: &dyn Store,
    registry: &str,
    sender: &Sender,
    message: &Value,
    correlation_id: &str,
    max_page_size: usize,
) -> (Value, usize) {
    let items = message
        .get("search_request")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut responses = Vec::with_capacity(items.len());
    let mut ok = 0;
    for it in &items {
        let reference_id = it.get("reference_id").cloned().unwrap_or(Value::Null);
        let c = it.get("search_criteria").cloned().unwrap_or(Value::Null);
        if sender.consent_required && !c.get("consent").is_some_and(Value::is_object) {
            responses.push(item_reject(
                &reference_id,
                "rjct.search_criteria.invalid",
                "search_criteria.consent: required by this sender's data sharing agreement",
            ));
            continue;
        }
        let query_type = c
            .get("query_type")
            .and_then(Value::as_str)
            .unwrap_or("idtype-value");
        let query = c.get("query").cloned().unwrap_or(Value::Null);
        let reg_record_type = c.get("reg_record_type").and_then(Value::as_str);
        let record_type = pick_record_type(registry, reg_record_type);
        // search_criteria.pagination (the spec), else the item's (where the OpenSPP
        // spdci-compliance suite sends it).
        let pg = if c.get("pagination").is_some() {
            &c
        } else {
            it
        };
        let page_size = pg
            .pointer("/pagination/page_size")
            .and_then(Value::as_f64)
            .map(|x| x as usize)
            .unwrap_or(100)
            .clamp(1, max_page_size);
        let page_number = pg
            .pointer("/pagination/page_number")
            .and_then(Value::as_f64)
            .map(|x| x as usize)
            .unwrap_or(1)
            .max(1);
        let mut sort = Vec::new();
        if let Some(s) = c.get("sort").and_then(Value::as_array) {
            for (i, k) in s.iter().enumerate() {
                let Some(a) = k.get("attribute_name").and_then(Value::as_str) else {
                    responses.push(item_reject(
                        &reference_id,
                        "rjct.sort.invalid",
                        &format!("sort[{i}].attribute_name: required"),
                    ));
                    continue;
                };
                let desc = k.get("sort_order").and_then(Value::as_str) == Some("desc");
                sort.push((a.to_string(), !desc));
            }
        }
        match find(store, registry, record_type, query_type, &query, &sort) {
            Err(e) => responses.push(item_reject(
                &reference_id,
                "rjct.search_criteria.invalid",
                &e,
            )),
            Ok(found) => {
                let total = found.len();
                let records: Vec<Value> = found
                    .into_iter()
                    .skip((page_number - 1).saturating_mul(page_size))
                    .take(page_size)
                    .filter_map(|r| serde_json::from_str(&r.data).ok())
                    .map(|v| share(sender, v))
                    .collect();
                let rrt = reg_record_type.map(str::to_string).unwrap_or_else(|| {
                    record_types(registry)
                        .first()
                        .copied()
                        .unwrap_or("Record")
                        .to_string()
                });
                let mut data = Map::new();
                data.insert("version".into(), json!("1.0.0"));
                data.insert(
                    "reg_type".into(),
                    c.get("reg_type")
                        .cloned()
                        .unwrap_or_else(|| json!(reg_type(registry))),
                );
                data.insert("reg_record_type".into(), json!(rrt));
                data.insert("reg_records".into(), Value::Array(records));
                let mut r = Map::new();
                r.insert("reference_id".into(), reference_id);
                r.insert("timestamp".into(), json!(now_ts()));
                r.insert("status".into(), json!("succ"));
                r.insert("data".into(), Value::Object(data));
                r.insert(
                    "pagination".into(),
                    json!({"page_size": page_size, "page_number": page_number, "total_count": total}),
                );
                if let Some(l) = it.get("locale") {
                    r.insert("locale".into(), l.clone());
                }
                responses.push(Value::Object(r));
                ok += 1;
            }
        }
    }
    (
        json!({
            "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
            "correlation_id": correlation_id,
            "search_response": responses,
        }),
        ok,
    )
}

fn first_record(
    store: &dyn Store,
    registry: &str,
    id_type: &str,
    id_value: &str,
) -> Result<Option<Value>, String> {
    let ids = store
        .ids_by_identifier(registry, id_type, id_value)
        .map_err(|e| e.to_string())?;
    for id in ids {
        if let Some(r) = store.record_by_id(id).map_err(|e| e.to_string())? {
            return Ok(serde_json::from_str(&r.data).ok());
        }
    }
    Ok(None)
}

fn yes(b: bool) -> Value {
    json!(if b { "yes" } else { "no" })
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Whether a record backs one claimed attribute value. Dates compare on the day when the
/// claim is a bare date.
fn claim_holds(
    store: &dyn Store,
    registry: &str,
    id: (&str, &str),
    record: &Value,
    name: &str,
    want: &Value,
) -> Result<bool, String> {
    Ok(match name {
        "is_alive" => want.as_bool() == Some(!non_empty(record.get("death_date"))),
        "is_deceased" => want.as_bool() == Some(non_empty(record.get("death_date"))),
        "enrolled" | "is_enrolled" => {
            let found = registry == "ibr" && record.get("@type") == Some(&json!("Beneficiary"))
                || first_record(store, "ibr", id.0, id.1)?.is_some();
            want.as_bool() == Some(found)
        }
        "disabled" | "is_disabled" => {
            let found = registry == "dr" || first_record(store, "dr", id.0, id.1)?.is_some();
            want.as_bool() == Some(found)
        }
        path => values_at(record, path).iter().any(|v| {
            let v = scalar(v);
            if cmp_values(v, want) == Some(Ordering::Equal) {
                return true;
            }
            match (v.as_str(), want.as_str()) {
                (Some(have), Some(w)) if w.len() == 10 => have.get(..10) == Some(w),
                _ => false,
            }
        }),
    })
}

/// Answers a verify message (shape in docs/server.md): yes/no per claim, no record returned.
pub fn verify(
    store: &dyn Store,
    registry: &str,
    message: &Value,
    correlation_id: &str,
) -> (Value, usize) {
    let items = message
        .get("verify_request")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut ok = 0;
    for it in &items {
        let reference_id = it.get("reference_id").cloned().unwrap_or(Value::Null);
        let c = it.get("verify_criteria").cloned().unwrap_or(Value::Null);
        let id_type = c
            .pointer("/identifier/identifier_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id_value = match c.pointer("/identifier/identifier_value") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        let claims = c
            .get("claims")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let record = match first_record(store, registry, id_type, &id_value) {
            Ok(r) => r,
            Err(e) => {
                out.push(item_reject(
                    &reference_id,
                    "rjct.search_criteria.invalid",
                    &e,
                ));
                continue;
            }
        };
        let mut results = Map::new();
        let mut all = record.is_some();
        for (name, want) in &claims {
            let holds = match &record {
                Some(r) => {
                    match claim_holds(store, registry, (id_type, &id_value), r, name, want) {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::error!(error = %e, "verify: storage error");
                            false
                        }
                    }
                }
                None => false,
            };
            all &= holds;
            results.insert(name.clone(), yes(holds));
        }
        out.push(json!({
            "reference_id": reference_id,
            "timestamp": now_ts(),
            "status": "succ",
            "data": {
                "record_found": yes(record.is_some()),
                "verified": yes(all),
                "claims": results,
            },
        }));
        ok += 1;
    }
    (
        json!({
            "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
            "correlation_id": correlation_id,
            "verify_response": out,
        }),
        ok,
    )
}

/// Records of `registry` matching a `{path: {op: value}}` query (IBR enrolled, DR queries),
/// at most `limit`.
fn simple_find(
    store: &dyn Store,
    registry: &str,
    query: &Value,
    limit: usize,
) -> Result<Vec<Value>, String> {
    // Fast path: a query on an identifier path with eq is an index probe.
    if let Some(q) = query.as_object() {
        if q.len() == 1 {
            let (path, cond) = q
                .iter()
                .next()
                .map(|(p, c)| (p.clone(), c.clone()))
                .unwrap_or_default();
            let eq = cond
                .get("eq")
                .or_else(|| cond.get("$eq"))
                .or(if cond.is_string() { Some(&cond) } else { None });
            let id_path = [
                "identifier",
                "person_identifier",
                "member_identifier",
                "member.member_identifier",
                "beneficiary_identifier",
            ]
            .contains(&path.as_str());
            if let (true, Some(Value::String(v))) = (id_path, eq) {
                let mut out = Vec::new();
                let mut probe = |t: &str| -> Result<(), String> {
                    for id in store
                        .ids_by_identifier(registry, t, v)
                        .map_err(|e| e.to_string())?
                    {
                        if let Some(r) = store.record_by_id(id).map_err(|e| e.to_string())? {
                            if let Ok(v) = serde_json::from_str::<Value>(&r.data) {
                                out.push(v);
                            }
                        }
                    }
                    Ok(())
                };
                for t in ["UIN", "NationalID", "BRN", "BID", "DID"] {
                    probe(t)?;
                }
                out.truncate(limit);
                return Ok(out);
            }
        }
    }
    let mut out = Vec::new();
    let mut err = None;
    store
        .scan(registry, None, &mut |r| {
            if let Ok(v) = serde_json::from_str::<Value>(&r.data) {
                match simple_query_matches(&v, query) {
                    Ok(true) => out.push(v),
                    Ok(false) => {}
                    Err(e) => {
                        err = Some(e);
                        return false;
                    }
                }
            }
            out.len() < limit
        })
        .map_err(|e| e.to_string())?;
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Records of `registry` for an enrolled/disabled criteria: `query_type` `idtype-value`
/// (`{type, value}`, allowed by the spec's `filter_type`) is an identifier lookup; any other
/// query is the spec's `{path: {op: value}}` form.
fn criteria_find(
    store: &dyn Store,
    registry: &str,
    criteria: Option<&Value>,
) -> Result<Vec<Value>, String> {
    let q = criteria
        .and_then(|c| c.get("query"))
        .cloned()
        .unwrap_or(Value::Null);
    let idtype = criteria
        .and_then(|c| c.get("query_type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("idtype-value"));
    if !idtype {
        return simple_find(store, registry, &q, 1);
    }
    let t = q
        .get("type")
        .and_then(Value::as_str)
        .ok_or("query.type: required string for idtype-value")?;
    let v = q
        .get("value")
        .and_then(Value::as_str)
        .ok_or("query.value: required string for idtype-value")?;
    let mut out = Vec::new();
    for id in store
        .ids_by_identifier(registry, t, v)
        .map_err(|e| e.to_string())?
    {
        if let Some(r) = store.record_by_id(id).map_err(|e| e.to_string())? {
            if let Ok(v) = serde_json::from_str::<Value>(&r.data) {
                out.push(v);
                break;
            }
        }
    }
    Ok(out)
}

/// IBR /registry/sync/enrolled: `enrolled_status` yes/no.
pub fn enrolled(store: &dyn Store, message: &Value, correlation_id: &str) -> Result<Value, String> {
    let found = criteria_find(store, "ibr", message.get("enrolled_criteria"))?;
    Ok(json!({
        "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
        "correlation_id": correlation_id,
        "enrolled_response": [{
            "reference_id": message.pointer("/enrolled_criteria/reference_id").cloned().unwrap_or_else(|| json!(correlation_id)),
            "timestamp": now_ts(),
            "status": "succ",
            "enrolled_status": yes(!found.is_empty()),
        }],
    }))
}

/// DR /registry/sync/disabled: `disabled_status` yes/no.
pub fn disabled(store: &dyn Store, message: &Value, correlation_id: &str) -> Result<Value, String> {
    let found = criteria_find(store, "dr", message.get("disabled_criteria"))?;
    Ok(json!({
        "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
        "correlation_id": correlation_id,
        "disabled_response": [{
            "reference_id": message.pointer("/disabled_criteria/reference_id").cloned().unwrap_or_else(|| json!(correlation_id)),
            "timestamp": now_ts(),
            "status": "succ",
            "disabled_status": yes(!found.is_empty()),
        }],
    }))
}

/// DR get-disability-support / get-disability-details: the matching records' support or
/// details part (`disability_support` / `disability_info` and the Washington Group scores).
pub fn disability_part(
    store: &dyn Store,
    sender: &Sender,
    message: &Value,
    correlation_id: &str,
    details: bool,
) -> Result<Value, String> {
    let q = message
        .pointer("/disabled_criteria/query")
        .cloned()
        .unwrap_or(Value::Null);
    let found = simple_find(store, "dr", &q, 100)?;
    let records: Vec<Value> = found
        .into_iter()
        .map(|r| share(sender, r))
        .map(|r| {
            let mut o = Map::new();
            for k in ["@type", "identifier", "name"] {
                if let Some(v) = r.get(k) {
                    o.insert(k.into(), v.clone());
                }
            }
            let keys: &[&str] = if details {
                &[
                    "disability_status",
                    "disability_level",
                    "disability_info",
                    "washington_group",
                    "disability_details",
                ]
            } else {
                &["disability_support", "programs_enrollments"]
            };
            for k in keys {
                if let Some(v) = r.get(*k) {
                    o.insert((*k).into(), v.clone());
                }
            }
            Value::Object(o)
        })
        .collect();
    Ok(json!({
        "transaction_id": message.get("transaction_id").cloned().unwrap_or(Value::Null),
        "correlation_id": correlation_id,
        "search_response": [{
            "reference_id": message.pointer("/disabled_criteria/reference_id").cloned().unwrap_or_else(|| json!(correlation_id)),
            "timestamp": now_ts(),
            "status": "succ",
            "data": {"version": "1.0.0", "reg_type": reg_type("dr"), "reg_records": records},
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_queries() {
        let r = json!({"person_identifier": {"identifier_type": "UIN", "identifier_value": "A1"},
                       "programme": {"programme_identifier": "P1"}, "age": 30});
        assert_eq!(
            simple_query_matches(&r, &json!({"person_identifier": {"eq": "A1"}})),
            Ok(true)
        );
        assert_eq!(
            simple_query_matches(&r, &json!({"programme.programme_identifier": {"eq": "P2"}})),
            Ok(false)
        );
        assert_eq!(
            simple_query_matches(&r, &json!({"age": {"ge": 30, "lt": 31}})),
            Ok(true)
        );
        assert_eq!(
            simple_query_matches(&r, &json!({"age": {"in": [1, 30]}})),
            Ok(true)
        );
        assert!(simple_query_matches(&r, &json!({"age": {"like": 3}})).is_err());
    }

    #[test]
    fn record_type_names() {
        assert_eq!(
            pick_record_type("crvs", Some("spdci-extensions-dci:Person")),
            Some("Person")
        );
        assert_eq!(pick_record_type("social", Some("member")), Some("Member"));
        assert_eq!(pick_record_type("social", Some("Farm")), None);
    }
}
