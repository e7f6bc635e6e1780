//! Connections and small leaks (issue 11 section 4): header-read and idle timeouts, the
//! connection limit, JSON error bodies on every path, client-id enumeration, duplicate keys
//! in unsigned requests, and integers outside the exact range.

mod server_support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A seeded server started with `flags`, a token, and sender s1 (signature required).
async fn start(flags: &[&str]) -> (tempfile::TempDir, Server, String, TestSender) {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry,admin");
    let server = Server::start(&db, flags);
    let token = token(&server.base, &cid, &secret).await;
    (dir, server, token, s1)
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Reads until the peer closes (or `limit` passes: then panics); returns what came.
async fn read_to_close(conn: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    match tokio::time::timeout(limit, conn.read_to_end(&mut got)).await {
        Ok(Ok(_)) => got,
        Ok(Err(e)) => panic!("read failed: {e}; got {:?}", String::from_utf8_lossy(&got)),
        Err(_) => panic!("still open after {limit:?}"),
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns (status, body).
async fn read_response(conn: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + len {
                let status = head[9..12].parse().unwrap();
                return (status, buf[end + 4..end + 4 + len].to_vec());
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut chunk))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(
            n > 0,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_line_is_closed_after_the_header_timeout() {
    let (_dir, server, _, _) = start(&["--header-timeout-secs", "1"]).await;
    let mut conn = connect(&server).await;
    let t0 = Instant::now();
    conn.write_all(b"POST /registry/sync/sea").await.unwrap();
    let got = read_to_close(&mut conn, Duration::from_secs(5)).await;
    assert_eq!(got, b"", "closed without an answer");
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    // A connection that sends nothing at all gets the same.
    let mut quiet = connect(&server).await;
    assert_eq!(read_to_close(&mut quiet, Duration::from_secs(5)).await, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let flags = ["--idle-timeout-secs", "2", "--header-timeout-secs", "30"];
    let (_dir, server, _, _) = start(&flags).await;
    let mut conn = connect(&server).await;
    conn.write_all(HEALTHZ).await.unwrap();
    assert_eq!(read_response(&mut conn).await.0, 200);
    // Within the idle timeout the connection is reused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    conn.write_all(HEALTHZ).await.unwrap();
    assert_eq!(read_response(&mut conn).await.0, 200);
    let idle_from = Instant::now();
    assert_eq!(read_to_close(&mut conn, Duration::from_secs(6)).await, b"");
    let idle = idle_from.elapsed();
    assert!(idle >= Duration::from_millis(1800), "closed after {idle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let flags = ["--max-connections", "2", "--header-timeout-secs", "30"];
    let (_dir, server, _, _) = start(&flags).await;
    let mut first = connect(&server).await;
    let mut second = connect(&server).await;
    // Both are served (a request on each is answered) and stay open.
    for c in [&mut first, &mut second] {
        c.write_all(HEALTHZ).await.unwrap();
        assert_eq!(read_response(c).await.0, 200);
    }
    let mut third = connect(&server).await;
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(800), third.read(&mut byte)).await;
    assert!(early.is_err(), "the third connection was served: {early:?}");
    drop(first);
    assert_eq!(read_response(&mut third).await.0, 200);
}

/// The `errors[0]` of a spec error body, checked to be the whole shape.
fn spec_error(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(body)));
    assert_eq!(v["message"]["ack_status"], "ERR", "{v}");
    assert_eq!(v["message"]["error"]["code"], v["errors"][0]["code"], "{v}");
    let s = |p: &Value| p.as_str().unwrap_or_default().to_string();
    (s(&v["errors"][0]["code"]), s(&v["errors"][0]["message"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_heads_get_json_error_bodies() {
    let (_dir, server, _, _) = start(&[]).await;
    let too_large = (
        "err.request.bad".to_string(),
        "request headers exceed the limit of 65536 bytes (--max-header-bytes) or 100 fields"
            .to_string(),
    );
    // 100 KB in one header.
    let mut conn = connect(&server).await;
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    conn.write_all(big.as_bytes()).await.unwrap();
    let (status, body) = read_response(&mut conn).await;
    assert_eq!(status, 431);
    assert_eq!(spec_error(&body), too_large);
    // 100 KB as 2,000 small headers.
    let mut conn = connect(&server).await;
    let many: String = (0..2000)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(40)))
        .collect();
    let req = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let (status, body) = read_response(&mut conn).await;
    assert_eq!(status, 431);
    assert_eq!(spec_error(&body), too_large);
    // A request line that is not HTTP.
    let mut conn = connect(&server).await;
    conn.write_all(b"GET / \x01\x02\r\n\r\n").await.unwrap();
    let (status, body) = read_response(&mut conn).await;
    assert_eq!(status, 400);
    let bad = ("err.request.bad".into(), "malformed HTTP request".into());
    assert_eq!(spec_error(&body), bad);
}

/// GETs `url`; returns (status, body).
async fn get(url: &str) -> (u16, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_wrong_methods_get_json_error_bodies() {
    let (_dir, server, token, _) = start(&[]).await;
    let http = reqwest::Client::new();
    let two_mb = "a".repeat(2 * 1024 * 1024);
    let limit = "request body exceeds the limit of 1048576 bytes";

    // The token endpoint answers in RFC 6749 JSON, whatever went wrong.
    let r = http
        .post(server.url("/oauth2/client/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id=c1&client_secret={two_mb}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"error": "invalid_request", "error_description": limit})
    );
    let (status, raw) = get(&server.url("/oauth2/client/token")).await;
    assert_eq!(status, 405);
    let v: Value = serde_json::from_slice(&raw).unwrap();
    let wrong_method = "method not allowed on this path";
    assert_eq!(
        v,
        json!({"error": "invalid_request", "error_description": wrong_method})
    );

    // A registry endpoint, the admin endpoint, and a wrong method: the spec error body.
    let (status, _, raw) = post(
        &server.url("/registry/sync/search"),
        Some(&token),
        two_mb.clone().into_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(spec_error(&raw), ("err.request.bad".into(), limit.into()));
    let (status, _, raw) = post(
        &server.url("/admin/records"),
        Some(&token),
        two_mb.into_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(spec_error(&raw), ("err.request.bad".into(), limit.into()));
    let (status, raw) = get(&server.url("/registry/sync/search")).await;
    assert_eq!(status, 405);
    assert_eq!(
        spec_error(&raw),
        ("err.request.bad".into(), wrong_method.into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_keys_are_refused_signed_or_not() {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry");
    let s2 = sender(dir.path(), "s2");
    s2.register(&db, &["--signature", "optional"]);
    let server = Server::start(&db, &[]);
    let token = token(&server.base, &cid, &secret).await;
    let search = || search_message("idtype-value", json!({"type": "UIN", "value": "100000001"}));
    let twice = |body: Vec<u8>| -> Vec<u8> {
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("\"transaction_id\":"));
        text.replacen(
            "\"transaction_id\":",
            "\"transaction_id\":\"other\",\"transaction_id\":",
            1,
        )
        .into_bytes()
    };
    let url = server.url("/registry/sync/search");
    // The same unsigned request without the duplicate is answered.
    let unsigned = || serde_json::to_vec(&s2.envelope("search", search())).unwrap();
    let (status, v, _) = post(&url, Some(&token), unsigned()).await;
    assert_eq!(status, 200, "{v}");
    for body in [
        twice(unsigned()),
        twice(s1.sign(s1.envelope("search", search()))),
    ] {
        let (status, _, raw) = post(&url, Some(&token), body).await;
        assert_eq!(status, 400);
        let (code, message) = spec_error(&raw);
        assert_eq!(code, "err.request.bad");
        let prefix = "body is not valid JSON: duplicate object key \"transaction_id\" at byte ";
        assert!(message.starts_with(prefix), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_outside_the_exact_range_are_refused_naming_the_field() {
    let (_dir, server, token, s1) = start(&[]).await;
    let url = server.url("/registry/sync/search");
    let with_page = |criteria: bool, n: Value| {
        let mut m = search_message("expression", json!({"birth_date": {"gt": "1900-01-01"}}));
        let p = json!({"page_size": 10, "page_number": n});
        if criteria {
            m["search_request"][0]["search_criteria"]["pagination"] = p;
        } else {
            m["search_request"][0]["pagination"] = p;
        }
        s1.sign(s1.envelope("search", m))
    };
    // i64::MAX is exact: echoed as sent.
    let (status, v, _) = post(&url, Some(&token), with_page(true, json!(i64::MAX))).await;
    assert_eq!(status, 200, "{v}");
    let echoed = &v["message"]["search_response"][0]["pagination"]["page_number"];
    assert_eq!(echoed.as_i64(), Some(i64::MAX), "{v}");

    let rule = |got: &str| {
        format!(
            "must be an integer from -9223372036854775808 to 9223372036854775807 (floats only below 2^53), got {got}"
        )
    };
    let cases = [
        (
            true,
            json!(9223372036854775808u64),
            "9223372036854775808",
            "search_criteria.pagination",
        ),
        (true, json!(9.2e18), "9.2e+18", "search_criteria.pagination"),
        (
            false,
            json!(9223372036854775808u64),
            "9223372036854775808",
            "pagination",
        ),
    ];
    for (criteria, n, shown, at) in cases {
        let (status, v, _) = post(&url, Some(&token), with_page(criteria, n)).await;
        assert_eq!(status, 400, "{v}");
        let field = format!("message.search_request[0].{at}.page_number");
        assert_eq!(v["errors"][0]["field"], field.as_str(), "{v}");
        assert_eq!(v["errors"][0]["rule"], rule(shown).as_str(), "{v}");
        assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_gets_408_after_the_body_timeout() {
    let (_dir, server, _, _) = start(&["--body-timeout-secs", "1"]).await;
    let why = "request body not received within 1 s (--body-timeout-secs)";
    let heads = [
        "POST /registry/sync/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
        "POST /oauth2/client/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n",
    ];
    for (i, head) in heads.into_iter().enumerate() {
        let mut conn = connect(&server).await;
        let t0 = Instant::now();
        let req = format!("{head}Content-Length: 100\r\n\r\n{{\"header\":");
        conn.write_all(req.as_bytes()).await.unwrap();
        let (status, body) = read_response(&mut conn).await;
        assert_eq!(status, 408);
        assert!(
            t0.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t0.elapsed()
        );
        if i == 0 {
            assert_eq!(spec_error(&body), ("err.request.bad".into(), why.into()));
        } else {
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                v,
                json!({"error": "invalid_request", "error_description": why})
            );
        }
    }
}
