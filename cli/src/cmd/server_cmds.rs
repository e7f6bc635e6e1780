//! `dci serve`, `dci seed`, `dci senders`, `dci clients`, `dci import` (and the hidden
//! `dci bench` load generator).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use dci_server::auth::{hash_secret, new_secret};
use dci_server::config::{ServeConfig, REGISTRIES};
use dci_server::store::{Client, Sender, SignaturePolicy, Store};
use dci_server::{admin, demo};

#[derive(Subcommand)]
pub enum ServerCommand {
    /// Run the reference registry server.
    Serve(Box<ServeArgs>),
    /// Fill a database with the deterministic demo dataset (larger sets).
    Seed(SeedArgs),
    /// Manage the sender registry.
    #[command(subcommand)]
    Senders(SendersCmd),
    /// Manage OAuth2 clients.
    #[command(subcommand)]
    Clients(ClientsCmd),
    /// Import records (JSON: {"registry","record_type","event_type","records":[...]}, or an
    /// array of such batches) and notify matching subscribers.
    Import(ImportArgs),
    /// Load generator for sync search (see BENCHMARKS.md).
    #[command(hide = true)]
    Bench(crate::cmd::bench::BenchArgs),
}

#[derive(Args)]
pub struct DbArg {
    /// The SQLite database file (created and migrated if absent), or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/dbname`, migrated at start; docs/server.md).
    #[arg(long, default_value = "dci-registry.db")]
    pub db: PathBuf,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Generate the demo dataset (on an empty database), demo client and demo sender.
    #[arg(long)]
    pub demo: bool,
    /// The registry served on the plain /registry/... paths (crvs, social, ibr, dr, fr).
    #[arg(long, default_value = "crvs")]
    pub registry: String,
    /// Our sender id in responses and callbacks.
    #[arg(long, default_value = "registry.example.org")]
    pub server_id: String,
    /// Our key id (kid = {server_id}|{key_id}|{alg}).
    #[arg(long, default_value = "server-key-1")]
    pub key_id: String,
    /// PKCS#8 PEM signing key (default: a key kept in the database).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// PKCS#8 PEM decryption key (RSA: RSA-OAEP-256, X25519: ECDH-ES+A256KW), published in the
    /// JWKS with use "enc" (default: none; with --demo an RSA and an X25519 key kept in the
    /// database).
    #[arg(long)]
    pub encryption_key: Option<PathBuf>,
    /// The kid of --encryption-key.
    #[arg(long, default_value = "server-enc-1")]
    pub encryption_key_id: String,
    /// Signature profile of responses and callbacks: spdci, jws-detached, jws-compact.
    #[arg(long, default_value = "spdci")]
    pub profile: String,
    /// Accepted clock skew (seconds) for message_ts and signatures; also the replay window.
    #[arg(long, default_value_t = 300)]
    pub clock_skew: i64,
    /// Largest request body (bytes).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body: usize,
    /// Largest uploaded file (multipart/form-data on an async endpoint, bytes); each of its
    /// envelopes or rows is still held to --max-body.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub max_upload: usize,
    /// Access token lifetime (seconds).
    #[arg(long, default_value_t = 3600)]
    pub token_ttl: i64,
    /// First callback retry delay (ms); doubles per attempt.
    #[arg(long, default_value_t = 1000)]
    pub retry_base_ms: u64,
    /// Longest callback retry delay (ms).
    #[arg(long, default_value_t = 300_000)]
    pub retry_max_ms: u64,
    /// How often the outbox is checked for due entries (ms).
    #[arg(long, default_value_t = 500)]
    pub outbox_poll_ms: u64,
    /// Bearer token sent with callbacks, only to URLs under the receiving sender's registered
    /// callback URI (`dci senders add --callback-uri`).
    #[arg(long)]
    pub callback_token: Option<String>,
    /// Let callbacks, notifications and JWKS fetches go to loopback, private, link-local and
    /// other internal addresses (refused by default; on with --demo).
    #[arg(long)]
    pub allow_private_callbacks: bool,
    /// Time limit of one callback delivery (ms).
    #[arg(long, default_value_t = 10_000)]
    pub callback_timeout_ms: u64,
    /// Callback deliveries in flight at once to one destination (scheme, host, port).
    #[arg(long, default_value_t = 4)]
    pub callback_concurrency: usize,
    /// Log as JSON lines.
    #[arg(long)]
    pub log_json: bool,
    /// Seconds from connect (or a next request's first byte) to the end of its headers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
    /// Seconds from the end of a request's headers to the end of its body.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,
    /// Connections served at once; more wait unaccepted until one closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub max_connections: u64,
    /// Largest request line and headers (bytes); more get 431.
    #[arg(long, default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1024..=1_048_576))]
    pub max_header_bytes: u64,
    /// Also index this attribute for searches: PATH (every registry) or REGISTRY:PATH
    /// (fr:farm.land_size); repeatable. Filled in at start, kept from then on.
    #[arg(long = "index", value_name = "PATH")]
    pub indexes: Vec<String>,
    /// Longest one search query may run in the database (ms; 0 = no limit).
    #[arg(long, default_value_t = 10_000)]
    pub query_timeout_ms: u64,
    /// Largest page_size a search item may ask for; larger ones are rejected.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_page_size: u64,
    /// Most items in one search request.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_search_items: u64,
    /// Most records in one response (all items together).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_response_records: u64,
    /// Most bytes of records in one response (all items together).
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_response_bytes: u64,
    /// Searches (other than identifier lookups) run at once, each on its own connection.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub search_workers: u64,
    /// Requests a second per OAuth2 client, RPS or RPS:BURST (default: no limit); more get 429.
    #[arg(long, value_name = "RPS[:BURST]", value_parser = dci_server::ratelimit::Rate::parse)]
    pub rate_limit_client: Option<dci_server::ratelimit::Rate>,
    /// Requests a second per sender, RPS or RPS:BURST (default: no limit); more get 429.
    #[arg(long, value_name = "RPS[:BURST]", value_parser = dci_server::ratelimit::Rate::parse)]
    pub rate_limit_sender: Option<dci_server::ratelimit::Rate>,
    /// List every deviation from the spec an accepted request had (X-DCI-Deviations
    /// response header); on with --demo. Nothing is refused for it.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// How many persons (households, enrollments, disability and farmer records follow).
    #[arg(long, default_value_t = demo::DEMO_PERSONS)]
    pub persons: usize,
    /// Which registries to fill (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "crvs,social,ibr,dr,fr")]
    pub registries: Vec<String>,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum SendersCmd {
    /// Register (or replace) a sender.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// The sender id (header.sender_id).
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// SPKI PEM public key file.
        #[arg(long, conflicts_with = "jwks")]
        pubkey: Option<PathBuf>,
        /// The key id of --pubkey (kid = {sender}|{key_id}|{alg}).
        #[arg(long, default_value = "key-1")]
        key_id: String,
        /// A JWKS file (keys with their kid = key id).
        #[arg(long, conflicts_with = "jwks_url")]
        jwks: Option<PathBuf>,
        /// Where the running server fetches the sender's JWKS (at start and every 5 minutes).
        #[arg(long, conflicts_with = "pubkey")]
        jwks_url: Option<String>,
        /// Allowed operations (search, verify, subscribe, unsubscribe, txn-status, enrolled,
        /// enrollment-updates, disabled, disability-support, disability-details, notify,
        /// callback) or *.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        ops: Vec<String>,
        /// Registries it may read, or *.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        registries: Vec<String>,
        /// Top-level record fields it may receive, or *.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        fields: Vec<String>,
        /// Require a consent object in each search item.
        #[arg(long)]
        consent_required: bool,
        /// required (default) or optional.
        #[arg(long, default_value = "required")]
        signature: String,
        /// The sender's callback base URL agreed at onboarding: its requests' sender_uri must
        /// lie under it, it is used when a request has none, and only it gets --callback-token.
        #[arg(long)]
        callback_uri: Option<String>,
    },
    /// List senders.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Disable a sender (its requests get err.sender_id.invalid).
    Disable {
        #[command(flatten)]
        db: DbArg,
        id: String,
    },
    /// Enable a sender again.
    Enable {
        #[command(flatten)]
        db: DbArg,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ClientsCmd {
    /// Create a client; prints its secret once (only a hash is stored).
    Add {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Scopes: registry (every registry operation), registry.search, ..., admin.
        #[arg(long, value_delimiter = ',', default_value = "registry")]
        scopes: Vec<String>,
        /// Bind the client to one header.sender_id.
        #[arg(long)]
        sender: Option<String>,
    },
    /// List clients (never their secrets).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke a client: its tokens stop working.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        id: String,
    },
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The JSON file.
    pub file: PathBuf,
    /// Our sender id in the notify headers.
    #[arg(long, default_value = "registry.example.org")]
    pub server_id: String,
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        let _ = b.json().try_init();
    } else {
        let _ = b.try_init();
    }
}

fn open(db: &DbArg) -> Result<std::sync::Arc<dyn Store>, String> {
    dci_server::open_store(&ServeConfig {
        db: db.db.clone(),
        ..ServeConfig::default()
    })
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("dci: {msg}");
    ExitCode::FAILURE
}

pub fn run(cmd: ServerCommand) -> ExitCode {
    let r = match cmd {
        ServerCommand::Serve(a) => serve(*a),
        ServerCommand::Seed(a) => seed(a),
        ServerCommand::Senders(c) => senders(c),
        ServerCommand::Clients(c) => clients(c),
        ServerCommand::Import(a) => import(a),
        ServerCommand::Bench(a) => crate::cmd::bench::run(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn serve(a: ServeArgs) -> Result<(), String> {
    init_logs(a.log_json);
    if !REGISTRIES.contains(&a.registry.as_str()) {
        return Err(format!(
            "--registry {} is not one of {}",
            a.registry,
            REGISTRIES.join(", ")
        ));
    }
    let profile =
        dci::signature::Profile::parse(&a.profile).map_err(|e| format!("--profile: {e}"))?;
    let config = ServeConfig {
        db: a.db.db,
        listen: a.listen,
        default_registry: a.registry,
        server_id: a.server_id,
        key_id: a.key_id,
        key_file: a.key,
        encryption_key_file: a.encryption_key,
        encryption_key_id: a.encryption_key_id,
        profile,
        clock_skew_secs: a.clock_skew,
        max_body_bytes: a.max_body,
        max_upload_bytes: a.max_upload,
        token_ttl_secs: a.token_ttl,
        retry_base_ms: a.retry_base_ms,
        retry_max_ms: a.retry_max_ms,
        outbox_poll_ms: a.outbox_poll_ms,
        callback_token: a.callback_token,
        demo: a.demo,
        header_timeout_secs: a.header_timeout_secs,
        body_timeout_secs: a.body_timeout_secs,
        idle_timeout_secs: a.idle_timeout_secs,
        max_connections: a.max_connections as usize,
        max_header_bytes: a.max_header_bytes as usize,
        allow_private_callbacks: a.allow_private_callbacks,
        callback_timeout_ms: a.callback_timeout_ms,
        callback_concurrency: a.callback_concurrency,
        indexes: a.indexes,
        query_timeout_ms: a.query_timeout_ms,
        max_page_size: a.max_page_size as usize,
        max_search_items: a.max_search_items as usize,
        max_response_records: a.max_response_records as usize,
        max_response_bytes: a.max_response_bytes as usize,
        search_workers: a.search_workers as usize,
        rate_limit_client: a.rate_limit_client,
        rate_limit_sender: a.rate_limit_sender,
        strict: a.strict || a.demo,
        ..ServeConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(dci_server::serve(config))
}

fn seed(a: SeedArgs) -> Result<(), String> {
    for r in &a.registries {
        if !REGISTRIES.contains(&r.as_str()) {
            return Err(format!(
                "--registries: {r} is not one of {}",
                REGISTRIES.join(", ")
            ));
        }
    }
    let store = open(&a.db)?;
    let regs: Vec<&str> = a.registries.iter().map(String::as_str).collect();
    let bar = indicatif::ProgressBar::new(a.persons as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} persons ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut err = None;
    let mut total = 0usize;
    demo::generate(a.persons, &regs, |batch, persons| {
        if err.is_some() {
            return;
        }
        total += batch.len();
        if let Err(e) = store.upsert_records(&batch) {
            err = Some(e.to_string());
        }
        bar.inc(persons as u64);
    });
    bar.finish();
    if let Some(e) = err {
        return Err(e);
    }
    println!(
        "seeded {total} records for {} persons into {}",
        a.persons,
        dci_server::store::postgres::redacted(&a.db.db.display().to_string())
    );
    Ok(())
}

fn senders(c: SendersCmd) -> Result<(), String> {
    match c {
        SendersCmd::Add {
            db,
            id,
            name,
            pubkey,
            key_id,
            jwks,
            jwks_url,
            ops,
            registries,
            fields,
            consent_required,
            signature,
            callback_uri,
        } => {
            // The syntax rules of outbound URLs; addresses are checked by the running server
            // (it knows whether --allow-private-callbacks is on).
            let checked = |flag: &str, u: Option<String>| {
                u.map(|u| dci_server::egress::check_syntax(&u).map(String::from))
                    .transpose()
                    .map_err(|e| format!("{flag}: {e}"))
            };
            let jwks_url = checked("--jwks-url", jwks_url)?;
            let callback_uri = checked("--callback-uri", callback_uri)?;
            let policy = SignaturePolicy::parse(&signature)
                .ok_or("--signature must be required or optional")?;
            let jwks = match (pubkey, jwks) {
                (Some(p), _) => {
                    let pem =
                        std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                    let k = dci::keys::VerifyingKey::from_pem(&pem)
                        .map_err(|e| format!("{}: {e}", p.display()))?;
                    json!({"keys": [k.to_jwk(Some(&key_id))]})
                }
                (None, Some(f)) => {
                    let text =
                        std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                    let v: Value =
                        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
                    dci::keys::Jwks::from_json(&v).map_err(|e| format!("{}: {e}", f.display()))?;
                    v
                }
                (None, None) => {
                    if policy == SignaturePolicy::Required && jwks_url.is_none() {
                        return Err(
                            "a sender with --signature required needs --pubkey, --jwks or --jwks-url"
                                .into(),
                        );
                    }
                    json!({"keys": []})
                }
            };
            let store = open(&db)?;
            store
                .put_sender(&Sender {
                    name: if name.is_empty() { id.clone() } else { name },
                    sender_id: id.clone(),
                    jwks,
                    jwks_url,
                    allowed_ops: ops,
                    registries,
                    fields,
                    consent_required,
                    signature_policy: policy,
                    active: true,
                    callback_uri,
                })
                .map_err(|e| e.to_string())?;
            println!("sender {id} registered");
        }
        SendersCmd::List { db } => {
            for s in open(&db)?.senders().map_err(|e| e.to_string())? {
                let kids: Vec<String> = s.jwks["keys"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| k["kid"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}\tops={}\tregistries={}\tfields={}\tsignature={}\tconsent={}\tkeys={}\tcallback_uri={}",
                    s.sender_id,
                    if s.active { "active" } else { "disabled" },
                    s.name,
                    s.allowed_ops.join(","),
                    s.registries.join(","),
                    s.fields.join(","),
                    s.signature_policy.name(),
                    s.consent_required,
                    kids.join(","),
                    s.callback_uri.as_deref().unwrap_or("-")
                );
            }
        }
        SendersCmd::Disable { db, id } => {
            let found = open(&db)?.set_sender_active(&id, false);
            report_change(found, "sender", &id, "disabled")?;
        }
        SendersCmd::Enable { db, id } => {
            let found = open(&db)?.set_sender_active(&id, true);
            report_change(found, "sender", &id, "enabled")?;
        }
    }
    Ok(())
}

/// Says what `dci senders disable|enable` or `dci clients revoke` did, or that `id` is unknown.
fn report_change(
    found: Result<bool, impl std::fmt::Display>,
    kind: &str,
    id: &str,
    done: &str,
) -> Result<(), String> {
    if !found.map_err(|e| e.to_string())? {
        return Err(format!("no {kind} {id}"));
    }
    println!("{kind} {id} {done}");
    Ok(())
}

fn clients(c: ClientsCmd) -> Result<(), String> {
    match c {
        ClientsCmd::Add {
            db,
            id,
            name,
            scopes,
            sender,
        } => {
            let secret = new_secret();
            open(&db)?
                .put_client(&Client {
                    name: if name.is_empty() { id.clone() } else { name },
                    client_id: id.clone(),
                    secret_hash: hash_secret(&secret),
                    scopes,
                    sender_id: sender,
                    active: true,
                })
                .map_err(|e| e.to_string())?;
            println!("client_id={id}");
            println!("client_secret={secret}");
        }
        ClientsCmd::List { db } => {
            for c in open(&db)?.clients().map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\tscopes={}\tsender={}",
                    c.client_id,
                    if c.active { "active" } else { "revoked" },
                    c.name,
                    c.scopes.join(","),
                    c.sender_id.as_deref().unwrap_or("*")
                );
            }
        }
        ClientsCmd::Revoke { db, id } => {
            let found = open(&db)?.set_client_active(&id, false);
            report_change(found, "client", &id, "revoked")?;
        }
    }
    Ok(())
}

fn import(a: ImportArgs) -> Result<(), String> {
    let text =
        std::fs::read_to_string(&a.file).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", a.file.display()))?;
    let batches = match v {
        Value::Array(b) => b,
        one => vec![one],
    };
    let store = open(&a.db)?;
    let mut all = admin::Applied::default();
    for (i, b) in batches.iter().enumerate() {
        let one = admin::apply_batch(store.as_ref(), &a.server_id, b)
            .map_err(|e| format!("{} batch {i}: {e}", a.file.display()))?;
        all.records += one.records;
        all.notifies += one.notifies;
        all.batched += one.batched;
    }
    println!(
        "imported {} records; {} notifications queued, {} events batched for scheduled \
         subscriptions (a running server delivers them)",
        all.records, all.notifies, all.batched
    );
    Ok(())
}
