//! `dci conformance`: every check passes against `dci serve --demo`, and a registry broken on
//! purpose (a proxy in front of the demo server that drops the signature, answers the wrong
//! action, or answers invalid requests as if they were valid) fails exactly the checks that
//! catch it.

mod server_support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use server_support::*;

/// The demo server with a second sender, `conf-sender`, whose signature policy is the
/// default `required` (the demo sender accepts unsigned requests).
struct Demo {
    _dir: tempfile::TempDir,
    server: Server,
    secret: String,
    key: PathBuf,
    dir: PathBuf,
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let s = sender(dir.path(), "conf-sender");
    s.register(&db, &[]);
    let key = dir.path().join("conf-sender.pem");
    std::fs::write(&key, s.signer.key.to_pem().unwrap().as_bytes()).unwrap();
    let server = Server::start(&db, &["--demo"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let secret = loop {
        let found = server.stdout.lock().unwrap().iter().find_map(|l| {
            l.trim()
                .strip_prefix("client_secret:")
                .map(|v| v.trim().to_string())
        });
        if let Some(s) = found {
            break s;
        }
        assert!(Instant::now() < deadline, "no client_secret in the banner");
        std::thread::sleep(Duration::from_millis(50));
    };
    Demo {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        server,
        secret,
        key,
    }
}

/// Runs `dci conformance URL ...` for conf-sender; returns (exit code, report JSON).
fn conformance(d: &Demo, url: &str, name: &str, extra: &[&str]) -> (i32, Value) {
    let json = d.dir.join(format!("{name}.json"));
    let html = d.dir.join(format!("{name}.html"));
    let trigger: &[&str] = if extra.contains(&"--notify-trigger") {
        &[]
    } else {
        &["--notify-trigger", "admin"]
    };
    let out = Command::new(BIN)
        .arg("conformance")
        .arg(url)
        .args(["--client-id", "demo-client", "--client-secret", &d.secret])
        .args(["--sender-id", "conf-sender", "--key-id", "k1", "--key"])
        .arg(&d.key)
        .args(trigger)
        .args(["--callback-timeout-secs", "20"])
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .args(extra)
        .output()
        .expect("run dci conformance");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}); exit {:?}; stdout:\n{stdout}\nstderr:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let page = std::fs::read_to_string(&html).expect("HTML report");
    assert!(
        page.contains("<table>") && !page.contains("<script"),
        "{page}"
    );
    // The terminal table has one line per check.
    for c in report["checks"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        assert!(
            stdout.lines().any(|l| l.starts_with(id)),
            "{id} not in the table:\n{stdout}"
        );
    }
    (out.status.code().unwrap_or(-1), report)
}

fn with_status(report: &Value, status: &str) -> BTreeSet<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn reasons(report: &Value) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| format!("{} {}: {}", c["id"], c["status"], c["reason"]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// A proxy that breaks the registry behind it.

#[derive(Clone, Copy, PartialEq)]
enum Break {
    /// Sync answers lose their signature.
    DropSignature,
    /// Sync answers say `search` instead of `on-search` (and so their signature breaks too).
    WrongAction,
    /// Every refusal of sync search becomes the last good sync answer with HTTP 200: a
    /// registry that does not validate what it is sent.
    SkipValidation,
}

fn read_message(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len: usize = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Forwards one request to `upstream` (method, path, Content-Type, Authorization and body)
/// and returns (status, content type, body).
fn forward(upstream: &str, head: &str, body: &[u8]) -> Option<(u16, String, Vec<u8>)> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let keep: Vec<&str> = lines
        .filter(|l| {
            let k = l
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            k == "content-type" || k == "authorization" || k == "accept"
        })
        .collect();
    let mut s = TcpStream::connect(upstream).ok()?;
    let mut req = format!("{request_line}\r\nHost: {upstream}\r\nConnection: close\r\n");
    for k in keep {
        req.push_str(k);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let (rhead, rbody) = read_message(&mut s)?;
    let status = rhead.split_whitespace().nth(1)?.parse().ok()?;
    let ct = rhead
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    Some((status, ct, rbody))
}

/// Starts the proxy; returns its base URL.
fn proxy(upstream: &str, mode: Break) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_string();
    let good: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            let upstream = upstream.clone();
            let good = good.clone();
            std::thread::spawn(move || {
                let Some((head, body)) = read_message(&mut s) else {
                    return;
                };
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let Some((mut status, ct, mut answer)) = forward(&upstream, &head, &body) else {
                    return;
                };
                if path.starts_with("/registry/sync/") {
                    let mut v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
                    match mode {
                        Break::DropSignature if v.is_object() => {
                            v.as_object_mut().unwrap().remove("signature");
                            answer = serde_json::to_vec(&v).unwrap();
                        }
                        Break::WrongAction
                            if status == 200 && v["header"]["action"] == "on-search" =>
                        {
                            v["header"]["action"] = "search".into();
                            answer = serde_json::to_vec(&v).unwrap();
                        }
                        Break::SkipValidation if path == "/registry/sync/search" => {
                            if status == 200 {
                                *good.lock().unwrap() = Some(answer.clone());
                            } else if let Some(g) = good.lock().unwrap().clone() {
                                status = 200;
                                answer = g;
                            }
                        }
                        _ => {}
                    }
                }
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = s
                    .write_all(head.as_bytes())
                    .and_then(|_| s.write_all(&answer));
            });
        }
    });
    base
}

// ---------------------------------------------------------------------------------------------

/// Every check that applies to a CRVS registry, by id.
const CRVS_CHECKS: &[&str] = &[
    "auth.token",
    "auth.bad_secret",
    "jwks",
    "sync.search.idtype",
    "sync.search.predicate",
    "sync.search.expression",
    "search.pagination",
    "search.sort",
    "txn.status",
    "async.search",
    "async.txn_status",
    "async.subscribe",
    "notify",
    "async.unsubscribe",
    "reject.no_token",
    "reject.bad_token",
    "reject.unknown_sender",
    "reject.unsigned",
    "reject.bad_signature",
    "reject.wrong_key",
    "reject.tampered",
    "reject.expired",
    "reject.future",
    "reject.stale_ts",
    "reject.future_ts",
    "reject.replay",
    "reject.wrong_action",
    "reject.sender_uri",
    "reject.content_type",
    "field.message.required",
    "field.header.message_id.required",
    "field.header.message_ts.format",
    "field.header.total_count.type",
    "field.transaction_id.max_length",
    "field.search_request.reference_id.required",
    "field.search_request.timestamp.format",
    "field.search_request.locale.pattern",
    "field.search_criteria.query_type.enum",
    "field.search_criteria.pagination.type",
    "field.search_criteria.sort_order.enum",
    "field.subscription_codes.max_length",
];

/// The checks that need a signed sync answer with the right action.
const SYNC_ANSWER_CHECKS: &[&str] = &[
    "sync.search.idtype",
    "sync.search.predicate",
    "sync.search.expression",
    "search.pagination",
    "search.sort",
    "txn.status",
    "reject.replay",
];

#[test]
fn every_check_passes_against_the_demo_server_and_broken_registries_fail_the_right_ids() {
    let d = demo();
    let base = d.server.base.clone();

    // The plain paths are the CRVS registry; every check runs and passes.
    let (code, report) = conformance(&d, &base, "crvs", &[]);
    assert_eq!(code, 0, "{}", reasons(&report));
    assert_eq!(
        with_status(&report, "pass"),
        set(CRVS_CHECKS),
        "{}",
        reasons(&report)
    );
    assert_eq!(report["summary"]["fail"], 0);
    assert_eq!(report["run"]["registry"], "crvs");

    // Each other registry type under its prefix, with its own endpoints; the JWS profiles
    // carry no created/expires, so the two signature-time checks are skipped with the reason.
    for (reg, own) in [
        ("social", &[][..]),
        ("ibr", &["sync.enrolled"][..]),
        (
            "dr",
            &[
                "sync.disabled",
                "sync.disability_details",
                "sync.disability_support",
            ][..],
        ),
        ("fr", &[][..]),
    ] {
        let profile = if reg == "social" {
            "jws-detached"
        } else {
            "spdci"
        };
        let (code, report) = conformance(
            &d,
            &format!("{base}/{reg}"),
            reg,
            &["--registry", reg, "--profile", profile],
        );
        assert_eq!(code, 0, "{reg}: {}", reasons(&report));
        let mut want = set(CRVS_CHECKS);
        want.extend(own.iter().map(|s| s.to_string()));
        let mut skip = BTreeSet::new();
        if profile != "spdci" {
            skip.extend(set(&["reject.expired", "reject.future"]));
        }
        if reg == "dr" {
            // The DR spec defines no txn status endpoints.
            skip.extend(set(&["txn.status", "async.txn_status"]));
        }
        assert_eq!(
            with_status(&report, "skip"),
            skip,
            "{reg}: {}",
            reasons(&report)
        );
        for id in &skip {
            want.remove(id);
        }
        assert_eq!(
            with_status(&report, "pass"),
            want,
            "{reg}: {}",
            reasons(&report)
        );
    }

    // --only runs just the named checks (an id or a prefix).
    let (code, report) = conformance(&d, &base, "only", &["--only", "jwks,reject.re*"]);
    assert_eq!(code, 0);
    assert_eq!(
        with_status(&report, "pass"),
        set(&["jwks", "reject.replay"])
    );

    // A trigger command that fails fails notify, with its exit status and stderr.
    let (code, report) = conformance(
        &d,
        &base,
        "trigger",
        &[
            "--only",
            "notify",
            "--notify-trigger",
            "cmd:echo no record >&2; exit 3",
        ],
    );
    assert_eq!(code, 1);
    let r = reasons(&report);
    assert!(
        r.contains("exited with exit status: 3") && r.contains("no record"),
        "{r}"
    );

    // Broken registries.
    let upstream = base.trim_start_matches("http://").to_string();
    let dropped = proxy(&upstream, Break::DropSignature);
    let (code, report) = conformance(&d, &dropped, "drop", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        with_status(&report, "fail"),
        set(SYNC_ANSWER_CHECKS),
        "{}",
        reasons(&report)
    );
    assert!(reasons(&report).contains("the sync answer is not signed"));

    let wrong = proxy(&upstream, Break::WrongAction);
    let (code, report) = conformance(&d, &wrong, "action", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        with_status(&report, "fail"),
        set(SYNC_ANSWER_CHECKS),
        "{}",
        reasons(&report)
    );
    assert!(
        reasons(&report)
            .contains("$.header.action: \\\"search\\\" is not one of [\\\"on-search\\\"]"),
        "{}",
        reasons(&report)
    );

    let lax = proxy(&upstream, Break::SkipValidation);
    let (code, report) = conformance(&d, &lax, "lax", &[]);
    assert_eq!(code, 1);
    let want: BTreeSet<String> = CRVS_CHECKS
        .iter()
        .filter(|id| {
            // The two refusal checks on async endpoints go past the proxy's change.
            (id.starts_with("reject.") || id.starts_with("field."))
                && !["field.subscription_codes.max_length", "reject.sender_uri"].contains(*id)
        })
        .map(|s| s.to_string())
        .collect();
    assert_eq!(with_status(&report, "fail"), want, "{}", reasons(&report));
    let failed = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "reject.tampered")
        .unwrap();
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .starts_with("not refused: HTTP 200"),
        "{failed}"
    );
}

#[test]
fn a_bad_option_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let s = sender(dir.path(), "x");
    std::fs::write(&key, s.signer.key.to_pem().unwrap().as_bytes()).unwrap();
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["conformance", "http://127.0.0.1:9"])
            .args([
                "--client-id",
                "c",
                "--client-secret",
                "s",
                "--sender-id",
                "x",
                "--key",
            ])
            .arg(Path::new(&key))
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--only", "no.such.check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--only: no check has the id \"no.such.check\""));
    let out = run(&["--registry", "zoo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--registry"));
}
