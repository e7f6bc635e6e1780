//! `dci enc-keygen`, `dci encrypt`, `dci decrypt`: encrypted messages (`EncryptedMessage`).

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use dci::encryption::{self, DecryptionKey, EncryptionKey, KeyAlgorithm};
use serde_json::Value;

use super::{CmdResult, Failure};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EncAlgArg {
    /// RSA 2048, RSA-OAEP-256.
    Rsa,
    /// X25519, ECDH-ES+A256KW.
    X25519,
}

#[derive(Args, Debug)]
pub struct EncKeygenArgs {
    #[arg(long, value_enum, default_value = "x25519")]
    pub alg: EncAlgArg,
    /// Where to write the private key (PKCS#8 PEM, mode 0600); the public JWK goes to stdout.
    #[arg(long)]
    pub out: PathBuf,
    /// The kid of the key.
    #[arg(long)]
    pub kid: String,
}

#[derive(Args, Debug)]
pub struct EncryptArgs {
    /// The recipient's encryption key: a JWK, or a JWKS (with --kid, or its first enc key).
    #[arg(long)]
    pub jwk: PathBuf,
    #[arg(long)]
    pub kid: Option<String>,
}

#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// Our decryption key (PKCS#8 PEM, RSA or X25519).
    #[arg(long)]
    pub key: PathBuf,
    /// Its kid (the header's kid must name it).
    #[arg(long)]
    pub kid: String,
}

fn read_json(what: &str, bytes: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(bytes).map_err(|e| Failure::usage(format!("{what} is not JSON: {e}")))
}

fn stdin_json() -> Result<Value, Failure> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| Failure::usage(format!("reading stdin: {e}")))?;
    read_json("stdin", &buf)
}

fn print(v: &Value) -> CmdResult {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}").map_err(|e| Failure::usage(format!("writing stdout: {e}")))
}

pub fn keygen(a: EncKeygenArgs) -> CmdResult {
    let alg = match a.alg {
        EncAlgArg::Rsa => KeyAlgorithm::RsaOaep256,
        EncAlgArg::X25519 => KeyAlgorithm::EcdhEsA256Kw,
    };
    let key = DecryptionKey::generate(alg, &a.kid).map_err(|e| Failure::usage(e.to_string()))?;
    let pem = key.to_pem().map_err(|e| Failure::usage(e.to_string()))?;
    super::crypto::write_new(&a.out, pem.as_bytes(), 0o600, false)?;
    print(
        &key.public_key()
            .map_err(|e| Failure::usage(e.to_string()))?
            .to_jwk(),
    )
}

/// Reads the envelope on stdin, encrypts its message, marks it; sign the output afterwards.
pub fn encrypt(a: EncryptArgs) -> CmdResult {
    let text = std::fs::read(&a.jwk)
        .map_err(|e| Failure::usage(format!("reading {}: {e}", a.jwk.display())))?;
    let doc = read_json(&a.jwk.display().to_string(), &text)?;
    let key = if doc.get("keys").is_some() {
        let keys = encryption::encryption_keys(&doc).map_err(|e| Failure::usage(e.to_string()))?;
        encryption::find_key(&keys, a.kid.as_deref())
            .map_err(|e| Failure::usage(e.to_string()))?
            .clone()
    } else {
        EncryptionKey::from_jwk(&doc).map_err(|e| Failure::usage(e.to_string()))?
    };
    let mut env = stdin_json()?;
    encryption::seal_envelope(&mut env, &key).map_err(|e| Failure::invalid(e.to_string()))?;
    print(&env)
}

/// Reads an envelope on stdin and writes it with its message decrypted (exit 1, reason on
/// stderr, when it does not open). Verify its signature first.
pub fn decrypt(a: DecryptArgs) -> CmdResult {
    let pem = std::fs::read_to_string(&a.key)
        .map_err(|e| Failure::usage(format!("reading {}: {e}", a.key.display())))?;
    let key = DecryptionKey::from_pem(&pem, &a.kid).map_err(|e| Failure::usage(e.to_string()))?;
    let mut env = stdin_json()?;
    match encryption::open_envelope(&mut env, &[key]) {
        Ok(true) => print(&env),
        Ok(false) => Err(Failure::invalid(
            "the envelope is not encrypted (header.is_msg_encrypted is not true)",
        )),
        Err(e) => Err(Failure::invalid(format!("err.encryption.invalid: {e}"))),
    }
}
