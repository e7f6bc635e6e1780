//! The real `dci serve` binary: every sync endpoint and every rejection path.

mod server_support;

use dci::signature::{verify_bytes, VerifyOptions};
use serde_json::{json, Value};
use server_support::*;

struct Env {
    _dir: tempfile::TempDir,
    server: Server,
    token: String,
    s1: TestSender,
}

/// A seeded database, a client, and sender s1 (every operation, signature required).
async fn setup(extra_senders: impl FnOnce(&std::path::Path, &std::path::Path)) -> Env {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("300", "registry,admin");
    extra_senders(dir.path(), &db);
    let server = Server::start(&db, &["--max-body", "20000"]);
    let token = token(&server.base, &cid, &secret).await;
    Env {
        _dir: dir,
        server,
        token,
        s1,
    }
}

impl Env {
    /// POSTs `message` to `path` in an envelope signed by s1; returns (status, body).
    async fn send(&self, path: &str, action: &str, message: Value) -> (u16, Value) {
        let env = self.s1.envelope(action, message);
        self.server.send(&self.token, path, &self.s1, env).await
    }

    /// The `enrolled_status` IBR /sync/enrolled answers for `criteria`.
    async fn enrolled(&self, criteria: Value) -> String {
        let m = json!({"transaction_id": "te", "enrolled_criteria": criteria});
        let (s, v) = self.send("/ibr/registry/sync/enrolled", "search", m).await;
        assert_eq!(s, 200, "{v}");
        let status = v["message"]["enrolled_response"][0]["enrolled_status"].as_str();
        status.unwrap_or_else(|| panic!("{v}")).to_string()
    }
}

fn code(v: &Value) -> &str {
    v["message"]["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_search_is_signed_and_finds_by_identifier() {
    let e = setup(|_, _| {}).await;
    let health: Value = e.server.health().await;
    assert_eq!(health["status"], "ok");

    let body = e.s1.sign(e.s1.envelope(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000001"})),
    ));
    let (status, v, raw) = post(&e.server.url("/registry/sync/search"), Some(&e.token), body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["header"]["action"], "on-search");
    assert_eq!(v["header"]["status"], "succ");
    assert_eq!(v["header"]["sender_id"], "registry.example.org");
    assert_eq!(v["header"]["receiver_id"], "s1");
    let item = &v["message"]["search_response"][0];
    assert_eq!(item["reference_id"], "ref-1");
    assert_eq!(item["status"], "succ");
    assert_eq!(item["pagination"]["total_count"], 1);
    let rec = &item["data"]["reg_records"][0];
    assert_eq!(rec["@type"], "Person");
    assert_eq!(rec["identifier"][0]["identifier_value"], "100000001");
    // The response verifies against the server's published JWKS, over the bytes received.
    let jwks = server_jwks(&e.server.base).await;
    let verified =
        verify_bytes(&raw, &jwks, &VerifyOptions::default()).expect("response signature");
    assert_eq!(
        verified.kid.as_deref(),
        Some("registry.example.org|server-key-1|ed25519")
    );

    // Other registries under their prefix: social Member by UIN, and a predicate query.
    let body = e.s1.sign(e.s1.envelope(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "TEST-001"})),
    ));
    let (status, v, _) = post(
        &e.server.url("/social/registry/sync/search"),
        Some(&e.token),
        body,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let types: Vec<&str> = v["message"]["search_response"][0]["data"]["reg_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["@type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["Member"]);

    let mut m = search_message(
        "predicate",
        json!([{"seq_num": 1, "expression1": {"attribute_name": "group_size", "operator": "lt", "attribute_value": 3},
                "condition": "and", "expression2": {"attribute_name": "location", "operator": "eq", "attribute_value": "central_region"}}]),
    );
    m["search_request"][0]["search_criteria"]["reg_record_type"] = json!("Group");
    m["search_request"][0]["search_criteria"]["pagination"] =
        json!({"page_size": 2, "page_number": 1});
    m["search_request"][0]["search_criteria"]["sort"] =
        json!([{"attribute_name": "poverty_score", "sort_order": "desc"}]);
    let (status, v) = e.send("/social/registry/sync/search", "search", m).await;
    assert_eq!(status, 200, "{v}");
    let item = &v["message"]["search_response"][0];
    let recs = item["data"]["reg_records"].as_array().unwrap();
    assert_eq!(item["pagination"]["page_size"], 2);
    assert!(
        item["pagination"]["total_count"].as_u64().unwrap() >= 2,
        "{item}"
    );
    assert_eq!(recs.len(), 2);
    for r in recs {
        assert!(r["group_size"].as_u64().unwrap() < 3);
        assert_eq!(r["location"], "central_region");
    }
    assert!(recs[0]["poverty_score"].as_f64() >= recs[1]["poverty_score"].as_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_have_spec_codes_and_statuses() {
    let e = setup(|dir, db| {
        // s2 may only search; s4 is disabled.
        sender(dir, "s2").register(db, &["--ops", "search"]);
        sender(dir, "s4").register(db, &[]);
        dci(&["senders", "disable", "--db", db.to_str().unwrap(), "s4"]);
        let list = dci(&["senders", "list", "--db", db.to_str().unwrap()]);
        assert!(list.contains("s2\tactive\ts2\tops=search\tregistries=*\tfields=*\tsignature=required\tconsent=false\tkeys=k1"), "{list}");
        assert!(list.contains("s4\tdisabled"), "{list}");
    })
    .await;
    let url = e.server.url("/registry/sync/search");
    let msg = || search_message("idtype-value", json!({"type": "UIN", "value": "100000002"}));

    // No token, bad token: 401, err.request.unauthorized in errors[].
    let body = e.s1.sign(e.s1.envelope("search", msg()));
    let (s, v, _) = post(&url, None, body.clone()).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_str()),
        (401, Some("err.request.unauthorized"))
    );
    let (s, v, _) = post(&url, Some("not.a.token"), body).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_str()),
        (401, Some("err.request.unauthorized"))
    );

    // Unsigned while the policy requires a signature.
    let unsigned = serde_json::to_vec(&e.s1.envelope("search", msg())).unwrap();
    let (s, v, _) = post(&url, Some(&e.token), unsigned).await;
    assert_eq!((s, code(&v)), (401, "err.signature.missing"), "{v}");
    assert_eq!(v["header"]["status"], "rjct");

    // Tampered after signing.
    let mut env: Value =
        serde_json::from_slice(&e.s1.sign(e.s1.envelope("search", msg()))).unwrap();
    env["message"]["search_request"][0]["search_criteria"]["query"]["value"] = json!("100000003");
    let (s, v, _) = post(&url, Some(&e.token), serde_json::to_vec(&env).unwrap()).await;
    assert_eq!((s, code(&v)), (401, "err.signature.invalid"), "{v}");

    // Signed by s1's key but claiming to be s2: the kid names s1.
    let mut env = e.s1.envelope("search", msg());
    env["header"]["sender_id"] = json!("s2");
    let (s, v, _) = post(&url, Some(&e.token), e.s1.sign(env)).await;
    assert_eq!((s, code(&v)), (401, "err.signature.invalid"), "{v}");

    // Unknown and disabled senders.
    let mut env = e.s1.envelope("search", msg());
    env["header"]["sender_id"] = json!("nobody");
    let (s, v, _) = post(&url, Some(&e.token), serde_json::to_vec(&env).unwrap()).await;
    assert_eq!((s, code(&v)), (403, "err.sender_id.invalid"), "{v}");
    let mut env = e.s1.envelope("search", msg());
    env["header"]["sender_id"] = json!("s4");
    let (s, v, _) = post(&url, Some(&e.token), serde_json::to_vec(&env).unwrap()).await;
    assert_eq!((s, code(&v)), (403, "err.sender_id.invalid"), "{v}");

    // Forbidden operation: s2 may only search.
    let s2 = sender(tempfile::tempdir().unwrap().path(), "s2");
    let mut env = s2.envelope(
        "txn-status",
        json!({"transaction_id": "t", "txnstatus_request": {}}),
    );
    env["signature"] = json!("");
    let (s, v, _) = post(
        &e.server.url("/registry/sync/txn/status"),
        Some(&e.token),
        serde_json::to_vec(&env).unwrap(),
    )
    .await;
    assert_eq!((s, code(&v)), (403, "err.request.forbidden"), "{v}");

    // Duplicate message_id.
    let body = e.s1.sign(e.s1.envelope("search", msg()));
    let (s, _, _) = post(&url, Some(&e.token), body.clone()).await;
    assert_eq!(s, 200);
    let (s, v, _) = post(&url, Some(&e.token), body).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(
        v["header"]["status_reason_code"],
        "rjct.message_id.duplicate"
    );
    assert_eq!(code(&v), "err.request.bad");

    // Skewed message_ts (an hour old, freshly signed).
    let mut env = e.s1.envelope("search", msg());
    env["header"]["message_ts"] =
        json!((chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339());
    let (s, v, _) = post(&url, Some(&e.token), e.s1.sign(env)).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["header"]["status_reason_code"], "rjct.message_ts.invalid");

    // Wrong action.
    let (s, v, _) = post(
        &url,
        Some(&e.token),
        e.s1.sign(e.s1.envelope("subscribe", msg())),
    )
    .await;
    assert_eq!(
        (s, v["header"]["status_reason_code"].as_str()),
        (400, Some("rjct.action.invalid")),
        "{v}"
    );

    // Oversized body (the server runs with --max-body 20000).
    let mut m = msg();
    m["padding"] = json!("x".repeat(30_000));
    let (s, v, _) = post(&url, Some(&e.token), e.s1.sign(e.s1.envelope("search", m))).await;
    assert_eq!((s, code(&v)), (413, "err.request.bad"), "{v}");

    // Not declared as JSON.
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&e.token)
        .header("content-type", "text/plain")
        .body(e.s1.sign(e.s1.envelope("search", msg())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "err.request.bad");

    // Not JSON.
    let (s, v, _) = post(&url, Some(&e.token), b"{not json".to_vec()).await;
    assert_eq!((s, code(&v)), (400, "err.request.bad"), "{v}");

    // Invalid request: every violation named.
    let m = json!({"transaction_id": "t-1", "search_request": [
        {"timestamp": "yesterday", "search_criteria": {"query_type": "sql", "query": {}, "pagination": {"page_size": 0}}}
    ]});
    let (s, v, _) = post(&url, Some(&e.token), e.s1.sign(e.s1.envelope("search", m))).await;
    assert_eq!((s, code(&v)), (400, "err.request.bad"), "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "message.search_request[0].reference_id",
            "message.search_request[0].timestamp",
            "message.search_request[0].search_criteria.query_type",
            "message.search_request[0].search_criteria.pagination.page_size",
        ]
    );
    assert!(v["message"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("message.search_request[0].reference_id: required"));

    // The audit log keeps every rejection after the token check, with its code and the
    // violations (written in the background: wait for it).
    let db = e._dir.path().join("reg.db");
    let audit = |code: &str| -> Vec<(String, String)> {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut st = c
            .prepare("SELECT status, response FROM transactions WHERE error_code = ?1")
            .unwrap();
        let rows = st
            .query_map([code], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<Vec<(String, String)>, _>>()
            .unwrap();
        rows
    };
    until("audit of the invalid request", || {
        audit("err.request.bad")
            .iter()
            .any(|(_, r)| r.contains("message.search_request[0].search_criteria.query_type"))
    })
    .await;
    for code in [
        "err.signature.missing",
        "err.signature.invalid",
        "err.sender_id.invalid",
        "err.request.forbidden",
        "rjct.message_id.duplicate",
        "rjct.message_ts.invalid",
    ] {
        let rows = audit(code);
        assert!(!rows.is_empty(), "no audit entry for {code}");
        assert!(rows.iter().all(|(s, _)| s == "rjct"));
    }
    assert!(audit("err.request.unauthorized").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sharing_consent_and_optional_signatures() {
    let (dir, db) = seeded("100");
    let (cid, secret) = client(&db, "c1", "registry");
    let s3 = sender(dir.path(), "s3");
    s3.register(&db, &["--fields", "identifier,name", "--consent-required"]);
    let s5 = sender(dir.path(), "s5");
    s5.register(&db, &["--signature", "optional", "--registries", "crvs"]);
    let server = Server::start(&db, &[]);
    let tok = token(&server.base, &cid, &secret).await;
    let url = server.url("/registry/sync/search");
    let q = || search_message("idtype-value", json!({"type": "UIN", "value": "100000004"}));

    let (s, v, _) = post(&url, Some(&tok), s3.sign(s3.envelope("search", q()))).await;
    assert_eq!(s, 200);
    assert_eq!(v["message"]["search_response"][0]["status"], "rjct");
    assert_eq!(
        v["message"]["search_response"][0]["status_reason_code"],
        "rjct.search_criteria.invalid"
    );

    let mut m = q();
    m["search_request"][0]["search_criteria"]["consent"] = json!({"@type": "Consent", "ts": now()});
    let (s, v, _) = post(&url, Some(&tok), s3.sign(s3.envelope("search", m))).await;
    assert_eq!(s, 200, "{v}");
    let rec = &v["message"]["search_response"][0]["data"]["reg_records"][0];
    let mut keys: Vec<&str> = rec
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["@type", "identifier", "name"]);

    // Optional policy: unsigned and placeholder signatures pass; a bad one does not.
    let (s, v, _) = post(
        &url,
        Some(&tok),
        serde_json::to_vec(&s5.envelope("search", q())).unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut env = s5.envelope("search", q());
    env["signature"] = json!("unsigned-stub");
    let (s, _, _) = post(&url, Some(&tok), serde_json::to_vec(&env).unwrap()).await;
    assert_eq!(s, 200);
    let mut env: Value = serde_json::from_slice(&s5.sign(s5.envelope("search", q()))).unwrap();
    env["message"]["transaction_id"] = json!("changed");
    let (s, v, _) = post(&url, Some(&tok), serde_json::to_vec(&env).unwrap()).await;
    assert_eq!((s, code(&v)), (401, "err.signature.invalid"));
    // s5 has no agreement for the social registry.
    let (s, v, _) = post(
        &server.url("/social/registry/sync/search"),
        Some(&tok),
        s5.sign(s5.envelope("search", q())),
    )
    .await;
    assert_eq!((s, code(&v)), (403, "err.request.forbidden"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_token_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.db");
    let (cid, secret) = client(&db, "c1", "registry.search");
    let server = Server::start(&db, &[]);
    let http = reqwest::Client::new();
    let url = server.url("/oauth2/client/token");
    let form = |f: &[(&str, &str)]| http.post(&url).form(f).send();
    let r = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", cid.as_str()),
        ("client_secret", "wrong"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    let r = form(&[("grant_type", "password")]).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // HTTP Basic client authentication.
    let r = http
        .post(&url)
        .basic_auth(&cid, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "registry.search");
    let tok = v["access_token"].as_str().unwrap();
    assert_eq!(tok.split('.').count(), 3);
    // The JWT verifies with the published key.
    let jwks = server_jwks(&server.base).await;
    let (input, sig) = tok.rsplit_once('.').unwrap();
    use base64::Engine;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    jwks.find("registry.example.org|server-key-1|ed25519")
        .unwrap()
        .verify(input.as_bytes(), &sig)
        .unwrap();
    // A scope beyond the client's is refused.
    let r = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", cid.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", "admin"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // The secret is not stored in clear.
    let raw = std::fs::read(&db).unwrap();
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));
    // Revocation stops the token at once.
    dci(&["clients", "revoke", "--db", db.to_str().unwrap(), "c1"]);
    let list = dci(&["clients", "list", "--db", db.to_str().unwrap()]);
    assert!(
        list.starts_with("c1\trevoked\tc1\tscopes=registry.search\tsender=*"),
        "{list}"
    );
    assert!(!list.contains(&secret));
    let body = serde_json::to_vec(&json!({})).unwrap();
    let (s, v, _) = post(&server.url("/registry/sync/search"), Some(tok), body).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_str()),
        (401, Some("err.request.unauthorized"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_txn_status_and_registry_specific_endpoints() {
    let e = setup(|_, _| {}).await;
    let s1 = &e.s1;
    // Person 1 is alive in the demo data; find its birth date first.
    let by_uin = search_message("idtype-value", json!({"type": "UIN", "value": "100000001"}));
    let (_, v) = e.send("/registry/sync/search", "search", by_uin).await;
    let person = v["message"]["search_response"][0]["data"]["reg_records"][0].clone();
    let birth = person["birth_date"].as_str().unwrap().to_string();
    let alive = person.get("death_date").is_none();

    let m = json!({"transaction_id": "tv-1", "verify_request": [{
        "reference_id": "v-1", "timestamp": now(),
        "verify_criteria": {"identifier": {"identifier_type": "UIN", "identifier_value": "100000001"},
                            "claims": {"is_alive": alive, "birth_date": birth, "sex": "other"}}}]});
    let (s, v) = e.send("/registry/sync/verify", "verify", m).await;
    assert_eq!(s, 200, "{v}");
    let d = &v["message"]["verify_response"][0]["data"];
    assert_eq!(d["record_found"], "yes");
    assert_eq!(
        d["claims"],
        json!({"is_alive": "yes", "birth_date": "yes", "sex": "no"})
    );
    assert_eq!(d["verified"], "no");
    assert!(v["message"]["verify_response"][0]
        .get("reg_records")
        .is_none());
    let m = json!({"transaction_id": "tv-2", "verify_request": [{"reference_id": "v-2", "timestamp": now(),
        "verify_criteria": {"identifier": {"identifier_type": "UIN", "identifier_value": "nope"}, "claims": {"is_alive": true}}}]});
    let (_, v) = e.send("/registry/sync/verify", "verify", m).await;
    assert_eq!(
        v["message"]["verify_response"][0]["data"]["record_found"],
        "no"
    );

    // Sync search then its status, by transaction_id.
    let mut m = search_message("idtype-value", json!({"type": "UIN", "value": "100000005"}));
    m["transaction_id"] = json!("txn-for-status");
    let (s, _) = e.send("/registry/sync/search", "search", m).await;
    assert_eq!(s, 200);
    let status_msg = json!({"transaction_id": "ts-1", "txnstatus_request": {"reference_id": "q-1", "txn_type": "search",
        "attribute_type": "transaction_id", "attribute_value": "txn-for-status"}});
    let url = e.server.url("/registry/sync/txn/status");
    let mut found = Value::Null;
    // The audit log is written in the background; the status appears within moments.
    for _ in 0..100 {
        let (s, v, _) = post(
            &url,
            Some(&e.token),
            s1.sign(s1.envelope("txn-status", status_msg.clone())),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        if v["message"]["txnstatus_response"]["txn_status"]["search_response"][0]["status"]
            == "succ"
        {
            found = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found["header"]["action"], "txn-on-status");
    let st = &found["message"]["txnstatus_response"]["txn_status"];
    assert_eq!(st["transaction_id"], "txn-for-status");
    assert_eq!(
        st["search_response"][0]["data"]["reg_records"][0]["identifier"][0]["identifier_value"],
        "100000005"
    );

    // IBR enrolled: the head of household 1 (person 0, TEST-001) - find any enrolled UIN via search.
    let (_, v) = e.send("/ibr/registry/sync/search", "search", search_message("expression", json!({"type": "expression", "value": {"expression": {"enrollment_status": {"$eq": "active"}}}}))).await;
    let ben = v["message"]["search_response"][0]["data"]["reg_records"][0].clone();
    let enrolled_uin = ben["person_identifier"]["identifier_value"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let by_path = json!({"query_type": "expression", "response_entity": "Member",
        "query": {"person_identifier": {"eq": enrolled_uin}}});
    assert_eq!(e.enrolled(by_path).await, "yes");
    let nobody = json!({"query": {"person_identifier": {"eq": "nobody"}}});
    assert_eq!(e.enrolled(nobody).await, "no");
    // The idtype-value form (the spec's `query_type` allows it): an identifier lookup.
    for (uin, want) in [(enrolled_uin.as_str(), "yes"), ("nobody", "no")] {
        let by_id = json!({"query_type": "idtype-value", "response_entity": "Member",
            "query": {"type": "UIN", "value": uin}});
        assert_eq!(e.enrolled(by_id).await, want, "{uin}");
    }
    // Enrollment updates from an SP system: stored, then found by enrolled.
    let upd = json!({"signature": "", "header": {"version": "1.0.0", "message_id": uuid::Uuid::new_v4().to_string(),
        "message_ts": now(), "action": "notify", "status": "succ", "sender_id": "s1", "total_count": 1},
        "message": {"transaction_id": "tu-1", "enrolled_updates": {"beneficiaries": [
            {"@type": "Beneficiary", "beneficiary_identifier": [{"identifier_type": "BID", "identifier_value": "BID-NEW-1"}],
             "person_identifier": {"identifier_type": "UIN", "identifier_value": "777000001"},
             "programme": {"programme_identifier": "PRG-CT-01"}, "enrollment_status": "active"}]}}});
    let (s, v, _) = post(
        &e.server.url("/ibr/registry/sync/enrollment/updates"),
        Some(&e.token),
        s1.sign(upd),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["message"]["enrolled_response"][0]["status"], "succ");
    let updated = json!({"query": {"person_identifier": {"eq": "777000001"},
        "programme.programme_identifier": {"eq": "PRG-CT-01"}}});
    assert_eq!(e.enrolled(updated).await, "yes");
    // The IBR endpoints exist only under the IBR prefix (the default registry here is crvs).
    let (s, _, _) = post(
        &e.server.url("/registry/sync/enrolled"),
        Some(&e.token),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(s, 404);

    // DR: disabled, disability details with Washington Group scores, disability support.
    let (_, v) = e.send("/dr/registry/sync/search", "search", search_message("expression", json!({"type": "expression", "value": {"expression": {"disability_status": {"$eq": "Approved"}}}}))).await;
    let dp = v["message"]["search_response"][0]["data"]["reg_records"][0].clone();
    let duin = dp["identifier"][0]["identifier_value"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let q = json!({"transaction_id": "td-1", "disabled_criteria": {"query_type": "expression", "query": {"identifier": {"eq": duin}}}});
    let (s, v) = e
        .send("/dr/registry/sync/disabled", "search", q.clone())
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["message"]["disabled_response"][0]["disabled_status"],
        "yes"
    );
    let (s, v) = e
        .send(
            "/dr/registry/sync/get-disability-details",
            "search",
            q.clone(),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let rec = &v["message"]["search_response"][0]["data"]["reg_records"][0];
    for k in ["VIS_SS", "HEAR_SS", "MOB_SS", "COG_SS", "SC_SS", "COM_SS"] {
        let s = rec["washington_group"][k].as_u64().unwrap();
        assert!((1..=4).contains(&s));
    }
    assert!(rec.get("disability_support").is_none());
    let (s, v) = e
        .send("/dr/registry/sync/get-disability-support", "search", q)
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["message"]["search_response"][0]["data"]["reg_records"][0]["disability_support"]
            .is_array()
    );

    // The receiving side acknowledges a signed callback.
    let cb = json!({"signature": "", "header": {"version": "1.0.0", "message_id": "cb-1", "message_ts": now(), "action": "on-search",
        "status": "succ", "sender_id": "s1", "total_count": 1}, "message": {"transaction_id": "t-cb", "search_response": []}});
    let (s, v, _) = post(
        &e.server.url("/registry/on-search"),
        Some(&e.token),
        s1.sign(cb),
    )
    .await;
    assert_eq!(
        (s, v["message"]["ack_status"].as_str()),
        (200, Some("ACK")),
        "{v}"
    );
}

/// Sort through the real server orders by the typed value, as `dci::query` does: date-times by
/// instant whatever their offset, numeric strings by number (issue 9: the server used to
/// compare the text).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_orders_by_typed_values() {
    let e = setup(|_, _| {}).await;
    let person = |uin: &str, registered: &str, score: &str| {
        json!({"@type": "Person", "identifier": [{"identifier_type": "UIN", "identifier_value": uin}],
               "name": {"given_name": uin, "surname": "Sorted"}, "registration_date": registered,
               "poverty_score": score})
    };
    let batch = json!({"registry": "crvs", "record_type": "Person", "records": [
        person("S-1", "2020-01-01T23:00:00-05:00", "9"),
        person("S-2", "2020-01-02T01:00:00+00:00", "10"),
        person("S-3", "2020-01-01", "2.5"),
    ]});
    let r = reqwest::Client::new()
        .post(e.server.url("/admin/records"))
        .bearer_auth(&e.token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let sorted = |attribute: &str, order: &str| {
        let mut m = search_message(
            "expression",
            json!({"type": "expression", "value": {"expression": {"name.surname": {"$eq": "Sorted"}}}}),
        );
        m["search_request"][0]["search_criteria"]["sort"] =
            json!([{"attribute_name": attribute, "sort_order": order}]);
        m
    };
    /// The UINs of the records answered, in order.
    fn uins(v: &Value) -> Vec<&str> {
        let records = v["message"]["search_response"][0]["data"]["reg_records"].as_array();
        let records = records.into_iter().flatten();
        records
            .filter_map(|r| r["identifier"][0]["identifier_value"].as_str())
            .collect()
    }
    let path = "/registry/sync/search";
    // S-1 is 2020-01-02T04:00Z: after S-2 although its text sorts first.
    let (_, v) = e
        .send(path, "search", sorted("registration_date", "asc"))
        .await;
    assert_eq!(uins(&v), ["S-3", "S-2", "S-1"]);
    let (_, v) = e
        .send(path, "search", sorted("registration_date", "desc"))
        .await;
    assert_eq!(uins(&v), ["S-1", "S-2", "S-3"]);
    let (_, v) = e.send(path, "search", sorted("poverty_score", "asc")).await;
    assert_eq!(uins(&v), ["S-3", "S-1", "S-2"]);
    // A sort key without attribute_name (which the schema leaves optional) rejects the item
    // with the spec's code; a sort_order other than asc/desc is refused at admission.
    let mut m = sorted("poverty_score", "asc");
    m["search_request"][0]["search_criteria"]["sort"] = json!([{"sort_order": "asc"}]);
    let (s, v) = e.send(path, "search", m).await;
    assert_eq!(s, 200, "{v}");
    let item = &v["message"]["search_response"][0];
    assert_eq!(
        (item["status"].as_str(), item["status_reason_code"].as_str()),
        (Some("rjct"), Some("rjct.sort.invalid")),
        "{v}"
    );
    assert_eq!(v["header"]["status"], "rjct");
    let (s, v) = e.send(path, "search", sorted("poverty_score", "up")).await;
    assert_eq!((s, code(&v)), (400, "err.request.bad"));
    assert_eq!(
        v["errors"][0]["field"],
        "message.search_request[0].search_criteria.sort[0].sort_order"
    );
}

/// Issue 11 §3: junk signed with the wrong key that claims sender s1's message_id X is refused
/// and must not burn X, not before a restart (the replay check runs after the signature) and
/// not after one (the replay cache is rebuilt from accepted requests only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_message_id_does_not_burn_the_senders_id_across_a_restart() {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("5", "registry");
    let impostor = sender(dir.path(), "s1");
    let genuine = s1.envelope(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000001"})),
    );
    let forged = impostor.sign(genuine.clone());

    let mut server = Server::start(&db, &[]);
    let tok = token(&server.base, &cid, &secret).await;
    let (s, v) = server
        .post(&tok, "/registry/sync/search", forged.clone())
        .await;
    assert_eq!((s, code(&v)), (401, "err.signature.invalid"), "{v}");
    server.stop();

    let server = Server::start(&db, &[]);
    let tok = token(&server.base, &cid, &secret).await;
    let (s, v) = server
        .send(&tok, "/registry/sync/search", &s1, genuine.clone())
        .await;
    assert_eq!(
        s, 200,
        "the genuine request was refused after the forgery: {v}"
    );
    // The accepted one does count: sent again, it is a replay.
    let (s, v) = server
        .send(&tok, "/registry/sync/search", &s1, genuine)
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(
        v["header"]["status_reason_code"],
        "rjct.message_id.duplicate"
    );
}
