//! The real `dci serve` binary: file uploads (the spec's FileInfo, multipart/form-data) on an
//! async endpoint. Each envelope (json) or row (csv) is admitted as a request of its own; good
//! ones are answered by callback, bad ones are reported by row while the others proceed.

mod server_support;

use serde_json::{json, Value};
use server_support::*;

const BOUNDARY: &str = "dci-test-boundary-7c1f";

/// A FileInfo form: `action`, `fileFormat`, then the file as `fileName`.
fn form(action: &str, format: &str, file_name: &str, file: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in [("action", action), ("fileFormat", format)] {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    b.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fileName\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(file);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

async fn upload(url: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn csv_cell(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_envelopes_and_rows_are_requests_of_their_own() {
    let (_dir, db, (cid, secret), s1) = seeded_with_s1("100", "registry");
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
    let rcv = Receiver::default();
    let (l, port) = listener().await;
    let sender_uri = format!("http://127.0.0.1:{port}/registry");
    let _task = rcv.spawn(l);
    let search = |uin: &str| {
        s1.envelope_to(
            "search",
            search_message("idtype-value", json!({"type": "UIN", "value": uin})),
            &sender_uri,
        )
    };

    // json: three envelopes in an array; the second is unsigned (s1 must sign).
    let signed = |env: Value| -> Value { serde_json::from_slice(&s1.sign(env)).unwrap() };
    let file = serde_json::to_vec(&json!([
        signed(search("100000007")),
        search("100000008"),
        signed(search("100000009")),
    ]))
    .unwrap();
    let (s, v) = upload(
        &server.url("/registry/search"),
        &tok,
        form("search", "json", "searches.json", &file),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let m = &v["message"];
    assert_eq!(m["ack_status"], "ERR", "{v}");
    assert_eq!(m["error"]["code"], "err.request.bad");
    let up = &m["upload"];
    assert_eq!(up["file_format"], "json");
    assert_eq!(up["file_name"], "searches.json");
    assert_eq!(up["rows"], 3);
    let rows = |k: &str| -> Vec<u64> {
        up[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(rows("accepted"), [1, 3]);
    assert_eq!(rows("rejected"), [2]);
    assert_eq!(up["rejected"][0]["code"], "err.signature.missing");
    assert_eq!(
        up["rejected"][0]["message"],
        "sender s1 must sign its requests"
    );
    // The good rows are answered by callback, each under its own correlation_id.
    let cbs = rcv.wait("/registry/on-search", 2).await;
    let mut got: Vec<(String, String)> = cbs
        .iter()
        .map(|cb| {
            (
                cb["message"]["correlation_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                cb["message"]["search_response"][0]["data"]["reg_records"][0]["identifier"][0]
                    ["identifier_value"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.1.cmp(&b.1));
    let corr = |i: usize| {
        up["accepted"][i]["correlation_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        got,
        [
            (corr(0), "100000007".to_string()),
            (corr(1), "100000009".to_string())
        ]
    );

    // csv: the columns signature, header, message (any order), each cell the part's JSON.
    let env: Value = signed(search("100000010"));
    let mut file = String::from("message,signature,header\n");
    file += &format!(
        "{},{},{}\n",
        csv_cell(&env["message"].to_string()),
        csv_cell(env["signature"].as_str().unwrap()),
        csv_cell(&env["header"].to_string())
    );
    file += "\"{\"\"transaction_id\"\": 1\",,{not json}\n";
    let (s, v) = upload(
        &server.url("/registry/search"),
        &tok,
        form("search", "csv", "searches.csv", file.as_bytes()),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let up = &v["message"]["upload"];
    assert_eq!(
        (up["file_format"].as_str(), up["rows"].as_u64()),
        (Some("csv"), Some(2)),
        "{v}"
    );
    assert_eq!(up["accepted"][0]["row"], 1);
    assert_eq!(up["rejected"][0]["row"], 2);
    assert_eq!(up["rejected"][0]["code"], "err.request.bad");
    assert!(
        up["rejected"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("body is not valid JSON"),
        "{v}"
    );
    let cb = rcv.wait("/registry/on-search", 3).await;
    assert!(cb
        .iter()
        .any(|c| c["message"]["correlation_id"] == up["accepted"][0]["correlation_id"]));

    // The form's action must be the endpoint's; a CSV without the columns is refused whole.
    let (s, v) = upload(
        &server.url("/registry/search"),
        &tok,
        form("subscribe", "json", "x.json", b"[]"),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["message"]["error"]["message"],
        "action: \"subscribe\"; this endpoint expects \"search\""
    );
    let (s, v) = upload(
        &server.url("/registry/search"),
        &tok,
        form("search", "csv", "x.csv", b"a,b\n1,2\n"),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["message"]["error"]["message"],
        "fileName: the CSV header row must name the columns signature, header and message"
    );
    // Sync endpoints take JSON only.
    let (s, _) = upload(
        &server.url("/registry/sync/search"),
        &tok,
        form("search", "json", "x.json", b"[]"),
    )
    .await;
    assert_eq!(s, 415);
}
