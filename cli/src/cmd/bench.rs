//! `dci bench`: a load generator for sync search by idtype-value with signed requests.
//!
//! Requests are signed before the clock starts (each with its own message_id), then sent over
//! `--connections` concurrent keep-alive connections; throughput, p50 and p99 are printed,
//! and the server's resident memory when `--server-pid` is given.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dci::signature::Signer;
use serde_json::{json, Value};

#[derive(Args)]
pub struct BenchArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    #[arg(long, default_value = "demo-client")]
    pub client_id: String,
    #[arg(long)]
    pub client_secret: String,
    #[arg(long, default_value = "demo-sender")]
    pub sender_id: String,
    /// The sender's PKCS#8 PEM private key.
    #[arg(long)]
    pub key: std::path::PathBuf,
    #[arg(long, default_value = "demo-key-1")]
    pub key_id: String,
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Total requests.
    #[arg(long, default_value_t = 50_000)]
    pub requests: usize,
    /// UINs queried are drawn from the first N persons of the demo dataset.
    #[arg(long, default_value_t = 10_000)]
    pub persons: usize,
    /// The server's process id, to report its memory (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// utime + stime of a process, in clock ticks (Linux /proc).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn run(a: BenchArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(bench(a))
}

async fn bench(a: BenchArgs) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .build()
        .map_err(|e| e.to_string())?;
    let tok: Value = http
        .post(format!("{}/oauth2/client/token", a.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &a.client_id),
            ("client_secret", &a.client_secret),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = tok["access_token"]
        .as_str()
        .ok_or(format!("no token: {tok}"))?
        .to_string();
    let pem = std::fs::read_to_string(&a.key).map_err(|e| format!("{}: {e}", a.key.display()))?;
    let key = dci::keys::SigningKey::from_pem(&pem).map_err(|e| e.to_string())?;
    let signer = Signer::new(key, a.sender_id.clone(), a.key_id.clone());
    eprintln!("signing {} requests...", a.requests);
    let mut rng = 0x5EED_u64;
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut bodies = Vec::with_capacity(a.requests);
    for i in 0..a.requests {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let idx = 1 + (rng % a.persons.max(2).saturating_sub(1) as u64) as usize;
        let mut env = json!({
            "signature": "",
            "header": {"version": "1.0.0", "message_id": format!("bench-{}-{i}", std::process::id()), "message_ts": ts,
                       "action": "search", "sender_id": a.sender_id, "receiver_id": "registry", "total_count": 1},
            "message": {"transaction_id": format!("t-{i}"), "search_request": [{
                "reference_id": format!("r-{i}"), "timestamp": ts,
                "search_criteria": {"query_type": "idtype-value", "query": {"type": "UIN", "value": dci_server::demo::uin(idx)}}}]}
        });
        signer
            .sign_value(&mut env, None)
            .map_err(|e| e.to_string())?;
        bodies.push(bytes_of(&env));
    }
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{}/registry/sync/search", a.url);
    let cpu0 = a.server_pid.and_then(cpu_ticks);
    let me = std::process::id();
    let my0 = cpu_ticks(me);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.connections {
        let (http, bodies, next, url, token) = (
            http.clone(),
            bodies.clone(),
            next.clone(),
            url.clone(),
            token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut found = 0usize;
            let mut sample: Option<String> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                let t0 = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await;
                match r {
                    Ok(resp) if resp.status().is_success() => {
                        let b = resp.bytes().await.unwrap_or_default();
                        if memchr_found(&b) {
                            found += 1;
                        } else if sample.is_none() {
                            sample =
                                Some(String::from_utf8_lossy(&b[..b.len().min(600)]).into_owned());
                        }
                    }
                    _ => errors += 1,
                }
                lat.push(t0.elapsed());
            }
            (lat, errors, found, sample)
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    let (mut errors, mut found) = (0, 0);
    let mut sample = None;
    for t in tasks {
        let (l, e, f, s) = t.await.map_err(|e| e.to_string())?;
        lat.extend(l);
        errors += e;
        found += f;
        sample = sample.or(s);
    }
    if let Some(s) = sample {
        eprintln!("a response without a record: {s}");
    }
    let elapsed = start.elapsed();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "requests={} connections={} elapsed={:.2}s throughput={:.0}/s p50={:.2}ms p99={:.2}ms errors={} found={}",
        lat.len(),
        a.connections,
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        errors,
        found
    );
    if let (Some(c0), Some(c1)) = (my0, cpu_ticks(me)) {
        let cpu_s = (c1 - c0) as f64 / 100.0;
        println!(
            "generator_cpu={:.1}s ({:.0} us per request)",
            cpu_s,
            cpu_s * 1e6 / lat.len().max(1) as f64
        );
    }
    if let Some(pid) = a.server_pid {
        if let (Some(c0), Some(c1)) = (cpu0, cpu_ticks(pid)) {
            // Clock ticks are 1/100 s on Linux.
            let cpu_s = (c1 - c0) as f64 / 100.0;
            println!(
                "server_cpu={:.1}s ({:.0} us per request, {:.2} cores busy)",
                cpu_s,
                cpu_s * 1e6 / lat.len().max(1) as f64,
                cpu_s / elapsed.as_secs_f64()
            );
        }
        if let Some(kb) = rss_kb(pid) {
            println!("server_rss={:.1}MiB", kb as f64 / 1024.0);
        }
    }
    Ok(())
}

fn bytes_of(v: &Value) -> bytes_vec::Bytes {
    bytes_vec::Bytes::from(v.to_string())
}

/// Whether a response found a record (cheap check without parsing).
fn memchr_found(b: &[u8]) -> bool {
    b.windows(16).any(|w| w == b"\"total_count\":1}")
}

mod bytes_vec {
    pub type Bytes = axum::body::Bytes;
}
