//! `dci conformance URL`: checks any DCI registry, black-box over HTTP, against the spec's
//! requirements, each a check with a stable id (`checks.rs`). It uses the library's client for
//! the OAuth2 token, the request builders and the HTTP transport, signs with
//! `dci::signature::Signer`, verifies every signed answer against the registry's JWKS, and
//! validates every answer against the bundled OpenAPI document of the registry type
//! (`openapi.rs`). Async answers arrive at its own callback receiver (`receiver.rs`).

mod checks;
mod ctx;
mod openapi;
mod receiver;
mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use dci::client::{AuthConfig, DCIClient, DataSource, Secret};
use dci::keys::SigningKey;
use dci::signature::{Profile, Signer};

use super::{CmdResult, Failure};
use report::{CheckResult, RunInfo, Status};

pub use dci::client::RegistryType as Registry;

/// Every registry type, in the order of the spec documents.
#[cfg(test)]
pub const ALL_REGISTRIES: [Registry; 5] = [
    Registry::Crvs,
    Registry::Social,
    Registry::Ibr,
    Registry::Dr,
    Registry::Fr,
];

pub fn registry_name(r: Registry) -> &'static str {
    match r {
        Registry::Crvs => "crvs",
        Registry::Social => "social",
        Registry::Ibr => "ibr",
        Registry::Dr => "dr",
        Registry::Fr => "fr",
    }
}

#[derive(Args)]
pub struct ConformanceArgs {
    /// The registry's API root: the paths `/registry/...` are appended
    /// (`http://127.0.0.1:8080/social` for the social registry of `dci serve`).
    pub url: String,
    #[arg(long)]
    pub client_id: String,
    #[arg(long)]
    pub client_secret: String,
    /// Our sender id, registered at the registry with the public key of `--key`.
    #[arg(long)]
    pub sender_id: String,
    /// Our PKCS#8 PEM private key (Ed25519 or RSA).
    #[arg(long)]
    pub key: PathBuf,
    /// The key id (the middle part of the kid `{sender_id}|{key_id}|{alg}`).
    #[arg(long, default_value = "k1")]
    pub key_id: String,
    /// Signature profile of our requests: spdci, jws-detached or jws-compact.
    #[arg(long, default_value = "spdci")]
    pub profile: String,
    /// Registry type: crvs, social, ibr, dr or fr (decides the spec document and endpoints).
    #[arg(long, default_value = "crvs")]
    pub registry: String,
    /// Run only these check ids (comma-separated; a trailing `*` matches a prefix: `reject.*`).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// The OAuth2 token endpoint (default: URL/oauth2/client/token, else at the URL's origin).
    #[arg(long)]
    pub token_url: Option<String>,
    /// The registry's JWKS (default: URL/.well-known/jwks.json, else at the URL's origin).
    #[arg(long)]
    pub jwks_url: Option<String>,
    /// `header.receiver_id` of our requests (default: the URL's host).
    #[arg(long)]
    pub receiver_id: Option<String>,
    /// The identifier searched for by the idtype-value checks.
    #[arg(long, default_value = "UIN")]
    pub id_type: String,
    #[arg(long, default_value = "TEST-001")]
    pub id_value: String,
    /// The date attribute the range, pagination and sort checks query (default per registry
    /// type: `birth_date`, `demographic_info.birth_date` for social, `enrollment_date` for
    /// ibr).
    #[arg(long)]
    pub range_attr: Option<String>,
    /// `reg_event_type` of the subscription the subscribe and notify checks make.
    #[arg(long)]
    pub event_type: Option<String>,
    /// Where the callback receiver listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub callback_listen: String,
    /// The receiver's base URL as the registry reaches it (default: http://LISTEN-ADDRESS).
    #[arg(long)]
    pub callback_url: Option<String>,
    /// How long to wait for each callback, in seconds.
    #[arg(long, default_value_t = 30)]
    pub callback_timeout_secs: u64,
    /// How the notify check makes the registry change a record: `admin` (POST /admin/records,
    /// the libdci server's endpoint) or `cmd:SHELL COMMAND` (run with DCI_ID_TYPE,
    /// DCI_ID_VALUE, DCI_SUBSCRIPTION_CODE and DCI_REGISTRY set). Without it, notify is skipped.
    #[arg(long)]
    pub notify_trigger: Option<String>,
    /// The sender may send unsigned requests (its signature policy is optional): skips
    /// reject.unsigned instead of failing it.
    #[arg(long)]
    pub unsigned_allowed: bool,
    /// Per-request timeout, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage(m)
}

pub fn run(a: ConformanceArgs) -> CmdResult {
    let registry = Registry::parse(&a.registry).map_err(|e| usage(format!("--registry: {e}")))?;
    let profile = Profile::parse(&a.profile).map_err(|e| usage(format!("--profile: {e}")))?;
    let pem = std::fs::read_to_string(&a.key)
        .map_err(|e| usage(format!("--key {}: {e}", a.key.display())))?;
    let key =
        SigningKey::from_pem(&pem).map_err(|e| usage(format!("--key {}: {e}", a.key.display())))?;
    let mut signer = Signer::new(key, a.sender_id.trim(), a.key_id.clone());
    signer.profile = profile;

    let list = checks::all();
    for o in &a.only {
        if !list.iter().any(|c| selected(c.id, std::slice::from_ref(o))) {
            return Err(usage(format!(
                "--only: no check has the id {o:?} (ids: {})",
                list.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
            )));
        }
    }

    let base = a.url.trim_end_matches('/').to_string();
    let rx =
        receiver::Receiver::start(&a.callback_listen, a.callback_url.as_deref()).map_err(usage)?;
    let mut ds = DataSource::new(base.clone(), a.sender_id.trim());
    ds.registry_type = registry;
    ds.receiver_id = a.receiver_id.clone();
    ds.timeout_secs = a.timeout_secs as f64;
    ds.max_retries = 0;
    ds.auth = AuthConfig::OAuth2 {
        token_url: a.token_url.clone(),
        client_id: a.client_id.clone(),
        client_secret: Secret::new(a.client_secret.clone()),
        scope: None,
    };
    let client = DCIClient::new(ds.clone()).map_err(|e| usage(e.to_string()))?;
    let transport =
        dci::client::transport::Transport::new(&ds).map_err(|e| usage(e.to_string()))?;
    let range_attr = a.range_attr.clone().unwrap_or_else(|| {
        match registry {
            Registry::Ibr => "enrollment_date",
            Registry::Social => "demographic_info.birth_date",
            _ => "birth_date",
        }
        .to_string()
    });
    let ctx = checks::Ctx {
        base,
        registry,
        spec: openapi::spec(registry),
        ds,
        client,
        transport,
        signer,
        rx,
        id_type: a.id_type.clone(),
        id_value: a.id_value.clone(),
        range_attr,
        event_type: a.event_type.clone(),
        callback_timeout: Duration::from_secs(a.callback_timeout_secs),
        notify_trigger: a.notify_trigger.clone(),
        unsigned_allowed: a.unsigned_allowed,
        token_url: a.token_url.clone(),
        jwks_url: a.jwks_url.clone(),
        state: Default::default(),
    };
    let info = RunInfo {
        url: a.url.clone(),
        registry: registry_name(registry).into(),
        profile: profile.name().into(),
        sender_id: a.sender_id.clone(),
        started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        tool: concat!("dci ", env!("CARGO_PKG_VERSION")).into(),
    };

    let chosen: Vec<&checks::Check> = list
        .iter()
        .filter(|c| c.applies(registry) && (a.only.is_empty() || selected(c.id, &a.only)))
        .collect();
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::with_draw_target(
            Some(chosen.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            b.set_style(style);
        }
        b
    };
    let mut results = Vec::with_capacity(chosen.len());
    for c in chosen {
        bar.set_message(c.id);
        let start = Instant::now();
        let outcome = (c.run)(&ctx);
        let ms = start.elapsed().as_millis() as u64;
        let (status, reason) = match outcome {
            Ok(checks::Outcome::Pass(r)) => (Status::Pass, r),
            Ok(checks::Outcome::Skip(r)) => (Status::Skip, r),
            Err(r) => (Status::Fail, r),
        };
        results.push(CheckResult {
            id: c.id.into(),
            title: c.title.into(),
            status,
            reason,
            ms,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();

    print!("{}", report::table(&results));
    if let Some(p) = &a.json {
        let text = serde_json::to_string_pretty(&report::to_json(&info, &results))
            .map_err(|e| usage(e.to_string()))?;
        std::fs::write(p, text + "\n")
            .map_err(|e| usage(format!("--json {}: {e}", p.display())))?;
    }
    if let Some(p) = &a.html {
        std::fs::write(p, report::to_html(&info, &results))
            .map_err(|e| usage(format!("--html {}: {e}", p.display())))?;
    }
    let (_, failed, _) = report::counts(&results);
    if failed > 0 {
        return Err(Failure::invalid(format!(
            "{failed} conformance check(s) failed"
        )));
    }
    Ok(())
}

/// Whether `id` is named by one of `only` (exactly, or by a prefix ending in `*`).
fn selected(id: &str, only: &[String]) -> bool {
    only.iter().any(|o| {
        let o = o.trim();
        match o.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => id == o,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_matches_ids_and_prefixes() {
        assert!(selected("reject.replay", &["reject.*".into()]));
        assert!(selected(
            "reject.replay",
            &["x".into(), "reject.replay".into()]
        ));
        assert!(!selected("reject.replay", &["reject".into()]));
    }

    #[test]
    fn check_ids_are_unique_and_dotted() {
        let list = checks::all();
        let mut ids: Vec<&str> = list.iter().map(|c| c.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate check id");
        assert!(ids.iter().all(|i| i
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')));
    }
}
