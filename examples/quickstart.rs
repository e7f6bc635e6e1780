//! The README's Rust quickstart: sign an envelope and verify it (CI runs this).

use dci::keys::{Algorithm, SigningKey};
use dci::signature::{verify_bytes, Signer, VerifyOptions};

fn main() -> dci::Result<()> {
    let key = SigningKey::generate(Algorithm::Ed25519)?;
    let public = key.verifying_key();
    let signer = Signer::new(key, "spmis.example.org", "k1"); // kid "spmis.example.org|k1|ed25519"
    let envelope = br#"{"header":{"version":"1.0.0","message_id":"m1","message_ts":"2025-01-01T00:00:00Z","action":"search","sender_id":"spmis.example.org","total_count":1},"message":{"transaction_id":"t1","search_request":[]}}"#;
    let signed = signer.sign_bytes(envelope, None)?; // exact bytes kept, signature added
    let verified = verify_bytes(&signed, &public, &VerifyOptions::default())?;
    assert_eq!(
        verified.kid.as_deref(),
        Some("spmis.example.org|k1|ed25519")
    );
    println!("{}", String::from_utf8_lossy(&signed));
    println!("verified: kid {}", verified.kid.unwrap_or_default());
    Ok(())
}
