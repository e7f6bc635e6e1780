//! The outbound-connection policy: where the server may send a request (callbacks,
//! notifications, sender JWKS fetches). Server-side request forgery: a
//! registry built on this crate applies it to every callback address it is given.
//!
//! A client names the callback address (`header.sender_uri`), so without a policy it could
//! make the server POST to its own loopback services, the private network or a cloud metadata
//! endpoint. The rules, applied the same way to every outbound request:
//! - only `http` and `https`; no userinfo (`user:secret@host` would be sent on as Basic auth);
//! - never to loopback, private (RFC 1918), link-local, unique-local, CGNAT (100.64/10),
//!   multicast, broadcast / reserved or unspecified addresses, v4 or v6 (v4 inside v6 is
//!   checked as v4), unless the operator allows it (`--allow-private-callbacks`);
//! - the check is made on the address connected to: IP-literal hosts before sending (the
//!   resolver is not called for them), names in [`PolicyResolver`] after resolution, so a name
//!   that resolves (or re-resolves, DNS rebinding) to a refused address is never connected to;
//! - no redirects, no proxy (a proxy would connect for us, past the check).
//!
//! Hosts are parsed by the url crate (WHATWG rules), so `2130706433`, `0x7f000001`,
//! `0177.0.0.1` and `127.1` are all 127.0.0.1 before they are checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use url::Url;

/// Why an outbound URL or address is refused (shown to the peer at admission, and kept as the
/// last error of an outbox entry at delivery).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The kind of address `ip` is, when the server must not connect to it.
pub fn refused_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if a == 0 => "unspecified (0.0.0.0/8)",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private (RFC 1918)",
        _ if ip.is_link_local() => "link-local (169.254/16, cloud metadata)",
        _ if a == 100 && (b & 0xc0) == 64 => "shared CGNAT (100.64/10)",
        _ if ip.is_multicast() => "multicast",
        _ if a >= 240 => "broadcast or reserved (240/4)",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // IPv4 carried in IPv6 reaches the IPv4 address: v4-mapped ::ffff:a.b.c.d, the deprecated
    // v4-compatible ::a.b.c.d, and the NAT64 well-known prefix 64:ff9b::/96.
    let embedded = match s {
        [0, 0, 0, 0, 0, 0xffff, ..] | [0x64, 0xff9b, 0, 0, 0, 0, ..] => true,
        [0, 0, 0, 0, 0, 0, hi, lo] => hi != 0 || lo > 1,
        _ => false,
    };
    if embedded {
        let [.., a, b, c, d] = ip.octets();
        return refused_v4(Ipv4Addr::new(a, b, c, d));
    }
    Some(match s[0] {
        _ if ip.is_unspecified() => "unspecified (::)",
        _ if ip.is_loopback() => "loopback (::1)",
        x if x & 0xfe00 == 0xfc00 => "unique-local (fc00::/7)",
        x if x & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        x if x & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        x if x & 0xff00 == 0xff00 => "multicast (ff00::/8)",
        _ => return None,
    })
}

/// The URL rules that hold whatever the address: parses, http or https, a host, no userinfo.
pub fn check_syntax(url: &str) -> Result<Url, Refused> {
    let u = Url::parse(url).map_err(|e| Refused(format!("{url:?} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(Refused(format!(
            "scheme {:?} is refused; only http and https",
            u.scheme()
        )));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Refused(
            "a URL with userinfo (user:password@) is refused".into(),
        ));
    }
    if u.host().is_none() {
        return Err(Refused(format!("{url:?} has no host")));
    }
    Ok(u)
}

/// `url` lies under `base`: same scheme, host and port, and its path is the base's path or
/// continues it after a `/` (so `/registry` covers `/registry/on-search`, not `/registry2`).
pub fn under_base(url: &Url, base: &Url) -> bool {
    let (p, b) = (url.path(), base.path().trim_end_matches('/'));
    url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && (p == b || p.strip_prefix(b).is_some_and(|rest| rest.starts_with('/')))
}

/// The key deliveries are grouped by (their concurrency limit): scheme, host and port, as the
/// prefix every URL of that destination starts with once normalised (`http://h:8080/`).
pub fn destination(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => format!("{}/", u.origin().ascii_serialization()),
        Err(_) => url.to_string(),
    }
}

/// The outbound policy of one server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Egress {
    /// `--allow-private-callbacks`: loopback, private and the other refused ranges are allowed.
    pub allow_private: bool,
}

impl Egress {
    /// The checks made before every request: [`check_syntax`], then an IP-literal host against
    /// the refused ranges (reqwest does not call the resolver for IP literals). Names are
    /// checked by [`PolicyResolver`] on the addresses they resolve to.
    pub fn check(&self, url: &str) -> Result<Url, Refused> {
        let u = check_syntax(url)?;
        let why = match u.host() {
            _ if self.allow_private => None,
            Some(url::Host::Ipv4(ip)) => refused_v4(ip),
            Some(url::Host::Ipv6(ip)) => refused_v6(ip),
            _ => None,
        };
        match why {
            Some(why) => Err(Refused(format!(
                "host {} is a {why} address; the server does not connect there",
                u.host_str().unwrap_or_default()
            ))),
            None => Ok(u),
        }
    }

    /// A `header.sender_uri` as admission takes it: [`Egress::check`], the `localhost` names
    /// (RFC 6761 §6.3: always loopback, so refused without asking DNS), and under the sender's
    /// registered callback base when it has one. Returns the normalised URL.
    pub fn check_sender_uri(&self, uri: &str, registered: Option<&str>) -> Result<Url, Refused> {
        let u = self.check(uri)?;
        if let (false, Some(url::Host::Domain(d))) = (self.allow_private, u.host()) {
            let d = d.trim_end_matches('.');
            if d == "localhost" || d.ends_with(".localhost") {
                return Err(Refused(format!(
                    "host {d} is a loopback (localhost) address; the server does not connect there"
                )));
            }
        }
        if let Some(base) = registered {
            let b = check_syntax(base)
                .map_err(|e| Refused(format!("the registered callback URI is unusable: {e}")))?;
            if !under_base(&u, &b) {
                return Err(Refused(format!(
                    "{u} is not under the sender's registered callback URI {b}"
                )));
            }
        }
        Ok(u)
    }

    /// The addresses to connect to for `url`, resolved now (system resolver, blocking) and
    /// each checked against the refused ranges: for a host that sends callbacks with an HTTP
    /// client of its own, right before it connects (connect to one of these, so a name that
    /// re-resolves elsewhere is never followed). Fails when none is left.
    pub fn resolve_checked(&self, url: &str) -> Result<Vec<SocketAddr>, Refused> {
        let u = self.check(url)?;
        let host = u.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = u.port_or_known_default().unwrap_or(80);
        let all: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| Refused(format!("{host} does not resolve: {e}")))?
            .collect();
        self.allowed_addrs(host, all)
    }

    /// The addresses of `all` (what `host` resolved to) the policy allows; an error naming
    /// each refused one when none is left.
    pub fn allowed_addrs(
        &self,
        host: &str,
        all: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refused> {
        let (kept, dropped): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|a| self.allow_private || refused_ip(a.ip()).is_none());
        if kept.is_empty() {
            let why: Vec<String> = dropped
                .iter()
                .map(|a| format!("{} ({})", a.ip(), refused_ip(a.ip()).unwrap_or("none")))
                .collect();
            return Err(Refused(format!(
                "{host} resolves only to refused addresses: {}",
                why.join(", ")
            )));
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Egress = Egress {
        allow_private: false,
    };

    fn refused(url: &str) -> String {
        match STRICT.check_sender_uri(url, None) {
            Err(Refused(m)) => m,
            Ok(u) => panic!("{url} was accepted as {u}"),
        }
    }

    #[test]
    fn every_refused_form_is_refused_with_its_reason() {
        let cases = [
            (
                "http://localhost:8080/cb",
                "host localhost is a loopback (localhost) address",
            ),
            ("http://LOCALHOST./cb", "loopback (localhost)"),
            ("http://api.localhost/cb", "loopback (localhost)"),
            (
                "http://127.0.0.1/cb",
                "host 127.0.0.1 is a loopback address",
            ),
            (
                "http://2130706433/cb",
                "host 127.0.0.1 is a loopback address",
            ),
            (
                "http://0x7f000001/cb",
                "host 127.0.0.1 is a loopback address",
            ),
            (
                "http://0177.0.0.1/cb",
                "host 127.0.0.1 is a loopback address",
            ),
            ("http://127.1/cb", "host 127.0.0.1 is a loopback address"),
            ("http://[::1]/cb", "host [::1] is a loopback (::1) address"),
            (
                "http://[::ffff:127.0.0.1]/cb",
                "host [::ffff:7f00:1] is a loopback address",
            ),
            ("http://[::127.0.0.1]/cb", "is a loopback address"),
            ("http://[64:ff9b::10.0.0.1]/cb", "private (RFC 1918)"),
            (
                "http://10.1.2.3/cb",
                "host 10.1.2.3 is a private (RFC 1918) address",
            ),
            ("http://172.16.0.1/cb", "private (RFC 1918)"),
            ("http://172.31.255.255/cb", "private (RFC 1918)"),
            ("http://192.168.1.1/cb", "private (RFC 1918)"),
            (
                "http://169.254.169.254/latest/meta-data",
                "link-local (169.254/16, cloud metadata)",
            ),
            ("http://100.64.0.1/cb", "shared CGNAT (100.64/10)"),
            ("http://[fc00::1]/cb", "unique-local (fc00::/7)"),
            ("http://[fd12:3456::1]/cb", "unique-local (fc00::/7)"),
            ("http://[fe80::1]/cb", "link-local (fe80::/10)"),
            ("http://0.0.0.0/cb", "unspecified (0.0.0.0/8)"),
            ("http://[::]/cb", "unspecified (::)"),
            ("http://224.0.0.1/cb", "multicast"),
            ("http://[ff02::1]/cb", "multicast (ff00::/8)"),
            ("http://255.255.255.255/cb", "broadcast or reserved (240/4)"),
            (
                "http://user:secret@example.org/cb",
                "a URL with userinfo (user:password@) is refused",
            ),
            ("http://user@example.org/cb", "userinfo"),
            (
                "ftp://example.org/cb",
                "scheme \"ftp\" is refused; only http and https",
            ),
            ("file:///etc/passwd", "scheme \"file\" is refused"),
            ("gopher://example.org/", "scheme \"gopher\" is refused"),
            ("not a url", "is not a URL"),
        ];
        for (url, want) in cases {
            let got = refused(url);
            assert!(got.contains(want), "{url}: {got:?} does not say {want:?}");
        }
    }

    #[test]
    fn public_addresses_pass_and_the_allow_flag_lets_private_ones_through() {
        for url in [
            "https://sp.example.org/registry",
            "http://93.184.215.14:8080/cb",
            "http://172.32.0.1/cb",
            "http://100.128.0.1/cb",
            "http://[2001:db8::1]/cb",
            "http://[::ffff:93.184.215.14]/cb",
        ] {
            assert!(STRICT.check(url).is_ok(), "{url}");
        }
        let open = Egress {
            allow_private: true,
        };
        assert!(open.check("http://127.0.0.1:9/cb").is_ok());
        assert!(open.check_sender_uri("http://localhost/cb", None).is_ok());
        // Before a request, names are left to the resolver (which refuses what they resolve to).
        assert!(STRICT.check("http://localhost/cb").is_ok());
        // Syntax rules hold even then.
        assert!(open.check("http://u:p@127.0.0.1/").is_err());
        assert!(open.check("file:///etc/passwd").is_err());
    }

    #[test]
    fn sender_uri_must_lie_under_the_registered_base_on_a_segment_boundary() {
        let base = Some("https://sp.example.org/registry");
        let ok = |u: &str| STRICT.check_sender_uri(u, base).map(|u| u.to_string());
        assert_eq!(
            ok("https://sp.example.org/registry"),
            Ok("https://sp.example.org/registry".into())
        );
        assert!(ok("https://SP.example.org:443/registry/on-search").is_ok());
        assert!(ok("https://sp.example.org/registry/").is_ok());
        for bad in [
            "https://sp.example.org/registry2",
            "https://sp.example.org/registry-evil/on-search",
            "https://sp.example.org/registry/../admin",
            "http://sp.example.org/registry",
            "https://sp.example.org:8443/registry",
            "https://evil.example.org/registry",
        ] {
            let e = ok(bad).unwrap_err();
            assert!(
                e.0.contains("is not under the sender's registered callback URI https://sp.example.org/registry"),
                "{bad}: {e}"
            );
        }
        // Without a registered base, any allowed URL.
        assert!(STRICT
            .check_sender_uri("https://elsewhere.example.net/cb", None)
            .is_ok());
    }

    #[test]
    fn destinations_group_by_scheme_host_and_port() {
        assert_eq!(destination("http://H:80/a/b?x"), "http://h/");
        assert_eq!(destination("http://h:8080/a"), "http://h:8080/");
        assert_eq!(destination("https://[::1]:9/x"), "https://[::1]:9/");
    }

    #[test]
    fn resolved_addresses_are_checked_before_connecting() {
        let open = Egress {
            allow_private: true,
        };
        let a: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(open.resolve_checked("http://127.0.0.1:9/cb"), Ok(vec![a]));
        let e = STRICT
            .resolve_checked("http://127.0.0.1:9/cb")
            .unwrap_err()
            .0;
        assert!(e.contains("loopback"), "{e}");
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let mixed = vec![a, public];
        assert_eq!(STRICT.allowed_addrs("h", mixed.clone()), Ok(vec![public]));
        let e = STRICT.allowed_addrs("h", vec![a]).unwrap_err().0;
        assert_eq!(
            e,
            "h resolves only to refused addresses: 127.0.0.1 (loopback)"
        );
        assert_eq!(open.allowed_addrs("h", mixed.clone()), Ok(mixed));
    }
}
