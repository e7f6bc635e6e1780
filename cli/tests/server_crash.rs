//! Crash safety of `dci serve` under `kill -9` (issue 11 section 3): 1,000 mixed requests
//! (sync and async search, subscribe, unsubscribe, `dci import` with notifications) over 20
//! crashes, then 0 replays accepted, 0 callbacks lost, 0 orphan subscriptions, and duplicate
//! callbacks only for deliveries in flight at a crash.
//!
//! The seed is printed; `CRASH_SEED=N` repeats the plan (kinds, kill points).

mod server_support;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server_support::*;

const REQUESTS: usize = 1000;
const CRASHES: usize = 20;
/// New requests per round (requests not sent before a kill are carried to the next round).
const PER_ROUND: usize = REQUESTS / CRASHES;
/// Requests in flight at once.
const CONCURRENCY: usize = 6;
/// The kill comes this long (ms, uniform) after a random number of the round's requests
/// were answered.
const KILL_AFTER_MS: (u64, u64) = (20, 300);
/// A delivery counts as in flight at a kill when the killed server's copy reached the
/// receiver at most this long before the kill, or after it (a request already sent, read late).
const IN_FLIGHT_WINDOW: Duration = Duration::from_millis(1000);
/// `--callback-concurrency` (the default): every callback here goes to one receiver, so at
/// most this many deliveries are between the POST and their "delivered" mark at any time.
const CALLBACK_CONCURRENCY: usize = 4;
/// Requests answered in the rounds before, re-sent after each restart besides the last
/// round's (all of which are re-sent).
const OLDER_REPLAYS: usize = 20;

/// splitmix64: a small seeded generator, so that a run can be repeated from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    SyncSearch,
    AsyncSearch,
    Subscribe,
    Unsubscribe,
    Import,
}

impl Kind {
    /// Few subscriptions stay open (about as many unsubscribes as subscribes), so each import
    /// notifies a handful of them.
    fn pick(rng: &mut Rng) -> Kind {
        match rng.below(100) {
            0..=44 => Kind::SyncSearch,
            45..=79 => Kind::AsyncSearch,
            80..=87 => Kind::Subscribe,
            88..=95 => Kind::Unsubscribe,
            _ => Kind::Import,
        }
    }

    /// Where the request goes and where its callback comes back (None: answered in sync).
    fn paths(self) -> (&'static str, Option<&'static str>) {
        match self {
            Kind::SyncSearch => ("/registry/sync/search", None),
            Kind::AsyncSearch => ("/registry/search", Some("/registry/on-search")),
            Kind::Subscribe => ("/registry/subscribe", Some("/registry/on-subscribe")),
            Kind::Unsubscribe => ("/registry/unsubscribe", Some("/registry/on-unsubscribe")),
            Kind::Import => ("dci import", None),
        }
    }
}

/// One callback as the receiver saw it.
#[derive(Clone, Debug)]
struct Arrival {
    at: Instant,
    /// Which start of the server sent it: each start has its own `--callback-token`.
    start: Option<usize>,
    path: String,
    message_id: String,
    correlation_id: String,
}

/// The callback receiver: records each arrival with its time and answers ACK; the
/// subscription codes of on-subscribe callbacks become available to unsubscribe.
#[derive(Clone, Default)]
struct Callbacks {
    got: Arc<Mutex<Vec<Arrival>>>,
    codes: Arc<Mutex<(HashSet<String>, VecDeque<String>)>>,
}

impl Callbacks {
    fn spawn(&self, listener: tokio::net::TcpListener) {
        let me = self.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let me = me.clone();
                async move {
                    let start = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer start-"))
                        .and_then(|n| n.parse().ok());
                    me.record(start, uri.path(), &body);
                    axum::Json(json!({"message": {"ack_status": "ACK", "timestamp": now(), "correlation_id": "rcv"}}))
                }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }

    fn record(&self, start: Option<usize>, path: &str, body: &[u8]) {
        let at = Instant::now();
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let items = v
            .pointer("/message/subscribe_response")
            .and_then(Value::as_array);
        let mut codes = self.codes.lock().unwrap();
        for sub in items
            .into_iter()
            .flatten()
            .filter_map(|i| i["subscriptions"].as_array())
        {
            for code in sub.iter().filter_map(|s| s["code"].as_str()) {
                // A repeated on-subscribe must not offer its code twice.
                if codes.0.insert(code.to_string()) {
                    codes.1.push_back(code.to_string());
                }
            }
        }
        self.got.lock().unwrap().push(Arrival {
            at,
            start,
            path: path.to_string(),
            message_id: text("/header/message_id"),
            correlation_id: text("/message/correlation_id"),
        });
    }

    /// A confirmed subscription not unsubscribed yet.
    fn take_code(&self) -> Option<String> {
        self.codes.lock().unwrap().1.pop_front()
    }

    fn all(&self) -> Vec<Arrival> {
        self.got.lock().unwrap().clone()
    }
}

/// A request the server answered 200 (a sync answer or an ACK): never to be accepted again.
#[derive(Clone)]
struct Answered {
    path: &'static str,
    body: Vec<u8>,
}

/// What the test has seen.
#[derive(Default)]
struct Ledger {
    /// Per kind: (sent, answered 200 / imported).
    by_kind: HashMap<Kind, (usize, usize)>,
    answered: Vec<Answered>,
    /// Async requests ACKed, by callback path: their correlation ids.
    acked: HashMap<&'static str, HashSet<String>>,
    /// Transaction ids of ACKed subscribes.
    acked_subscribes: HashSet<String>,
    /// Notifications `dci import` queued.
    notifies_queued: usize,
    /// Requests cut or refused by the kill (nothing was promised for them).
    cut: usize,
    /// Anything but 200 from a live server, or no answer from it.
    unexpected: Vec<String>,
}

/// POSTs `body`; None when no answer came (the server was killed).
async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Option<(u16, Value)> {
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let raw = resp.bytes().await.ok()?;
    Some((status, serde_json::from_slice(&raw).unwrap_or(Value::Null)))
}

fn subscribe_message() -> Value {
    json!({"transaction_id": uuid::Uuid::new_v4().to_string(), "subscribe_request": [{
        "reference_id": "sr-1", "timestamp": now(),
        "subscribe_criteria": {"reg_type": "ns:org:RegistryType:Civil", "reg_event_type": "LiveBirth",
            "notify_record_type": "Person", "filter_type": "expression",
            "filter": {"type": "expression", "value": {"expression": {"@type": {"$eq": "Person"}}}}}}]})
}

/// `dci import` of one birth, which notifies every open subscription; returns how many
/// notifications it queued.
async fn import_birth(db: &Path, dir: &Path, n: usize) -> usize {
    let file = dir.join(format!("birth-{n}.json"));
    let uin = format!("{}", 800_000_000 + n);
    let birth = json!({"registry": "crvs", "record_type": "Person", "event_type": "LiveBirth",
        "records": [{"@type": "Person", "identifier": [{"identifier_type": "UIN", "identifier_value": uin}],
            "name": {"given_name": "Ada", "surname": "Crash"}, "sex": "female", "birth_date": "2025-03-01",
            "address": {"region_code": "central_region"}}]});
    std::fs::write(&file, serde_json::to_vec(&birth).unwrap()).unwrap();
    let out = tokio::process::Command::new(BIN)
        .args([
            "import",
            "--db",
            db.to_str().unwrap(),
            file.to_str().unwrap(),
        ])
        .output()
        .await
        .expect("run dci import");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dci import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "imported 1 records; N notifications queued (...)"
    text.split("; ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("dci import printed: {text}"))
}

/// One round: the live server, its queue of requests, and what the workers saw.
struct Round {
    http: reqwest::Client,
    base: String,
    token: String,
    sender_uri: String,
    s1: Arc<TestSender>,
    callbacks: Callbacks,
    db: PathBuf,
    dir: PathBuf,
    imports: Arc<AtomicUsize>,
    killed: AtomicBool,
    answered: AtomicUsize,
    queue: Mutex<VecDeque<Kind>>,
    ledger: Arc<Mutex<Ledger>>,
}

impl Round {
    /// Sends requests from the queue until it is empty or the server is killed; what was
    /// not sent stays in the queue.
    async fn work(self: Arc<Self>) {
        while !self.killed.load(SeqCst) {
            let Some(planned) = self.queue.lock().unwrap().pop_front() else {
                return;
            };
            self.send(planned).await;
        }
    }

    async fn send(&self, planned: Kind) {
        if planned == Kind::Import {
            let n = self.imports.fetch_add(1, SeqCst);
            let queued = import_birth(&self.db, &self.dir, n).await;
            let mut l = self.ledger.lock().unwrap();
            l.notifies_queued += queued;
            let k = l.by_kind.entry(Kind::Import).or_default();
            (k.0, k.1) = (k.0 + 1, k.1 + 1);
            self.answered.fetch_add(1, SeqCst);
            return;
        }
        // An unsubscribe names a subscription whose on-subscribe came back; with none yet,
        // a sync search goes instead.
        let code = match planned {
            Kind::Unsubscribe => self.callbacks.take_code(),
            _ => None,
        };
        let kind = match (planned, &code) {
            (Kind::Unsubscribe, None) => Kind::SyncSearch,
            (k, _) => k,
        };
        let s1 = &self.s1;
        let uin = format!("{}", 100_000_000 + uuid::Uuid::new_v4().as_u128() % 100);
        let lookup = || search_message("idtype-value", json!({"type": "UIN", "value": uin}));
        let env = match kind {
            Kind::SyncSearch => s1.envelope("search", lookup()),
            Kind::AsyncSearch => s1.envelope_to("search", lookup(), &self.sender_uri),
            Kind::Subscribe => s1.envelope_to("subscribe", subscribe_message(), &self.sender_uri),
            Kind::Unsubscribe => s1.envelope_to(
                "unsubscribe",
                json!({"transaction_id": uuid::Uuid::new_v4().to_string(), "timestamp": now(),
                    "subscription_codes": [code]}),
                &self.sender_uri,
            ),
            Kind::Import => unreachable!("imports are not posted"),
        };
        let (path, callback) = kind.paths();
        let txn_id = env["message"]["transaction_id"]
            .as_str()
            .unwrap()
            .to_string();
        let body = s1.sign(env);
        let url = format!("{}{path}", self.base);
        let got = post_raw(&self.http, &url, &self.token, body.clone()).await;
        let mut l = self.ledger.lock().unwrap();
        l.by_kind.entry(kind).or_default().0 += 1;
        match got {
            Some((200, v)) => {
                if let Some(cb) = callback {
                    assert_eq!(v["message"]["ack_status"], "ACK", "{path}: {v}");
                    let corr = v["message"]["correlation_id"].as_str().unwrap();
                    l.acked.entry(cb).or_default().insert(corr.to_string());
                    if kind == Kind::Subscribe {
                        l.acked_subscribes.insert(txn_id);
                    }
                }
                l.answered.push(Answered { path, body });
                l.by_kind.entry(kind).or_default().1 += 1;
                self.answered.fetch_add(1, SeqCst);
            }
            _ if self.killed.load(SeqCst) => l.cut += 1,
            other => l.unexpected.push(format!("{path}: {other:?}")),
        }
    }
}

/// Re-sends `answered` (each must be refused 409 `rjct.message_id.duplicate`); returns the
/// ones accepted again, with their answers.
async fn replay(server: &Server, token: &str, answered: Vec<Answered>) -> Vec<String> {
    let http = reqwest::Client::new();
    let work = Arc::new(Mutex::new(answered));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, work, accepted) = (http.clone(), work.clone(), accepted.clone());
        let (base, token) = (server.base.clone(), token.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(a) = work.lock().unwrap().pop() else {
                    return;
                };
                let (s, v) = post_raw(&http, &format!("{base}{}", a.path), &token, a.body)
                    .await
                    .expect("the live server answers a replay");
                let code = v["header"]["status_reason_code"].as_str().unwrap_or("");
                if (s, code) != (409, "rjct.message_id.duplicate") {
                    accepted.lock().unwrap().push(format!("{} {s} {v}", a.path));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let out = accepted.lock().unwrap().clone();
    out
}

/// Subscriptions in the database without their accepted subscribe in `transactions` or
/// without their on-subscribe in the outbox; and the ACKed subscribes with no subscription.
fn orphans(db: &Path, acked: &HashSet<String>) -> (Vec<String>, Vec<String>, usize) {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let subs: Vec<(String, String, String)> = c
        .prepare("SELECT code, sender_id, transaction_id FROM subscriptions")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> i64 {
        c.query_row(sql, p, |r| r.get(0)).unwrap()
    };
    let mut orphan = Vec::new();
    for (code, sender, txn) in &subs {
        let logged = count(
            "SELECT COUNT(*) FROM transactions WHERE sender_id = ?1 AND transaction_id = ?2
             AND operation = 'subscribe' AND error_code IS NULL",
            &[sender, txn],
        );
        let queued = count(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'on-subscribe' AND instr(body, ?1) > 0",
            &[code],
        );
        if logged != 1 || queued != 1 {
            orphan.push(format!(
                "{code} (txn {txn}): {logged} audit rows, {queued} on-subscribe"
            ));
        }
    }
    let stored: HashSet<&String> = subs.iter().map(|s| &s.2).collect();
    let missing = acked
        .iter()
        .filter(|t| !stored.contains(t))
        .cloned()
        .collect();
    (orphan, missing, subs.len())
}

/// The outbox at the end: (undelivered, failed).
fn outbox_left(db: &Path) -> (i64, i64) {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.query_row(
        "SELECT COALESCE(SUM(delivered_at IS NULL), 0), COALESCE(SUM(failed), 0) FROM outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// Each repeat of a callback, attributed to the crash it straddles: the copies came from
/// different starts of the server (told apart by their `--callback-token`), and the earlier
/// start is the one killed. Returns the repeats per kill, the callbacks each killed start
/// delivered within [`IN_FLIGHT_WINDOW`] before its kill or after it, the repeats no crash
/// explains (two copies from one start), and how long before its kill (ms; negative: read
/// after it) each repeated copy arrived, earliest and latest.
fn duplicates(
    arrivals: &[Arrival],
    kills: &[Instant],
) -> (Vec<usize>, Vec<usize>, Vec<String>, (f64, f64)) {
    let mut by_id: HashMap<&str, Vec<&Arrival>> = HashMap::new();
    for a in arrivals {
        by_id.entry(&a.message_id).or_default().push(a);
    }
    let mut per_kill = vec![0; kills.len()];
    let mut unexplained = Vec::new();
    let (mut earliest, mut latest) = (f64::MIN, f64::MAX);
    let before = |k: Instant, at: Instant| match k.checked_duration_since(at) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(at - k).as_secs_f64() * 1000.0,
    };
    for (id, copies) in by_id.iter_mut() {
        copies.sort_by_key(|a| (a.start, a.at));
        for w in copies.windows(2) {
            match (w[0].start, w[1].start) {
                (Some(a), Some(b)) if a < b && a < kills.len() => {
                    per_kill[a] += 1;
                    let ms = before(kills[a], w[0].at);
                    (earliest, latest) = (earliest.max(ms), latest.min(ms));
                }
                (a, b) => unexplained.push(format!(
                    "{id} on {}: from starts {a:?} and {b:?}",
                    w[0].path
                )),
            }
        }
    }
    let near = kills
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let ids: HashSet<&str> = arrivals
                .iter()
                .filter(|a| {
                    a.start == Some(i) && before(k, a.at) <= IN_FLIGHT_WINDOW.as_secs_f64() * 1000.0
                })
                .map(|a| a.message_id.as_str())
                .collect();
            ids.len()
        })
        .collect();
    (per_kill, near, unexplained, (earliest, latest))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_and_accepts_no_replay() {
    let started = Instant::now();
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros() as u64);
    println!("crash test seed {seed} (CRASH_SEED={seed} repeats the plan)");
    let mut rng = Rng(seed);

    let callbacks = Callbacks::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sender_uri = format!("http://127.0.0.1:{port}/registry");
    // s1's callbacks go to its registered URI, so they carry the start's --callback-token.
    let (dir, db) = seeded("100");
    let (cid, secret) = client(&db, "c1", "registry,admin");
    let s1 = sender(dir.path(), "s1");
    s1.register(&db, &["--callback-uri", &sender_uri]);
    let s1 = Arc::new(s1);
    callbacks.spawn(listener);
    let flags = [
        "--allow-private-callbacks",
        "--retry-base-ms",
        "100",
        "--outbox-poll-ms",
        "50",
    ];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut fresh: VecDeque<Kind> = (0..REQUESTS).map(|_| Kind::pick(&mut rng)).collect();
    let mut carried: VecDeque<Kind> = VecDeque::new();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let imports = Arc::new(AtomicUsize::new(0));
    let mut kills: Vec<Instant> = Vec::new();
    let mut kill_points: Vec<(usize, u64)> = Vec::new();
    let (mut replays_sent, mut replays_accepted) = (0, Vec::new());
    let mut last_round_answered = 0;

    for round in 0..=CRASHES {
        let tag = format!("start-{round}");
        let flags: Vec<&str> = flags
            .iter()
            .copied()
            .chain(["--callback-token", &tag])
            .collect();
        let mut server = Server::start(&db, &flags);
        let token = token(&server.base, &cid, &secret).await;
        // Every request answered before the kill is refused as a replay, and a sample of
        // those of earlier rounds (the replay cache is rebuilt at each start).
        let again: Vec<Answered> = {
            let l = ledger.lock().unwrap();
            let (older, last) = l.answered.split_at(last_round_answered);
            let sample = (0..OLDER_REPLAYS.min(older.len()))
                .map(|_| older[rng.below(older.len() as u64) as usize].clone());
            last.iter().cloned().chain(sample).collect()
        };
        replays_sent += again.len();
        replays_accepted.extend(replay(&server, &token, again).await);
        last_round_answered = ledger.lock().unwrap().answered.len();

        let final_round = round == CRASHES;
        let take = if final_round { fresh.len() } else { PER_ROUND };
        let queue: VecDeque<Kind> = carried.drain(..).chain(fresh.drain(..take)).collect();
        let size = queue.len();
        let r = Arc::new(Round {
            http: http.clone(),
            base: server.base.clone(),
            token,
            sender_uri: sender_uri.clone(),
            s1: s1.clone(),
            callbacks: callbacks.clone(),
            db: db.clone(),
            dir: dir.path().to_path_buf(),
            imports: imports.clone(),
            killed: false.into(),
            answered: 0.into(),
            queue: Mutex::new(queue),
            ledger: ledger.clone(),
        });
        let workers: Vec<_> = (0..CONCURRENCY)
            .map(|_| tokio::spawn(r.clone().work()))
            .collect();
        if !final_round {
            // The kill point: a random time after a random number of answers.
            let after = rng.below(size as u64) as usize;
            let (lo, hi) = KILL_AFTER_MS;
            let ms = lo + rng.below(hi - lo + 1);
            let wait_from = Instant::now();
            while r.answered.load(SeqCst) < after && !workers.iter().all(|w| w.is_finished()) {
                assert!(
                    wait_from.elapsed() < Duration::from_secs(60),
                    "round {round} stalled"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(Duration::from_millis(ms)).await;
            r.killed.store(true, SeqCst);
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            // Taken once the process is gone: a delivery can reach the receiver up to then.
            kills.push(Instant::now());
            kill_points.push((r.answered.load(SeqCst), ms));
        }
        for w in workers {
            w.await.unwrap();
        }
        carried = r.queue.lock().unwrap().drain(..).collect();
        if final_round {
            assert!(carried.is_empty());
            // The outbox drains: every entry delivered, none failed.
            let deadline = Instant::now() + Duration::from_secs(60);
            while server.health().await["pending_callbacks"].as_i64() != Some(0) {
                assert!(
                    Instant::now() < deadline,
                    "the outbox did not drain in 60 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            server.stop();
        }
    }

    let l = ledger.lock().unwrap();
    let arrivals = callbacks.all();
    let sent: usize = l.by_kind.values().map(|k| k.0).sum();
    let answered: usize = l.by_kind.values().map(|k| k.1).sum();
    // Callbacks: each ACKed request's, by correlation id on its path; each queued notify.
    let mut expected = 0;
    let mut lost = Vec::new();
    for (path, corrs) in &l.acked {
        let got: HashSet<&str> = arrivals
            .iter()
            .filter(|a| a.path == *path)
            .map(|a| a.correlation_id.as_str())
            .collect();
        expected += corrs.len();
        lost.extend(
            corrs
                .iter()
                .filter(|c| !got.contains(c.as_str()))
                .map(|c| format!("{path} {c}")),
        );
    }
    let notifies: HashSet<&str> = arrivals
        .iter()
        .filter(|a| a.path == "/registry/notify")
        .map(|a| a.message_id.as_str())
        .collect();
    expected += l.notifies_queued;
    let distinct: HashSet<&str> = arrivals.iter().map(|a| a.message_id.as_str()).collect();
    let (per_kill, near, unexplained, (earliest, latest)) = duplicates(&arrivals, &kills);
    let untagged = arrivals.iter().filter(|a| a.start.is_none()).count();
    let bound: Vec<usize> = near.iter().map(|&n| n.min(CALLBACK_CONCURRENCY)).collect();
    let (orphan, unstored, subscriptions) = orphans(&db, &l.acked_subscribes);
    let (undelivered, failed) = outbox_left(&db);

    let mut kinds: Vec<_> = l.by_kind.iter().collect();
    kinds.sort();
    println!(
        "seed {seed}; {CRASHES} crashes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("requests {sent}, accepted {answered} (per kind sent/accepted: {kinds:?}), cut by a kill {}", l.cut);
    println!("kill points (answers in the round, then ms): {kill_points:?}");
    println!(
        "replays sent {replays_sent}, replays accepted {}",
        replays_accepted.len()
    );
    println!(
        "callbacks expected {expected} ({} ACKed async + {} notifications), received {} ({} distinct), lost {}",
        expected - l.notifies_queued,
        l.notifies_queued,
        arrivals.len(),
        distinct.len(),
        lost.len() + l.notifies_queued.saturating_sub(notifies.len())
    );
    println!(
        "duplicates at each crash {per_kill:?} (total {}; the killed start's copy arrived {earliest:.0} to {latest:.0} ms before its kill)",
        per_kill.iter().sum::<usize>()
    );
    println!("in-flight bound at each crash {bound:?} (callbacks of the killed start that reached the receiver in the {IN_FLIGHT_WINDOW:?} before its kill or after: {near:?})");
    println!(
        "subscriptions {subscriptions}, orphan subscriptions {}, ACKed subscribes not stored {}",
        orphan.len(),
        unstored.len()
    );
    println!("outbox at the end: {undelivered} undelivered, {failed} failed");

    assert_eq!(sent, REQUESTS);
    assert!(l.unexpected.is_empty(), "{:?}", l.unexpected);
    assert!(
        replays_accepted.is_empty(),
        "replays accepted: {replays_accepted:?}"
    );
    assert!(lost.is_empty(), "callbacks lost: {lost:?}");
    assert_eq!(
        notifies.len(),
        l.notifies_queued,
        "distinct notifications received"
    );
    assert!(orphan.is_empty(), "orphan subscriptions: {orphan:?}");
    assert!(
        unstored.is_empty(),
        "ACKed subscribes without their subscription: {unstored:?}"
    );
    assert_eq!((undelivered, failed), (0, 0));
    assert_eq!(untagged, 0, "callbacks without their start's token");
    assert!(
        unexplained.is_empty(),
        "repeats not in flight at a kill: {unexplained:?}"
    );
    // A repeated copy was one of the last the killed start sent.
    let window_ms = IN_FLIGHT_WINDOW.as_secs_f64() * 1000.0;
    assert!(
        earliest <= window_ms,
        "a repeat first arrived {earliest:.0} ms before its kill"
    );
    for (k, (&d, &b)) in per_kill.iter().zip(&bound).enumerate() {
        assert!(d <= b, "crash {k}: {d} duplicates, {b} in flight");
    }
    // The run did exercise every path.
    for k in [
        Kind::SyncSearch,
        Kind::AsyncSearch,
        Kind::Subscribe,
        Kind::Unsubscribe,
        Kind::Import,
    ] {
        assert!(
            l.by_kind.get(&k).is_some_and(|n| n.1 > 0),
            "no {k:?} accepted"
        );
    }
    assert!(
        l.notifies_queued > 0 && answered > REQUESTS / 2,
        "{answered} accepted"
    );
}
