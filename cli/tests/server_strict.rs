//! Strict mode (issue 15 section 2): an accepted request's tolerated deviations come back in
//! the X-DCI-Deviations response header; without --strict there is no header.

mod server_support;

use serde_json::{json, Value};
use server_support::*;

async fn deviations(flags: &[&str]) -> (u16, Option<Vec<Value>>) {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("5", "registry");
    let server = Server::start(&db, flags);
    let token = token(&server.base, &cid, &secret).await;
    let mut m = search_message("idtype-value", json!({"type": "UIN", "value": "100000001"}));
    m["search_request"][0]["search_criteria"]["sortt"] = json!([]);
    let mut env = s1.envelope("search", m);
    env["header"]["message_ts"] = json!(now());
    let r = reqwest::Client::new()
        .post(server.url("/registry/sync/search"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(s1.sign(env))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let list = r
        .headers()
        .get("x-dci-deviations")
        .map(|v| serde_json::from_str(v.to_str().unwrap()).unwrap());
    (status, list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_lists_what_it_tolerated() {
    let (status, list) = deviations(&["--strict"]).await;
    assert_eq!(status, 200);
    let list = list.expect("the header in strict mode");
    let field = |f: &str| {
        list.iter()
            .find(|v| v["field"] == f)
            .map(|v| v["rule"].clone())
    };
    assert_eq!(
        field("message.search_request[0].search_criteria.sortt"),
        Some(json!(
            "not a field of the spec here (did you mean sort?); ignored"
        ))
    );
    let ts = field("header.message_ts").expect("message_ts without milliseconds");
    assert!(
        ts.as_str().unwrap().ends_with(
            "has no milliseconds; peers write and some expect them (2025-01-01T12:00:00.000Z)"
        ),
        "{ts}"
    );
    assert_eq!(
        field("message.search_request[0].search_criteria.version"),
        Some(json!("recommended: the spec version of the query (1.0.0)"))
    );
    // Signed: no signature deviation.
    assert!(field("signature").is_none(), "{list:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_strict_there_is_no_list() {
    let (status, list) = deviations(&[]).await;
    assert_eq!((status, list), (200, None));
}
