//! The real `dci serve` binary: scheduled notifications (`subscribe_criteria.frequency`).
//! Changes to a subscription with a schedule are batched and sent as one notify at its next
//! tick; changes outside its window are not notified; the batch is kept in the database, so
//! changes made while the server is down go out after it starts again.
//!
//! Not timing-dependent: the batch that must arrive whole is written while the server is
//! stopped, so no tick can split it; the tests assert what arrives, not when.

mod server_support;

use serde_json::{json, Value};
use server_support::*;

fn ts(offset_secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn criteria(start: i64, end: i64, cron: &str) -> Value {
    json!({"reg_type": "ns:org:RegistryType:Civil", "reg_event_type": "LiveBirth",
        "notify_record_type": "Person", "filter_type": "expression",
        "filter": {"type": "expression", "value": {"expression": {"@type": {"$eq": "Person"}}}},
        "frequency": {"start_time": ts(start), "end_time": ts(end), "frequency": cron}})
}

fn birth(uin: &str) -> Value {
    json!({"registry": "crvs", "record_type": "Person", "event_type": "LiveBirth",
        "records": [{"@type": "Person",
            "identifier": [{"identifier_type": "UIN", "identifier_value": uin}],
            "name": {"given_name": "Ada", "surname": "Batch"}, "birth_date": "2026-01-02"}]})
}

/// `dci import` of one birth into `db` (the server may be stopped); returns what it prints.
fn import(dir: &std::path::Path, db: &std::path::Path, uin: &str) -> String {
    let file = dir.join(format!("birth-{uin}.json"));
    std::fs::write(&file, serde_json::to_vec(&birth(uin)).unwrap()).unwrap();
    dci(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        file.to_str().unwrap(),
    ])
}

fn uins(notify: &Value) -> Vec<String> {
    notify["message"]["notify_event"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["data"]["reg_records"]["identifier"][0]["identifier_value"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_on_schedule_inside_the_window_across_a_restart() {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("10", "registry,admin");
    let flags = [
        "--retry-base-ms",
        "100",
        "--outbox-poll-ms",
        "50",
        "--allow-private-callbacks",
    ];
    let mut server = Server::start(&db, &flags);
    let tok = token(&server.base, &cid, &secret).await;
    let rcv = Receiver::default();
    let (l, port) = listener().await;
    let sender_uri = format!("http://127.0.0.1:{port}/registry");
    let _task = rcv.spawn(l);

    // A cron expression the registry cannot read is refused at admission, naming the field.
    let bad = s1.envelope_to(
        "subscribe",
        json!({"transaction_id": "sub-bad", "subscribe_request": [{"reference_id": "r0",
            "timestamp": now(), "subscribe_criteria": criteria(-60, 3600, "every second")}]}),
        &sender_uri,
    );
    let (s, v) = server.send(&tok, "/registry/subscribe", &s1, bad).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["message"]["error"]["code"], "err.request.bad");
    let msg = v["message"]["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("message.subscribe_request[0].subscribe_criteria.frequency.frequency: \"every second\" is not a cron expression"),
        "{msg}"
    );

    // Every second within a window that is open now; and a window that opens in an hour.
    let mut env = s1.envelope_to(
        "subscribe",
        json!({"transaction_id": "sub-sched", "subscribe_request": [
            {"reference_id": "now", "timestamp": now(),
             "subscribe_criteria": criteria(-60, 3600, "* * * * * ?")},
            {"reference_id": "later", "timestamp": now(),
             "subscribe_criteria": criteria(3600, 7200, "* * * * * ?")}]}),
        &sender_uri,
    );
    env["header"]["total_count"] = json!(2);
    let (s, v) = server.send(&tok, "/registry/subscribe", &s1, env).await;
    assert_eq!(s, 200, "{v}");
    let cb = rcv.wait("/registry/on-subscribe", 1).await.remove(0);
    let items = cb["message"]["subscribe_response"].as_array().unwrap();
    let code = |i: usize| {
        items[i]["subscriptions"][0]["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (open, later) = (code(0), code(1));
    // The schedule is echoed in the SubscriptionInfo.
    assert_eq!(
        items[0]["subscriptions"][0]["frequency"]["frequency"],
        "* * * * * ?"
    );

    // Two births while the server is down (two imports, two transactions): batched for the
    // open window only; the other subscription's window has not begun, so they are dropped
    // for it.
    server.stop();
    for uin in ["700000001", "700000002"] {
        let out = import(dir.path(), &db, uin);
        assert!(
            out.contains("0 notifications queued, 1 events batched"),
            "{out}"
        );
    }

    // After the restart the batch goes out as one notify carrying both, in order.
    let server = Server::start(&db, &flags);
    let first = rcv.wait("/registry/notify", 1).await.remove(0);
    assert_eq!(first["message"]["subscription_code"], open.as_str());
    assert_eq!(uins(&first), ["700000001", "700000002"]);
    assert_eq!(first["header"]["total_count"], 2);
    assert_eq!(first["message"]["transaction_id"], "sub-sched");

    // A birth with the server running: into the next batch, sent at the next tick.
    let tok = token(&server.base, &cid, &secret).await;
    let r = reqwest::Client::new()
        .post(server.url("/admin/records"))
        .bearer_auth(&tok)
        .json(&birth("700000003"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"records": 1, "notifications_queued": 0, "events_batched": 1})
    );
    let all = rcv.wait("/registry/notify", 2).await;
    assert_eq!(uins(&all[1]), ["700000003"]);
    assert_eq!(all[1]["message"]["subscription_code"], open.as_str());
    // Nothing is left to send, and nothing went to the subscription outside its window.
    let mut pending = Value::Null;
    for _ in 0..600 {
        pending = server.health().await["pending_callbacks"].clone();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pending, 0);
    let notifies = rcv.on("/registry/notify");
    assert_eq!(notifies.len(), 2);
    assert!(notifies
        .iter()
        .all(|n| n["message"]["subscription_code"] != later.as_str()));
}
