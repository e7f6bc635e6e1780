//! Outbound requests of the real `dci serve` (issue 11 §1 and §2): refused callback
//! addresses at admission and at delivery, the registered callback base and its token, no
//! redirects, a slow receiver that delays no one else, and a bounded shutdown.

mod server_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server_support::*;

/// What a receiver saw: (path, Authorization header, envelope).
type Seen = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

/// A callback receiver on 127.0.0.1 that ACKs everything, or answers every request with a
/// 307 to `redirect_to`. Returns its port and what it saw.
async fn receiver(redirect_to: Option<String>) -> (u16, Seen) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let got = seen.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (got, redirect_to) = (got.clone(), redirect_to.clone());
            async move {
                use axum::response::IntoResponse;
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap_or_default().to_string());
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                got.lock().unwrap().push((uri.path().to_string(), auth, v));
                match redirect_to {
                    Some(to) => (
                        axum::http::StatusCode::TEMPORARY_REDIRECT,
                        [(axum::http::header::LOCATION, to)],
                    )
                        .into_response(),
                    None => axum::Json(json!({"message": {"ack_status": "ACK",
                        "timestamp": now(), "correlation_id": "rcv"}}))
                    .into_response(),
                }
            }
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (port, seen)
}

/// A receiver that accepts connections and never answers; returns its port and how many
/// connections it accepted.
async fn hung_receiver() -> (u16, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let n = Arc::new(AtomicUsize::new(0));
    let count = n.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (port, n)
}

fn on(seen: &Seen, path: &str) -> Vec<(Option<String>, Value)> {
    let got = seen.lock().unwrap();
    got.iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, a, v)| (a.clone(), v.clone()))
        .collect()
}

/// `(failed, attempts, last_error)` of the outbox entries with this correlation id.
fn outbox_state(db: &std::path::Path, corr: &str) -> Option<(i64, i64, String)> {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT failed, attempts, COALESCE(last_error, '') FROM outbox WHERE correlation_id = ?1",
        [corr],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}

/// An async search from `who` with `sender_uri` (None: header without one).
async fn async_search(
    server: &Server,
    tok: &str,
    who: &TestSender,
    sender_uri: Option<&str>,
) -> (u16, Value) {
    let msg = search_message("idtype-value", json!({"type": "UIN", "value": "100000003"}));
    let env = match sender_uri {
        Some(u) => who.envelope_to("search", msg, u),
        None => who.envelope("search", msg),
    };
    server.send(tok, "/registry/search", who, env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callback_addresses_are_rejected_at_admission_and_at_delivery() {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry");
    // A sender whose JWKS URL is on loopback: the server does not fetch it.
    let (jwks_port, jwks_seen) = receiver(None).await;
    let jwks_url = format!("http://127.0.0.1:{jwks_port}/jwks.json");
    let d = db.to_str().unwrap();
    dci(&[
        "senders",
        "add",
        "--db",
        d,
        "--id",
        "s9",
        "--jwks-url",
        &jwks_url,
    ]);
    // No --allow-private-callbacks: the default policy.
    let server = Server::start(&db, &["--outbox-poll-ms", "50"]);
    let tok = token(&server.base, &cid, &secret).await;

    let loopback = "is a loopback address; the server does not connect there";
    let cases = [
        (
            "http://localhost:8080/registry",
            "host localhost is a loopback (localhost) address; the server does not connect there",
        ),
        (
            "http://127.0.0.1:8080/registry",
            &format!("host 127.0.0.1 {loopback}"),
        ),
        (
            "http://2130706433/registry",
            &format!("host 127.0.0.1 {loopback}"),
        ),
        (
            "http://0x7f000001/registry",
            &format!("host 127.0.0.1 {loopback}"),
        ),
        (
            "http://0177.0.0.1/registry",
            &format!("host 127.0.0.1 {loopback}"),
        ),
        (
            "http://[::1]/registry",
            "host [::1] is a loopback (::1) address; the server does not connect there",
        ),
        (
            "http://[::ffff:127.0.0.1]/registry",
            &format!("host [::ffff:7f00:1] {loopback}"),
        ),
        (
            "http://10.0.0.1/registry",
            "host 10.0.0.1 is a private (RFC 1918) address",
        ),
        (
            "http://172.16.0.1/registry",
            "host 172.16.0.1 is a private (RFC 1918) address",
        ),
        (
            "http://192.168.0.1/registry",
            "host 192.168.0.1 is a private (RFC 1918) address",
        ),
        (
            "http://169.254.169.254/latest/meta-data",
            "host 169.254.169.254 is a link-local (169.254/16, cloud metadata) address",
        ),
        (
            "http://100.64.0.1/registry",
            "host 100.64.0.1 is a shared CGNAT (100.64/10) address",
        ),
        (
            "http://[fc00::1]/registry",
            "host [fc00::1] is a unique-local (fc00::/7) address",
        ),
        (
            "http://[fe80::1]/registry",
            "host [fe80::1] is a link-local (fe80::/10) address",
        ),
        (
            "http://0.0.0.0/registry",
            "host 0.0.0.0 is a unspecified (0.0.0.0/8) address",
        ),
        (
            "http://224.0.0.1/registry",
            "host 224.0.0.1 is a multicast address",
        ),
        (
            "http://[ff02::1]/registry",
            "host [ff02::1] is a multicast (ff00::/8) address",
        ),
        (
            "http://user:secret@example.org/registry",
            "a URL with userinfo (user:password@) is refused",
        ),
        (
            "ftp://example.org/registry",
            "scheme \"ftp\" is refused; only http and https",
        ),
        (
            "file:///etc/passwd",
            "scheme \"file\" is refused; only http and https",
        ),
    ];
    for (uri, why) in cases {
        let (s, v) = async_search(&server, &tok, &s1, Some(uri)).await;
        assert_eq!(
            (s, v["message"]["error"]["code"].as_str()),
            (400, Some("err.sender_uri.invalid")),
            "{uri}: {v}"
        );
        let msg = v["message"]["error"]["message"].as_str().unwrap();
        let want = format!("header.sender_uri {uri:?} is refused: ");
        assert!(
            msg.starts_with(&want) && msg.contains(why),
            "{uri}: {msg:?} is not {want}...{why}"
        );
    }
    // Nothing was queued.
    assert_eq!(server.health().await["pending_callbacks"], 0);

    // At delivery: entries already in the outbox (queued by an older server) to a name that
    // resolves to loopback, and to a loopback literal, with a live listener behind both.
    let (port, accepted) = hung_receiver().await;
    let store = dci_server::open_store(&dci_server::ServeConfig {
        db: db.clone(),
        ..Default::default()
    })
    .unwrap();
    let body = |corr: &str| {
        json!({"header": {"version": "1.0.0", "message_id": corr, "message_ts": now(),
            "action": "on-search", "status": "succ", "sender_id": "registry.example.org",
            "receiver_id": "s1", "total_count": 0, "completed_count": 0},
            "message": {"transaction_id": "t", "correlation_id": corr, "search_response": []}})
        .to_string()
    };
    store
        .enqueue(&[
            (
                "on-search".into(),
                format!("http://localhost:{port}/registry/on-search"),
                body("legacy-name"),
            ),
            (
                "on-search".into(),
                format!("http://2130706433:{port}/registry/on-search"),
                body("legacy-literal"),
            ),
        ])
        .unwrap();
    drop(store);
    until("both legacy entries failed", || {
        ["legacy-name", "legacy-literal"]
            .iter()
            .all(|c| outbox_state(&db, c).is_some_and(|s| s.0 == 1))
    })
    .await;
    let (failed, attempts, err) = outbox_state(&db, "legacy-name").unwrap();
    assert_eq!((failed, attempts), (1, 1), "given up at the first attempt");
    assert!(
        err.starts_with("refused: localhost resolves only to refused addresses: ")
            && err.contains("127.0.0.1 (loopback)"),
        "{err}"
    );
    let (failed, attempts, err) = outbox_state(&db, "legacy-literal").unwrap();
    assert_eq!((failed, attempts), (1, 1));
    assert_eq!(
        err,
        "refused: host 127.0.0.1 is a loopback address; the server does not connect there"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a refused address was connected to"
    );
    assert_eq!(server.health().await["pending_callbacks"], 0);

    // The JWKS fetch at start was refused by the same policy, and nothing was asked for.
    let log = || std::fs::read_to_string(db.with_extension("log")).unwrap_or_default();
    until("the JWKS refusal in the log", || {
        log().contains("sender JWKS URL refused")
    })
    .await;
    assert!(
        log().contains("host 127.0.0.1 is a loopback address; the server does not connect there"),
        "{}",
        log()
    );
    assert!(
        jwks_seen.lock().unwrap().is_empty(),
        "the JWKS URL was fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registered_callback_base_bounds_sender_uri_and_alone_gets_the_token() {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry");
    let (p2, seen2) = receiver(None).await;
    let (p1, seen1) = receiver(None).await;
    let base = format!("http://127.0.0.1:{p2}/registry");
    let s2 = sender(dir.path(), "s2");
    s2.register(&db, &["--callback-uri", &base]);
    let list = dci(&["senders", "list", "--db", db.to_str().unwrap()]);
    assert!(list.contains(&format!("callback_uri={base}")), "{list}");
    let server = Server::start(
        &db,
        &[
            "--allow-private-callbacks",
            "--outbox-poll-ms",
            "50",
            "--callback-token",
            "tok-123",
        ],
    );
    let tok = token(&server.base, &cid, &secret).await;

    // Outside the registered base: another path on a segment boundary, another port.
    for uri in [
        format!("http://127.0.0.1:{p2}/registry2"),
        format!("http://127.0.0.1:{p1}/registry"),
    ] {
        let (s, v) = async_search(&server, &tok, &s2, Some(&uri)).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["message"]["error"]["code"], "err.sender_uri.invalid");
        assert_eq!(
            v["message"]["error"]["message"],
            format!("header.sender_uri {uri:?} is refused: {uri} is not under the sender's registered callback URI {base}")
        );
    }
    assert_eq!(server.health().await["pending_callbacks"], 0);

    // Under it, and without a sender_uri (the base is the default): delivered, with the token.
    let (s, v) = async_search(&server, &tok, &s2, Some(&format!("{base}/on-search"))).await;
    assert_eq!(
        (s, v["message"]["ack_status"].as_str()),
        (200, Some("ACK")),
        "{v}"
    );
    let (s, v) = async_search(&server, &tok, &s2, None).await;
    assert_eq!(
        (s, v["message"]["ack_status"].as_str()),
        (200, Some("ACK")),
        "{v}"
    );
    until("2 callbacks for s2", || {
        on(&seen2, "/registry/on-search").len() == 2
    })
    .await;
    for (auth, cb) in on(&seen2, "/registry/on-search") {
        assert_eq!(cb["header"]["receiver_id"], "s2");
        assert_eq!(auth.as_deref(), Some("Bearer tok-123"));
    }

    // s1 has no registered base: its callbacks carry no token, even to s2's host.
    for port in [p1, p2] {
        let uri = format!("http://127.0.0.1:{port}/s1");
        let (s, v) = async_search(&server, &tok, &s1, Some(&uri)).await;
        assert_eq!(
            (s, v["message"]["ack_status"].as_str()),
            (200, Some("ACK")),
            "{v}"
        );
    }
    until("s1's callbacks", || {
        on(&seen1, "/s1/on-search").len() == 1 && on(&seen2, "/s1/on-search").len() == 1
    })
    .await;
    for seen in [&seen1, &seen2] {
        let (auth, cb) = on(seen, "/s1/on-search").remove(0);
        assert_eq!(cb["header"]["receiver_id"], "s1");
        assert_eq!(
            auth, None,
            "the callback token went to an unregistered host"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed() {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry");
    let (p_target, target) = receiver(None).await;
    let (p, redirecting) = receiver(Some(format!(
        "http://127.0.0.1:{p_target}/stolen/on-search"
    )))
    .await;
    let server = Server::start(
        &db,
        &[
            "--allow-private-callbacks",
            "--outbox-poll-ms",
            "50",
            "--retry-base-ms",
            "100",
        ],
    );
    let tok = token(&server.base, &cid, &secret).await;
    let (s, v) = async_search(
        &server,
        &tok,
        &s1,
        Some(&format!("http://127.0.0.1:{p}/registry")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let corr = v["message"]["correlation_id"].as_str().unwrap().to_string();
    // Retried (a 307 is not an ACK), never re-posted to the Location.
    until("two attempts", || {
        on(&redirecting, "/registry/on-search").len() >= 2
    })
    .await;
    let (failed, attempts, err) = outbox_state(&db, &corr).unwrap();
    assert_eq!(failed, 0);
    assert!(attempts >= 1);
    assert!(
        err.starts_with(&format!(
            "POST http://127.0.0.1:{p}/registry/on-search answered 307 Temporary Redirect (redirects are not followed)"
        )),
        "{err}"
    );
    assert!(
        target.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
}

/// Issue 11 §2: a receiver that never answers holds only its own destination's slots; the
/// others' callbacks arrive promptly, and SIGTERM ends within 10 s with the slow entries
/// still pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_delays_no_one_else_and_shutdown_is_bounded() {
    let (dir, db, (cid, secret), slow) = seeded_with_s1("20", "registry");
    let fast = sender(dir.path(), "fast");
    fast.register(&db, &[]);
    let (hung_port, accepted) = hung_receiver().await;
    let (fast_port, seen) = receiver(None).await;
    // A minute per delivery: the hung ones are still in flight at shutdown.
    let mut server = Server::start(
        &db,
        &[
            "--allow-private-callbacks",
            "--outbox-poll-ms",
            "50",
            "--callback-timeout-ms",
            "60000",
        ],
    );
    let tok = token(&server.base, &cid, &secret).await;
    let hung = format!("http://127.0.0.1:{hung_port}/registry");
    for _ in 0..8 {
        let (s, v) = async_search(&server, &tok, &slow, Some(&hung)).await;
        assert_eq!(s, 200, "{v}");
    }
    until("the hung receiver's slots are taken", || {
        accepted.load(Ordering::SeqCst) >= 4
    })
    .await;

    let fast_uri = format!("http://127.0.0.1:{fast_port}/registry");
    for i in 1..=5 {
        let t0 = Instant::now();
        let (s, v) = async_search(&server, &tok, &fast, Some(&fast_uri)).await;
        assert_eq!(s, 200, "{v}");
        until("the fast callback", || {
            on(&seen, "/registry/on-search").len() == i
        })
        .await;
        let took = t0.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "fast callback {i} took {took:?}"
        );
    }
    // At most --callback-concurrency (default 4) deliveries to one destination at once.
    assert_eq!(accepted.load(Ordering::SeqCst), 4);

    let t0 = Instant::now();
    server.stop();
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    let store = dci_server::open_store(&dci_server::ServeConfig {
        db: db.clone(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        store.pending_outbox().unwrap(),
        8,
        "the slow entries stay pending"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let delivered: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(delivered, 5);
}

/// A database made before senders had a callback base opens, keeps its senders, and takes
/// one with `dci senders add --callback-uri`.
#[test]
fn an_old_sender_table_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE TABLE senders (sender_id TEXT PRIMARY KEY, name TEXT NOT NULL, jwks TEXT NOT NULL,
           jwks_url TEXT, allowed_ops TEXT NOT NULL, registries TEXT NOT NULL, fields TEXT NOT NULL,
           consent_required INTEGER NOT NULL, signature_policy TEXT NOT NULL,
           active INTEGER NOT NULL, created_at INTEGER NOT NULL);
         INSERT INTO senders VALUES ('old', 'Old', '{\"keys\":[]}', NULL, '[\"*\"]', '[\"*\"]',
           '[\"*\"]', 0, 'optional', 1, 0);",
    )
    .unwrap();
    drop(c);
    let d = db.to_str().unwrap();
    let list = dci(&["senders", "list", "--db", d]);
    assert!(
        list.starts_with("old\tactive\tOld\t") && list.trim_end().ends_with("callback_uri=-"),
        "{list}"
    );
    dci(&[
        "senders",
        "add",
        "--db",
        d,
        "--id",
        "old",
        "--signature",
        "optional",
        "--callback-uri",
        "https://SP.example.org:443/registry",
    ]);
    let list = dci(&["senders", "list", "--db", d]);
    assert!(
        list.trim_end()
            .ends_with("callback_uri=https://sp.example.org/registry"),
        "{list}"
    );
    // The syntax rules hold when registering.
    let out = std::process::Command::new(BIN)
        .args([
            "senders",
            "add",
            "--db",
            d,
            "--id",
            "x",
            "--signature",
            "optional",
        ])
        .args(["--callback-uri", "https://u:p@sp.example.org/registry"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "dci: --callback-uri: a URL with userinfo (user:password@) is refused"
    );
}
