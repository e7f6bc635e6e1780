//! Encrypted messages end to end against the reference server (`dci_server` in-process, with
//! an RSA encryption key): the client encrypts and signs, the server verifies, decrypts,
//! answers encrypted to the sender's registered `enc` key, the client verifies and decrypts;
//! bad ciphertexts get `err.encryption.invalid` and nothing is processed.

mod support;

use dci::client::{DCIClient, DataSource, EncryptionConfig, Secret, SigningConfig};
use dci::encryption::{self, DecryptionKey, KeyAlgorithm};
use serde_json::{json, Value};
use support::reference::{start_with, ReferenceServer};

struct Setup {
    server: ReferenceServer,
    client_key: DecryptionKey,
}

fn setup() -> &'static Setup {
    static S: std::sync::OnceLock<Setup> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("client-encrypted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let server_key = DecryptionKey::generate(KeyAlgorithm::RsaOaep256, "srv-enc").unwrap();
        let key_file = dir.join("server-enc.pem");
        std::fs::write(&key_file, server_key.to_pem().unwrap().as_bytes()).unwrap();
        let db = std::sync::Mutex::new(None);
        let server = start_with("encrypted", |c| {
            c.encryption_key_file = Some(key_file.clone());
            c.encryption_key_id = "srv-enc".into();
            *db.lock().unwrap() = Some(c.clone());
        });
        // The demo sender registers an X25519 encryption key: its answers come encrypted.
        let client_key = DecryptionKey::generate(KeyAlgorithm::EcdhEsA256Kw, "cli-enc").unwrap();
        let config = db.lock().unwrap().take().unwrap();
        let store = dci_server::open_store(&config).unwrap();
        let mut sender = store.sender(&server.sender_id).unwrap().unwrap();
        sender.jwks["keys"]
            .as_array_mut()
            .unwrap()
            .push(client_key.public_key().unwrap().to_jwk());
        store.put_sender(&sender).unwrap();
        // The server reads senders again after 2 s (its sender cache).
        std::thread::sleep(std::time::Duration::from_millis(2100));
        Setup { server, client_key }
    })
}

fn data_source(s: &Setup, with_key: bool) -> DataSource {
    let mut d = s.server.data_source("crvs");
    d.signing = Some(SigningConfig {
        key_pem: Some(Secret::new(
            s.server.sender_key.to_pem().unwrap().to_string(),
        )),
        key_file: None,
        key_id: s.server.sender_key_id.into(),
        profile: "spdci".into(),
    });
    d.encryption = Some(EncryptionConfig {
        encrypt: true,
        registry_jwk: None,
        // The registry's JWKS (registry_key.jwks_url) holds its `use: enc` key.
        registry_jwks_url: None,
        registry_kid: None,
        key_pem: with_key.then(|| Secret::new(s.client_key.to_pem().unwrap().to_string())),
        key_file: None,
        key_id: if with_key {
            "cli-enc".into()
        } else {
            String::new()
        },
    });
    d
}

#[test]
fn an_encrypted_search_is_answered_encrypted_and_opens() {
    let s = setup();
    let c = DCIClient::new(data_source(s, true)).unwrap();
    let r = c.search_by_id("UIN", "100000001").unwrap();
    assert_eq!(r.record_count(), 1);
    assert!(r.signature.verified);
    assert_eq!(
        c.encryption_jwk().unwrap(),
        s.client_key.public_key().unwrap().to_jwk()
    );
}

#[test]
fn an_encrypted_answer_without_our_key_is_an_encryption_error() {
    let s = setup();
    let c = DCIClient::new(data_source(s, false)).unwrap();
    let e = c.search_by_id("UIN", "100000001").unwrap_err();
    assert_eq!(e.kind(), dci::ErrorKind::Encryption, "{e}");
    assert_eq!(e.dci_code(), Some("err.encryption.invalid"));
    assert!(e.to_string().contains("no decryption key"), "{e}");
}

/// Posts `env` (unsigned: the demo sender may send unsigned) to the sync search endpoint.
fn post(s: &Setup, env: &Value) -> (u16, Value) {
    let c = DCIClient::new(s.server.data_source("crvs")).unwrap();
    let token = c.oauth2_token().unwrap().unwrap();
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/registry/sync/search", s.server.base_url))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(env.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap())
}

fn envelope(s: &Setup, message_id: &str) -> Value {
    json!({
        "header": {
            "version": "1.0.0", "message_id": message_id,
            "message_ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "action": "search", "sender_id": s.server.sender_id, "total_count": 1,
        },
        "message": {
            "transaction_id": "txn-enc-1",
            "search_request": [{
                "reference_id": "ref-1", "timestamp": "2025-01-01T00:00:00Z",
                "search_criteria": {"query_type": "idtype-value",
                    "query": {"type": "UIN", "value": "100000001"}}
            }]
        }
    })
}

fn server_key(s: &Setup) -> dci::encryption::EncryptionKey {
    let jwks = dci::client::fetch_jwks_json(
        &format!("{}/.well-known/jwks.json", s.server.base_url),
        std::time::Duration::from_secs(10),
        true,
    )
    .unwrap();
    let keys = encryption::encryption_keys(&jwks).unwrap();
    assert_eq!(keys.len(), 1);
    encryption::find_key(&keys, Some("srv-enc"))
        .unwrap()
        .clone()
}

#[test]
fn the_server_publishes_its_key_and_answers_in_the_spec_form() {
    let s = setup();
    let mut env = envelope(s, "enc-msg-ok");
    encryption::seal_envelope(&mut env, &server_key(s)).unwrap();
    let (status, answer) = post(s, &env);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["header"]["is_msg_encrypted"], true);
    let m = &answer["message"];
    assert_eq!(m["header"]["alg"], "ECDH-ES+A256KW");
    assert_eq!(m["header"]["enc"], "A256GCM");
    assert_eq!(m["header"]["kid"], "cli-enc");
    let mut answer = answer;
    assert!(encryption::open_envelope(&mut answer, std::slice::from_ref(&s.client_key)).unwrap());
    assert_eq!(answer["message"]["transaction_id"], "txn-enc-1");
    assert_eq!(
        answer["message"]["search_response"][0]["status"], "succ",
        "{answer}"
    );
}

#[test]
fn bad_ciphertexts_are_refused_with_err_encryption_invalid_and_do_not_burn_the_message_id() {
    let s = setup();
    let key = server_key(s);
    type Spoil = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Spoil)> = vec![
        (
            "unknown kid",
            Box::new(|m| m["header"]["kid"] = "nope".into()),
        ),
        (
            "unknown alg",
            Box::new(|m| m["header"]["alg"] = "RSA1_5".into()),
        ),
        (
            "unknown enc",
            Box::new(|m| m["header"]["enc"] = "A128GCM".into()),
        ),
        (
            "tag does not match",
            Box::new(|m| {
                let t = m["tag"].as_str().unwrap();
                let flipped = if t.starts_with('A') { "B" } else { "A" };
                m["tag"] = format!("{flipped}{}", &t[1..]).into();
            }),
        ),
    ];
    for (want, spoil) in cases {
        let mut env = envelope(s, "enc-msg-bad");
        encryption::seal_envelope(&mut env, &key).unwrap();
        spoil(&mut env["message"]);
        let (status, answer) = post(s, &env);
        assert_eq!(status, 400, "{want}: {answer}");
        assert_eq!(
            answer["message"]["error"]["code"], "err.encryption.invalid",
            "{answer}"
        );
        let text = answer["message"]["error"]["message"].as_str().unwrap();
        assert!(text.contains(want), "{want}: {text}");
    }
    // The same message_id, now correctly encrypted, is admitted: no replay record was made.
    let mut env = envelope(s, "enc-msg-bad");
    encryption::seal_envelope(&mut env, &key).unwrap();
    let (status, answer) = post(s, &env);
    assert_eq!(status, 200, "{answer}");
}
