//! The server under test (`dci serve --demo`, run as a child process), a minimal HTTP client
//! and the callback receiver that plays the suite's callback server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `dci serve --demo`, started once for the whole test binary (see [`ctx`](super::ctx)).
pub struct Server {
    /// The shell that runs the server and kills it when this stdin closes: the server lives
    /// in a static, which is never dropped, so the end of the test process (which closes
    /// the pipe) is what stops it.
    _watchdog: Child,
    _stdin: ChildStdin,
    /// `127.0.0.1:port`
    pub addr: String,
    pub client_id: String,
    pub client_secret: String,
    pub sender_id: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// Runs `$0 "$@"` in the background and kills it once our stdin (fd 3) reaches its end;
/// exits with the server's status if the server stops first.
const WATCHDOG: &str = r#"exec 3<&0
"$0" "$@" 3<&- &
p=$!
(read x <&3; kill $p 2>/dev/null) &
wait $p"#;

fn binary() -> PathBuf {
    std::env::var_os("DCI_CONFORMANCE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dci")))
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// The value after `label:` on a banner line (`  client_secret: abc` -> `abc`).
fn banner_value(lines: &[String], label: &str) -> Option<String> {
    lines.iter().find_map(|l| {
        let rest = l.trim_start().strip_prefix(label)?.strip_prefix(':')?;
        rest.split_whitespace().next().map(str::to_string)
    })
}

impl Server {
    /// `dci serve --demo --listen 127.0.0.1:PORT --db DIR/dci.db`, then reads the demo banner.
    pub fn start() -> Result<Server, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let db = dir.path().join("dci.db");
        let log = dir.path().join("serve.log");
        let log_file = std::fs::File::create(&log).map_err(|e| format!("log file: {e}"))?;
        let port = free_port();
        let bin = binary();
        let mut child = Command::new("sh")
            .args(["-c", WATCHDOG])
            .arg(&bin)
            .arg("serve")
            .arg("--demo")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--db")
            .arg(&db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let lines = Arc::new((Mutex::new(Vec::<String>::new()), Condvar::new()));
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let (m, cv) = &*l2;
                if let Ok(mut g) = m.lock() {
                    g.push(line);
                }
                cv.notify_all();
            }
        });
        let deadline = Instant::now() + Duration::from_secs(180);
        let (m, cv) = &*lines;
        let mut g = m.lock().map_err(|_| "banner lock")?;
        loop {
            let ready = banner_value(&g, "sender_id").is_some()
                && banner_value(&g, "client_secret").is_some();
            if ready {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "`dci serve --demo` exited with {status} before printing its banner \
                     (is the server built into this binary?)\nstdout: {:?}\nstderr: {err}",
                    *g
                ));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!(
                    "no demo banner from `dci serve --demo`; got {:?}",
                    *g
                ));
            }
            g = cv
                .wait_timeout(g, Duration::from_millis(200))
                .map_err(|_| "banner lock")?
                .0;
        }
        let addr = g
            .iter()
            .find_map(|l| l.split("listening on http://").nth(1))
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("127.0.0.1:{port}"));
        let client_id = banner_value(&g, "client_id").ok_or("banner has no client_id")?;
        let client_secret = banner_value(&g, "client_secret").ok_or("banner has no secret")?;
        let sender_id = banner_value(&g, "sender_id").ok_or("banner has no sender_id")?;
        drop(g);
        Ok(Server {
            _watchdog: child,
            _stdin: stdin,
            addr,
            client_id,
            client_secret,
            sender_id,
            log,
            _dir: dir,
        })
    }
}

/// One HTTP exchange.
pub struct Resp {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Value,
    raw: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn brief(&self) -> String {
        let e = &self.body["message"]["error"];
        if e.is_object() {
            return format!("HTTP {} {} {}", self.status, e["code"], e["message"]);
        }
        let mut s = self.raw.clone();
        if s.len() > 400 {
            let mut cut = 400;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str("...");
        }
        format!("HTTP {} {s}", self.status)
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size_txt = String::from_utf8_lossy(&b[..i]);
        let size =
            usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        b = &b[i + 2..];
        if size == 0 || b.len() < size {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
    out
}

impl Server {
    /// The last lines of the server's stderr log, for a failure message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// A minimal HTTP/1.1 client (one request per connection).
pub fn http(addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Resp, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut req = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes())
        .and_then(|_| s.write_all(body))
        .map_err(|e| format!("send to {path}: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .map_err(|e| format!("read from {path}: {e}"))?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{path}: no HTTP response head"))?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{path}: bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut payload = buf[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    }) {
        payload = dechunk(&payload);
    }
    let raw = String::from_utf8_lossy(&payload).into_owned();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Ok(Resp {
        status,
        headers,
        body,
        raw,
    })
}

/// The callbacks received so far: (path, body), and a signal for each new one.
type Received = Arc<(Mutex<Vec<(String, Value)>>, Condvar)>;

/// Records every POST it receives and answers `{"ack_status":"ACK"}`, like the suite's
/// callback server.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    got: Received,
}

fn read_request(s: &mut TcpStream) -> Option<(String, Value)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let path = head.split_whitespace().nth(1)?.to_string();
    let len: usize = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((path, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

impl Receiver {
    pub fn start() -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the callback receiver");
        let base = format!("http://{}", l.local_addr().expect("receiver addr"));
        let got: Received = Arc::default();
        let g2 = got.clone();
        std::thread::spawn(move || {
            for mut s in l.incoming().map_while(Result::ok) {
                s.set_read_timeout(Some(Duration::from_secs(30))).ok();
                if let Some(rec) = read_request(&mut s) {
                    let (m, cv) = &*g2;
                    if let Ok(mut v) = m.lock() {
                        v.push(rec);
                    }
                    cv.notify_all();
                }
                let body = br#"{"ack_status":"ACK"}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).and_then(|_| s.write_all(body));
            }
        });
        Receiver { base, got }
    }

    /// Waits (at most a minute) for a callback on `path` that satisfies `pred`.
    pub fn wait(&self, path: &str, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let (m, cv) = &*self.got;
        let mut g = m.lock().ok()?;
        loop {
            if let Some((_, b)) = g.iter().find(|(p, b)| p == path && pred(b)) {
                return Some(b.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            g = cv
                .wait_timeout(g, left.min(Duration::from_millis(250)))
                .ok()?
                .0;
        }
    }

    pub fn seen(&self) -> Vec<String> {
        let (m, _) = &*self.got;
        m.lock()
            .map(|g| {
                g.iter()
                    .map(|(p, b)| format!("{p} {}", b["header"]["action"]))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn token(server: &Server) -> Result<String, String> {
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        server.client_id, server.client_secret
    );
    let r = http(
        &server.addr,
        "/oauth2/client/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )?;
    r.body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no access_token from /oauth2/client/token: {}", r.brief()))
}
