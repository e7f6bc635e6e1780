//! The configuration of one external registry: where it is, who we are to it, how we
//! authenticate, sign and verify, and which dialect it speaks.
//!
//! Loadable from TOML or JSON (see `docs/client.md`) and buildable in code. [`DataSource::validate`]
//! (called by [`crate::client::DCIClient::new`] and by the loaders) fails at once, naming the field,
//! when `base_url` or `our_sender_id` is missing or malformed.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::dialect::Dialect;
use crate::error::{Error, Result};
use crate::signature::Profile;

/// `from_toml_str`, `from_json_str` and `from_file` of a [`Loadable`] configuration.
macro_rules! loaders {
    () => {
        /// Parses and validates a TOML document.
        pub fn from_toml_str(s: &str) -> Result<Self> {
            load(s, Format::Toml)
        }

        /// Parses and validates a JSON document.
        pub fn from_json_str(s: &str) -> Result<Self> {
            load(s, Format::Json)
        }

        /// Loads a `.toml` or `.json` file (by extension; anything else is tried as TOML).
        pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
            load_file(path.as_ref())
        }
    };
}

/// A secret string (client secret, bearer token, private key PEM): never shown by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The kind of registry (OpenSPP's `registry_type`); decides the default `reg_type`.
/// Read from any spelling [`RegistryType::parse`] takes (OpenSPP's `ns:org:RegistryType:Civil`
/// and older `CRVS`, `SOCIAL_REGISTRY`, ...); written as the short name (`crvs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryType {
    /// Civil registration and vital statistics.
    Crvs,
    /// Social registry.
    #[default]
    Social,
    /// Integrated beneficiary registry.
    Ibr,
    /// Disability registry.
    Dr,
    /// Farmer registry.
    Fr,
}

impl<'de> Deserialize<'de> for RegistryType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RegistryType::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl RegistryType {
    /// Our short names, the spec's `reg_type` values (`ns:org:RegistryType:Civil`: the part
    /// after the last `:` is read) and OpenSPP's older constants (`CRVS`, `SOCIAL_REGISTRY`,
    /// `DR`, `FR`), in any case.
    pub fn parse(s: &str) -> Result<Self> {
        use RegistryType::*;
        let names = [
            ("crvs", Crvs),
            ("civil", Crvs),
            ("social", Social),
            ("social_registry", Social),
            ("sr", Social),
            ("ibr", Ibr),
            ("dr", Dr),
            ("disability", Dr),
            ("disability_registry", Dr),
            ("fr", Fr),
            ("farmer", Fr),
            ("functional", Fr),
            ("functional_registry", Fr),
        ];
        let expected = "expected crvs, social, ibr, dr or fr, or ns:org:RegistryType:Civil, Social, IBR, DR, FR";
        let last = s.rsplit(':').next().unwrap_or(s);
        parse_name(last, &names, "registry_type", "registry type", expected).map_err(|_| {
            config(
                "registry_type",
                format!("unknown registry type {s:?} ({expected})"),
            )
        })
    }

    /// The short name (`crvs`, `social`, `ibr`, `dr`, `fr`).
    pub fn name(self) -> &'static str {
        match self {
            RegistryType::Crvs => "crvs",
            RegistryType::Social => "social",
            RegistryType::Ibr => "ibr",
            RegistryType::Dr => "dr",
            RegistryType::Fr => "fr",
        }
    }

    /// The spec's `reg_type` value for this registry (`RegistryType.jsonld`, e.g.
    /// `ns:org:RegistryType:Civil`; the farmer registry's is `ns:org:RegistryType:FR`, as in
    /// `fr_api_v1.0.0.yaml`'s examples).
    pub fn reg_type(self) -> &'static str {
        match self {
            RegistryType::Crvs => "ns:org:RegistryType:Civil",
            RegistryType::Social => "ns:org:RegistryType:Social",
            RegistryType::Ibr => "ns:org:RegistryType:IBR",
            RegistryType::Dr => "ns:org:RegistryType:DR",
            RegistryType::Fr => "ns:org:RegistryType:FR",
        }
    }
}

/// How we authenticate to the registry's HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthConfig {
    #[default]
    None,
    /// A static `Authorization: Bearer <token>`.
    Bearer { token: Secret },
    /// HTTP Basic (RFC 7617): `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: Secret },
    /// OAuth 2.0 client credentials (RFC 6749 section 4.4).
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// Absolute URL, or a path joined to `base_url`; default: `endpoints.token`.
        #[serde(default)]
        token_url: Option<String>,
        client_id: String,
        client_secret: Secret,
        #[serde(default)]
        scope: Option<String>,
    },
}

/// Where the OAuth2 client credentials go in the token request (OpenSPP's
/// `oauth2_credential_location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialLocation {
    /// The form body (RFC 6749).
    Body,
    /// The query string (OpenCRVS).
    Query,
}

/// Our signing key (PKCS#8 PEM, inline or in a file), its key id and the signature profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningConfig {
    #[serde(default)]
    pub key_pem: Option<Secret>,
    #[serde(default)]
    pub key_file: Option<String>,
    /// The second part of the kid `{sender_id}|{key_id}|{alg}`.
    pub key_id: String,
    /// `spdci` (default), `jws-detached` or `jws-compact`.
    #[serde(default = "default_profile")]
    pub profile: String,
}

fn default_profile() -> String {
    Profile::Spdci.name().to_string()
}

/// Whether a response must carry a valid signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// Unsigned responses are refused (`Error::SignatureMissing`); bad signatures too.
    #[default]
    Required,
    /// Unsigned responses are accepted; a signature that is present must verify.
    IfPresent,
}

/// The registry's public key(s), for verifying its responses and callbacks. Exactly one source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegistryKeyConfig {
    /// A JWKS URL (absolute, or a path joined to `base_url`), fetched on first use and again
    /// when a signature names a kid it does not hold.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// An inline JWKS document `{"keys": [...]}`.
    #[serde(default)]
    pub jwks: Option<Value>,
    /// An SPKI PEM public key, inline.
    #[serde(default)]
    pub pem: Option<String>,
    /// An SPKI PEM public key, in a file.
    #[serde(default)]
    pub pem_file: Option<String>,
    #[serde(default)]
    pub mode: VerifyMode,
}

/// Encrypted messages (`header.is_msg_encrypted`, docs/client.md "Encrypted messages"): the
/// registry's encryption key our requests are encrypted to, and our own decryption key for
/// encrypted responses and callbacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncryptionConfig {
    /// Encrypt every request's `message` (default true); false: only open encrypted answers.
    #[serde(default = "default_true")]
    pub encrypt: bool,
    /// The registry's encryption key, a JWK (`use: enc`, RSA or OKP X25519, with its `kid`).
    #[serde(default)]
    pub registry_jwk: Option<Value>,
    /// Or the JWKS URL (absolute, or a path joined to `base_url`) holding it, fetched on first
    /// use; default: `registry_key.jwks_url`.
    #[serde(default)]
    pub registry_jwks_url: Option<String>,
    /// The kid of the registry's key in that JWKS (default: its first `use: enc` key).
    #[serde(default)]
    pub registry_kid: Option<String>,
    /// Our decryption key, PKCS#8 PEM (RSA or X25519), inline or in a file; its public JWK (with
    /// `key_id` as kid) is what we register with the registry.
    #[serde(default)]
    pub key_pem: Option<Secret>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub key_id: String,
}

/// Endpoint paths, joined to `base_url`. Defaults are the spec's paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoints {
    pub sync_search: String,
    pub search: String,
    pub subscribe: String,
    pub unsubscribe: String,
    pub sync_txn_status: String,
    pub txn_status: String,
    pub token: String,
    /// IBR: `/registry/sync/enrolled`.
    pub enrolled: String,
    /// DR: `/registry/sync/get-disability-details`; None = use the search endpoint.
    pub disability_details: Option<String>,
    /// DR: `/registry/sync/disabled`; None = use the search endpoint.
    pub disabled: Option<String>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            sync_search: "/registry/sync/search".into(),
            search: "/registry/search".into(),
            subscribe: "/registry/subscribe".into(),
            unsubscribe: "/registry/unsubscribe".into(),
            sync_txn_status: "/registry/sync/txn/status".into(),
            txn_status: "/registry/txn/status".into(),
            token: "/oauth2/client/token".into(),
            enrolled: "/registry/sync/enrolled".into(),
            disability_details: None,
            disabled: None,
        }
    }
}

/// One external DCI registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    #[serde(default)]
    pub name: String,
    /// Lookup code (`crvs_main`, `ibr_main`, `dr_main`).
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub registry_type: RegistryType,
    /// `http://` or `https://` URL of the registry's API root, without a trailing slash.
    #[serde(default)]
    pub base_url: String,
    /// Our `sender_id` (required): the registry identifies us by it.
    #[serde(default)]
    pub our_sender_id: String,
    /// The registry's id, sent as `header.receiver_id`.
    #[serde(default)]
    pub receiver_id: Option<String>,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub signing: Option<SigningConfig>,
    /// Where the registry sends callbacks (`header.sender_uri`); the registry posts to
    /// `{our_callback_uri}/on-search`, `/on-subscribe`, `/on-unsubscribe`, `/notify`, `/txn/on-status`.
    #[serde(default)]
    pub our_callback_uri: Option<String>,
    #[serde(default)]
    pub endpoints: Endpoints,
    #[serde(default = "default_true")]
    pub verify_tls: bool,
    /// Per-request timeout in seconds (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    #[serde(default)]
    pub registry_key: Option<RegistryKeyConfig>,
    #[serde(default)]
    pub dialect: Dialect,
    /// Retries for calls that are safe to repeat (default 2; see `docs/client.md`).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// `locale` of search requests (ISO 639-3, e.g. `eng`); the opencrvs dialect defaults to `eng`.
    #[serde(default)]
    pub locale: Option<String>,
    /// Where OAuth2 credentials go; None = the dialect's rule (query for opencrvs, else body).
    #[serde(default)]
    pub oauth2_credential_location: Option<CredentialLocation>,
    /// Encrypted messages; None: requests go in clear and an encrypted answer is an error.
    #[serde(default)]
    pub encryption: Option<EncryptionConfig>,
}

fn default_true() -> bool {
    true
}
fn default_timeout() -> f64 {
    30.0
}
fn default_retries() -> u32 {
    2
}

/// What [`DataSource::redacted`] shows instead of a secret.
pub const REDACTED: &str = "***";

/// OpenSPP's flat field names and the nested field each one sets (`section.field`, or a
/// top-level field).
pub const FLAT_NAMES: &[(&str, &str)] = &[
    ("timeout", "timeout_secs"),
    ("verify_ssl", "verify_tls"),
    ("auth_type", "auth.type"),
    ("bearer_token", "auth.token"),
    ("oauth2_client_id", "auth.client_id"),
    ("client_id", "auth.client_id"),
    ("oauth2_client_secret", "auth.client_secret"),
    ("client_secret", "auth.client_secret"),
    ("oauth2_token_url", "auth.token_url"),
    ("token_url", "auth.token_url"),
    ("oauth2_scope", "auth.scope"),
    ("scope", "auth.scope"),
    ("signing_key", "signing.key_pem"),
    ("signing_key_pem", "signing.key_pem"),
    ("signing_key_file", "signing.key_file"),
    ("signing_key_id", "signing.key_id"),
    ("signature_profile", "signing.profile"),
    ("registry_jwks_url", "registry_key.jwks_url"),
    ("registry_jwks", "registry_key.jwks"),
    ("registry_public_key", "registry_key.pem"),
    ("registry_public_key_pem", "registry_key.pem"),
    ("registry_public_key_file", "registry_key.pem_file"),
    ("signature_verification", "registry_key.mode"),
    ("encrypt_messages", "encryption.encrypt"),
    ("registry_encryption_jwk", "encryption.registry_jwk"),
    (
        "registry_encryption_jwks_url",
        "encryption.registry_jwks_url",
    ),
    ("registry_encryption_kid", "encryption.registry_kid"),
    ("encryption_key", "encryption.key_pem"),
    ("encryption_key_pem", "encryption.key_pem"),
    ("encryption_key_file", "encryption.key_file"),
    ("encryption_key_id", "encryption.key_id"),
    ("search_endpoint", "endpoints.sync_search"),
    ("async_search_endpoint", "endpoints.search"),
    ("subscribe_endpoint", "endpoints.subscribe"),
    ("unsubscribe_endpoint", "endpoints.unsubscribe"),
    ("txn_status_endpoint", "endpoints.sync_txn_status"),
    ("token_endpoint", "endpoints.token"),
    ("oauth2_token_endpoint", "endpoints.token"),
    ("auth_endpoint", "endpoints.token"),
    ("basic_username", "auth.username"),
    ("username", "auth.username"),
    ("basic_password", "auth.password"),
    ("password", "auth.password"),
];

/// The nested (file-form) top-level names.
const NESTED_NAMES: &[&str] = &[
    "name",
    "code",
    "registry_type",
    "base_url",
    "our_sender_id",
    "receiver_id",
    "auth",
    "signing",
    "our_callback_uri",
    "endpoints",
    "verify_tls",
    "timeout_secs",
    "registry_key",
    "dialect",
    "max_retries",
    "locale",
    "oauth2_credential_location",
    "encryption",
];

/// The members each nested section takes.
const SECTION_NAMES: &[(&str, &[&str])] = &[
    (
        "auth",
        &[
            "type",
            "token",
            "token_url",
            "client_id",
            "client_secret",
            "scope",
            "username",
            "password",
        ],
    ),
    ("signing", &["key_pem", "key_file", "key_id", "profile"]),
    (
        "registry_key",
        &["jwks_url", "jwks", "pem", "pem_file", "mode"],
    ),
    (
        "encryption",
        &[
            "encrypt",
            "registry_jwk",
            "registry_jwks_url",
            "registry_kid",
            "key_pem",
            "key_file",
            "key_id",
        ],
    ),
    (
        "endpoints",
        &[
            "sync_search",
            "search",
            "subscribe",
            "unsubscribe",
            "sync_txn_status",
            "txn_status",
            "token",
            "enrolled",
            "disability_details",
            "disabled",
        ],
    ),
];

/// Fields of OpenSPP's `spp.dci.data.source` record that are record state, not configuration:
/// accepted in the flat form and left out.
pub const RECORD_ONLY_NAMES: &[&str] = &[
    "id",
    "active",
    "notes",
    "state",
    "last_test_date",
    "last_error",
    "display_name",
];

/// Flat names whose `false` is a value; for every other field an Odoo `False` (an empty
/// field) means unset.
const BOOLEAN_NAMES: &[&str] = &["verify_tls", "verify_ssl", "active", "encrypt_messages"];

/// Every name the flat form accepts at the top level.
pub fn known_flat_names() -> impl Iterator<Item = &'static str> {
    NESTED_NAMES
        .iter()
        .copied()
        .chain(FLAT_NAMES.iter().map(|(f, _)| *f))
        .chain(RECORD_ONLY_NAMES.iter().copied())
}

/// A configuration error for an unknown name, with the closest known one when it is near.
pub(crate) fn unknown_name<'a>(
    field: &str,
    name: &str,
    known: impl Iterator<Item = &'a str>,
) -> Error {
    let best = known
        .map(|k| (edit_distance(name, k), k))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 3.max(name.len() / 4));
    let reason = match best {
        Some((_, k)) => format!("unknown field {name:?} (did you mean {k:?}?)"),
        None => format!("unknown field {name:?}"),
    };
    config(field, reason)
}

/// Levenshtein distance (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The value `s` names (trimmed, any case) in `names`; else a configuration error on `field`:
/// `unknown {what} "s" ({expected})`.
pub(crate) fn parse_name<T: Copy>(
    s: &str,
    names: &[(&str, T)],
    field: &str,
    what: &str,
    expected: &str,
) -> Result<T> {
    let key = s.trim().to_ascii_lowercase();
    names
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| config(field, format!("unknown {what} {s:?} ({expected})")))
}

fn config(field: &str, reason: impl Into<String>) -> Error {
    Error::Config {
        field: field.to_string(),
        reason: reason.into(),
    }
}

impl DataSource {
    /// A data source with the spec defaults; set the other public fields as needed.
    pub fn new(base_url: impl Into<String>, our_sender_id: impl Into<String>) -> Self {
        DataSource {
            name: String::new(),
            code: String::new(),
            registry_type: RegistryType::default(),
            base_url: base_url.into(),
            our_sender_id: our_sender_id.into(),
            receiver_id: None,
            auth: AuthConfig::None,
            signing: None,
            our_callback_uri: None,
            endpoints: Endpoints::default(),
            verify_tls: true,
            timeout_secs: default_timeout(),
            registry_key: None,
            dialect: Dialect::default(),
            max_retries: default_retries(),
            locale: None,
            oauth2_credential_location: None,
            encryption: None,
        }
    }

    /// From OpenSPP's flat form (the fields of `spp.dci.data.source`: `auth_type`,
    /// `bearer_token`, `oauth2_client_id`, `signing_key_pem`, `search_endpoint`, `timeout`,
    /// `verify_ssl`, ...; see [`FLAT_NAMES`]), mixed freely with the nested names (`auth`,
    /// `endpoints`, ...; a nested section given as an object merges with flat keys for the same
    /// section). `null` values are left out. A bearer token or OAuth2 credentials without an
    /// `auth_type` imply it. Validated; errors name the nested field (`auth.client_secret`).
    ///
    /// Unknown names are refused (the error names the field and the closest known name);
    /// OpenSPP's record-state fields ([`RECORD_ONLY_NAMES`]) are accepted and left out. An
    /// Odoo `False` (an empty field) reads as unset, except for the boolean fields.
    pub fn from_flat(fields: Map<String, Value>) -> Result<Self> {
        let mut m = Map::new();
        for (key, value) in fields {
            if !known_flat_names().any(|k| k == key) {
                return Err(unknown_name(&key, &key, known_flat_names()));
            }
            if let (Some((_, members)), Value::Object(o)) =
                (SECTION_NAMES.iter().find(|(s, _)| *s == key), &value)
            {
                if let Some(bad) = o.keys().find(|k| !members.contains(&k.as_str())) {
                    let field = format!("{key}.{bad}");
                    return Err(unknown_name(&field, bad, members.iter().copied()));
                }
            }
            let odoo_empty = value == Value::Bool(false) && !BOOLEAN_NAMES.contains(&key.as_str());
            if value.is_null() || odoo_empty || RECORD_ONLY_NAMES.contains(&key.as_str()) {
                continue;
            }
            let value = match (key.as_str(), value) {
                ("registry_type", Value::String(s)) => {
                    Value::String(RegistryType::parse(&s)?.name().to_string())
                }
                ("auth_type", Value::String(s)) => Value::String(s.trim().to_ascii_lowercase()),
                (_, v) => v,
            };
            match FLAT_NAMES.iter().find(|(flat, _)| *flat == key) {
                Some((_, nested)) => match nested.split_once('.') {
                    Some((outer, inner)) => {
                        let section = m
                            .entry(outer.to_string())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(o) = section {
                            o.insert(inner.to_string(), value);
                        }
                    }
                    None => {
                        m.insert(nested.to_string(), value);
                    }
                },
                None => match (m.get_mut(&key), value) {
                    (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                    (_, value) => {
                        m.insert(key, value);
                    }
                },
            }
        }
        if let Some(Value::Object(auth)) = m.get_mut("auth") {
            if !auth.contains_key("type") {
                let t = if auth.contains_key("token") {
                    "bearer"
                } else if auth.contains_key("username") {
                    "basic"
                } else if auth.contains_key("client_id") {
                    "oauth2"
                } else {
                    "none"
                };
                auth.insert("type".into(), Value::String(t.into()));
            }
            // Missing credentials read as empty, so validation names the field instead of the
            // JSON reader reporting a missing member.
            let required: &[&str] = match auth.get("type").and_then(Value::as_str) {
                Some("bearer") => &["token"],
                Some("basic") => &["username", "password"],
                Some("oauth2") => &["client_id", "client_secret"],
                _ => &[],
            };
            for k in required {
                auth.entry(k.to_string())
                    .or_insert_with(|| Value::String(String::new()));
            }
        }
        if let Some(Value::Object(signing)) = m.get_mut("signing") {
            signing
                .entry("key_id")
                .or_insert_with(|| Value::String(String::new()));
        }
        let ds: DataSource =
            serde_json::from_value(Value::Object(m)).map_err(|e| config("json", e.to_string()))?;
        ds.validate()?;
        Ok(ds)
    }

    /// A copy whose secrets (bearer token, OAuth2 client secret, signing key PEM) read `***`,
    /// for display and logs.
    pub fn redacted(&self) -> DataSource {
        let mut ds = self.clone();
        let hide = |s: &mut Secret| *s = Secret::new(REDACTED);
        match &mut ds.auth {
            AuthConfig::Bearer { token } => hide(token),
            AuthConfig::OAuth2 { client_secret, .. } => hide(client_secret),
            AuthConfig::Basic { password, .. } => hide(password),
            AuthConfig::None => {}
        }
        if let Some(pem) = ds.signing.as_mut().and_then(|s| s.key_pem.as_mut()) {
            hide(pem);
        }
        if let Some(pem) = ds.encryption.as_mut().and_then(|e| e.key_pem.as_mut()) {
            hide(pem);
        }
        ds
    }

    loaders!();

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        // Validated to (0, 86400]; clamp anyway so an unvalidated value cannot panic.
        Duration::from_secs_f64(if self.timeout_secs.is_finite() {
            self.timeout_secs.clamp(0.001, 86_400.0)
        } else {
            30.0
        })
    }

    /// Checks the configuration; the error names the first bad field.
    pub fn validate(&self) -> Result<()> {
        let base = self.base_url.trim();
        if base.is_empty() {
            return Err(config("base_url", "required"));
        }
        let url = reqwest::Url::parse(base)
            .map_err(|e| config("base_url", format!("not a URL ({e}): {base:?}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(config("base_url", "must start with http:// or https://"));
        }
        if url.host_str().is_none() {
            return Err(config("base_url", "has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(config("base_url", "must not carry a query or fragment"));
        }
        let sender = self.our_sender_id.trim();
        if sender.is_empty() {
            return Err(config("our_sender_id", "required"));
        }
        if sender.len() > 99 || sender.chars().any(|c| c.is_control() || c == '|') {
            // The kid is `{sender_id}|{key_id}|{alg}`: a `|` would make it ambiguous.
            return Err(config(
                "our_sender_id",
                "at most 99 characters, no control characters and no '|'",
            ));
        }
        let t = self.timeout_secs;
        if !(t.is_finite() && t > 0.0 && t <= 86_400.0) {
            return Err(config(
                "timeout_secs",
                "must be a positive number of seconds, at most 86400",
            ));
        }
        if let Some(cb) = &self.our_callback_uri {
            let u = reqwest::Url::parse(cb)
                .map_err(|e| config("our_callback_uri", format!("not a URL ({e})")))?;
            if u.scheme() != "http" && u.scheme() != "https" {
                return Err(config("our_callback_uri", "must be an http(s) URL"));
            }
        }
        match &self.auth {
            AuthConfig::None => {}
            AuthConfig::Bearer { token } => {
                if token.is_empty() {
                    return Err(config("auth.token", "required for bearer auth"));
                }
            }
            AuthConfig::Basic { username, password } => {
                if username.is_empty() || username.contains(':') {
                    return Err(config(
                        "auth.username",
                        "required for basic auth, without ':'",
                    ));
                }
                if password.is_empty() {
                    return Err(config("auth.password", "required for basic auth"));
                }
            }
            AuthConfig::OAuth2 {
                client_id,
                client_secret,
                ..
            } => {
                if client_id.is_empty() {
                    return Err(config("auth.client_id", "required for oauth2"));
                }
                if client_secret.is_empty() {
                    return Err(config("auth.client_secret", "required for oauth2"));
                }
            }
        }
        if let Some(s) = &self.signing {
            if s.key_pem.is_none() && s.key_file.is_none() {
                return Err(config("signing.key_pem", "key_pem or key_file is required"));
            }
            if s.key_id.is_empty() || s.key_id.contains('|') {
                return Err(config("signing.key_id", "required, without '|'"));
            }
            Profile::parse(&s.profile).map_err(|e| config("signing.profile", e.to_string()))?;
        }
        if let Some(k) = &self.registry_key {
            let n = [
                k.jwks_url.is_some(),
                k.jwks.is_some(),
                k.pem.is_some(),
                k.pem_file.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if n != 1 {
                return Err(config(
                    "registry_key",
                    "exactly one of jwks_url, jwks, pem, pem_file",
                ));
            }
        }
        if let Some(e) = &self.encryption {
            if e.registry_jwk.is_some() && e.registry_jwks_url.is_some() {
                return Err(config(
                    "encryption.registry_jwk",
                    "give registry_jwk or registry_jwks_url, not both",
                ));
            }
            if let Some(jwk) = &e.registry_jwk {
                crate::encryption::EncryptionKey::from_jwk(jwk)
                    .map_err(|err| config("encryption.registry_jwk", err.to_string()))?;
            }
            let jwks_url = self.registry_key.as_ref().and_then(|k| k.jwks_url.as_ref());
            if e.encrypt
                && e.registry_jwk.is_none()
                && e.registry_jwks_url.is_none()
                && jwks_url.is_none()
            {
                return Err(config(
                    "encryption.registry_jwk",
                    "the registry's encryption key is required to encrypt requests (registry_jwk, registry_jwks_url or registry_key.jwks_url)",
                ));
            }
            if e.key_pem.is_some() && e.key_file.is_some() {
                return Err(config(
                    "encryption.key_pem",
                    "give key_pem or key_file, not both",
                ));
            }
            if (e.key_pem.is_some() || e.key_file.is_some()) && e.key_id.is_empty() {
                return Err(config(
                    "encryption.key_id",
                    "required with key_pem or key_file (the kid the registry encrypts to)",
                ));
            }
        }
        for (field, path) in [
            ("endpoints.sync_search", &self.endpoints.sync_search),
            ("endpoints.search", &self.endpoints.search),
            ("endpoints.subscribe", &self.endpoints.subscribe),
            ("endpoints.unsubscribe", &self.endpoints.unsubscribe),
            ("endpoints.sync_txn_status", &self.endpoints.sync_txn_status),
            ("endpoints.txn_status", &self.endpoints.txn_status),
            ("endpoints.token", &self.endpoints.token),
            ("endpoints.enrolled", &self.endpoints.enrolled),
        ] {
            if !path.starts_with('/') {
                return Err(config(field, "must start with '/'"));
            }
        }
        Ok(())
    }

    /// `base_url` joined with an endpoint path, or the path itself when it is an absolute URL.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        format!("{}{}", self.base_url.trim().trim_end_matches('/'), path)
    }

    /// The `receiver_id` to send: the configured one, else the base URL's host.
    pub fn receiver_id_or_host(&self) -> String {
        if let Some(r) = &self.receiver_id {
            return r.clone();
        }
        reqwest::Url::parse(self.base_url.trim())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// A configuration document: parsed, then validated.
trait Loadable: serde::de::DeserializeOwned {
    fn check(&self) -> Result<()>;
}

impl Loadable for DataSource {
    fn check(&self) -> Result<()> {
        self.validate()
    }
}

impl Loadable for DataSources {
    fn check(&self) -> Result<()> {
        self.validate()
    }
}

#[derive(Clone, Copy)]
enum Format {
    Toml,
    Json,
}

fn load<T: Loadable>(text: &str, format: Format) -> Result<T> {
    let parsed: T = match format {
        Format::Toml => toml::from_str(text).map_err(|e| config("toml", e.to_string()))?,
        Format::Json => serde_json::from_str(text).map_err(|e| config("json", e.to_string()))?,
    };
    parsed.check()?;
    Ok(parsed)
}

fn load_file<T: Loadable>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => load(&text, Format::Json),
        _ => load(&text, Format::Toml),
    }
}

/// Several data sources, looked up by code (OpenSPP's `get_by_code`) or registry type.
/// File form: one `[[data_source]]` table (TOML) or a `data_source` list (JSON) per registry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DataSources {
    #[serde(default, rename = "data_source")]
    pub sources: Vec<DataSource>,
}

impl DataSources {
    // Every source is validated; codes must be unique.
    loaders!();

    fn validate(&self) -> Result<()> {
        for (i, ds) in self.sources.iter().enumerate() {
            ds.validate().map_err(|e| match e {
                Error::Config { field, reason } => {
                    config(&format!("data_source[{i}].{field}"), reason)
                }
                other => other,
            })?;
            if self.sources[..i].iter().any(|o| o.code == ds.code) {
                return Err(config(
                    &format!("data_source[{i}].code"),
                    format!("duplicate code {:?}", ds.code),
                ));
            }
        }
        Ok(())
    }

    /// The source with this code (`crvs_main`, `ibr_main`, `dr_main`, ...).
    pub fn get_by_code(&self, code: &str) -> Option<&DataSource> {
        self.sources.iter().find(|d| d.code == code)
    }

    /// Every source of a registry type.
    pub fn by_registry_type(&self, t: RegistryType) -> Vec<&DataSource> {
        self.sources
            .iter()
            .filter(|d| d.registry_type == t)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(v: Value) -> Result<DataSource> {
        match v {
            Value::Object(m) => DataSource::from_flat(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_closest_known_one() {
        let e =
            flat(json!({"base_url": "http://x", "our_sender_id": "me", "oauth2_tokn_url": "/t"}))
                .unwrap_err();
        match e {
            Error::Config { field, reason } => {
                assert_eq!(field, "oauth2_tokn_url");
                assert!(reason.contains("\"oauth2_token_url\""), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let e = flat(
            json!({"base_url": "http://x", "our_sender_id": "me", "endpoints": {"serch": "/s"}}),
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::Config { ref field, .. } if field == "endpoints.serch"),
            "{e:?}"
        );
    }

    #[test]
    fn odoo_false_is_unset_and_openspp_registry_types_read() {
        let ds = flat(json!({
            "base_url": "http://x", "our_sender_id": "me", "registry_type": "ns:org:RegistryType:Civil",
            "our_callback_uri": false, "timeout": false, "verify_ssl": false, "active": true, "notes": false,
        }))
        .unwrap();
        assert_eq!(ds.registry_type, RegistryType::Crvs);
        assert_eq!(ds.our_callback_uri, None);
        assert_eq!(ds.timeout_secs, 30.0);
        assert!(!ds.verify_tls);
        for (s, t) in [
            ("CRVS", RegistryType::Crvs),
            ("SOCIAL_REGISTRY", RegistryType::Social),
            ("ns:org:RegistryType:DR", RegistryType::Dr),
        ] {
            assert_eq!(RegistryType::parse(s).unwrap(), t);
        }
    }

    #[test]
    fn basic_auth_and_credential_location() {
        let ds = flat(json!({
            "base_url": "http://x", "our_sender_id": "me", "auth_type": "basic",
            "basic_username": "alice", "basic_password": "pw", "oauth2_credential_location": "query",
        }))
        .unwrap();
        assert!(matches!(&ds.auth, AuthConfig::Basic { username, .. } if username == "alice"));
        assert_eq!(
            ds.oauth2_credential_location,
            Some(CredentialLocation::Query)
        );
        let e = flat(json!({"base_url": "http://x", "our_sender_id": "me", "auth_type": "basic", "username": "a"}))
            .unwrap_err();
        assert!(
            matches!(e, Error::Config { ref field, .. } if field == "auth.password"),
            "{e:?}"
        );
    }
}
