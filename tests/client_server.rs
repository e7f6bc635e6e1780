//! The client and services against the reference server (`dci serve --demo`), opt-in: set
//! DCI_SERVER_BIN to a built `dci` binary (`cargo build -p dci-cli`). Without it these tests
//! pass without doing anything (libdci cannot depend on the CLI crate that depends on it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dci::client::{
    AuthConfig, CallbackListener, CallbackResult, DCIClient, DataSource, RegistryKeyConfig,
    RegistryType, SearchSpec, Secret, SubscribeSpec, TxnStatusQuery, VerifyMode,
};
use dci::services::{CrvsService, DrService, IbrService};

struct Server {
    child: Child,
    base_url: String,
    secret: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server() -> Option<Server> {
    let bin = std::env::var("DCI_SERVER_BIN").ok()?;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("demo.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dci serve");
    let out = BufReader::new(child.stdout.take().unwrap());
    let (mut base_url, mut secret) = (None, None);
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(u) = line.split("listening on ").nth(1) {
            base_url = Some(u.trim().to_string());
        }
        if let Some(s) = line.trim().strip_prefix("client_secret:") {
            secret = Some(s.trim().to_string());
        }
        if base_url.is_some() && secret.is_some() {
            break;
        }
    }
    Some(Server {
        child,
        base_url: base_url.expect("banner has the address"),
        secret: secret.expect("banner has the secret"),
        _dir: dir,
    })
}

fn ds(s: &Server, registry: &str) -> DataSource {
    let prefix = if registry == "crvs" {
        String::new()
    } else {
        format!("/{registry}")
    };
    let mut d = DataSource::new(format!("{}{prefix}", s.base_url), "demo-sender");
    d.registry_type = RegistryType::parse(registry).unwrap();
    d.auth = AuthConfig::OAuth2 {
        token_url: Some(format!("{}/oauth2/client/token", s.base_url)),
        client_id: "demo-client".into(),
        client_secret: Secret::new(s.secret.clone()),
        scope: None,
    };
    d.registry_key = Some(RegistryKeyConfig {
        jwks_url: Some(format!("{}/.well-known/jwks.json", s.base_url)),
        mode: VerifyMode::Required,
        ..Default::default()
    });
    d.timeout_secs = 30.0;
    d
}

#[test]
fn sync_calls_and_services_against_the_reference_server() {
    let Some(s) = server() else {
        eprintln!("DCI_SERVER_BIN not set: skipped");
        return;
    };
    let c = DCIClient::new(ds(&s, "crvs")).unwrap();
    let r = c.search_by_id("UIN", "100000001").unwrap();
    assert_eq!(r.record_count(), 1);
    assert!(r.signature.verified);
    let spec = SearchSpec::date_range("birth_date", "2020-01-01", "2025-12-31").page(1, 100);
    let first = c.search_sync(&spec).unwrap();
    let total = first.page_info().unwrap().total_count;
    assert_eq!(c.search_all(spec).unwrap().len() as u64, total);
    let t = c
        .txn_status(&TxnStatusQuery::search_transaction(
            r.transaction_id.clone().unwrap(),
        ))
        .unwrap();
    assert!(t.signature.verified);
    assert!(c.test_connection().unwrap().reachable);

    let crvs = CrvsService::new(c.clone());
    let b = crvs.verify_birth("UIN", "100000001").unwrap().unwrap();
    assert!(b.birth_date.is_some());
    assert!(crvs
        .verify_birth("UIN", "no-such-person")
        .unwrap()
        .is_none());

    let ibr = IbrService::new(DCIClient::new(ds(&s, "ibr")).unwrap());
    let dup = ibr.check_duplication(&[("UIN", "100000001")]).unwrap();
    assert_eq!(dup.raw_response.len(), 1);
    let dr = DrService::new(DCIClient::new(ds(&s, "dr")).unwrap());
    let _ = dr.get_functional_scores("UIN", "100000001").unwrap();
}

#[test]
fn async_calls_against_the_reference_server() {
    let Some(s) = server() else {
        eprintln!("DCI_SERVER_BIN not set: skipped");
        return;
    };
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut d = ds(&s, "crvs");
    d.our_callback_uri = Some(format!("http://{}/dci", tcp.local_addr().unwrap()));
    let c = DCIClient::new(d).unwrap();
    let l = CallbackListener::from_listener(c.clone(), tcp).unwrap();
    let wait = Duration::from_secs(30);

    let ack = c
        .search_async(&SearchSpec::by_id("UIN", "100000001"))
        .unwrap();
    match l.wait_for(&ack.transaction_id, wait).unwrap() {
        CallbackResult::Search(r) => {
            assert_eq!(r.record_count(), 1);
            assert!(r.signature.verified);
        }
        other => panic!("{other:?}"),
    }
    let ack = c
        .subscribe(&[SubscribeSpec::event(
            "spdci-common:RegistryEventType:LiveBirth",
        )])
        .unwrap();
    let codes = match l.wait_for(&ack.transaction_id, wait).unwrap() {
        CallbackResult::Subscribe(r) => r.codes(),
        other => panic!("{other:?}"),
    };
    assert_eq!(codes.len(), 1);
    let ack = c.unsubscribe(&codes).unwrap();
    assert!(matches!(
        l.wait_for(&ack.transaction_id, wait).unwrap(),
        CallbackResult::Unsubscribe(_)
    ));
}
