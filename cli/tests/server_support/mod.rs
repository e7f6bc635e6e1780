//! Helpers for the server integration tests: run the real `dci` binary, sign envelopes,
//! and a tiny callback receiver.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dci::keys::{Algorithm, SigningKey};
use dci::signature::Signer;
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_dci");

/// Runs `dci args...`; panics with its stderr when it fails.
pub fn dci(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run dci");
    assert!(
        out.status.success(),
        "dci {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `dci serve --db DB --listen 127.0.0.1:0 extra...` and waits for its address.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        Server::start_logged(db, &db.with_extension("log"), extra)
    }

    /// [`Server::start`] with its log in `log` (for a `--db` that is a PostgreSQL URL).
    pub fn start_logged(db: &Path, log_path: &Path, extra: &[&str]) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .expect("log file");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--db")
            .arg(db)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn dci serve");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let _ = tx.send(line[i + "listening on ".len()..].trim().to_string());
                }
                l2.lock().unwrap().push(line);
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                panic!("server did not start; log:\n{log}");
            }
        };
        Server {
            child,
            base,
            stdout: lines,
        }
    }

    /// SIGTERM, then wait for a graceful exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "server exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("server did not stop on SIGTERM");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits (up to 30 s) for the line of stdout that starts with `name`; returns the rest.
    pub async fn printed(&self, name: &str) -> String {
        let find = || {
            let lines = self.stdout.lock().unwrap();
            lines
                .iter()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
        };
        until(name, || find().is_some()).await;
        find().unwrap_or_default()
    }

    /// POSTs `env` to `path`, signed by `from`, with `token`; returns (status, body).
    pub async fn send(
        &self,
        token: &str,
        path: &str,
        from: &TestSender,
        env: Value,
    ) -> (u16, Value) {
        self.post(token, path, from.sign(env)).await
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Value {
        let r = reqwest::get(self.url("/healthz")).await.unwrap();
        r.json().await.unwrap()
    }

    /// POSTs `body` to `path` with `token`; returns (status, JSON body).
    pub async fn post(&self, token: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
        let (s, v, _) = post(&self.url(path), Some(token), body).await;
        (s, v)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sender with its own Ed25519 key, its public key written to `dir`.
pub struct TestSender {
    pub id: String,
    pub signer: Signer,
    pub pubkey: PathBuf,
}

pub fn sender(dir: &Path, id: &str) -> TestSender {
    let key = SigningKey::generate(Algorithm::Ed25519).expect("key");
    let pubkey = dir.join(format!("{id}.pub.pem"));
    std::fs::write(&pubkey, key.verifying_key().to_pem().expect("pem")).expect("write pem");
    TestSender {
        id: id.into(),
        signer: Signer::new(key, id, "k1"),
        pubkey,
    }
}

impl TestSender {
    /// Registers this sender with `dci senders add` and extra flags.
    pub fn register(&self, db: &Path, extra: &[&str]) {
        let mut args = vec![
            "senders",
            "add",
            "--db",
            db.to_str().unwrap(),
            "--id",
            &self.id,
            "--pubkey",
            self.pubkey.to_str().unwrap(),
            "--key-id",
            "k1",
        ];
        args.extend_from_slice(extra);
        dci(&args);
    }

    /// An unsigned envelope from this sender.
    pub fn envelope(&self, action: &str, message: Value) -> Value {
        json!({
            "signature": "",
            "header": {
                "version": "1.0.0",
                "message_id": uuid::Uuid::new_v4().to_string(),
                "message_ts": now(),
                "action": action,
                "sender_id": self.id,
                "receiver_id": "registry.example.org",
                "total_count": 1,
            },
            "message": message,
        })
    }

    /// An unsigned async request from this sender: answers go to `sender_uri`.
    pub fn envelope_to(&self, action: &str, message: Value, sender_uri: &str) -> Value {
        let mut env = self.envelope(action, message);
        env["header"]["sender_uri"] = json!(sender_uri);
        env
    }

    pub fn sign(&self, mut env: Value) -> Vec<u8> {
        self.signer.sign_value(&mut env, None).expect("sign");
        serde_json::to_vec(&env).unwrap()
    }
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn search_message(query_type: &str, query: Value) -> Value {
    json!({
        "transaction_id": uuid::Uuid::new_v4().to_string(),
        "search_request": [{
            "reference_id": "ref-1",
            "timestamp": now(),
            "search_criteria": {"query_type": query_type, "query": query},
        }],
    })
}

/// A temporary directory with `reg.db` seeded with `persons` persons (`dci seed`).
pub fn seeded(persons: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.db");
    dci(&["seed", "--db", db.to_str().unwrap(), "--persons", persons]);
    (dir, db)
}

/// [`seeded`], with a client of `scopes` and the sender s1 (every operation, signature
/// required): `(dir, db, (client_id, client_secret), s1)`.
pub fn seeded_with_s1(
    persons: &str,
    scopes: &str,
) -> (tempfile::TempDir, PathBuf, (String, String), TestSender) {
    let (dir, db) = seeded(persons);
    let client = client(&db, "c1", scopes);
    let s1 = sender(dir.path(), "s1");
    s1.register(&db, &[]);
    (dir, db, client, s1)
}

/// Creates a client with `dci clients add`; returns (id, secret).
pub fn client(db: &Path, id: &str, scopes: &str) -> (String, String) {
    let out = dci(&[
        "clients",
        "add",
        "--db",
        db.to_str().unwrap(),
        "--id",
        id,
        "--scopes",
        scopes,
    ]);
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret="))
        .expect("secret printed")
        .to_string();
    (id.to_string(), secret)
}

pub async fn token(base: &str, id: &str, secret: &str) -> String {
    let v: Value = reqwest::Client::new()
        .post(format!("{base}/oauth2/client/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// POSTs raw bytes; returns (status, JSON body, raw body).
pub async fn post(url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value, Vec<u8>) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let raw = resp.bytes().await.unwrap().to_vec();
    let v = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    (status, v, raw)
}

/// Waits (up to 30 s) until `f` holds.
pub async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A listener on a free loopback port, and the port.
pub async fn listener() -> (tokio::net::TcpListener, u16) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A callback receiver: records (path, envelope) and answers an ACK.
#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<(String, Value)>>>,
    /// How long it takes to answer (ms): slow receivers keep deliveries in flight.
    pub delay_ms: u64,
}

impl Receiver {
    /// Serves on `listener` until the task is aborted.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
        let got = self.got.clone();
        let delay = Duration::from_millis(self.delay_ms);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
            let got = got.clone();
            async move {
                tokio::time::sleep(delay).await;
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                got.lock().unwrap().push((uri.path().to_string(), v));
                axum::Json(json!({"message": {"ack_status": "ACK", "timestamp": now(), "correlation_id": "rcv"}}))
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })
    }

    /// Waits (up to 30 s) until `n` envelopes came to `path`; returns all of them.
    pub async fn wait(&self, path: &str, n: usize) -> Vec<Value> {
        until(&format!("{n} on {path}"), || self.on(path).len() >= n).await;
        self.on(path)
    }

    pub fn on(&self, path: &str) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The server's JWKS (to check response signatures).
pub async fn server_jwks(base: &str) -> dci::keys::Jwks {
    let v: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    dci::keys::Jwks::from_json(&v).expect("jwks")
}
