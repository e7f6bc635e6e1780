//! The CRVS, IBR and DR services against the in-process test registry, and the record mapping.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use dci::client::{AuthConfig, CallbackListener, CallbackResult, DCIClient, DataSource, Secret};
use dci::error::ErrorKind;
use dci::services::{
    crvs, dr, from_dci, ibr, to_dci, CrvsService, DrService, IbrService, Identifier, Registrant,
};
use serde_json::{json, Value};
use support::{Config, TestRegistry, CLIENT_ID, CLIENT_SECRET};

fn ds(reg: &TestRegistry) -> DataSource {
    let mut d = DataSource::new(&reg.base_url, "openspp.test");
    d.auth = AuthConfig::OAuth2 {
        token_url: None,
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        scope: None,
    };
    d.timeout_secs = 5.0;
    d
}

fn client(reg: &TestRegistry) -> DCIClient {
    DCIClient::new(ds(reg)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// CRVS

#[test]
fn crvs_verify_birth_returns_the_record_or_none() {
    let reg = TestRegistry::start(Config::default());
    let s = CrvsService::new(client(&reg));
    let b = s.verify_birth("BRN", "BR-2024-0042").unwrap().unwrap();
    assert_eq!(b.person_name.as_deref(), Some("Amina Diallo"));
    assert_eq!(b.given_name.as_deref(), Some("Amina"));
    assert_eq!(b.family_name.as_deref(), Some("Diallo"));
    assert_eq!(b.birth_date.as_deref(), Some("2024-02-10"));
    assert_eq!(b.birth_place.as_deref(), Some("Central Hospital"));
    assert_eq!(b.sex.as_deref(), Some("female"));
    assert_eq!(
        (b.identifier_type.as_str(), b.identifier_value.as_str()),
        ("BRN", "BR-2024-0042")
    );
    assert_eq!(b.registrant.identifier("UIN"), Some("1001"));
    // Serializable for the bindings.
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["person_name"], "Amina Diallo");
    assert!(s.verify_birth("BRN", "nope").unwrap().is_none());
}

#[test]
fn crvs_is_deceased() {
    let reg = TestRegistry::start(Config::default());
    let s = CrvsService::new(client(&reg));
    assert!(s.is_deceased("UIN", "1002").unwrap());
    assert!(!s.is_deceased("UIN", "1001").unwrap());
    assert!(!s.is_deceased("UIN", "404").unwrap());
    assert!(crvs::record_is_deceased(&json!({"is_deceased": true})));
    assert!(!crvs::record_is_deceased(&json!({"death_date": ""})));
}

#[test]
fn crvs_search_births_reads_every_page() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
    d.registry_type = dci::client::RegistryType::Crvs;
    let c = DCIClient::new(d).unwrap();
    let s = CrvsService::new(c);
    let births = s.search_births("2024-01-01", "2024-12-31").unwrap();
    let ids: Vec<&str> = births
        .iter()
        .map(|r| r["identifier"][0]["identifier_value"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1001", "1002", "1003", "1004"]);
    let sent = reg.last_request("/registry/sync/search").json();
    let c0 = &sent["message"]["search_request"][0]["search_criteria"];
    assert_eq!(c0["reg_event_type"], crvs::LIVE_BIRTH);
    assert_eq!(c0["reg_type"], "ns:org:RegistryType:Civil");
}

#[test]
fn crvs_subscribe_events_defaults_to_birth_and_death() {
    let reg = TestRegistry::start(Config::default());
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut d = ds(&reg);
    d.our_callback_uri = Some(format!("http://{}/cb", tcp.local_addr().unwrap()));
    let c = DCIClient::new(d).unwrap();
    let l = CallbackListener::from_listener(c.clone(), tcp).unwrap();
    let s = CrvsService::new(c);
    let ack = s.subscribe_events(&[]).unwrap();
    let sent = reg.last_request("/registry/subscribe").json();
    let events: Vec<&Value> = sent["message"]["subscribe_request"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["subscribe_criteria"]["reg_event_type"])
        .collect();
    assert_eq!(events, [crvs::LIVE_BIRTH, crvs::DEATH]);
    match l
        .wait_for(&ack.transaction_id, Duration::from_secs(10))
        .unwrap()
    {
        CallbackResult::Subscribe(r) => assert_eq!(r.codes(), ["sub-1", "sub-2"]),
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
    let reg = TestRegistry::start(Config::default());
    let s = IbrService::new(client(&reg));
    let r = s
        .check_duplication(&[("UIN", "1001"), ("UIN", "1003"), ("UIN", "404")])
        .unwrap();
    assert!(r.is_duplicate);
    assert_eq!(r.matched_programs, ["Child Grant", "Test Programme"]);
    assert_eq!(r.raw_response.len(), 3);
    let r = s.check_duplication(&[("UIN", "404")]).unwrap();
    assert!(!r.is_duplicate);
    assert!(r.matched_programs.is_empty());
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["is_duplicate"], false);
    // No identifiers is a caller error; a failure is never "not a duplicate".
    assert_eq!(
        s.check_duplication(&[]).unwrap_err().field(),
        Some("identifiers")
    );
    assert_eq!(
        s.check_duplication(&[("UIN", "1001"), ("UIN", "ERR500")])
            .unwrap_err()
            .kind(),
        ErrorKind::Http
    );
}

#[test]
fn ibr_search_beneficiary() {
    let reg = TestRegistry::start(Config::default());
    let s = IbrService::new(client(&reg));
    let b = s.search_beneficiary("UIN", "1003").unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].name.as_deref(), Some("Lea Martin"));
    assert_eq!(b[0].programs, ["Test Programme"]);
    assert_eq!(
        (
            b[0].identifier_type.as_str(),
            b[0].identifier_value.as_str()
        ),
        ("UIN", "1003")
    );
    assert_eq!(b[0].metadata["sex"], "female");
    assert!(s.search_beneficiary("UIN", "404").unwrap().is_empty());
}

#[test]
fn ibr_enrolled_uses_the_enrolled_endpoint() {
    let reg = TestRegistry::start(Config::default());
    let s = IbrService::new(client(&reg));
    assert!(s.enrolled("UIN", "1001").unwrap());
    assert!(!s.enrolled("UIN", "1002").unwrap());
    let sent = reg.last_request("/registry/sync/enrolled").json();
    assert_eq!(
        sent["message"]["enrolled_criteria"],
        json!({"query_type": "idtype-value", "response_entity": "Member",
               "query": {"type": "UIN", "value": "1002"}})
    );
    assert_eq!(sent["header"]["action"], "search");
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

#[test]
fn dr_status_scores_and_pwd_through_search() {
    let reg = TestRegistry::start(Config::default());
    let s = DrService::new(client(&reg));
    let st = s.get_disability_status("UIN", "1003").unwrap().unwrap();
    assert!(st.has_disability);
    assert_eq!(
        st.disability_types,
        ["Physical and movement related functions", "Mobility"]
    );
    let want: BTreeMap<String, u8> = [("Cognition", 2), ("Mobility", 3), ("Vision", 1)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(st.functional_scores, want);
    assert_eq!(st.disability_status.as_deref(), Some("Approved"));
    assert_eq!(s.get_functional_scores("UIN", "1003").unwrap(), want);
    assert!(s.is_pwd("UIN", "1003").unwrap());
    // Hearing 2: some difficulty, below the cut-off.
    assert!(!s.is_pwd("UIN", "1004").unwrap());
    assert!(
        !s.get_disability_status("UIN", "1004")
            .unwrap()
            .unwrap()
            .has_disability
    );
    // Not found.
    assert!(s.get_disability_status("UIN", "404").unwrap().is_none());
    assert!(s.get_functional_scores("UIN", "404").unwrap().is_empty());
    assert!(!s.is_pwd("UIN", "404").unwrap());
    // No scores, no status: not a PWD.
    assert!(!s.is_pwd("UIN", "1005").unwrap());
    assert!(reg
        .requests_to("/registry/sync/get-disability-details")
        .is_empty());
}

#[test]
fn dr_uses_the_dr_sync_endpoints_when_configured() {
    let reg = TestRegistry::start(Config::default());
    let mut d = ds(&reg);
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
    let s = dr::functional_scores(&rec);
    let got: Vec<(&str, u8)> = s.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        got,
        [
            ("Cognition", 2),
            ("Communication", 1),
            ("Hearing", 2),
            ("Mobility", 1),
            ("Self-Care", 3),
            ("Vision", 4)
        ]
    );
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
    let s = dr::functional_scores(&rec);
    let got: Vec<(&str, u8)> = s.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    // Out-of-range values (VIS_SS 9) are ignored; the highest score per domain wins.
    assert_eq!(
        got,
        [
            ("Communication", 4),
            ("Hearing", 2),
            ("Mobility", 2),
            ("Self-Care", 3)
        ]
    );
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
