//! The real `dci serve` binary: async search through the outbox, subscribe then notify on a
//! record change, async txn status, and delivery resumed after a restart.

mod server_support;

use std::collections::HashMap;

use dci::signature::{verify_bytes, VerifyOptions};
use serde_json::{json, Value};
use server_support::*;

/// `dci import FILE` into the database `db`; returns what it prints.
fn import(db: &std::path::Path, file: &std::path::Path) -> String {
    dci(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        file.to_str().unwrap(),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_search_subscribe_notify_and_status() {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("100", "registry,admin");
    // s6 receives only names and identifiers in its notifications.
    let s6 = sender(dir.path(), "s6");
    s6.register(&db, &["--fields", "identifier,name"]);
    let server = Server::start(
        &db,
        &[
            "--retry-base-ms",
            "100",
            "--outbox-poll-ms",
            "50",
            "--allow-private-callbacks",
        ],
    );
    let tok = token(&server.base, &cid, &secret).await;
    let jwks = server_jwks(&server.base).await;

    let rcv = Receiver::default();
    let (l, port) = listener().await;
    let _task = rcv.spawn(l);
    let sender_uri = format!("http://127.0.0.1:{port}/registry");

    // Async search: ACK now, signed on-search callback later.
    let env = s1.envelope_to(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000007"})),
        &sender_uri,
    );
    let (s, v) = server
        .send(&tok, "/registry/search", &s1, env.clone())
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["message"]["ack_status"], "ACK");
    let corr = v["message"]["correlation_id"].as_str().unwrap().to_string();
    let cb = rcv.wait("/registry/on-search", 1).await.remove(0);
    assert_eq!(cb["header"]["action"], "on-search");
    assert_eq!(cb["message"]["correlation_id"], corr.as_str());
    assert_eq!(
        cb["message"]["transaction_id"],
        env["message"]["transaction_id"]
    );
    assert_eq!(
        cb["message"]["search_response"][0]["data"]["reg_records"][0]["identifier"][0]
            ["identifier_value"],
        "100000007"
    );
    verify_bytes(
        &serde_json::to_vec(&cb).unwrap(),
        &jwks,
        &VerifyOptions::default(),
    )
    .expect("callback signature");

    // Async without sender_uri: acknowledged, no callback; the result waits for txn status.
    let env = s1.envelope(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000008"})),
    );
    let txn_id = env["message"]["transaction_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v) = server.send(&tok, "/registry/search", &s1, env).await;
    assert_eq!(
        (s, v["message"]["ack_status"].as_str()),
        (200, Some("ACK")),
        "{v}"
    );
    let status = json!({"transaction_id": "ts-0", "txnstatus_request": {"reference_id": "q-0",
        "txn_type": "search", "attribute_type": "transaction_id", "attribute_value": txn_id}});
    let (s, v) = server
        .send(
            &tok,
            "/registry/sync/txn/status",
            &s1,
            s1.envelope("txn-status", status),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let st = &v["message"]["txnstatus_response"]["txn_status"];
    assert_eq!(
        st["search_response"][0]["data"]["reg_records"][0]["identifier"][0]["identifier_value"],
        "100000008",
        "{v}"
    );
    // A sender_uri that is not an http(s) URL is refused.
    let env = s1.envelope_to(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "1"})),
        "ftp://example.org/cb",
    );
    let (s, v) = server.send(&tok, "/registry/search", &s1, env).await;
    assert_eq!(
        (s, v["message"]["error"]["code"].as_str()),
        (400, Some("err.sender_uri.invalid"))
    );

    // Subscribe to births in the central region (s1) and to every birth (s6).
    let sub = |who: &TestSender, filter: Option<Value>| {
        let mut c = json!({"reg_type": "ns:org:RegistryType:Civil", "reg_event_type": "LiveBirth", "notify_record_type": "Person"});
        if let Some(f) = filter {
            c["filter_type"] = json!("expression");
            c["filter"] = f;
        }
        let env = who.envelope_to(
            "subscribe",
            json!({"transaction_id": format!("sub-{}", who.id), "subscribe_request": [
            {"reference_id": "sr-1", "timestamp": now(), "subscribe_criteria": c}]}),
            &sender_uri,
        );
        who.sign(env)
    };
    let (s, v, _) = post(&server.url("/registry/subscribe"), Some(&tok),
        sub(&s1, Some(json!({"type": "expression", "value": {"expression": {"address.region_code": {"$eq": "central_region"}}}})))).await;
    assert_eq!(s, 200, "{v}");
    // The spec requires a filter; s6's matches every person.
    let every =
        json!({"type": "expression", "value": {"expression": {"@type": {"$eq": "Person"}}}});
    let (s, v, _) = post(
        &server.url("/registry/subscribe"),
        Some(&tok),
        sub(&s6, Some(every)),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut codes: HashMap<String, String> = HashMap::new();
    for cb in rcv.wait("/registry/on-subscribe", 2).await {
        let sub = &cb["message"]["subscribe_response"][0]["subscriptions"][0];
        assert_eq!(sub["status"], "subscribe");
        codes.insert(
            cb["header"]["receiver_id"].as_str().unwrap().to_string(),
            sub["code"].as_str().unwrap().to_string(),
        );
    }

    // A new birth in the central region through the admin API: both are notified.
    let birth = |uin: &str, region: &str| {
        json!({
        "registry": "crvs", "record_type": "Person", "event_type": "LiveBirth",
        "records": [{"@type": "Person", "identifier": [{"identifier_type": "UIN", "identifier_value": uin}],
                     "name": {"given_name": "Nia", "surname": "Test"}, "sex": "female", "birth_date": "2025-02-01",
                     "address": {"region_code": region}}]})
    };
    let r = reqwest::Client::new()
        .post(server.url("/admin/records"))
        .bearer_auth(&tok)
        .json(&birth("900000001", "central_region"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"records": 1, "notifications_queued": 2, "events_batched": 0})
    );
    for n in rcv.wait("/registry/notify", 2).await {
        verify_bytes(
            &serde_json::to_vec(&n).unwrap(),
            &jwks,
            &VerifyOptions::default(),
        )
        .expect("notify signature");
        let rec = &n["message"]["notify_event"][0]["data"]["reg_records"];
        assert_eq!(rec["identifier"][0]["identifier_value"], "900000001");
        assert_eq!(
            n["message"]["notify_event"][0]["data"]["reg_event_type"],
            "LiveBirth"
        );
        let who = n["header"]["receiver_id"].as_str().unwrap();
        assert_eq!(n["message"]["subscription_code"], codes[who].as_str());
        if who == "s6" {
            // Cut to s6's data sharing agreement.
            assert!(rec.get("sex").is_none() && rec.get("birth_date").is_none());
            assert_eq!(rec["name"]["given_name"], "Nia");
        } else {
            assert_eq!(rec["sex"], "female");
        }
    }
    // A birth elsewhere matches only s6's subscription; a death matches none (dci import).
    let file = dir.path().join("births.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&json!([birth("900000002", "northern_region")])).unwrap(),
    )
    .unwrap();
    let out = import(&db, &file);
    assert!(
        out.contains("imported 1 records; 1 notifications queued"),
        "{out}"
    );
    let mut death = birth("900000001", "central_region");
    death["event_type"] = json!("Death");
    std::fs::write(&file, serde_json::to_vec(&death).unwrap()).unwrap();
    let out = import(&db, &file);
    assert!(
        out.contains("imported 1 records; 0 notifications queued"),
        "{out}"
    );
    assert_eq!(rcv.wait("/registry/notify", 3).await.len(), 3);

    // Unsubscribe s6; the on-unsubscribe callback confirms; the next birth notifies only s1.
    let env = s6.envelope_to("unsubscribe", json!({"transaction_id": "unsub-1", "timestamp": now(), "subscription_codes": [codes["s6"]]}), &sender_uri);
    let (s, _) = server.send(&tok, "/registry/unsubscribe", &s6, env).await;
    assert_eq!(s, 200);
    let u = rcv.wait("/registry/on-unsubscribe", 1).await.remove(0);
    assert_eq!(u["message"]["status"], "succ");
    assert_eq!(
        u["message"]["subscription_status"],
        json!([{"code": codes["s6"], "status": "unsubscribe"}])
    );
    std::fs::write(
        &file,
        serde_json::to_vec(&birth("900000003", "central_region")).unwrap(),
    )
    .unwrap();
    let out = import(&db, &file);
    assert!(out.contains("1 notifications queued"), "{out}");
    // s1 may not unsubscribe s6's (already ended) subscription: rjct in the callback.
    let env = s1.envelope_to("unsubscribe", json!({"transaction_id": "unsub-2", "timestamp": now(), "subscription_codes": [codes["s6"]]}), &sender_uri);
    server.send(&tok, "/registry/unsubscribe", &s1, env).await;
    assert_eq!(
        rcv.wait("/registry/on-unsubscribe", 2).await[1]["message"]["status_reason_code"],
        "rjct.subscription_code.invalid"
    );

    // Async txn status of the first search, by correlation_id.
    let env = s1.envelope_to(
        "txn-status",
        json!({"transaction_id": "ts-1", "txnstatus_request": {"reference_id": "q-1",
        "txn_type": "search", "attribute_type": "correlation_id", "attribute_value": corr}}),
        &sender_uri,
    );
    let (s, _) = server.send(&tok, "/registry/txn/status", &s1, env).await;
    assert_eq!(s, 200);
    let st = rcv.wait("/registry/txn/on-status", 1).await.remove(0);
    assert_eq!(st["header"]["action"], "txn-on-status");
    assert_eq!(
        st["message"]["txnstatus_response"]["txn_status"]["search_response"][0]["data"]
            ["reg_records"][0]["identifier"][0]["identifier_value"],
        "100000007"
    );
    let notified = rcv.wait("/registry/notify", 4).await;
    assert_eq!(notified.len(), 4);
    assert_eq!(notified[3]["header"]["receiver_id"], "s1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_delivery_once() {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("50", "registry");
    // Reserve a port for the receiver, then close it: callbacks fail until it comes back.
    let (l, port) = listener().await;
    drop(l);
    let sender_uri = format!("http://127.0.0.1:{port}/registry");
    let args = [
        "--retry-base-ms",
        "100",
        "--retry-max-ms",
        "400",
        "--outbox-poll-ms",
        "50",
        "--allow-private-callbacks",
    ];

    let mut server = Server::start(&db, &args);
    let tok = token(&server.base, &cid, &secret).await;
    let mut txns = Vec::new();
    for i in 0..5 {
        let env = s1.envelope_to(
            "search",
            search_message(
                "idtype-value",
                json!({"type": "UIN", "value": format!("{}", 100000010 + i)}),
            ),
            &sender_uri,
        );
        txns.push(
            env["message"]["transaction_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let (s, v) = server.send(&tok, "/registry/search", &s1, env).await;
        assert_eq!((s, v["message"]["ack_status"].as_str()), (200, Some("ACK")));
    }
    let health: Value = server.health().await;
    assert_eq!(health["pending_callbacks"], 5);
    server.stop();

    // Receiver back, server back: every callback arrives, once.
    let rcv = Receiver::default();
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let _task = rcv.spawn(l);
    let server = Server::start(&db, &args);
    rcv.wait("/registry/on-search", 5).await;
    let mut pending = -1;
    for _ in 0..200 {
        let h: Value = server.health().await;
        pending = h["pending_callbacks"].as_i64().unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pending, 0);
    let mut got: Vec<String> = rcv
        .on("/registry/on-search")
        .iter()
        .map(|c| c["message"]["transaction_id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    txns.sort();
    assert_eq!(got, txns, "each callback exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_keys_from_a_jwks_url() {
    let (dir, db) = seeded("20");
    let (cid, secret) = client(&db, "c1", "registry");
    // The sender publishes its JWKS; the registry knows only the URL.
    let s7 = sender(dir.path(), "s7");
    let jwks = json!({"keys": [s7.signer.key.verifying_key().to_jwk(Some("k1"))]});
    let (l, port) = listener().await;
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let j = jwks.clone();
            async move { axum::Json(j) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let url = format!("http://127.0.0.1:{port}/jwks.json");
    dci(&[
        "senders",
        "add",
        "--db",
        db.to_str().unwrap(),
        "--id",
        "s7",
        "--jwks-url",
        &url,
    ]);
    // The JWKS is on 127.0.0.1: allowed only with the flag.
    let server = Server::start(&db, &["--allow-private-callbacks"]);
    let tok = token(&server.base, &cid, &secret).await;
    // The keys are fetched in the background at start; a signed request passes once they are in.
    let mut last = (0, Value::Null);
    for _ in 0..200 {
        let body = s7.sign(s7.envelope(
            "search",
            search_message("idtype-value", json!({"type": "UIN", "value": "100000003"})),
        ));
        let (s, v, _) = post(&server.url("/registry/sync/search"), Some(&tok), body).await;
        last = (s, v);
        if s == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(last.0, 200, "{}", last.1);
    assert_eq!(
        last.1["message"]["search_response"][0]["pagination"]["total_count"],
        1
    );
    let list = dci(&["senders", "list", "--db", db.to_str().unwrap()]);
    assert!(list.contains("keys=k1"), "{list}");
}
