//! Bounded work per request (issue 10 section 3) and crash safety of accepted requests
//! (issue 11 section 3): each limit rejects with its spec code and names itself; an answered
//! request's replay record survives `kill -9`.

mod server_support;

use serde_json::{json, Value};
use server_support::*;

/// A server over 20 seeded persons started with `flags`, a token, and sender s1.
async fn start(flags: &[&str]) -> (tempfile::TempDir, Server, String, TestSender) {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry,admin");
    let server = Server::start(&db, flags);
    let token = token(&server.base, &cid, &secret).await;
    (dir, server, token, s1)
}

/// A search message of `n` items, each every person born after 1900, `page_size` a page.
fn items(n: usize, page_size: u64) -> Value {
    let mut m = search_message("expression", json!({"birth_date": {"gt": "1900-01-01"}}));
    let one = m["search_request"][0].clone();
    m["search_request"] = (0..n)
        .map(|i| {
            let mut it = one.clone();
            it["reference_id"] = json!(format!("ref-{i}"));
            it["search_criteria"]["pagination"] = json!({"page_size": page_size, "page_number": 1});
            it
        })
        .collect();
    m
}

/// The signed search envelope of `m`, its header counting its items.
fn signed(s1: &TestSender, m: Value) -> Vec<u8> {
    let n = m["search_request"].as_array().map_or(0, Vec::len);
    let mut env = s1.envelope("search", m);
    env["header"]["total_count"] = json!(n);
    s1.sign(env)
}

fn records(item: &Value) -> usize {
    item["data"]["reg_records"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_search_items_reject_the_request_naming_the_limit() {
    let (_dir, server, token, s1) = start(&["--max-search-items", "3"]).await;
    let url = server.url("/registry/sync/search");
    let (status, v, _) = post(&url, Some(&token), signed(&s1, items(3, 1))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["message"]["search_response"].as_array().map(Vec::len),
        Some(3)
    );

    let (status, v, _) = post(&url, Some(&token), signed(&s1, items(4, 1))).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["header"]["status"], "rjct", "{v}");
    assert_eq!(
        v["header"]["status_reason_code"], "rjct.total_count.limit_exceeded",
        "{v}"
    );
    assert_eq!(
        v["header"]["status_reason_message"],
        "message.search_request has 4 items; this registry answers at most 3 per request (max_search_items)",
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_size_over_the_limit_rejects_the_item() {
    let (_dir, server, token, s1) = start(&["--max-page-size", "5"]).await;
    let url = server.url("/registry/sync/search");
    let mut m = items(2, 5);
    m["search_request"][1]["search_criteria"]["pagination"]["page_size"] = json!(6);
    let (status, v, _) = post(&url, Some(&token), signed(&s1, m)).await;
    assert_eq!(status, 200, "{v}");
    let got = &v["message"]["search_response"];
    assert_eq!(got[0]["status"], "succ", "{v}");
    assert_eq!(records(&got[0]), 5);
    assert_eq!(got[1]["status"], "rjct", "{v}");
    assert_eq!(got[1]["status_reason_code"], "rjct.pagination.invalid");
    assert_eq!(
        got[1]["status_reason_message"],
        "search_criteria.pagination.page_size 6 is over this registry's limit of 5 (max_page_size)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_that_would_pass_the_response_record_limit_is_rejected() {
    let (_dir, server, token, s1) = start(&["--max-response-records", "15"]).await;
    let url = server.url("/registry/sync/search");
    let (status, v, _) = post(&url, Some(&token), signed(&s1, items(3, 10))).await;
    assert_eq!(status, 200, "{v}");
    let got = &v["message"]["search_response"];
    assert_eq!(got[0]["status"], "succ", "{v}");
    assert_eq!(records(&got[0]), 10);
    for i in [1, 2] {
        assert_eq!(got[i]["status"], "rjct", "{v}");
        assert_eq!(
            got[i]["status_reason_code"],
            "rjct.search.too_many_records_found"
        );
        assert_eq!(records(&got[i]), 0);
    }
    assert_eq!(
        got[1]["status_reason_message"],
        "response: this item's records would bring the response over its limit of 15 records (max_response_records; 5 left for this item); ask for fewer items or a smaller page_size"
    );
    // The header counts what was answered.
    assert_eq!(v["header"]["completed_count"], 1, "{v}");
    assert_eq!(v["header"]["total_count"], 3, "{v}");
    // Once nothing is left, later items are refused without running.
    let (status, v, _) = post(&url, Some(&token), signed(&s1, items(3, 15))).await;
    assert_eq!(status, 200, "{v}");
    let got = &v["message"]["search_response"];
    assert_eq!(records(&got[0]), 15, "{v}");
    assert_eq!(
        got[1]["status_reason_message"],
        "response: the response's limit of 15 records or 16777216 bytes (max_response_records, max_response_bytes) is used up by the items before this one; ask for fewer items or a smaller page_size"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_that_would_pass_the_response_byte_limit_is_rejected() {
    let (_dir, server, token, s1) = start(&["--max-response-bytes", "4096"]).await;
    let url = server.url("/registry/sync/search");
    let (status, v, _) = post(&url, Some(&token), signed(&s1, items(2, 1))).await;
    assert_eq!(status, 200, "{v}");
    let got = &v["message"]["search_response"];
    assert_eq!(got[0]["status"], "succ", "{v}");
    assert_eq!(got[1]["status"], "succ", "{v}");
    let one = serde_json::to_vec(&got[0]["data"]["reg_records"][0])
        .unwrap()
        .len();
    // Enough items of one record each to pass 4096 bytes: the first that does is rejected.
    let fit = 4096 / one;
    let (status, v, _) = post(&url, Some(&token), signed(&s1, items(fit + 2, 1))).await;
    assert_eq!(status, 200, "{v}");
    let got = v["message"]["search_response"].as_array().unwrap().clone();
    let ok = got.iter().filter(|i| i["status"] == "succ").count();
    assert!(
        ok >= 1 && ok <= fit,
        "{ok} of {} answered, {fit} fit",
        got.len()
    );
    let first_rejected = &got[ok];
    assert_eq!(
        first_rejected["status_reason_code"],
        "rjct.search.too_many_records_found"
    );
    let msg = first_rejected["status_reason_message"].as_str().unwrap();
    assert!(msg.starts_with("response: this item's records ("), "{msg}");
    assert!(
        msg.ends_with(" bytes) would bring the response over its limit of 4096 bytes (max_response_bytes); ask for fewer items or a smaller page_size"),
        "{msg}"
    );
    // Everything answered stays within the limit.
    let answered: usize = got
        .iter()
        .flat_map(|i| {
            i["data"]["reg_records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|r| serde_json::to_vec(&r).unwrap().len())
        .sum();
    assert!(answered <= 4096, "{answered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_request_is_still_a_replay_after_kill_9() {
    let (dir, db, (cid, secret), s1) = seeded_with_s1("20", "registry,admin");
    // Five rounds: each answered request, then an immediate SIGKILL.
    for round in 0..5 {
        let mut server = Server::start(&db, &[]);
        let token = token(&server.base, &cid, &secret).await;
        let url = server.url("/registry/sync/search");
        let body = s1.sign(s1.envelope(
            "search",
            search_message("idtype-value", json!({"type": "UIN", "value": "nobody"})),
        ));
        let (status, v, _) = post(&url, Some(&token), body.clone()).await;
        assert_eq!(status, 200, "round {round}: {v}");
        server.child.kill().unwrap();
        server.child.wait().unwrap();

        let mut server = Server::start(&db, &[]);
        let token = server_support::token(&server.base, &cid, &secret).await;
        let url = server.url("/registry/sync/search");
        let (status, v, _) = post(&url, Some(&token), body).await;
        assert_eq!(status, 409, "round {round}: {v}");
        assert_eq!(
            v["header"]["status_reason_code"], "rjct.message_id.duplicate",
            "{v}"
        );
        server.stop();
    }
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_sender_rate_limit_is_429_with_retry_after() {
    let (_dir, server, token, s1) = start(&["--rate-limit-sender", "0.5:2"]).await;
    let url = server.url("/registry/sync/search");
    let send = || async {
        let body = signed(&s1, items(1, 1));
        let r = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), retry, r.json::<Value>().await.unwrap())
    };
    // A burst of two, then one every 2 s.
    for _ in 0..2 {
        let (status, retry, v) = send().await;
        assert_eq!((status, retry), (200, None), "{v}");
    }
    let (status, retry, v) = send().await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(retry.as_deref(), Some("2"));
    assert_eq!(
        v["message"]["error"]["code"], "err.request.too_many_requests",
        "{v}"
    );
    assert_eq!(
        v["message"]["error"]["message"],
        "sender s1 is over its rate limit of 0.5 requests per second (burst 2, rate_limit_sender); retry after 2 s",
        "{v}"
    );
}
