//! The CRVS, IBR and DR services against the in-process reference server (its demo dataset),
//! a registry failure against the mock registry of tests/support, and the record mapping.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use dci::client::{CallbackResult, DCIClient};
use dci::error::ErrorKind;
use dci::services::{
    crvs, dr, from_dci, ibr, to_dci, CrvsService, DrService, IbrService, Identifier, Registrant,
};
use serde_json::json;
use support::{reference_server, with_callbacks, Config, TestRegistry};

fn client(reg: &TestRegistry) -> DCIClient {
    DCIClient::new(reg.data_source()).unwrap()
}

/// A client of one registry type of the in-process reference server (demo dataset).
fn reference(registry: &str) -> DCIClient {
    DCIClient::new(reference_server().data_source(registry)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// CRVS

#[test]
fn crvs_verify_birth_returns_the_record_or_none() {
    let s = CrvsService::new(reference("crvs"));
    let b = s.verify_birth("BRN", "BRN-1955-0000002").unwrap().unwrap();
    assert_eq!(b.person_name.as_deref(), Some("Musa Ochieng"));
    assert_eq!(b.given_name.as_deref(), Some("Musa"));
    assert_eq!(b.family_name.as_deref(), Some("Ochieng"));
    assert_eq!(b.birth_date.as_deref(), Some("1955-12-27"));
    assert_eq!(
        b.birth_place.as_deref(),
        Some("Greenfield District Hospital")
    );
    assert_eq!(b.sex.as_deref(), Some("male"));
    assert_eq!(
        (b.identifier_type.as_str(), b.identifier_value.as_str()),
        ("BRN", "BRN-1955-0000002")
    );
    assert_eq!(b.registrant.identifier("UIN"), Some("100000001"));
    // Serializable for the bindings.
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["person_name"], "Musa Ochieng");
    assert!(s.verify_birth("BRN", "nope").unwrap().is_none());
}

/// A yes/no lookup answers true for `yes`, false for `no`, and false for an unknown person.
fn yes_no_unknown(ask: impl Fn(&str) -> dci::Result<bool>, yes: &str, no: &str) {
    assert!(ask(yes).unwrap(), "{yes}");
    assert!(!ask(no).unwrap(), "{no}");
    assert!(!ask("no-such-person").unwrap());
}

#[test]
fn crvs_is_deceased() {
    let s = CrvsService::new(reference("crvs"));
    // Demo person 46 died on 2024-08-27; person 1 is alive.
    yes_no_unknown(|id| s.is_deceased("UIN", id), "100000046", "100000001");
    assert!(crvs::record_is_deceased(&json!({"is_deceased": true})));
    assert!(!crvs::record_is_deceased(&json!({"death_date": ""})));
}

#[test]
fn crvs_search_births_reads_every_page() {
    let s = CrvsService::new(reference("crvs"));
    // 29 demo persons are born in January 2024 (more than one page of the service's size
    // would be needed for a year: 278).
    let births = s.search_births("2024-01-01", "2024-01-31").unwrap();
    assert_eq!(births.len(), 29);
    let mut uins: Vec<&str> = births
        .iter()
        .map(|r| r["identifier"][0]["identifier_value"].as_str().unwrap())
        .collect();
    uins.sort_unstable();
    uins.dedup();
    assert_eq!(uins.len(), 29);
    assert!(births.iter().all(|r| {
        let d = r["birth_date"].as_str().unwrap();
        ("2024-01-01"..="2024-01-31").contains(&d)
    }));
    assert_eq!(
        s.search_births("2024-01-01", "2024-12-31").unwrap().len(),
        278
    );
}

#[test]
fn crvs_subscribe_events_defaults_to_birth_and_death() {
    let (c, l, _) = with_callbacks(reference_server().data_source("crvs"), |_| {});
    let s = CrvsService::new(c);
    let ack = s.subscribe_events(&[]).unwrap();
    assert_eq!(ack.reference_ids.len(), 2);
    match l
        .wait_for(&ack.transaction_id, Duration::from_secs(30))
        .unwrap()
    {
        CallbackResult::Subscribe(r) => {
            // The registry echoes each item's event type: births first, then deaths.
            let events: Vec<Option<&str>> = r
                .items
                .iter()
                .map(|i| i.subscriptions[0].reg_event_type.as_deref())
                .collect();
            assert_eq!(events, [Some(crvs::LIVE_BIRTH), Some(crvs::DEATH)]);
            let codes = r.codes();
            assert_eq!(codes.len(), 2);
            assert_ne!(codes[0], codes[1]);
        }
        other => panic!("{other:?}"),
    }
    let ack = s
        .subscribe_events(&["spdci-common:RegistryEventType:Marriage"])
        .unwrap();
    assert_eq!(ack.reference_ids.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// IBR

#[test]
fn ibr_check_duplication() {
    let s = IbrService::new(reference("ibr"));
    // Demo households 1 and 3 (heads TEST-001 and 100000007) are in the Disability Allowance.
    let r = s
        .check_duplication(&[
            ("UIN", "TEST-001"),
            ("UIN", "100000007"),
            ("UIN", "no-such-person"),
        ])
        .unwrap();
    assert!(r.is_duplicate);
    assert_eq!(r.matched_programs, ["Disability Allowance"]);
    assert_eq!(r.raw_response.len(), 3);
    let r = s.check_duplication(&[("UIN", "no-such-person")]).unwrap();
    assert!(!r.is_duplicate);
    assert!(r.matched_programs.is_empty());
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["is_duplicate"], false);
    // No identifiers is a caller error.
    assert_eq!(
        s.check_duplication(&[]).unwrap_err().field(),
        Some("identifiers")
    );
}

#[test]
fn ibr_check_duplication_fails_rather_than_answering_no() {
    // A registry failure is never "not a duplicate" (the mock registry's 500).
    let reg = TestRegistry::start(Config::default());
    let s = IbrService::new(client(&reg));
    assert_eq!(
        s.check_duplication(&[("UIN", "1001"), ("UIN", "ERR500")])
            .unwrap_err()
            .kind(),
        ErrorKind::Http
    );
}

#[test]
fn ibr_search_beneficiary() {
    let s = IbrService::new(reference("ibr"));
    let b = s.search_beneficiary("UIN", "100000007").unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].programs, ["Disability Allowance"]);
    assert_eq!(
        (
            b[0].identifier_type.as_str(),
            b[0].identifier_value.as_str()
        ),
        ("UIN", "100000007")
    );
    assert_eq!(b[0].metadata["enrollment_date"], "2022-10-23");
    assert_eq!(b[0].metadata["benefit"]["amount"], 36);
    assert!(s
        .search_beneficiary("UIN", "no-such-person")
        .unwrap()
        .is_empty());
}

#[test]
fn ibr_enrolled_uses_the_enrolled_endpoint() {
    let s = IbrService::new(reference("ibr"));
    // No for the spouse of household 1: a member, not the enrolled person.
    yes_no_unknown(|id| s.enrolled("UIN", id), "TEST-001", "100000001");
}

#[test]
fn ibr_programme_extraction_reads_the_spec_and_common_shapes() {
    let rec = json!({
        "programme_identifier": "P-1",
        "programmes": ["Food", {"programme_name": "Cash"}],
        "enrollments": [{"programme": {"programme_identifier": "X9"}}, {"id": 7}]
    });
    let p: Vec<String> = ibr::programs_of(&rec).into_iter().collect();
    assert_eq!(p, ["7", "Cash", "Food", "P-1", "X9"]);
}

// ---------------------------------------------------------------------------------------------
// DR

/// The Washington Group scores of `pairs`, by domain name.
fn scores(pairs: &[(&str, u8)]) -> BTreeMap<String, u8> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn dr_status_scores_and_pwd_through_search() {
    let s = DrService::new(reference("dr"));
    // Demo person 2: VIS_SS 3 (a lot of difficulty seeing), the other domains 1 or 2.
    let st = s
        .get_disability_status("UIN", "100000002")
        .unwrap()
        .unwrap();
    assert!(st.has_disability);
    let want = scores(&[
        ("Cognition", 2),
        ("Communication", 1),
        ("Hearing", 1),
        ("Mobility", 1),
        ("Self-Care", 2),
        ("Vision", 3),
    ]);
    assert_eq!(st.functional_scores, want);
    assert_eq!(st.disability_status.as_deref(), Some("Approved"));
    assert_eq!(s.get_functional_scores("UIN", "100000002").unwrap(), want);
    assert!(s.is_pwd("UIN", "100000002").unwrap());
    // Not in the disability registry.
    assert!(s
        .get_disability_status("UIN", "100000001")
        .unwrap()
        .is_none());
    assert!(s
        .get_functional_scores("UIN", "100000001")
        .unwrap()
        .is_empty());
    assert!(!s.is_pwd("UIN", "100000001").unwrap());
}

#[test]
fn dr_uses_the_disabled_endpoint_when_configured() {
    let mut d = reference_server().data_source("dr");
    d.endpoints.disabled = Some("/registry/sync/disabled".into());
    let s = DrService::new(DCIClient::new(d).unwrap());
    // Demo person 7: MOB_SS 4 (cannot walk at all); person 1 is not in the registry.
    assert_eq!(s.disabled("UIN", "100000007").unwrap(), Some(true));
    assert_eq!(s.disabled("UIN", "100000001").unwrap(), Some(false));
    assert_eq!(
        s.get_functional_scores("UIN", "100000007")
            .unwrap()
            .get("Mobility"),
        Some(&4)
    );
    // No scores: is_pwd asks /registry/sync/disabled, which says no.
    assert!(!s.is_pwd("UIN", "100000001").unwrap());
}

// Against the mock registry: the reference server on main answers get-disability-details
// with no records for an idtype-value query (search.rs `disability_part` ignores query_type).
#[test]
fn dr_asks_the_configured_disability_details_endpoint() {
    let reg = TestRegistry::start(Config::default());
    let mut d = reg.data_source();
    d.endpoints.disability_details = Some("/registry/sync/get-disability-details".into());
    d.endpoints.disabled = Some("/registry/sync/disabled".into());
    let s = DrService::new(DCIClient::new(d).unwrap());
    let scores = s.get_functional_scores("UIN", "1003").unwrap();
    assert_eq!(scores.get("Mobility"), Some(&3));
    let sent = reg
        .last_request("/registry/sync/get-disability-details")
        .json();
    assert_eq!(
        sent["message"]["disabled_criteria"],
        json!({"query_type": "idtype-value", "query": {"type": "UIN", "value": "1003"}})
    );
    assert_eq!(s.disabled("UIN", "1003").unwrap(), Some(true));
    assert_eq!(s.disabled("UIN", "1005").unwrap(), Some(false));
    // 1005 has no WG scores: is_pwd asks /registry/sync/disabled.
    let before = reg.requests_to("/registry/sync/disabled").len();
    assert!(!s.is_pwd("UIN", "1005").unwrap());
    assert_eq!(reg.requests_to("/registry/sync/disabled").len(), before + 1);
    assert!(reg.requests_to("/registry/sync/search").is_empty());
}

#[test]
fn dr_reads_the_reference_demo_shape() {
    // `dci serve --demo` DR records: a `washington_group` code map plus `disability_info`
    // (older demo data named the domain `functional_domain` with words like `seeing`).
    assert_eq!(dr::wg_domain("seeing"), Some("Vision"));
    assert_eq!(dr::wg_domain("self_care"), Some("Self-Care"));
    let rec = json!({
        "washington_group": {"VIS_SS": 1, "HEAR_SS": 2, "MOB_SS": 1, "COG_SS": 2, "SC_SS": 3, "COM_SS": 1},
        "disability_info": [{"functional_domain": "seeing", "functional_severity": 4},
                            {"disability_limitation_type": "SC_SS", "functional_severity": 3}]
    });
    #[rustfmt::skip]
    let want = scores(&[("Cognition", 2), ("Communication", 1), ("Hearing", 2), ("Mobility", 1), ("Self-Care", 3), ("Vision", 4)]);
    assert_eq!(dr::functional_scores(&rec), want);
}

#[test]
fn dr_reads_scores_in_every_documented_shape() {
    assert_eq!(dr::wg_domain("type:SC_SS"), Some("Self-Care"));
    assert_eq!(dr::wg_domain("Communication"), Some("Communication"));
    assert_eq!(dr::wg_domain("XYZ"), None);
    let rec = json!({
        "personal_details": {"disability_info": [{"functional_limitation_type": "COM_SS", "severity": "4"}]},
        "functional_scores": {"Hearing": 2, "VIS_SS": 9},
        "SC_SS": 3,
        "disability_info": [{"disability_limitation_type": "MOB_SS", "functional_severity": 1},
                            {"disability_limitation_type": "MOB_SS", "functional_severity": 2}]
    });
    // Out-of-range values (VIS_SS 9) are ignored; the highest score per domain wins.
    let want = scores(&[
        ("Communication", 4),
        ("Hearing", 2),
        ("Mobility", 2),
        ("Self-Care", 3),
    ]);
    assert_eq!(dr::functional_scores(&rec), want);
    let st = dr::disability_status(&json!({"disability_status": "Rejected", "SC_SS": 4}));
    assert!(!st.has_disability, "an explicit status wins over scores");
    let st = dr::disability_status(&json!({"is_disabled": true}));
    assert!(st.has_disability);
}

// ---------------------------------------------------------------------------------------------
// Mapping

#[test]
fn mapping_reads_the_person_record_form_and_round_trips() {
    let rec = json!({
        "identifier": [{"identifier_type": "UIN", "identifier_value": "1"},
                       {"identifier_type": "BRN", "identifier_value": "B-1"}],
        "name": {"given_name": "Elena", "second_name": "Maria", "surname": "Martinez", "prefix": "Dr."},
        "sex": "female",
        "birth_date": "1980-03-23",
        "address": [{"address_line1": "Bophut", "postal_code": "84320", "country_code": "TH",
                     "geo_location": {"plus_code": "8FW4V900+"}}],
        "phone_number": ["+34612345678"],
        "email": ["elena@example.com"],
        "marital_status": "S",
        "member_list": [{"name": {"given_name": "Kid"}, "birth_date": "2010-01-01"}]
    });
    let r = from_dci(&rec);
    assert_eq!(r.full_name().as_deref(), Some("Elena Maria Martinez"));
    assert_eq!(r.prefix.as_deref(), Some("Dr."));
    assert_eq!(
        r.identifiers,
        [
            Identifier {
                identifier_type: "UIN".into(),
                identifier_value: "1".into()
            },
            Identifier {
                identifier_type: "BRN".into(),
                identifier_value: "B-1".into()
            }
        ]
    );
    assert_eq!(r.addresses[0].postal_code.as_deref(), Some("84320"));
    assert_eq!(
        r.addresses[0].extras["geo_location"]["plus_code"],
        "8FW4V900+"
    );
    assert_eq!(r.phones, ["+34612345678"]);
    assert_eq!(r.emails, ["elena@example.com"]);
    assert_eq!(r.household_members[0].given_name.as_deref(), Some("Kid"));
    assert_eq!(r.extras.len(), 1);
    assert_eq!(r.extras["marital_status"], "S");
    // Back to DCI and again: nothing lost.
    let again = from_dci(&to_dci(&r));
    assert_eq!(again, r);
    assert_eq!(to_dci(&r)["name"]["surname"], "Martinez");
    assert_eq!(to_dci(&r)["marital_status"], "S");
}

#[test]
fn mapping_reads_the_json_ld_sample_form_and_keeps_unknown_fields() {
    // The shape of the spec's CRVS sample record (crvs_api_v1.0.0.yaml, reg_records example).
    let rec = json!({
        "@context": {"@vocab": "https://schema.spdci.org/common/v1"},
        "@id": "CRVS_Person_3",
        "@type": "CRVS_Person",
        "identifier": {"@id": "Identifier", "@type": "Identifier", "identifier_type": "UIN", "identifier_value": "197382465"},
        "name": {"@type": "Name", "surname": "Martinez", "given_name": "Elena", "second_name": ""},
        "sex": "female",
        "birth_date": "1980-03-23T10:20:15",
        "birth_place": {"name": "hospital/Madrid_Central", "geo": {"latitude": 9.5604}},
        "death_date": "",
        "address": {"@id": "Address_1", "@type": "Address", "address_line1": "Bophut Koh Samui", "locality": "Thani"},
        "parent1_identifier": {"identifier_type": "UIN", "identifier_value": "537564821"}
    });
    let r = from_dci(&rec);
    assert_eq!(r.given_name.as_deref(), Some("Elena"));
    assert_eq!(r.second_name, None);
    assert_eq!(r.identifier("UIN"), Some("197382465"));
    assert_eq!(r.birth_place.as_deref(), Some("hospital/Madrid_Central"));
    assert_eq!(r.death_date, None);
    assert_eq!(r.addresses[0].locality.as_deref(), Some("Thani"));
    assert_eq!(r.addresses[0].extras["@type"], "Address");
    for k in [
        "@context",
        "@id",
        "@type",
        "parent1_identifier",
        "birth_place",
    ] {
        assert!(r.extras.contains_key(k), "{k} kept");
    }
    assert_eq!(r.extras["birth_place"]["geo"]["latitude"], 9.5604);

    // The Member form: demographic_info and related_person.
    let member = json!({
        "member_identifier": [{"identifier_type": "UIN", "identifier_value": "42"}],
        "demographic_info": {"name": {"given_name": "Alice", "surname": "Smith"}, "sex": "female",
                             "identifier": [{"identifier_type": "NationalID", "identifier_value": "98"}]},
        "related_person": [{"relationship_type": "child",
                            "related_member": {"member_identifier": [{"identifier_type": "UIN", "identifier_value": "43"}]}}]
    });
    let m = from_dci(&member);
    assert_eq!(m.full_name().as_deref(), Some("Alice Smith"));
    assert_eq!(m.identifier("UIN"), Some("42"));
    assert_eq!(m.identifier("NationalID"), Some("98"));
    assert_eq!(m.household_members[0].identifier("UIN"), Some("43"));
    assert_eq!(m.household_members[0].extras["relationship_type"], "child");
    let empty = from_dci(&json!("not an object"));
    assert_eq!(empty.extras["value"], "not an object");
    assert_eq!(Registrant::default().full_name(), None);
}

#[test]
fn openspp_vital_events_and_preferred_identifier() {
    use dci::services::{preferred_identifier, vital_events};
    let spec = serde_json::json!({"message": {"notify_event": [{
        "timestamp": "2024-12-02T00:00:00Z",
        "data": {"reg_event_type": "spdci-common:RegistryEventType:LiveBirth",
                 "reg_records": [{"identifier": [{"identifier_type": "BRN", "identifier_value": "B-7"}]}]}
    }]}});
    let ev = vital_events(&spec).unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].event_type.as_deref(), Some("birth"));
    assert_eq!(ev[0].event_date.as_deref(), Some("2024-12-02T00:00:00Z"));
    assert_eq!(
        (
            ev[0].identifier_type.as_deref(),
            ev[0].identifier_value.as_deref()
        ),
        (Some("BRN"), Some("B-7"))
    );
    let flat =
        serde_json::json!({"event_type": "DEATH", "identifiers": [{"type": "UIN", "value": "1"}]});
    let ev = vital_events(&flat).unwrap();
    assert_eq!(ev[0].event_type.as_deref(), Some("death"));
    assert_eq!(ev[0].identifier_value.as_deref(), Some("1"));
    assert!(vital_events(&serde_json::json!({"message": {}})).is_err());
    let ids = vec![
        ("BRN".to_string(), "B".to_string()),
        ("drn".to_string(), "D".to_string()),
        ("UIN".to_string(), String::new()),
    ];
    assert_eq!(
        preferred_identifier(&ids).map(|(t, _)| t.as_str()),
        Some("drn")
    );
    assert_eq!(
        preferred_identifier(&ids[..1]).map(|(t, _)| t.as_str()),
        Some("BRN")
    );
    assert_eq!(preferred_identifier(&[]), None);
}
