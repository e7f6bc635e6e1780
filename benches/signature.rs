//! Sign and verify a typical 1 KB search envelope and a 1 MB envelope, per profile and
//! algorithm, against raw Ed25519 sign/verify of 32 bytes (the floor).
//!
//! Sign = canonicalise + digest + sign from the in-memory `serde_json::Value`;
//! verify = parse + canonicalise + digest + verify from the received bytes.
//! Run: `cargo bench --bench signature -- --warm-up-time 1 --measurement-time 3`.
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so that figures taken
//! on a shared, busy machine still say what the code costs; set `DCI_BENCH_WALL=1` for wall-clock.

use std::time::Duration;

use criterion::{
    black_box, criterion_group, criterion_main, Bencher, BenchmarkId, Criterion, Throughput,
};
use dci::keys::{Algorithm, SigningKey};
use dci::signature::{verify_bytes, Profile, Signer, VerifyOptions};
use serde_json::{json, Value};

const T: i64 = 1_735_689_600;

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is valid on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Times `f` in CPU time (default) or wall-clock time (`DCI_BENCH_WALL=1`).
fn run<O>(b: &mut Bencher<'_>, mut f: impl FnMut() -> O) {
    if std::env::var_os("DCI_BENCH_WALL").is_some() {
        b.iter(f);
        return;
    }
    b.iter_custom(|iters| {
        let start = thread_cpu_time();
        for _ in 0..iters {
            black_box(f());
        }
        thread_cpu_time() - start
    });
}

fn header() -> Value {
    json!({
        "version": "1.0.0",
        "message_id": "8f0c2a34-5b8e-4d0a-9f3e-2b7c1d9e6a41",
        "message_ts": "2025-01-01T00:00:00.000Z",
        "action": "search",
        "sender_id": "spmis.example.org",
        "sender_uri": "https://spmis.example.org/dci/callback/on-search",
        "receiver_id": "crvs.example.org",
        "total_count": 1,
        "is_msg_encrypted": false
    })
}

/// A search request of about 1 KB, the everyday case.
fn small_envelope() -> Value {
    json!({
        "signature": "",
        "header": header(),
        "message": {
            "transaction_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "search_request": [{
                "reference_id": "7d444840-9dc0-11d1-b245-5ffdce74fad2",
                "timestamp": "2025-01-01T00:00:00.000Z",
                "search_criteria": {
                    "version": "1.0.0",
                    "reg_type": "ns:org:RegistryType:Civil",
                    "reg_record_type": "ns:org:RegistryRecordType:Person",
                    "query_type": "predicate",
                    "query": [
                        {"seq_num": 1, "expression1": {"attribute_name": "birthdate", "operator": "ge", "attribute_value": "2000-01-01"},
                         "condition": "and",
                         "expression2": {"attribute_name": "address.postal_code", "operator": "eq", "attribute_value": "12345"}},
                        {"seq_num": 2, "expression1": {"attribute_name": "name.given_name", "operator": "eq", "attribute_value": "José"}}
                    ],
                    "sort": [{"attribute_name": "birthdate", "sort_order": "asc"}],
                    "pagination": {"page_size": 50, "page_number": 1}
                },
                "consent": {"@type": "Consent", "ts": "2025-01-01T00:00:00Z", "purpose": {"text": "eligibility check", "code": "elig"}},
                "authorize": {"@type": "Authorize", "ts": "2025-01-01T00:00:00Z", "purpose": {"text": "programme enrolment"}},
                "locale": "eng"
            }]
        }
    })
}

/// A search response of about 1 MB: many person records, some non-ASCII names.
fn large_envelope() -> Value {
    let mut records = Vec::new();
    let mut i = 0u64;
    loop {
        records.push(json!({
            "@type": "Person",
            "identifier": [{"identifier_type": "UIN", "identifier_value": format!("{:010}", 8_000_000_000u64 + i)}],
            "name": {"given_name": if i.is_multiple_of(3) { "José" } else { "Amina" }, "surname": format!("Surname{i}"),
                     "second_name": if i.is_multiple_of(7) { "王小明" } else { "Lee" }},
            "sex": if i.is_multiple_of(2) { "female" } else { "male" },
            "birth_date": "1990-05-17",
            "address": {"address_line1": format!("{} Main Street", i % 999), "locality": "Springfield",
                        "postal_code": "12345", "country": "XYZ"},
            "phone_number": ["+15550100"],
            "household_size": 4,
            "income": 1234.5,
            "is_disabled": false
        }));
        i += 1;
        if i.is_multiple_of(256)
            && serde_json::to_vec(&records).map(|v| v.len()).unwrap_or(0) > 1_000_000
        {
            break;
        }
    }
    json!({
        "signature": "",
        "header": header(),
        "message": {
            "transaction_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "correlation_id": "c0ffee00-0000-4000-8000-000000000001",
            "search_response": [{
                "reference_id": "7d444840-9dc0-11d1-b245-5ffdce74fad2",
                "timestamp": "2025-01-01T00:00:01.000Z",
                "status": "succ",
                "data": {"version": "1.0.0", "reg_type": "ns:org:RegistryType:Civil",
                         "reg_record_type": "ns:org:RegistryRecordType:Person", "reg_records": records},
                "pagination": {"page_size": i, "page_number": 1, "total_count": i},
                "locale": "eng"
            }]
        }
    })
}

fn key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::Ed25519 => SigningKey::from_ed25519_seed(&[42u8; 32]),
        Algorithm::RsaSha256 => {
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/vectors/dci-signature-libdci.json"),
            )
            .expect("vectors");
            let v: Value = serde_json::from_str(&text).expect("vectors JSON");
            SigningKey::from_pem(v["keys"]["rsa"]["private_pem"].as_str().unwrap()).unwrap()
        }
    }
}

fn raw(c: &mut Criterion) {
    let k = key(Algorithm::Ed25519);
    let vk = k.verifying_key();
    let data = [7u8; 32];
    let sig = k.sign(&data).unwrap();
    let mut g = c.benchmark_group("raw-ed25519-32B");
    g.bench_function("sign", |b| run(b, || k.sign(black_box(&data)).unwrap()));
    g.bench_function("verify", |b| {
        run(b, || vk.verify(black_box(&data), black_box(&sig)).unwrap())
    });
    g.finish();
}

fn envelopes(c: &mut Criterion) {
    for (size, env) in [("1KB", small_envelope()), ("1MB", large_envelope())] {
        let mut g = c.benchmark_group(format!("envelope-{size}"));
        let len = serde_json::to_vec(&env).unwrap().len() as u64;
        g.throughput(Throughput::Bytes(len));
        if size == "1MB" {
            g.sample_size(10);
        }
        for profile in [Profile::Spdci, Profile::JwsDetached, Profile::JwsCompact] {
            for alg in [Algorithm::Ed25519, Algorithm::RsaSha256] {
                let mut signer = Signer::new(key(alg), "spmis.example.org", "key1");
                signer.profile = profile;
                let id = format!("{}/{}", profile.name(), alg.dci_name());
                let (h, m) = (&env["header"], &env["message"]);
                g.bench_with_input(BenchmarkId::new("sign", &id), &env, |b, _| {
                    run(b, || {
                        signer
                            .signature_for(black_box(h), black_box(m), Some(T))
                            .unwrap()
                    })
                });
                let mut signed = env.clone();
                signer.sign_value(&mut signed, Some(T)).unwrap();
                let bytes = serde_json::to_vec(&signed).unwrap();
                let vk = signer.key.verifying_key();
                let opts = VerifyOptions {
                    now: Some(T),
                    ..Default::default()
                };
                g.bench_with_input(BenchmarkId::new("verify", &id), &bytes, |b, bytes| {
                    run(b, || verify_bytes(black_box(bytes), &vk, &opts).unwrap())
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, raw, envelopes);
criterion_main!(benches);
