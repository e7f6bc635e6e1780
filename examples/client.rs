//! Query a DCI registry by identifier, then walk a date range page by page.
//!
//! Against the reference server:
//!     dci serve --demo &                # listens on 127.0.0.1:8080
//!     cargo run --example client
//!     DCI_CLIENT_SECRET=<the secret it prints> cargo run --example client
//! Settings come from the environment: DCI_BASE_URL (default http://127.0.0.1:8080),
//! DCI_SENDER_ID (default demo-sender), DCI_CLIENT_ID (default demo-client) and
//! DCI_CLIENT_SECRET (OAuth2 when set), DCI_REGISTRY_JWKS (verify responses with the registry's
//! JWKS at this path or URL when set), DCI_ID_TYPE / DCI_ID_VALUE (default UIN 100000001).

use dci::client::{
    AuthConfig, DCIClient, DataSource, RegistryKeyConfig, RegistryType, SearchSpec, Secret,
    VerifyMode,
};
use dci::services::{from_dci, CrvsService};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() -> Result<(), dci::Error> {
    let mut ds = DataSource::new(
        env("DCI_BASE_URL", "http://127.0.0.1:8080"),
        env("DCI_SENDER_ID", "demo-sender"),
    );
    ds.registry_type = RegistryType::Crvs;
    if let Ok(secret) = std::env::var("DCI_CLIENT_SECRET") {
        ds.auth = AuthConfig::OAuth2 {
            token_url: None,
            client_id: env("DCI_CLIENT_ID", "demo-client"),
            client_secret: Secret::new(secret),
            scope: None,
        };
    }
    if let Ok(jwks) = std::env::var("DCI_REGISTRY_JWKS") {
        ds.registry_key = Some(RegistryKeyConfig {
            jwks_url: Some(jwks),
            mode: VerifyMode::Required,
            ..Default::default()
        });
    }
    let client = DCIClient::new(ds)?;

    // One identifier.
    let (id_type, id_value) = (env("DCI_ID_TYPE", "UIN"), env("DCI_ID_VALUE", "100000001"));
    let result = client.search_by_id(&id_type, &id_value)?;
    println!("{id_type} {id_value}: {} record(s)", result.record_count());
    for record in result.records() {
        let person = from_dci(record);
        println!(
            "  {} born {}",
            person.full_name().unwrap_or_default(),
            person.birth_date.unwrap_or_default()
        );
    }

    // Every page of a date range.
    let spec = SearchSpec::date_range("birth_date", "2000-01-01", "2030-12-31").page(1, 50);
    for page in client.pages(spec) {
        let page = page?;
        let info = page.page_info().unwrap_or_default();
        println!(
            "page {} of a set of {}: {} record(s)",
            info.page_number,
            info.total_count,
            page.record_count()
        );
    }

    // The CRVS service over the same client.
    let crvs = CrvsService::new(client);
    match crvs.verify_birth(&id_type, &id_value)? {
        Some(b) => println!("birth verified: {:?} on {:?}", b.person_name, b.birth_date),
        None => println!("no birth record for {id_type} {id_value}"),
    }
    Ok(())
}
