//! The transaction inspector (issue 15 section 3, server/src/inspector.rs): who may see it,
//! what it shows of a transaction (violations, deviations, redacted bodies, callback
//! attempts), its filters, and its event stream delivering a new transaction.

mod server_support;

use serde_json::{json, Value};
use server_support::*;

async fn get(server: &Server, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn rows(server: &Server, token: &str, query: &str) -> Vec<Value> {
    let r = get(
        server,
        &format!("/inspector/transactions{query}"),
        Some(token),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["transactions"].as_array().unwrap().clone()
}

/// The rows once there are at least `n` (10 s at most): a rejected request's audit row is
/// written after its answer is sent (only accepted ones wait for the commit), so a read right
/// after the answer may not see it yet.
async fn rows_when(server: &Server, token: &str, query: &str, n: usize) -> Vec<Value> {
    let mut all = rows(server, token, query).await;
    for _ in 0..200 {
        if all.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        all = rows(server, token, query).await;
    }
    all
}

/// A search that fails validation: no message_id, a reference_id over 99 characters.
fn bad_search(s1: &TestSender) -> Value {
    let mut env = s1.envelope(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000001"})),
    );
    env["header"].as_object_mut().unwrap().remove("message_id");
    env["message"]["search_request"][0]["reference_id"] = json!("r".repeat(120));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_token_opens_it_outside_demo() {
    let (_dir, db, (cid, secret), _s1) = seeded_with_s1("5", "registry");
    let (aid, asecret) = client(&db, "admin1", "registry,admin");
    let server = Server::start(&db, &[]);
    let plain = token(&server.base, &cid, &secret).await;
    let admin = token(&server.base, &aid, &asecret).await;
    for path in ["/inspector", "/inspector/transactions", "/inspector/events"] {
        let r = get(&server, path, None).await;
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"][0]["code"], "err.request.unauthorized", "{path}");
        let r = get(&server, path, Some(&plain)).await;
        assert_eq!(r.status(), 403, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"][0]["code"], "err.request.forbidden", "{path}");
        let r = get(&server, path, Some("not.a.token")).await;
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = get(&server, "/inspector", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self';"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<script src="/inspector/inspector.js" defer></script>"#));
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline code"
    );
    // The assets hold no data: served to anyone (the page's own requests carry no token).
    let js = get(&server, "/inspector/inspector.js", None).await;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(js
        .text()
        .await
        .unwrap()
        .contains("new EventSource('/inspector/events?'"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_opens_it_to_loopback_clients() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let server = Server::start(&db, &["--demo"]);
    server.printed("dci envelope search").await;
    let line = server.printed("inspector:").await;
    assert!(
        line.starts_with(&format!("{}/inspector (", server.base)),
        "{line}"
    );
    let r = get(&server, "/inspector", None).await;
    assert_eq!(r.status(), 200);
    let r = get(&server, "/inspector/transactions", None).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["transactions"], json!([]));
    // A token given is still judged: a bad one is refused on loopback too.
    let r = get(&server, "/inspector", Some("not.a.token")).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_shows_violations_deviations_and_redacted_bodies_filtered() {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("5", "registry,admin");
    let server = Server::start(&db, &["--strict"]);
    let tok = token(&server.base, &cid, &secret).await;

    // Accepted, with a deviation (an unknown criteria field).
    let mut m = search_message("idtype-value", json!({"type": "UIN", "value": "100000001"}));
    m["search_request"][0]["search_criteria"]["sortt"] = json!([]);
    let env = s1.envelope("search", m);
    let (s, _) = server.send(&tok, "/registry/sync/search", &s1, env).await;
    assert_eq!(s, 200);
    // Rejected by validation.
    let (s, v) = server
        .send(&tok, "/registry/sync/search", &s1, bad_search(&s1))
        .await;
    assert_eq!(s, 400, "{v}");

    let all = rows_when(&server, &tok, "", 2).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let (bad, good) = (&all[0], &all[1]);
    assert!(
        bad["id"].as_i64().unwrap() > good["id"].as_i64().unwrap(),
        "newest first"
    );
    assert_eq!(bad["status"], "rjct");
    assert_eq!(bad["sender_id"], "s1");
    assert_eq!(bad["action"], "search");
    assert_eq!(bad["operation"], "sync-search");
    assert_eq!(bad["registry"], "crvs");
    assert_eq!(bad["error_code"], "err.request.bad");
    let fields: Vec<&str> = bad["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"header.message_id"), "{fields:?}");
    assert!(
        fields.contains(&"message.search_request[0].reference_id"),
        "{fields:?}"
    );
    assert_eq!(good["status"], "succ");
    assert_eq!(good["error_code"], Value::Null);
    let dev = good["deviations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["field"] == "message.search_request[0].search_criteria.sortt")
        .unwrap_or_else(|| panic!("the sortt deviation: {good}"));
    assert_eq!(
        dev["rule"],
        "not a field of the spec here (did you mean sort?); ignored"
    );
    // Signatures shortened in both bodies; the access token appears nowhere.
    let request = good["request"].as_str().unwrap();
    assert!(
        request.contains(r#""signature": "namespace=\"dci\",... ("#),
        "{request}"
    );
    let answer = good["response"].as_str().unwrap();
    assert!(answer.contains(r#""action": "on-search""#), "{answer}");
    assert!(answer.contains(r#""signature": "namespace=\"dci\",... ("#));
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains(&tok) && !text.contains(&secret));

    // Filters: status, sender, action, and pages.
    let only = rows(&server, &tok, "?status=rjct").await;
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["status"], "rjct");
    assert_eq!(
        rows(&server, &tok, "?sender=nobody").await,
        Vec::<Value>::new()
    );
    assert_eq!(rows(&server, &tok, "?sender=s1").await.len(), 2);
    assert_eq!(rows(&server, &tok, "?action=subscribe").await.len(), 0);
    assert_eq!(
        rows(&server, &tok, "?action=sync-search&status=succ")
            .await
            .len(),
        1
    );
    let r = get(&server, "/inspector/transactions?limit=1", Some(&tok)).await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["transactions"][0]["status"], "rjct");
    let before = page["next_before"].as_i64().expect("a next page");
    let older = rows(&server, &tok, &format!("?limit=1&before={before}")).await;
    assert_eq!(older[0]["status"], "succ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_shows_each_callback_attempt() {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry,admin");
    let server = Server::start(
        &db,
        &["--outbox-poll-ms", "50", "--allow-private-callbacks"],
    );
    let tok = token(&server.base, &cid, &secret).await;
    let rcv = Receiver::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let _task = rcv.spawn(l);
    let env = s1.envelope_to(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000007"})),
        &format!("http://127.0.0.1:{port}/registry"),
    );
    let (s, v) = server.send(&tok, "/registry/search", &s1, env).await;
    assert_eq!(s, 200, "{v}");
    rcv.wait("/registry/on-search", 1).await;
    // The attempt is recorded right after the receiver answered.
    let mut cb = Value::Null;
    for _ in 0..200 {
        let all = rows(&server, &tok, "?action=search").await;
        cb = all[0]["callbacks"][0].clone();
        if cb["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(cb["state"], "delivered", "{cb}");
    assert_eq!(cb["kind"], "on-search");
    assert_eq!(
        cb["url"],
        format!("http://127.0.0.1:{port}/registry/on-search")
    );
    assert_eq!(cb["attempts"], 1);
    let tries = cb["tries"].as_array().unwrap();
    assert_eq!(tries.len(), 1);
    assert_eq!(tries[0]["ok"], true);
    assert_eq!(tries[0]["result"], "200 OK ACK");
    assert!(tries[0]["duration_ms"].as_i64().unwrap() >= 0);
    assert!(tries[0]["started_at"].as_i64().unwrap() > 1_700_000_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_delivers_a_new_transaction() {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("5", "registry,admin");
    let server = Server::start(&db, &[]);
    let tok = token(&server.base, &cid, &secret).await;
    // Only rejections: the accepted search sent first must not come through.
    let mut stream = get(&server, "/inspector/events?status=rjct", Some(&tok)).await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let env = s1.envelope(
        "search",
        search_message("idtype-value", json!({"type": "UIN", "value": "100000001"})),
    );
    let (s, _) = server.send(&tok, "/registry/sync/search", &s1, env).await;
    assert_eq!(s, 200);
    let (s, _) = server
        .send(&tok, "/registry/sync/search", &s1, bad_search(&s1))
        .await;
    assert_eq!(s, 400);
    let mut text = String::new();
    let event = loop {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), stream.chunk())
            .await
            .expect("an event within 30 s")
            .unwrap()
            .expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(end) = text.find("\n\n") {
            break text[..end].to_string();
        }
    };
    let mut lines = event.lines();
    assert_eq!(lines.next(), Some("event: transaction"));
    let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
    let t: Value = serde_json::from_str(data).unwrap();
    assert_eq!(t["status"], "rjct");
    assert_eq!(t["sender_id"], "s1");
    assert!(
        t["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["field"] == "header.message_id" && v["code"] == "err.request.bad"),
        "{t}"
    );
}
