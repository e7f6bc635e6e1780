//! The PostgreSQL store's shared-instance rows, on one database through two stores (as two
//! `dci serve` processes hold them): replay claims, outbox leases, the insert-if-absent key,
//! and the inspector's audit and attempt reads. Needs DCI_TEST_POSTGRES_URL (CI sets it).

use dci_server::store::postgres::testing;
use dci_server::store::{Attempt, PgStore, Store, Transaction, TxnFilter};

#[test]
fn two_stores_on_one_database_share_claims_leases_and_the_key() {
    let Some(url) = testing::fresh_database("pg_store") else {
        return;
    };
    let a = PgStore::open(&url, 2, 1, &[]).unwrap();
    let b = PgStore::open(&url, 2, 1, &[]).unwrap();

    // Replay: the first claim wins on either store; after the window the id is free again.
    assert!(a.claim_message("s1", "m1", 1_000, 600_000).unwrap());
    assert!(!b.claim_message("s1", "m1", 2_000, 600_000).unwrap());
    assert!(!a.claim_message("s1", "m1", 3_000, 600_000).unwrap());
    assert!(
        b.claim_message("s2", "m1", 3_000, 600_000).unwrap(),
        "per sender"
    );
    assert!(
        b.claim_message("s1", "m1", 700_000, 600_000).unwrap(),
        "window passed"
    );

    // The server key: the first stored value is everyone's.
    assert_eq!(a.meta_or_insert("server_key_pem", "A").unwrap(), "A");
    assert_eq!(b.meta_or_insert("server_key_pem", "B").unwrap(), "A");

    // Outbox: an entry claimed by one store is not handed to the other until released.
    let t = Transaction {
        transaction_id: "t1".into(),
        correlation_id: "c1".into(),
        sender_id: "s1".into(),
        operation: "search".into(),
        status: "pdng".into(),
        deviations: Some(r#"[{"field":"header.receiver_id","rule":"recommended"}]"#.into()),
        created_at: 10,
        ..Transaction::default()
    };
    let body = r#"{"message":{"correlation_id":"c1"}}"#.to_string();
    a.log_with_outbox(
        &t,
        &[("on-search".into(), "http://cb/on-search".into(), body)],
        &[],
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let got = a.due_outbox(now, 10, &[]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].correlation_id, "c1");
    assert!(
        b.due_outbox(now, 10, &[]).unwrap().is_empty(),
        "leased to a"
    );
    a.release_outbox(&[got[0].id]).unwrap();
    let again = b.due_outbox(now, 10, &[]).unwrap();
    assert_eq!(again.len(), 1, "released, then claimed by b");
    let failed = Attempt {
        started_at: 100,
        duration_ms: 7,
        ok: false,
        result: "POST answered 503".into(),
    };
    b.mark_attempt(again[0].id, 0, false, &failed).unwrap();
    // Marked: the lease is cleared and the entry is due again (next_attempt_at 0) for anyone.
    let third = a.due_outbox(now, 10, &[]).unwrap();
    assert_eq!(third.len(), 1);
    let ok = Attempt {
        started_at: 300,
        duration_ms: 4,
        ok: true,
        result: "200 OK ACK".into(),
    };
    a.mark_delivered(third[0].id, &ok).unwrap();
    assert!(b.due_outbox(i64::MAX / 2, 10, &[]).unwrap().is_empty());
    assert_eq!(b.pending_outbox().unwrap(), 0);
    let state = b.outbox_of(&["c1".into()]).unwrap().remove(0);
    assert_eq!(state.tries, vec![failed, ok]);
    assert_eq!(state.attempts, 2);
    assert_eq!(state.delivered_at, Some(304));
    assert_eq!(state.last_error.as_deref(), Some("POST answered 503"));

    // The audit log as the inspector reads it, from the other store.
    let rows = b.recent_transactions(&TxnFilter::default(), 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1.deviations, t.deviations);
    let none = TxnFilter {
        status: Some("succ".into()),
        ..TxnFilter::default()
    };
    assert!(b.recent_transactions(&none, 10).unwrap().is_empty());
}

#[test]
fn a_missing_database_is_named_in_the_error() {
    let Some(url) = testing::fresh_database("pg_missing") else {
        return;
    };
    let mut u = url::Url::parse(&url).unwrap();
    u.set_path("dci_no_such_database");
    let e = match PgStore::open(u.as_str(), 1, 1, &[]) {
        Ok(_) => panic!("opened a database that does not exist"),
        Err(e) => e.to_string(),
    };
    // The server's words, not the pool's bare "db error"; the URL's password is not shown.
    assert!(
        e.contains("database \"dci_no_such_database\" does not exist (3D000)"),
        "{e}"
    );
}
