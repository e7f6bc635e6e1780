//! The client and services against the reference server (`dci_server` with the demo
//! dataset), started in-process by `support::reference_server()`: every `cargo test` runs
//! these. The async calls (search, subscribe, unsubscribe, txn status) against it are in
//! tests/client.rs.

mod support;

use dci::client::{DCIClient, SearchSpec, TxnStatusQuery};
use dci::services::{CrvsService, DrService, IbrService};
use support::reference_server;

#[test]
fn sync_calls_and_services_against_the_reference_server() {
    let s = reference_server();
    let c = DCIClient::new(s.data_source("crvs")).unwrap();
    let r = c.search_by_id("UIN", "100000001").unwrap();
    assert_eq!(r.record_count(), 1);
    assert_eq!(uin_of(r.records().next().unwrap()), "100000001");
    assert!(r.signature.verified);
    let spec = SearchSpec::date_range("birth_date", "2020-01-01", "2025-12-31").page(1, 100);
    let first = c.search_sync(&spec).unwrap();
    let total = first.page_info().unwrap().total_count;
    assert_eq!(c.search_all(spec).unwrap().len() as u64, total);
    let t = c
        .txn_status(&TxnStatusQuery::search_transaction(
            r.transaction_id.clone().unwrap(),
        ))
        .unwrap();
    assert!(t.signature.verified);
    assert!(c.test_connection().unwrap().reachable);

    let crvs = CrvsService::new(c.clone());
    let b = crvs.verify_birth("UIN", "100000001").unwrap().unwrap();
    assert!(b.birth_date.is_some());
    assert!(crvs
        .verify_birth("UIN", "no-such-person")
        .unwrap()
        .is_none());

    let ibr = IbrService::new(DCIClient::new(s.data_source("ibr")).unwrap());
    let dup = ibr.check_duplication(&[("UIN", "100000001")]).unwrap();
    assert_eq!(dup.raw_response.len(), 1);
}

/// The UIN of a demo record (`identifier`, `person_identifier` or `member_identifier`).
fn uin_of(rec: &serde_json::Value) -> String {
    for k in ["identifier", "person_identifier", "member_identifier"] {
        let ids = match &rec[k] {
            serde_json::Value::Array(a) => a.clone(),
            o @ serde_json::Value::Object(_) => vec![o.clone()],
            _ => continue,
        };
        if let Some(v) = ids
            .iter()
            .find(|i| i["identifier_type"] == "UIN")
            .and_then(|i| i["identifier_value"].as_str())
        {
            return v.to_string();
        }
    }
    panic!("no UIN in {rec}");
}

#[test]
fn dr_scores_and_ibr_enrolled_match_the_demo_records() {
    let s = reference_server();
    let dr = DrService::new(DCIClient::new(s.data_source("dr")).unwrap());
    let r = dr
        .client()
        .search_by_expression(serde_json::json!({"disability_status": {"$eq": "Approved"}}))
        .unwrap();
    let person = r.records().next().expect("a demo DR person").clone();
    let uin = uin_of(&person);
    // The demo's `washington_group` map ({VIS_SS: n}) is what the scores must equal.
    let expected: std::collections::BTreeMap<String, u8> = dci::services::dr::WG_DOMAINS
        .iter()
        .map(|(code, name)| {
            let n = person["washington_group"][code].as_u64().expect(code);
            (name.to_string(), n as u8)
        })
        .collect();
    assert_eq!(expected.len(), 6);
    assert!(expected.values().all(|v| (1..=4).contains(v)));
    assert_eq!(dr.get_functional_scores("UIN", &uin).unwrap(), expected);
    let st = dr.get_disability_status("UIN", &uin).unwrap().unwrap();
    assert_eq!(st.functional_scores, expected);
    assert!(st.has_disability);
    // Every demo DR person has one domain at 3 or 4.
    assert!(dr.is_pwd("UIN", &uin).unwrap());
    assert!(dr
        .get_functional_scores("UIN", "no-such-person")
        .unwrap()
        .is_empty());

    let ibr = IbrService::new(DCIClient::new(s.data_source("ibr")).unwrap());
    let r = ibr
        .client()
        .search_by_expression(serde_json::json!({"enrollment_status": {"$eq": "active"}}))
        .unwrap();
    let ben = r
        .records()
        .next()
        .expect("an active demo beneficiary")
        .clone();
    let uin = ben["person_identifier"]["identifier_value"]
        .as_str()
        .expect("person_identifier.identifier_value")
        .to_string();
    assert!(ibr.enrolled("UIN", &uin).unwrap());
    assert!(!ibr.enrolled("UIN", "no-such-person").unwrap());
    // The spec's `{path: {op: value}}` form answers the same.
    let items = ibr
        .enrolled_query(
            "expression",
            serde_json::json!({"person_identifier": {"eq": uin}}),
            "Member",
        )
        .unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0].enrolled);
}
