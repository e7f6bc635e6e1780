//! HTTP: one pooled blocking reqwest client per DCIClient, and the mapping of network failures
//! onto `Error::Transport { Timeout | Connection | Tls }`.

use std::error::Error as _;
use std::time::Duration;

use crate::client::datasource::DataSource;
use crate::error::{Error, Result, TransportKind};

/// A response: status and body bytes (kept as received, for signature verification).
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// `Retry-After` in seconds, when given.
    pub retry_after: Option<u64>,
}

/// The largest response body read (a registry page of records is far smaller).
pub const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

pub struct Transport {
    http: reqwest::blocking::Client,
}

impl Transport {
    pub fn new(ds: &DataSource) -> Result<Self> {
        let http = reqwest::blocking::Client::builder()
            .timeout(ds.timeout())
            .connect_timeout(ds.timeout().min(Duration::from_secs(10)))
            .danger_accept_invalid_certs(!ds.verify_tls)
            .pool_max_idle_per_host(8)
            .user_agent(concat!("libdci/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config {
                field: "http client".into(),
                reason: e.to_string(),
            })?;
        Ok(Transport { http })
    }

    /// POSTs a JSON body.
    pub fn post_json(
        &self,
        url: &str,
        body: &[u8],
        authorization: Option<&str>,
        transaction_id: Option<&str>,
    ) -> Result<Response> {
        let mut rb = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body.to_vec());
        if let Some(a) = authorization {
            rb = rb.header("Authorization", a);
        }
        let resp = rb.send().map_err(|e| map_err(url, transaction_id, e))?;
        read(url, transaction_id, resp)
    }

    /// POSTs a `multipart/form-data` form (a file upload), streaming its parts; never retried
    /// (the registry acts on each row as it reads it).
    pub fn post_form(
        &self,
        url: &str,
        form: reqwest::blocking::multipart::Form,
        authorization: Option<&str>,
    ) -> Result<Response> {
        let mut rb = self
            .http
            .post(url)
            .header("Accept", "application/json")
            .multipart(form);
        if let Some(a) = authorization {
            rb = rb.header("Authorization", a);
        }
        let resp = rb.send().map_err(|e| map_err(url, None, e))?;
        read(url, None, resp)
    }

    /// POSTs the token request (form body, or query string for OpenCRVS), retrying like any
    /// read: getting a token changes nothing at the server.
    pub fn post_token(
        &self,
        url: &str,
        params: &[(&str, &str)],
        in_query: bool,
        max_retries: u32,
    ) -> Result<(u16, Vec<u8>)> {
        let r = retrying(max_retries, || {
            let rb = self.http.post(url).header("Accept", "application/json");
            let rb = if in_query {
                rb.query(params)
            } else {
                rb.form(params)
            };
            let resp = rb.send().map_err(|e| map_err(url, None, e))?;
            read(url, None, resp)
        })?;
        Ok((r.status, r.body))
    }

    /// GETs a document (JWKS), retrying like any read.
    pub fn get_retrying(&self, url: &str, max_retries: u32) -> Result<Response> {
        retrying(max_retries, || self.get(url))
    }

    /// GETs a document (JWKS).
    pub fn get(&self, url: &str) -> Result<Response> {
        let resp = self
            .http
            .get(url)
            .header("Accept", "application/json")
            .send()
            .map_err(|e| map_err(url, None, e))?;
        read(url, None, resp)
    }
}

/// Whether a status is worth retrying for a read: rate limited or a gateway/availability fault.
pub(crate) fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Sleeps before retry `attempt` (0-based): 200 ms doubling, capped at 2 s; `Retry-After`
/// (seconds) is honoured up to 10 s.
pub(crate) fn backoff(attempt: u32, retry_after: Option<u64>) {
    let base = Duration::from_millis(200u64.saturating_mul(1 << attempt.min(5)));
    let wait = match retry_after {
        Some(s) => Duration::from_secs(s.min(10)),
        None => base.min(Duration::from_secs(2)),
    };
    std::thread::sleep(wait);
}

/// Runs a read, retrying on a refused connection or a transient status, at most `max_retries`.
fn retrying(max_retries: u32, mut f: impl FnMut() -> Result<Response>) -> Result<Response> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(Error::Transport {
                kind: TransportKind::Connection,
                ..
            }) if attempt < max_retries => backoff(attempt, None),
            Ok(r) if is_transient(r.status) && attempt < max_retries => {
                backoff(attempt, r.retry_after)
            }
            other => return other,
        }
        attempt += 1;
    }
}

fn read(
    url: &str,
    transaction_id: Option<&str>,
    resp: reqwest::blocking::Response,
) -> Result<Response> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok());
    let mut body = Vec::new();
    let mut limited = std::io::Read::take(resp, MAX_RESPONSE + 1);
    std::io::Read::read_to_end(&mut limited, &mut body).map_err(|e| {
        // Body read failures (timeouts included) surface as io errors wrapping reqwest's.
        let msg = e.to_string();
        let lower = msg.to_ascii_lowercase();
        let kind = if lower.contains("timed out") || e.kind() == std::io::ErrorKind::TimedOut {
            TransportKind::Timeout
        } else {
            TransportKind::Connection
        };
        Error::Transport {
            kind,
            endpoint: url.to_string(),
            message: format!("reading the response: {msg}"),
            transaction_id: transaction_id.map(str::to_string),
        }
    })?;
    if body.len() as u64 > MAX_RESPONSE {
        return Err(Error::Transport {
            kind: TransportKind::Other,
            endpoint: url.to_string(),
            message: format!("response larger than {MAX_RESPONSE} bytes"),
            transaction_id: transaction_id.map(str::to_string),
        });
    }
    Ok(Response {
        status,
        body,
        retry_after,
    })
}

/// Classifies a reqwest failure. TLS failures surface as connect errors whose source chain
/// names the handshake or certificate, so the chain is inspected.
pub(crate) fn map_err(url: &str, transaction_id: Option<&str>, e: reqwest::Error) -> Error {
    let mut chain = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    let kind = if e.is_timeout() || lower.contains("timed out") {
        TransportKind::Timeout
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
    {
        TransportKind::Tls
    } else if e.is_connect() || lower.contains("connection") {
        TransportKind::Connection
    } else {
        TransportKind::Other
    };
    Error::Transport {
        kind,
        endpoint: url.to_string(),
        message: chain,
        transaction_id: transaction_id.map(str::to_string),
    }
}
