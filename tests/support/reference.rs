//! The reference registry server (`dci_server`, what `dci serve --demo` runs), started
//! in-process once per test binary: a tokio runtime on a background thread, a port the OS
//! picks, a fresh SQLite file and the deterministic demo dataset (3,000 persons; the person at
//! index 0 has UIN `TEST-001`, the others `100000000 + index`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use dci::client::{AuthConfig, DataSource, RegistryKeyConfig, RegistryType, Secret, VerifyMode};
use dci::keys::SigningKey;
use dci_server::{demo, ServeConfig};

/// What a client needs to talk to the running reference server.
pub struct ReferenceServer {
    /// `http://127.0.0.1:PORT` (CRVS answers under `/registry/...`, the others under
    /// `/{type}/registry/...`).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The demo sender (signature optional) and its Ed25519 key, registered as `demo-key-1`.
    pub sender_id: String,
    pub sender_key: SigningKey,
    pub sender_key_id: &'static str,
    /// The server's own `sender_id` in its responses.
    pub server_id: String,
}

impl ReferenceServer {
    /// A data source for one registry type of the server, with OAuth2 client credentials and
    /// signature verification against the server's JWKS required.
    pub fn data_source(&self, registry: &str) -> DataSource {
        let prefix = if registry == "crvs" {
            String::new()
        } else {
            format!("/{registry}")
        };
        let mut d = DataSource::new(format!("{}{prefix}", self.base_url), &self.sender_id);
        d.registry_type = RegistryType::parse(registry).expect("a registry type");
        d.auth = AuthConfig::OAuth2 {
            token_url: Some(format!("{}/oauth2/client/token", self.base_url)),
            client_id: self.client_id.clone(),
            client_secret: Secret::new(self.client_secret.clone()),
            scope: None,
        };
        d.registry_key = Some(RegistryKeyConfig {
            jwks_url: Some(format!("{}/.well-known/jwks.json", self.base_url)),
            mode: VerifyMode::Required,
            ..Default::default()
        });
        d.timeout_secs = 30.0;
        d
    }
}

/// The server of this test binary, started on first use.
pub fn reference_server() -> &'static ReferenceServer {
    static SERVER: OnceLock<ReferenceServer> = OnceLock::new();
    SERVER.get_or_init(|| start_with("reference", |_| {}))
}

/// Another reference server, for a test that needs other settings (`tweak`), named `name`
/// (its database file) and running until the test binary exits.
pub fn start_with(name: &str, tweak: impl FnOnce(&mut ServeConfig)) -> ReferenceServer {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(fresh_dir);
    let mut config = ServeConfig {
        db: dir.join(format!("{name}.db")),
        // The demo dataset is seeded here (to keep its client secret); the server is told
        // nothing about it, so it prints no banner.
        demo: false,
        // The tests' callback listeners are on 127.0.0.1.
        allow_private_callbacks: true,
        ..ServeConfig::default()
    };
    tweak(&mut config);
    let store = dci_server::open_store(&config).expect("open the reference server's store");
    let info = demo::prepare(store.as_ref(), &config).expect("seed the demo dataset");
    drop(store);
    let pem = std::fs::read_to_string(&info.sender_key).expect("the demo sender's key");
    let sender_key = SigningKey::from_pem(&pem).expect("the demo sender's key parses");
    let server_id = config.server_id.clone();

    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("reference-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                let _ = addr_tx.send(listener.local_addr().expect("local addr"));
                // Runs until the test binary exits.
                let r = dci_server::serve_on(config, listener, std::future::pending()).await;
                panic!("the reference server stopped: {r:?}");
            })
        })
        .expect("spawn the server thread");
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the reference server bound its port");
    ReferenceServer {
        base_url: format!("http://{addr}"),
        client_id: info.client_id,
        client_secret: info.client_secret,
        sender_id: info.sender_id,
        sender_key,
        sender_key_id: "demo-key-1",
        server_id,
    }
}

/// A new directory under cargo's per-target tmp dir, named for this process; those of test
/// processes that have exited are removed first (a static is never dropped, so each run
/// cleans up after the previous ones).
fn fresh_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix("reference-server-") else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() && Path::new("/proc/self").exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = root.join(format!("reference-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the server's directory");
    dir
}
