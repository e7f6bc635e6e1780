//! The registry kit as a host uses it (`dci::registry::Registry`): admission of signed
//! requests by path, the exact refusals, signed answers, paged search items, checked callbacks.

use dci::keys::SigningKey;
use dci::model::{ReasonCode, RequestStatus};
use dci::registry::{ItemResult, MemorySenders, Op, Registry, Response, Sender};
use dci::signature::{verify_bytes, Signer, VerifyOptions};
use serde_json::{json, Value};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_ed25519_seed(&[seed; 32])
}

/// A registry `crvs.example` with one sender `spmis.example` (key seed 2) and one disabled.
fn kit(sender: Sender) -> Registry {
    let mut senders = MemorySenders::default();
    senders.put(sender);
    senders.put(Sender {
        active: false,
        ..Sender::open("gone.example")
    });
    Registry::new(Signer::new(key(1), "crvs.example", "srv")).with_senders(Box::new(senders))
}

fn spmis() -> Sender {
    let jwk = key(2).verifying_key().to_jwk(Some("k1"));
    Sender {
        jwks: json!({"keys": [jwk]}),
        ..Sender::open("spmis.example")
    }
}

fn search_body(sender: &str, message_id: &str, extra_header: Value, page: Value) -> Vec<u8> {
    let mut header = json!({
        "version": "1.0.0", "message_id": message_id, "message_ts": dci::model::now_rfc3339(),
        "action": "search", "sender_id": sender, "total_count": 1,
    });
    for (k, v) in extra_header.as_object().unwrap() {
        header[k] = v.clone();
    }
    let mut env = json!({
        "signature": "",
        "header": header,
        "message": {"transaction_id": "t1", "search_request": [{
            "reference_id": "r1", "timestamp": dci::model::now_rfc3339(),
            "search_criteria": {
                "reg_type": "ns:org:RegistryType:Civil",
                "query_type": "predicate",
                "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"}}],
                "pagination": page,
            }
        }]}
    });
    Signer::new(key(2), sender, "k1")
        .sign_value(&mut env, None)
        .unwrap();
    serde_json::to_vec(&env).unwrap()
}

fn people(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"@type": "Person", "identifier": [{"identifier_type": "UIN", "identifier_value": i.to_string()}], "sex": "female", "secret": "x"}))
        .collect()
}

#[test]
fn a_signed_search_is_admitted_answered_paged_and_signed() {
    let reg = kit(Sender {
        fields: vec!["identifier".into(), "sex".into()],
        ..spmis()
    });
    let body = search_body(
        "spmis.example",
        "m1",
        json!({}),
        json!({"page_size": 2, "page_number": 2}),
    );
    let (op, registry, a) = reg.admit("/registry/sync/search", &body).unwrap();
    assert_eq!((op, registry), (Op::SyncSearch, "crvs"));
    assert_eq!(a.sender.sender_id, "spmis.example");
    assert!(a.signed);
    assert_eq!(a.request.transaction_id(), "t1");
    assert_eq!(
        a.request.to_value()["search_request"][0]["reference_id"],
        "r1"
    );

    let resp = reg
        .search_response(&a, registry, vec![ItemResult::Records(people(5))])
        .unwrap();
    let answer = reg.answer(op, &a, Response::Search(resp)).unwrap();
    // Signed by the server key, over what is sent.
    let bytes = serde_json::to_vec(&answer).unwrap();
    let v = verify_bytes(&bytes, &key(1).verifying_key(), &VerifyOptions::default()).unwrap();
    assert_eq!(v.kid.as_deref(), Some("crvs.example|srv|ed25519"));
    assert_eq!(answer["header"]["action"], "on-search");
    assert_eq!(answer["header"]["status"], "succ");
    assert_eq!(answer["header"]["receiver_id"], "spmis.example");
    assert_eq!(answer["header"]["sender_id"], "crvs.example");
    let item = &answer["message"]["search_response"][0];
    assert_eq!(
        answer["message"]["correlation_id"],
        a.correlation_id.as_str()
    );
    assert_eq!(item["reference_id"], "r1");
    assert_eq!(
        item["pagination"],
        json!({"page_size": 2, "page_number": 2, "total_count": 5})
    );
    let recs = item["data"]["reg_records"].as_array().unwrap();
    // Records 2 and 3, cut to the agreed fields (and @type).
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["identifier"][0]["identifier_value"], "2");
    assert_eq!(recs[1]["identifier"][0]["identifier_value"], "3");
    assert!(recs[0].get("secret").is_none());
    assert_eq!(item["data"]["reg_record_type"], "Person");
}

#[test]
fn refusals_are_the_exact_spec_bodies() {
    let reg = kit(spmis());
    let status_code = |path: &str, body: &[u8]| {
        let r = reg.admit(path, body).unwrap_err();
        let code = r.body["message"]["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (r.status, code, r.body)
    };
    // Unknown and disabled senders.
    let body = search_body("nobody.example", "m1", json!({}), json!({"page_size": 10}));
    let (s, c, b) = status_code("/registry/sync/search", &body);
    assert_eq!((s, c.as_str()), (403, "err.sender_id.invalid"));
    assert_eq!(b["header"]["status"], "rjct");
    assert_eq!(b["errors"][0]["code"], "err.sender_id.invalid");
    let body = search_body("gone.example", "m1", json!({}), json!({"page_size": 10}));
    let (s, _, b) = status_code("/registry/sync/search", &body);
    assert_eq!(s, 403);
    assert_eq!(
        b["message"]["error"]["message"],
        "sender gone.example is disabled"
    );
    // A body changed after signing.
    let good = search_body("spmis.example", "m2", json!({}), json!({"page_size": 10}));
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replace("female", "male");
    let (s, c, _) = status_code("/registry/sync/search", tampered.as_bytes());
    assert_eq!((s, c.as_str()), (401, "err.signature.invalid"));
    // Replay: the second copy is refused with the header code.
    reg.admit("/registry/sync/search", &good).unwrap();
    let (s, c, b) = status_code("/registry/sync/search", &good);
    assert_eq!((s, c.as_str()), (409, "err.request.bad"));
    assert_eq!(
        b["header"]["status_reason_code"],
        "rjct.message_id.duplicate"
    );
    // No such endpoint; and a DR endpoint under the CRVS registry.
    let (s, c, _) = status_code("/registry/nope", &good);
    assert_eq!((s, c.as_str()), (404, "err.request.not_found"));
    let (s, _, _) = status_code("/crvs/registry/sync/disabled", &good);
    assert_eq!(s, 404);
    // A search to the async endpoint with the sync action is fine; a wrong action is not.
    let body = search_body(
        "spmis.example",
        "m3",
        json!({"action": "on-search"}),
        json!({"page_size": 10}),
    );
    let (s, _, b) = status_code("/registry/search", &body);
    assert_eq!(s, 400);
    assert_eq!(b["header"]["status_reason_code"], "rjct.action.invalid");
    // Every refusal is signed by the server.
    let bytes = serde_json::to_vec(&b).unwrap();
    verify_bytes(&bytes, &key(1).verifying_key(), &VerifyOptions::default()).unwrap();
}

#[test]
fn callbacks_go_only_where_the_policy_allows() {
    let reg = kit(spmis());
    let body = search_body(
        "spmis.example",
        "c1",
        json!({"sender_uri": "http://127.0.0.1:9/registry"}),
        json!({"page_size": 10}),
    );
    let (op, registry, a) = reg.admit("/registry/search", &body).unwrap();
    assert_eq!(op, Op::Search);
    assert_eq!(reg.ack(&a)["message"]["ack_status"], "ACK");
    let resp = reg
        .search_response(
            &a,
            registry,
            vec![ItemResult::Rejected(
                ReasonCode::SearchCriteriaInvalid,
                "no".into(),
            )],
        )
        .unwrap();
    assert_eq!(resp.search_response[0].status, RequestStatus::Rejected);
    let refused = reg
        .callback(op, &a, Response::Search(resp.clone()))
        .unwrap_err();
    assert_eq!(
        refused.body["message"]["error"]["code"],
        "err.sender_uri.invalid"
    );
    assert!(
        refused.rejection.message.contains("loopback"),
        "{}",
        refused.rejection.message
    );

    let mut open = kit(spmis());
    open.egress.allow_private = true;
    let (op, _, a) = open.admit("/registry/search", &body).unwrap();
    let cb = open
        .callback(op, &a, Response::Search(resp))
        .unwrap()
        .unwrap();
    assert_eq!(cb.url, "http://127.0.0.1:9/registry/on-search");
    // Every item failed: the header says so.
    assert_eq!(cb.body["header"]["status"], "rjct");
    assert_eq!(
        cb.body["message"]["search_response"][0]["status_reason_code"],
        "rjct.search_criteria.invalid"
    );
}
