//! `dci serve --demo` (the README's first command): the banner's credentials and request work.

mod server_support;

use serde_json::{json, Value};
use server_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_banner_credentials_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let server = Server::start(&db, &["--demo"]);
    let id = server.printed("client_id:").await;
    let secret = server.printed("client_secret:").await;
    assert_eq!(
        server.printed("JWKS:").await,
        format!("{}/.well-known/jwks.json", server.base)
    );
    // The banner follows the listening line; its last line is the signed example.
    server.printed("dci envelope search").await;
    let lines = server.stdout.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("records:") && l.contains("crvs 3000")),
        "{lines:?}"
    );

    let tok = token(&server.base, &id, &secret).await;
    // The banner's unsigned request for the demo sender.
    let env = json!({"signature": "", "header": {"version": "1.0.0", "message_id": uuid::Uuid::new_v4().to_string(), "message_ts": now(),
        "action": "search", "sender_id": "demo-sender", "total_count": 1},
        "message": search_message("idtype-value", json!({"type": "UIN", "value": "100000001"}))});
    let body = serde_json::to_vec(&env).unwrap();
    let (s, v) = server.post(&tok, "/registry/sync/search", body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["message"]["search_response"][0]["pagination"]["total_count"],
        1
    );

    // Signed with the demo sender's key written beside the database.
    let pem = std::fs::read_to_string(dir.path().join("demo.db.demo-sender.pem")).unwrap();
    let signer = dci::signature::Signer::new(
        dci::keys::SigningKey::from_pem(&pem).unwrap(),
        "demo-sender",
        "demo-key-1",
    );
    let mut env = env;
    env["header"]["message_id"] = json!(uuid::Uuid::new_v4().to_string());
    signer.sign_value(&mut env, None).unwrap();
    let body = serde_json::to_vec(&env).unwrap();
    let (s, v) = server
        .post(&tok, "/social/registry/sync/search", body)
        .await;
    assert_eq!(s, 200, "{v}");
    let recs: &Value = &v["message"]["search_response"][0]["data"]["reg_records"];
    assert_eq!(
        recs[0]["member_identifier"][0]["identifier_value"],
        "100000001"
    );

    // A second start keeps the data and issues a new secret.
    drop(server);
    let server = Server::start(&db, &["--demo"]);
    let again = server.printed("client_secret:").await;
    assert_ne!(again, secret);
}
