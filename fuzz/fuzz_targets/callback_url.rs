//! The outbound URL check (`dci_server::egress`): syntax, refused address ranges, `localhost`,
//! and "under the sender's registered base". Invariants: a URL the policy accepts is http(s)
//! with a host and no userinfo, and its IP-literal host is not in a refused range (unless
//! private callbacks are allowed); an accepted `sender_uri` lies under its base.
//!
//! Input: a URL, optionally a newline and a registered base URL.
#![no_main]

use dci_server::egress::{check_syntax, destination, refused_ip, under_base, Egress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (url, base) = match text.split_once('\n') {
        Some((u, b)) => (u, Some(b)),
        None => (text, None),
    };
    let _ = destination(url);
    let strict = Egress {
        allow_private: false,
    };
    let open = Egress {
        allow_private: true,
    };
    if let Ok(u) = strict.check(url) {
        assert!(matches!(u.scheme(), "http" | "https"));
        assert!(u.username().is_empty() && u.password().is_none());
        let ip = match u.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => panic!("an accepted URL has no host: {u}"),
        };
        if let Some(ip) = ip {
            assert_eq!(refused_ip(ip), None, "{u} passed with a refused address");
        }
        assert!(
            open.check(url).is_ok(),
            "allowing private callbacks refused {u}"
        );
    }
    for policy in [strict, open] {
        if let Ok(u) = policy.check_sender_uri(url, base) {
            if let Some(base) = base {
                let b = check_syntax(base).expect("an accepted sender_uri has a usable base");
                assert!(under_base(&u, &b));
            }
        }
    }
});
