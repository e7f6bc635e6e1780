//! Outbound connections under the policy of `dci::registry::egress` (every callback,
//! notification and sender JWKS fetch): the HTTP client, whose resolver checks the addresses a
//! name resolves to, and the refusal behind a failed request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub use dci::registry::egress::*;

/// The HTTP client of every outbound request: this policy's resolver, no redirects, no
/// proxy, and `timeout` for the whole request (connecting at most 3 s of it).
pub fn client(policy: Egress, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PolicyResolver(policy)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .timeout(timeout)
        .build()
}

/// Resolves names with the system resolver and drops the refused addresses; fails when none
/// is left, so the connection is only ever made to an allowed address.
pub struct PolicyResolver(pub Egress);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept = policy
                .allowed_addrs(&host, all)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The policy refusal behind a failed request, if that is why it failed (a permanent failure:
/// retrying cannot help).
pub fn refusal(err: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut e = Some(err);
    while let Some(x) = e {
        if let Some(r) = x.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        e = x.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Egress = Egress {
        allow_private: false,
    };

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses_and_fails_when_none_is_left() {
        let r = PolicyResolver(STRICT);
        let e = match r.resolve("localhost".parse().unwrap()).await {
            Err(e) => e,
            Ok(a) => panic!("localhost resolved to {:?}", a.collect::<Vec<_>>()),
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("localhost resolves only to refused addresses: ")
                && msg.contains("loopback"),
            "{msg}"
        );
        let open = PolicyResolver(Egress {
            allow_private: true,
        });
        let addrs: Vec<SocketAddr> = open
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    /// The resolver path end to end: a request to `localhost` (a name, so reqwest asks the
    /// resolver) never reaches the listener on it, and the failure is the policy's.
    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_never_connected_to() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let accepted = tokio::spawn(async move { l.accept().await.is_ok() });
        let client = client(STRICT, Duration::from_secs(2)).unwrap();
        let err = client
            .post(format!("http://localhost:{port}/on-search"))
            .body("{}")
            .send()
            .await
            .unwrap_err();
        let why = refusal(&err).expect("refused by the policy");
        assert!(
            why.0
                .contains("localhost resolves only to refused addresses"),
            "{why}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!accepted.is_finished(), "the listener was connected to");
        accepted.abort();
    }

    /// A 307 is not followed (it would re-post the body elsewhere): the caller sees the 307.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut hits = 0;
            while let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_millis(500), l.accept()).await
            {
                hits += 1;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let loc = format!("http://127.0.0.1:{port}/elsewhere");
                let resp = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {loc}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = s.write_all(resp.as_bytes()).await;
            }
            hits
        });
        let open = Egress {
            allow_private: true,
        };
        let resp = client(open, Duration::from_secs(2))
            .unwrap()
            .post(format!("http://127.0.0.1:{port}/on-search"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 307);
        assert_eq!(server.await.unwrap(), 1, "the redirect was followed");
    }
}
