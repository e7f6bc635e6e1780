//! Two `dci serve` processes over one PostgreSQL database act as one registry: a message_id
//! replayed to the other instance is rejected, each callback is delivered once, a record
//! imported through one instance notifies each subscriber once, and a token issued by one is
//! accepted by the other. Needs DCI_TEST_POSTGRES_URL (CI sets it: scripts/with-postgres).

mod server_support;

use std::collections::HashMap;
use std::path::Path;

use dci_server::store::postgres::testing;
use serde_json::{json, Value};
use server_support::*;

/// Outbox entries not delivered yet (every instance's).
fn undelivered(url: &str) -> i64 {
    testing::query_i64(
        url,
        "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND NOT failed",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_act_as_one_registry() {
    let Some(url) = testing::fresh_database("two_instances") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Path::new(&url);
    dci(&["seed", "--db", &url, "--persons", "60"]);
    let (cid, secret) = client(db, "c1", "registry,admin");
    let s1 = sender(dir.path(), "s1");
    s1.register(db, &[]);
    let s6 = sender(dir.path(), "s6");
    s6.register(db, &[]);
    let flags = [
        "--retry-base-ms",
        "100",
        "--outbox-poll-ms",
        "50",
        "--allow-private-callbacks",
    ];
    // Started together: both race to store the server key; one wins and both use it.
    let a = Server::start_logged(db, &dir.path().join("a.log"), &flags);
    let b = Server::start_logged(db, &dir.path().join("b.log"), &flags);
    let jwks = |s: &Server| {
        let u = s.url("/.well-known/jwks.json");
        async move {
            reqwest::get(u)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(jwks(&a).await, jwks(&b).await, "one signing key");

    // A token issued by A is accepted by B; the message B admitted is a replay at A.
    let tok = token(&a.base, &cid, &secret).await;
    let signed = s1.sign(s1.envelope(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000007"})),
    ));
    let (s, v) = b.post(&tok, "/registry/sync/search", signed.clone()).await;
    assert_eq!(
        (s, v["header"]["status"].as_str()),
        (200, Some("succ")),
        "{v}"
    );
    assert_eq!(
        v["message"]["search_response"][0]["data"]["reg_records"][0]["identifier"][0]
            ["identifier_value"],
        "100000007"
    );
    let (_, v) = a.post(&tok, "/registry/sync/search", signed).await;
    assert_eq!(
        v["header"]["status_reason_code"], "rjct.message_id.duplicate",
        "{v}"
    );
    let tok_b = token(&b.base, &cid, &secret).await;
    let (s, v) = a
        .send(
            &tok_b,
            "/registry/sync/search",
            &s1,
            s1.envelope(
                "search",
                search_message("idtype-value", json!({"type": "UIN", "value": "100000008"})),
            ),
        )
        .await;
    assert_eq!(
        (s, v["header"]["status"].as_str()),
        (200, Some("succ")),
        "{v}"
    );

    // Async searches sent to both: each callback comes exactly once, whichever delivers it.
    // The receiver is slow, so deliveries are in flight while the other instance polls.
    let rcv = Receiver {
        delay_ms: 150,
        ..Receiver::default()
    };
    let (l, port) = listener().await;
    let _task = rcv.spawn(l);
    let sender_uri = format!("http://127.0.0.1:{port}/registry");
    let n = 24;
    let mut sent = Vec::new();
    for i in 0..n {
        let srv = if i % 2 == 0 { &a } else { &b };
        let uin = (100_000_001 + i).to_string();
        let env = s1.envelope_to(
            "search",
            search_message("idtype-value", json!({"type": "UIN", "value": uin})),
            &sender_uri,
        );
        let (s, v) = srv.send(&tok, "/registry/search", &s1, env).await;
        assert_eq!(
            (s, v["message"]["ack_status"].as_str()),
            (200, Some("ACK")),
            "{v}"
        );
        sent.push(v["message"]["correlation_id"].as_str().unwrap().to_string());
    }
    rcv.wait("/registry/on-search", n as usize).await;
    // Once nothing is left undelivered, no instance can deliver any of them again.
    until("the outbox drained", || undelivered(&url) == 0).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for cb in rcv.on("/registry/on-search") {
        *seen
            .entry(
                cb["message"]["correlation_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
            .or_default() += 1;
    }
    for corr in &sent {
        assert_eq!(seen.get(corr), Some(&1), "callback {corr}: {seen:?}");
    }
    assert_eq!(seen.len(), sent.len());

    // s1 subscribes through A, s6 through B; a birth imported through A notifies each once.
    let every =
        json!({"type": "expression", "value": {"expression": {"@type": {"$eq": "Person"}}}});
    for (who, srv) in [(&s1, &a), (&s6, &b)] {
        let c = json!({"reg_type": "ns:org:RegistryType:Civil", "reg_event_type": "LiveBirth",
                       "notify_record_type": "Person", "filter_type": "expression", "filter": every});
        let env = who.envelope_to(
            "subscribe",
            json!({"transaction_id": format!("sub-{}", who.id), "subscribe_request": [
                {"reference_id": "sr-1", "timestamp": now(), "subscribe_criteria": c}]}),
            &sender_uri,
        );
        let (s, v) = srv.send(&tok, "/registry/subscribe", who, env).await;
        assert_eq!(s, 200, "{v}");
    }
    rcv.wait("/registry/on-subscribe", 2).await;
    let birth = json!({
        "registry": "crvs", "record_type": "Person", "event_type": "LiveBirth",
        "records": [{"@type": "Person", "identifier": [{"identifier_type": "UIN", "identifier_value": "900000001"}],
                     "name": {"given_name": "Nia", "surname": "Test"}, "sex": "female", "birth_date": "2025-02-01",
                     "address": {"region_code": "central_region"}}]});
    let r = reqwest::Client::new()
        .post(a.url("/admin/records"))
        .bearer_auth(&tok)
        .json(&birth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"records": 1, "notifications_queued": 2, "events_batched": 0})
    );
    rcv.wait("/registry/notify", 2).await;
    until("the outbox drained", || undelivered(&url) == 0).await;
    let mut to: Vec<String> = rcv
        .on("/registry/notify")
        .iter()
        .map(|n| {
            let rec = &n["message"]["notify_event"][0]["data"]["reg_records"];
            assert_eq!(rec["identifier"][0]["identifier_value"], "900000001");
            n["header"]["receiver_id"].as_str().unwrap().to_string()
        })
        .collect();
    to.sort();
    assert_eq!(to, ["s1", "s6"], "each subscriber notified once");
    // The record imported through A is found through B.
    let (_, v) = b
        .send(
            &tok,
            "/registry/sync/search",
            &s1,
            s1.envelope(
                "search",
                search_message("idtype-value", json!({"type": "UIN", "value": "900000001"})),
            ),
        )
        .await;
    assert_eq!(
        v["message"]["search_response"][0]["data"]["reg_records"][0]["name"]["given_name"], "Nia",
        "{v}"
    );
}
