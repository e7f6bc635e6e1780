//! Server settings (from `dci serve` flags).

use std::net::SocketAddr;
use std::path::PathBuf;

use dci::signature::Profile;

/// The registry types one server can serve.
pub use dci::registry::op::REGISTRIES;

/// Everything `dci serve` can set.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db: PathBuf,
    pub listen: SocketAddr,
    /// The registry served under the plain `/registry/...` paths; the others (all in
    /// [`REGISTRIES`]) are under `/{type}/registry/...`.
    pub default_registry: String,
    /// Our sender id in responses and callbacks (first part of our kid).
    pub server_id: String,
    /// The key id of our signing key (second part of our kid).
    pub key_id: String,
    /// A PKCS#8 PEM signing key; None = the key kept in the database (generated on first start).
    pub key_file: Option<PathBuf>,
    /// A PKCS#8 PEM decryption key (RSA: `RSA-OAEP-256`, X25519: `ECDH-ES+A256KW`), published
    /// in our JWKS with `use: enc`; None = no encryption key, unless `demo` (then an RSA and an
    /// X25519 key kept in the database, generated on first start).
    pub encryption_key_file: Option<PathBuf>,
    /// The kid of the `encryption_key_file` key.
    pub encryption_key_id: String,
    /// The signature profile of our responses and callbacks.
    pub profile: Profile,
    /// Accepted distance between header.message_ts and now, and between a signature's
    /// `created` and now (seconds). Also how long message ids are remembered for replay checks.
    pub clock_skew_secs: i64,
    pub max_body_bytes: usize,
    /// Largest uploaded file (`--max-upload`): streamed, so only one envelope or row at a time
    /// (each at most `max_body_bytes`) is held.
    pub max_upload_bytes: usize,
    pub token_ttl_secs: i64,
    /// First callback retry delay; doubled per attempt, capped at `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// Attempts before a callback is given up (kept in the outbox, marked failed).
    pub max_attempts: i64,
    /// How often the outbox worker looks for due entries it was not woken for (ms).
    pub outbox_poll_ms: u64,
    /// Per-request work limits (docs/server.md "Limits"): a search item asking for a larger
    /// page_size is rejected (`rjct.pagination.invalid`).
    pub max_page_size: usize,
    /// Items of one search request (`rjct.total_count.limit_exceeded` for the request).
    pub max_search_items: usize,
    /// Records of one response, all items together; the item that would pass it is rejected
    /// (`rjct.search.too_many_records_found`).
    pub max_response_records: usize,
    /// Bytes of the records of one response, all items together (same rejection).
    pub max_response_bytes: usize,
    /// Searches (anything but identifier lookups) run at once, each on its own database
    /// connection; more wait their turn (at most `query_timeout_ms`, then 503).
    pub search_workers: usize,
    /// Requests a second (with a burst) per OAuth2 client and per sender; None: no limit.
    pub rate_limit_client: Option<super::ratelimit::Rate>,
    pub rate_limit_sender: Option<super::ratelimit::Rate>,
    /// Report every tolerated deviation of an accepted request (`--strict`, on with `--demo`).
    pub strict: bool,
    /// A bearer token sent with our callbacks, for receivers that require one.
    pub callback_token: Option<String>,
    /// Generate the demo dataset, client and sender.
    pub demo: bool,
    /// Connection limits (docs/server.md "Limits"): time from connect, or from the first byte
    /// of a request on a kept-alive connection, to the end of its headers (seconds).
    pub header_timeout_secs: u64,
    /// Time from the end of a request's headers to the end of its body (seconds).
    pub body_timeout_secs: u64,
    /// How long a kept-alive connection may wait for its next request (seconds).
    pub idle_timeout_secs: u64,
    /// Connections served at once; more wait, unaccepted, until one closes.
    pub max_connections: usize,
    /// Largest request head (request line and headers, bytes).
    pub max_header_bytes: usize,
    // Outbound requests (egress.rs, outbox.rs).
    /// Let callbacks, notifications and JWKS fetches go to loopback, private, link-local and
    /// the other refused ranges (`--allow-private-callbacks`; on with `--demo`).
    pub allow_private_callbacks: bool,
    /// Time limit of one callback delivery (connect, send, answer), in ms.
    pub callback_timeout_ms: u64,
    /// Deliveries in flight at once to one destination (scheme, host, port).
    pub callback_concurrency: usize,
    /// Attribute indexes beyond the defaults (`PATH` or `REGISTRY:PATH`, `dci serve --index`);
    /// filled in from the stored records at start, kept from then on.
    pub indexes: Vec<String>,
    /// Longest one search query may run in the database (ms, `--query-timeout-ms`; 0 = none).
    pub query_timeout_ms: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            db: PathBuf::from("dci-registry.db"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            default_registry: "crvs".into(),
            server_id: "registry.example.org".into(),
            key_id: "server-key-1".into(),
            key_file: None,
            encryption_key_file: None,
            encryption_key_id: "server-enc-1".into(),
            profile: Profile::Spdci,
            clock_skew_secs: 300,
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024,
            token_ttl_secs: 3600,
            retry_base_ms: 1000,
            retry_max_ms: 300_000,
            max_attempts: 20,
            outbox_poll_ms: 500,
            max_page_size: 1000,
            max_search_items: 100,
            max_response_records: 10_000,
            max_response_bytes: 16 * 1024 * 1024,
            search_workers: 2,
            rate_limit_client: None,
            rate_limit_sender: None,
            strict: false,
            callback_token: None,
            demo: false,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 1024,
            max_header_bytes: 64 * 1024,
            allow_private_callbacks: false,
            callback_timeout_ms: 10_000,
            callback_concurrency: 4,
            indexes: Vec::new(),
            query_timeout_ms: 10_000,
        }
    }
}
