//! `dci keygen`, `dci sign`, `dci verify` and `dci envelope search`, run as the built binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const T: i64 = 1_735_689_600;

fn dci(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dci"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dci");
    // dci may refuse its arguments and exit before reading stdin: a broken pipe here is fine,
    // the exit status and stderr below are what the tests check.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing to dci: {e}"
        );
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_no_panic(o: &Output) {
    let e = stderr(o);
    assert!(
        !e.contains("panicked") && !e.contains("internal error") && !e.contains("RUST_BACKTRACE"),
        "{e}"
    );
}

struct KeyFiles {
    private: PathBuf,
    public: PathBuf,
    jwks: PathBuf,
}

fn keygen(dir: &Path, name: &str, alg: &str) -> KeyFiles {
    let private = dir.join(format!("{name}.pem"));
    let o = dci(
        &[
            "keygen",
            "--alg",
            alg,
            "--out",
            private.to_str().unwrap(),
            "--sender",
            "sp.example.org",
            "--key-id",
            name,
        ],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let jwk: Value = serde_json::from_slice(&o.stdout).unwrap();
    let expected_alg = if alg == "rsa" {
        "rsa-sha256"
    } else {
        "ed25519"
    };
    assert_eq!(jwk["kid"], format!("sp.example.org|{name}|{expected_alg}"));
    assert_eq!(jwk["use"], "sig");
    let public = dir.join(format!("{name}.pub.pem"));
    assert!(std::fs::read_to_string(&public)
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(std::fs::read_to_string(&private)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let jwks = dir.join(format!("{name}.jwks.json"));
    std::fs::write(&jwks, serde_json::to_vec(&json!({"keys": [jwk]})).unwrap()).unwrap();
    KeyFiles {
        private,
        public,
        jwks,
    }
}

fn envelope() -> Vec<u8> {
    // Written by hand so the exact numbers (beyond 2^64) and escapes reach the signer as bytes.
    r#"{"signature": "", "header": {"version": "1.0.0", "message_id": "m-1", "message_ts": "2025-01-01T00:00:00Z",
        "action": "search", "sender_id": "sp.example.org", "total_count": 1},
       "message": {"transaction_id": "t-1", "big": 18446744073709551617, "f": 1e21, "name": "Jos\u00e9 中文 😀",
        "search_request": [{"reference_id": "r-1", "search_criteria": {"query_type": "idtype-value",
        "query": {"type": "UIN", "value": "847951632"}}}]}}"#
        .as_bytes()
        .to_vec()
}

fn sign(key: &KeyFiles, profile: &str, input: &[u8]) -> Vec<u8> {
    let o = dci(
        &[
            "sign",
            "--key",
            key.private.to_str().unwrap(),
            "--profile",
            profile,
            "--sender-id",
            "sp.example.org",
            "--key-id",
            key.private.file_stem().unwrap().to_str().unwrap(),
            "--now",
            &T.to_string(),
        ],
        input,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    o.stdout
}

/// `dci verify` with a key flag (`--pubkey`, `--jwks`) and its file, at `now`, then `extra`.
fn verify_with(flag: &str, file: &Path, signed: &[u8], now: &str, extra: &[&str]) -> Output {
    let mut args = vec!["verify", flag, file.to_str().unwrap(), "--now", now];
    args.extend_from_slice(extra);
    dci(&args, signed)
}

fn verify_pub(key: &KeyFiles, signed: &[u8], now: i64) -> Output {
    verify_with("--pubkey", &key.public, signed, &now.to_string(), &[])
}

#[test]
fn round_trip_and_failures_per_profile_and_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["ed25519", "rsa"] {
        let key = keygen(dir.path(), &format!("main-{alg}"), alg);
        let other = keygen(dir.path(), &format!("other-{alg}"), alg);
        for profile in ["spdci", "jws-detached", "jws-compact"] {
            let signed = sign(&key, profile, &envelope());
            let text = String::from_utf8(signed.clone()).unwrap();
            assert!(text.contains("18446744073709551617"), "numbers kept exact");
            let dci_alg = if alg == "rsa" {
                "rsa-sha256"
            } else {
                "ed25519"
            };

            let o = verify_pub(&key, &signed, T + 10);
            assert_eq!(o.status.code(), Some(0), "{profile} {alg}: {}", stderr(&o));
            assert!(
                stdout(&o).starts_with(&format!("valid: profile={profile} algorithm={dci_alg} kid=sp.example.org|main-{alg}|{dci_alg}")),
                "{}",
                stdout(&o)
            );
            let o = verify_with(
                "--jwks",
                &key.jwks,
                &signed,
                &(T + 10).to_string(),
                &["--profile", profile],
            );
            assert_eq!(
                o.status.code(),
                Some(0),
                "{profile} {alg} jwks: {}",
                stderr(&o)
            );

            // Tampered message.
            let tampered = text.replace("847951632", "847951633");
            let o = verify_pub(&key, tampered.as_bytes(), T + 10);
            assert_eq!(o.status.code(), Some(1), "{profile} {alg}");
            assert!(stderr(&o).contains("tampered"), "{}", stderr(&o));
            assert_no_panic(&o);

            // Wrong key: a different key of the same type.
            let o = verify_pub(&other, &signed, T + 10);
            assert_eq!(o.status.code(), Some(1));
            assert!(
                stderr(&o).contains("wrong key") || stderr(&o).contains("another key"),
                "{}",
                stderr(&o)
            );
            // ... and a JWKS that does not know the kid.
            let o = verify_with("--jwks", &other.jwks, &signed, &(T + 10).to_string(), &[]);
            assert_eq!(o.status.code(), Some(1));
            assert!(
                stderr(&o).contains("wrong key") && stderr(&o).contains("unknown key"),
                "{}",
                stderr(&o)
            );

            // Truncated signature value.
            let mut v: Value = serde_json::from_slice(&signed).unwrap();
            let sig = v["signature"].as_str().unwrap().to_owned();
            v["signature"] = json!(sig[..sig.len() - 20]);
            let cut = serde_json::to_string(&v).unwrap();
            let o = verify_pub(&key, cut.as_bytes(), T + 10);
            assert_eq!(o.status.code(), Some(1), "{profile} {alg}");
            assert!(stderr(&o).contains("malformed"), "{}", stderr(&o));
            assert_no_panic(&o);

            if profile == "spdci" {
                let o = verify_pub(&key, &signed, T + 301);
                assert_eq!(o.status.code(), Some(1));
                assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
                let o = verify_with(
                    "--pubkey",
                    &key.public,
                    &signed,
                    "2025-01-01T00:05:01Z",
                    &[],
                );
                assert_eq!(o.status.code(), Some(1));
                assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
            }
        }
    }
}

#[test]
fn wrong_key_type_and_malformed_input() {
    let dir = tempfile::tempdir().unwrap();
    let ed = keygen(dir.path(), "ed", "ed25519");
    let rsa = keygen(dir.path(), "rsa", "rsa");
    let signed = sign(&ed, "spdci", &envelope());
    let o = verify_pub(&rsa, &signed, T);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong key type"), "{}", stderr(&o));

    for bad in [
        &b"{"[..],
        b"",
        b"[1,2]",
        b"{\"header\":{},\"message\":{}}",
        b"\xff",
    ] {
        let o = verify_pub(&ed, bad, T);
        assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(bad));
        assert!(!stderr(&o).is_empty());
        assert_no_panic(&o);
    }
    let o = verify_pub(
        &ed,
        br#"{"signature":"unsigned-stub","header":{},"message":{}}"#,
        T,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing"), "{}", stderr(&o));

    // Signing garbage, a missing key file, a public key as signing key.
    let o = dci(
        &[
            "sign",
            "--key",
            ed.private.to_str().unwrap(),
            "--sender-id",
            "s",
        ],
        b"{not json",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid JSON"), "{}", stderr(&o));
    let o = dci(&["sign", "--key", "/nonexistent/key.pem"], &envelope());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/key.pem"),
        "{}",
        stderr(&o)
    );
    let o = dci(&["sign", "--key", ed.public.to_str().unwrap()], &envelope());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("public key"), "{}", stderr(&o));
    let o = dci(&["verify"], b"");
    assert_eq!(o.status.code(), Some(2));
    let o = dci(
        &[
            "keygen",
            "--alg",
            "rsa",
            "--bits",
            "1024",
            "--out",
            dir.path().join("x.pem").to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("1024"), "{}", stderr(&o));
    assert_no_panic(&o);
}

#[test]
fn sign_defaults_sender_from_header_and_keygen_refuses_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "k", "ed25519");
    let o = dci(
        &["sign", "--key", key.private.to_str().unwrap()],
        &envelope(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["signature"]
            .as_str()
            .unwrap()
            .contains("kidId=\"sp.example.org|"),
        "{v}"
    );
    let o = dci(&["keygen", "--out", key.private.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = dci(
        &["keygen", "--force", "--out", key.private.to_str().unwrap()],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn envelope_search_builds_each_query_type() {
    let o = dci(
        &[
            "envelope",
            "search",
            "--idtype",
            "UIN",
            "--value",
            "847951632",
            "--reg-type",
            "ns:org:RegistryType:Civil",
            "--sender-id",
            "sp.example.org",
            "--receiver-id",
            "crvs.example.org",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["header"]["action"], "search");
    assert_eq!(v["header"]["sender_id"], "sp.example.org");
    assert_eq!(v["header"]["receiver_id"], "crvs.example.org");
    assert_eq!(v["header"]["total_count"], 1);
    let criteria = &v["message"]["search_request"][0]["search_criteria"];
    assert_eq!(criteria["query_type"], "idtype-value");
    assert_eq!(
        criteria["query"],
        json!({"type": "UIN", "value": "847951632"})
    );
    assert_eq!(criteria["reg_type"], "ns:org:RegistryType:Civil");
    assert_eq!(v["message"]["search_request"][0]["locale"], "eng");
    assert_eq!(v["header"]["message_id"].as_str().unwrap().len(), 36);

    let pred = r#"[{"seq_num":1,"expression1":{"attribute_name":"age","operator":"gt","attribute_value":18}}]"#;
    let o = dci(&["envelope", "search", "--predicate", pred], b"");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let criteria = &v["message"]["search_request"][0]["search_criteria"];
    assert_eq!(criteria["query_type"], "predicate");
    assert_eq!(criteria["query"][0]["expression1"]["attribute_value"], 18);

    let o = dci(
        &[
            "envelope",
            "search",
            "--expression",
            r#"{"$and":[{"age":{"$gt":18}}]}"#,
        ],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["message"]["search_request"][0]["search_criteria"]["query_type"],
        "expression"
    );

    // The printed envelope signs and verifies.
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "k", "ed25519");
    let s = dci(&["sign", "--key", key.private.to_str().unwrap()], &o.stdout);
    assert!(s.status.success(), "{}", stderr(&s));
    let ver = dci(
        &["verify", "--pubkey", key.public.to_str().unwrap()],
        &s.stdout,
    );
    assert_eq!(ver.status.code(), Some(0), "{}", stderr(&ver));

    for args in [
        vec!["envelope", "search", "--predicate", "{\"not\":\"array\"}"],
        vec!["envelope", "search", "--expression", "{bad json"],
        vec!["envelope", "search", "--idtype", "UIN"],
        vec!["envelope", "search"],
    ] {
        let o = dci(&args, b"");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_no_panic(&o);
    }
}
