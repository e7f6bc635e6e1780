//! The callback receiver `dci conformance` starts for the async checks: a small HTTP/1.1
//! server on std threads that keeps every POST (path and body bytes, exactly as received, for
//! the signature check) and answers each with a spec Ack.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// One callback as received.
#[derive(Clone)]
pub struct Callback {
    pub path: String,
    pub bytes: Vec<u8>,
    pub body: Value,
}

type Received = Arc<(Mutex<Vec<Callback>>, Condvar)>;

pub struct Receiver {
    /// `http://host:port`, what goes into `header.sender_uri`.
    pub base: String,
    got: Received,
}

/// The largest callback body kept (a page of records is far smaller).
const MAX_BODY: usize = 16 * 1024 * 1024;

fn read_request(s: &mut TcpStream) -> Option<Callback> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let path = head.split_whitespace().nth(1)?.to_string();
    let header = |name: &str| {
        head.split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let mut body = buf[head_end + 4..].to_vec();
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        while !body.windows(5).any(|w| w == b"0\r\n\r\n") && body.len() < MAX_BODY {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body = dechunk(&body);
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
            .min(MAX_BODY);
        while body.len() < len {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Callback {
        path,
        bytes: body,
        body: json,
    })
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

impl Receiver {
    /// Listens on `bind` (`127.0.0.1:0` by default); `public` is the base URL to announce
    /// when the registry reaches us by another address (a tunnel, a NAT).
    pub fn start(bind: &str, public: Option<&str>) -> Result<Receiver, String> {
        let l = TcpListener::bind(bind)
            .map_err(|e| format!("--callback-listen {bind}: cannot listen: {e}"))?;
        let addr = l.local_addr().map_err(|e| e.to_string())?;
        let base = public
            .map(|p| p.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{addr}"));
        let got: Received = Arc::default();
        let g2 = got.clone();
        std::thread::spawn(move || {
            for s in l.incoming().map_while(Result::ok) {
                let g3 = g2.clone();
                std::thread::spawn(move || serve(s, g3));
            }
        });
        Ok(Receiver { base, got })
    }

    /// Waits up to `timeout` for a callback that satisfies `pred`.
    pub fn wait(&self, timeout: Duration, pred: impl Fn(&Callback) -> bool) -> Option<Callback> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.got;
        let mut g = m.lock().ok()?;
        loop {
            if let Some(c) = g.iter().find(|c| pred(c)) {
                return Some(c.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            g = cv
                .wait_timeout(g, left.min(Duration::from_millis(200)))
                .ok()?
                .0;
        }
    }

    /// `path action` of every callback so far, for a failure message.
    pub fn seen(&self) -> Vec<String> {
        let (m, _) = &*self.got;
        m.lock()
            .map(|g| {
                g.iter()
                    .map(|c| {
                        format!(
                            "{} {}",
                            c.path,
                            c.body["header"]["action"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn serve(mut s: TcpStream, got: Received) {
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let Some(cb) = read_request(&mut s) else {
        return;
    };
    let correlation = cb.body["message"]["correlation_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    {
        let (m, cv) = &*got;
        if let Ok(mut v) = m.lock() {
            v.push(cb);
        }
        cv.notify_all();
    }
    let ack = json!({"message": {
        "ack_status": "ACK",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "correlation_id": correlation,
    }});
    let body = ack.to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|_| s.write_all(body.as_bytes()));
}
