//! The OpenSPP spdci-compliance requirements, checked against the real `dci serve --demo`.
//!
//! One `#[test]` per requirement id of the suite's lists (common, social, crvs, fr; see
//! docs/conformance.md), named for the id in lower case with `_` for `-`, so that
//! `cargo test -p dci-cli --test conformance -- sr_core_rg_sync_search_01` runs one and
//! `-- crvs_` runs a domain. Each check sends what the suite sends (same envelope, signature
//! placeholder, header ids, query payloads, same mutation for negative cases) and asserts what
//! the suite asserts, plus the precise answer this project promises (exact HTTP status,
//! `err.*` code, the field the rejection names). Response bodies are checked against the
//! required fields, enums and formats of the latest bundled specs ([`schema`]).
//!
//! Most requirements are a row of one table: an operation ([`Op`]) sent to a domain, and the
//! answer it wants ([`Want`]); the common feature files' checks run against every domain of
//! [`DOMAINS`]. The rest are checks of their own ([`own`]).
//!
//! Requirements the server does not meet yet are listed in [`KNOWN_GAPS`] with the change
//! they need. A test fails when a requirement outside that list fails, and also when a listed
//! one passes (so the list only shrinks). A gap is printed when its test runs.
//!
//! `DCI_CONFORMANCE_BIN=/path/to/dci` runs the checks against another build of the binary.

mod expect;
mod harness;
mod schema;
mod suite;

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};

use expect::*;
use harness::{token, Receiver, Server};
use schema::Schema;
use suite::*;
use Want::*;

// ---------------------------------------------------------------------------------------
// Requirements
// ---------------------------------------------------------------------------------------

/// Every requirement id of the suite's four lists, with its method and path.
#[rustfmt::skip]
const REQUIREMENTS: &[(&str, &str, &str)] = &[
    // common/requirements.json
    ("DCI-VAL-FMT-TS-01", "POST", "/registry/search"),
    ("DCI-VAL-FMT-TS-02", "POST", "/registry/search"),
    ("DCI-VAL-FMT-TS-03", "POST", "/registry/subscribe"),
    ("DCI-VAL-FMT-LOC-01", "POST", "/registry/search"),
    ("DCI-VAL-FMT-LOC-02", "POST", "/registry/search"),
    ("DCI-VAL-FMT-LOC-03", "POST", "/registry/search"),
    ("DCI-VAL-BND-TXN-01", "POST", "/registry/search"),
    ("DCI-VAL-BND-TXN-02", "POST", "/registry/search"),
    ("DCI-VAL-BND-REF-01", "POST", "/registry/search"),
    ("DCI-VAL-BND-SUB-01", "POST", "/registry/unsubscribe"),
    ("DCI-VAL-BND-SUB-02", "POST", "/registry/unsubscribe"),
    ("DCI-CORE-PAG-01", "POST", "/registry/search"),
    ("DCI-CORE-PAG-02", "POST", "/registry/sync/search"),
    ("DCI-CORE-PAG-03", "POST", "/registry/search"),
    ("DCI-VAL-PAG-01", "POST", "/registry/search"),
    ("DCI-VAL-PAG-02", "POST", "/registry/search"),
    ("DCI-VAL-PAG-03", "POST", "/registry/search"),
    // domains/crvs/requirements.json
    ("CRVS-CORE-RG-ASYNC-SEARCH-01", "POST", "/registry/search"),
    ("CRVS-CORE-RG-SUBSCRIBE-01", "POST", "/registry/subscribe"),
    ("CRVS-CORE-RG-UNSUBSCRIBE-01", "POST", "/registry/unsubscribe"),
    ("CRVS-CORE-RG-TXN-STATUS-01", "POST", "/registry/txn/status"),
    ("CRVS-CORE-RG-SYNC-SEARCH-01", "POST", "/registry/sync/search"),
    ("CRVS-CORE-RG-ASYNC-SEARCH-NEG-01", "POST", "/registry/search"),
    ("CRVS-CORE-RG-SUBSCRIBE-NEG-01", "POST", "/registry/subscribe"),
    ("CRVS-CORE-RG-SYNC-SEARCH-NEG-01", "POST", "/registry/sync/search"),
    // domains/fr/requirements.json
    ("FR-CORE-RG-ASYNC-SEARCH-01", "POST", "/registry/search"),
    ("FR-CORE-RG-SUBSCRIBE-01", "POST", "/registry/subscribe"),
    ("FR-CORE-RG-UNSUBSCRIBE-01", "POST", "/registry/unsubscribe"),
    ("FR-CORE-RG-TXN-STATUS-01", "POST", "/registry/txn/status"),
    ("FR-CORE-RG-SYNC-SEARCH-01", "POST", "/registry/sync/search"),
    ("FR-CORE-RG-ASYNC-SEARCH-NEG-01", "POST", "/registry/search"),
    ("FR-CORE-RG-SUBSCRIBE-NEG-01", "POST", "/registry/subscribe"),
    ("FR-CORE-RG-SYNC-SEARCH-NEG-01", "POST", "/registry/sync/search"),
    // domains/social/requirements.json
    ("SR-CORE-RG-ASYNC-SEARCH-01", "POST", "/registry/search"),
    ("SR-CORE-RG-ASYNC-SUBSCRIBE-01", "POST", "/registry/subscribe"),
    ("SR-CORE-RG-ASYNC-UNSUBSCRIBE-01", "POST", "/registry/unsubscribe"),
    ("SR-CORE-RG-ASYNC-TXNSTATUS-01", "POST", "/registry/txn/status"),
    ("SR-CORE-RG-SYNC-SEARCH-01", "POST", "/registry/sync/search"),
    ("SR-CORE-RG-SYNC-TXNSTATUS-01", "POST", "/registry/sync/txn/status"),
    ("SR-CORE-RG-ASYNC-SEARCH-CB-01", "POST", "/registry/search"),
    ("SR-CORE-RG-ASYNC-SUBSCRIBE-CB-01", "POST", "/registry/subscribe"),
    ("SR-CORE-RG-ASYNC-UNSUBSCRIBE-CB-01", "POST", "/registry/unsubscribe"),
    ("SR-CORE-RG-ASYNC-TXNSTATUS-CB-01", "POST", "/registry/txn/status"),
    ("SR-CORE-SP-ON-SEARCH-01", "POST", "/registry/on-search"),
    ("SR-CORE-SP-ON-SUBSCRIBE-01", "POST", "/registry/on-subscribe"),
    ("SR-CORE-SP-ON-UNSUBSCRIBE-01", "POST", "/registry/on-unsubscribe"),
    ("SR-CORE-SP-TXN-ON-STATUS-01", "POST", "/registry/txn/on-status"),
    ("SR-CORE-SP-NOTIFY-01", "POST", "/registry/notify"),
    ("SR-CORE-RG-ASYNC-SEARCH-NEG-01", "POST", "/registry/search"),
    ("SR-CORE-RG-ASYNC-SUBSCRIBE-NEG-01", "POST", "/registry/subscribe"),
    ("SR-CORE-RG-ASYNC-UNSUBSCRIBE-NEG-01", "POST", "/registry/unsubscribe"),
    ("SR-CORE-RG-ASYNC-TXNSTATUS-NEG-01", "POST", "/registry/txn/status"),
    ("SR-CORE-RG-SYNC-SEARCH-NEG-01", "POST", "/registry/sync/search"),
    ("SR-CORE-RG-SYNC-TXNSTATUS-NEG-01", "POST", "/registry/sync/txn/status"),
    ("SR-CORE-SP-ON-SEARCH-NEG-01", "POST", "/registry/on-search"),
    ("SR-CORE-SP-ON-SUBSCRIBE-NEG-01", "POST", "/registry/on-subscribe"),
    ("SR-CORE-SP-ON-UNSUBSCRIBE-NEG-01", "POST", "/registry/on-unsubscribe"),
    ("SR-CORE-SP-TXN-ON-STATUS-NEG-01", "POST", "/registry/txn/on-status"),
    ("SR-CORE-SP-NOTIFY-NEG-01", "POST", "/registry/notify"),
    ("SR-SEC-AUTH-RG-ASYNC-SEARCH-01", "POST", "/registry/search"),
    ("SR-SEC-AUTH-RG-ASYNC-SUBSCRIBE-01", "POST", "/registry/subscribe"),
    ("SR-SEC-AUTH-RG-ASYNC-UNSUBSCRIBE-01", "POST", "/registry/unsubscribe"),
    ("SR-SEC-AUTH-RG-ASYNC-TXNSTATUS-01", "POST", "/registry/txn/status"),
    ("SR-SEC-AUTH-RG-SYNC-SEARCH-01", "POST", "/registry/sync/search"),
    ("SR-SEC-AUTH-RG-SYNC-TXNSTATUS-01", "POST", "/registry/sync/txn/status"),
    ("SR-SEC-AUTH-SP-ON-SEARCH-01", "POST", "/registry/on-search"),
    ("SR-SEC-AUTH-SP-ON-SUBSCRIBE-01", "POST", "/registry/on-subscribe"),
    ("SR-SEC-AUTH-SP-ON-UNSUBSCRIBE-01", "POST", "/registry/on-unsubscribe"),
    ("SR-SEC-AUTH-SP-TXN-ON-STATUS-01", "POST", "/registry/txn/on-status"),
    ("SR-SEC-AUTH-SP-NOTIFY-01", "POST", "/registry/notify"),
    ("SR-SEC-SIG-RG-01", "POST", "/registry/search"),
    ("SR-SEC-SIG-SP-01", "POST", "/registry/notify"),
    ("SR-EXTRA-RG-SYNC-SEARCH-REGRECORDS-01", "POST", "/registry/sync/search"),
    ("SR-CORE-RG-ASYNC-SEARCH-EXPRESSION-01", "POST", "/registry/search"),
    ("SR-CORE-RG-ASYNC-SEARCH-PREDICATE-01", "POST", "/registry/search"),
    ("SR-CORE-RG-SYNC-SEARCH-EXPRESSION-01", "POST", "/registry/sync/search"),
    ("SR-CORE-RG-SYNC-SEARCH-PREDICATE-01", "POST", "/registry/sync/search"),
    ("SP-CORE-CL-SEARCH-01", "POST", "/registry/search"),
    ("SP-CORE-CL-SEARCH-ACK-01", "POST", "/registry/search"),
    ("SP-CORE-CL-SEARCH-ERR-01", "POST", "/registry/search"),
    ("SP-CORE-CL-SUBSCRIBE-01", "POST", "/registry/subscribe"),
    ("SP-CORE-CL-UNSUBSCRIBE-01", "POST", "/registry/unsubscribe"),
    ("SP-CORE-CL-SYNC-SEARCH-01", "POST", "/registry/sync/search"),
    ("SP-SEC-CL-AUTH-01", "POST", "/registry/search"),
    ("SP-CORE-CL-CONTENTTYPE-01", "POST", "/registry/search"),
    ("SP-CORE-CL-HEADER-VERSION-01", "POST", "/registry/search"),
    ("SP-CORE-CL-HEADER-SENDERID-01", "POST", "/registry/search"),
    ("SP-CORE-CL-HEADER-RECEIVERID-01", "POST", "/registry/search"),
    ("SP-CORE-CL-HEADER-SENDERURI-01", "POST", "/registry/search"),
    ("SP-CORE-CL-MSG-TXNID-01", "POST", "/registry/search"),
    ("SP-CORE-CL-QUERY-IDTYPE-01", "POST", "/registry/search"),
    ("SP-CORE-CL-QUERY-EXPRESSION-01", "POST", "/registry/search"),
    ("SP-CORE-CL-QUERY-PREDICATE-01", "POST", "/registry/search"),
];

/// Scenarios of the suite's common/features/security_headers.feature (all POST
/// /registry/search): not in the four requirement lists, but run by `npm run test:core` and
/// `npm run test:smoke`.
const EXTRA: &[&str] = &[
    "SPDCI-SEC-AUTH-01",
    "SPDCI-SEC-AUTH-02",
    "SPDCI-SEC-AUTH-03",
    "SPDCI-SEC-CONTENT-01",
    "SPDCI-SEC-CONTENT-02",
];

/// Requirements `dci serve` does not meet yet, with the change each needs. Keep in step
/// with docs/conformance.md ("Known gaps").
const KNOWN_GAPS: &[(&str, &str)] = &[];

/// The suite's domains (DOMAIN=social|crvs|fr): the common feature files run in each.
const DOMAINS: &[&Domain] = &[&SOCIAL, &CRVS, &FR];

// ---------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------

/// What one requirement checks.
enum Check {
    /// `op` (edited by `edit`) sent to `domain` as the domain steps build it, or, with no
    /// domain, as the common steps build it to every domain of [`DOMAINS`].
    Row {
        domain: Option<&'static Domain>,
        op: Op,
        edit: fn(&mut Value),
        want: Want,
    },
    /// A check of its own.
    Own(fn(&Ctx) -> Result<(), String>),
}

fn on(d: &'static Domain, op: Op, want: Want) -> Check {
    on_edited(d, op, |_| {}, want)
}

fn on_edited(d: &'static Domain, op: Op, edit: fn(&mut Value), want: Want) -> Check {
    Check::Row {
        domain: Some(d),
        op,
        edit,
        want,
    }
}

/// A check of the common feature files: the suite runs them in every domain's run, so they
/// run here against the social, crvs and fr endpoints (the payload is the same for all).
fn every(op: Op, edit: fn(&mut Value), want: Want) -> Check {
    Check::Row {
        domain: None,
        op,
        edit,
        want,
    }
}

fn own(f: fn(&Ctx) -> Result<(), String>) -> Check {
    Check::Own(f)
}

impl Check {
    fn run(&self, c: &Ctx) -> Result<(), String> {
        match *self {
            Check::Row {
                domain: Some(d),
                op,
                edit,
                want,
            } => exchange(c, d, op, Style::Domain, edit, want),
            Check::Row {
                domain: None,
                op,
                edit,
                want,
            } => DOMAINS.iter().try_for_each(|d| {
                exchange(c, d, op, Style::Common, edit, want)
                    .map_err(|e| format!("{}: {e}", d.prefix))
            }),
            Check::Own(f) => f(c),
        }
    }
}

/// One test function per requirement, named for its id; `TESTS` lists their names.
macro_rules! requirements {
    ($($name:ident: $check:expr;)*) => {
        const TESTS: &[&str] = &[$(stringify!($name)),*];
        $(#[test] fn $name() { run(stringify!($name), $check) })*
    };
}

fn page(b: &mut Value, size: i64, number: i64) {
    item(b)["pagination"] = json!({"page_size": size, "page_number": number});
}

requirements! {
    // -- common: format ------------------------------------------------------------------
    dci_val_fmt_ts_01: every(SEARCH, |b| item(b)["timestamp"] = json!("not-a-timestamp"),
        Bad("search_request[0].timestamp"));
    dci_val_fmt_ts_02: every(SEARCH, |b| item(b)["timestamp"] = json!(now_ts()), Accepted);
    dci_val_fmt_ts_03: every(Subscribe,
        |b| b["message"]["subscribe_request"][0]["timestamp"] = json!("2024-01-15T10:30:00"),
        Bad("subscribe_request[0].timestamp"));
    dci_val_fmt_loc_01: every(SEARCH, |b| item(b)["locale"] = json!("eng"), Accepted);
    dci_val_fmt_loc_02: every(SEARCH, |b| item(b)["locale"] = json!("en"),
        Bad("search_request[0].locale"));
    dci_val_fmt_loc_03: every(SEARCH, |b| item(b)["locale"] = json!("ENG"),
        Bad("search_request[0].locale"));
    // -- common: boundaries --------------------------------------------------------------
    dci_val_bnd_txn_01: every(SEARCH,
        |b| b["message"]["transaction_id"] = json!("x".repeat(99)), Accepted);
    dci_val_bnd_txn_02: every(SEARCH,
        |b| b["message"]["transaction_id"] = json!("x".repeat(100)), Bad("message.transaction_id"));
    dci_val_bnd_ref_01: every(SEARCH, |b| item(b)["reference_id"] = json!("r".repeat(50)),
        Accepted);
    dci_val_bnd_sub_01: every(Unsubscribe,
        |b| b["message"]["subscription_codes"] = json!(["s".repeat(99)]), Accepted);
    dci_val_bnd_sub_02: every(Unsubscribe,
        |b| b["message"]["subscription_codes"] = json!(["s".repeat(100)]),
        Bad("subscription_codes[0]"));
    // -- common: pagination (the suite puts it on the search_request item) --------------
    dci_core_pag_01: every(SEARCH, |b| page(b, 10, 1), Accepted);
    dci_core_pag_02: every(SYNC_SEARCH, |b| page(b, 5, 1), AcceptedAnswer);
    dci_core_pag_03: every(SEARCH, |b| page(b, 10, 2), Accepted);
    dci_val_pag_01: every(SEARCH, |b| page(b, 0, 1), Bad("pagination.page_size"));
    dci_val_pag_02: every(SEARCH, |b| page(b, 10, 0), Bad("pagination.page_number"));
    dci_val_pag_03: every(SEARCH, |b| page(b, -1, 1), Bad("pagination.page_size"));
    // -- CRVS registry profile -----------------------------------------------------------
    crvs_core_rg_async_search_01: on(&CRVS, SEARCH, Ack);
    crvs_core_rg_subscribe_01: on(&CRVS, Subscribe, Ack);
    crvs_core_rg_unsubscribe_01: on(&CRVS, Unsubscribe, Ack);
    crvs_core_rg_txn_status_01: on(&CRVS, TxnStatus, Ack);
    crvs_core_rg_sync_search_01: on(&CRVS, SYNC_SEARCH, Answer);
    crvs_core_rg_async_search_neg_01: on(&CRVS, SEARCH, NoMessage);
    crvs_core_rg_subscribe_neg_01: on(&CRVS, Subscribe, NoMessage);
    crvs_core_rg_sync_search_neg_01: on(&CRVS, SYNC_SEARCH, NoMessage);
    // -- FR registry profile -------------------------------------------------------------
    fr_core_rg_async_search_01: on(&FR, SEARCH, Ack);
    fr_core_rg_subscribe_01: on(&FR, Subscribe, Ack);
    fr_core_rg_unsubscribe_01: on(&FR, Unsubscribe, Ack);
    fr_core_rg_txn_status_01: on(&FR, TxnStatus, Ack);
    fr_core_rg_sync_search_01: on(&FR, SYNC_SEARCH, Answer);
    fr_core_rg_async_search_neg_01: on(&FR, SEARCH, NoMessage);
    fr_core_rg_subscribe_neg_01: on(&FR, Subscribe, NoMessage);
    fr_core_rg_sync_search_neg_01: on(&FR, SYNC_SEARCH, NoMessage);
    // -- social registry profile ---------------------------------------------------------
    sr_core_rg_async_search_01: on(&SOCIAL, SEARCH, Ack);
    sr_core_rg_async_subscribe_01: on(&SOCIAL, Subscribe, Ack);
    sr_core_rg_async_unsubscribe_01: on(&SOCIAL, Unsubscribe, Ack);
    sr_core_rg_async_txnstatus_01: on(&SOCIAL, TxnStatus, Ack);
    sr_core_rg_sync_search_01: on(&SOCIAL, SYNC_SEARCH, AnswerWithRecords);
    sr_core_rg_sync_txnstatus_01: on(&SOCIAL, SyncTxnStatus, Answer);
    sr_core_rg_async_search_cb_01: on(&SOCIAL, SEARCH, Callback);
    sr_core_rg_async_subscribe_cb_01: on(&SOCIAL, Subscribe, Callback);
    sr_core_rg_async_unsubscribe_cb_01: on(&SOCIAL, Unsubscribe, Callback);
    sr_core_rg_async_txnstatus_cb_01: on(&SOCIAL, TxnStatus, Callback);
    sr_core_sp_on_search_01: on(&SOCIAL, OnSearch, Received);
    sr_core_sp_on_subscribe_01: on(&SOCIAL, OnSubscribe, Received);
    sr_core_sp_on_unsubscribe_01: on(&SOCIAL, OnUnsubscribe, Received);
    sr_core_sp_txn_on_status_01: on(&SOCIAL, OnStatus, Received);
    sr_core_sp_notify_01: on(&SOCIAL, Notify, Received);
    sr_core_rg_async_search_neg_01: on(&SOCIAL, SEARCH, NoMessage);
    sr_core_rg_async_subscribe_neg_01: on(&SOCIAL, Subscribe, NoMessage);
    sr_core_rg_async_unsubscribe_neg_01: on(&SOCIAL, Unsubscribe, NoMessage);
    sr_core_rg_async_txnstatus_neg_01: on(&SOCIAL, TxnStatus, NoMessage);
    sr_core_rg_sync_search_neg_01: on(&SOCIAL, SYNC_SEARCH, NoMessage);
    sr_core_rg_sync_txnstatus_neg_01: on(&SOCIAL, SyncTxnStatus, NoMessage);
    sr_core_sp_on_search_neg_01: on(&SOCIAL, OnSearch, NoMessage);
    sr_core_sp_on_subscribe_neg_01: on(&SOCIAL, OnSubscribe, NoMessage);
    sr_core_sp_on_unsubscribe_neg_01: on(&SOCIAL, OnUnsubscribe, NoMessage);
    sr_core_sp_txn_on_status_neg_01: on(&SOCIAL, OnStatus, NoMessage);
    sr_core_sp_notify_neg_01: on(&SOCIAL, Notify, NoMessage);
    sr_sec_auth_rg_async_search_01: on(&SOCIAL, SEARCH, NoAuth);
    sr_sec_auth_rg_async_subscribe_01: on(&SOCIAL, Subscribe, NoAuth);
    sr_sec_auth_rg_async_unsubscribe_01: on(&SOCIAL, Unsubscribe, NoAuth);
    sr_sec_auth_rg_async_txnstatus_01: on(&SOCIAL, TxnStatus, NoAuth);
    sr_sec_auth_rg_sync_search_01: on(&SOCIAL, SYNC_SEARCH, NoAuth);
    sr_sec_auth_rg_sync_txnstatus_01: on(&SOCIAL, SyncTxnStatus, NoAuth);
    sr_sec_auth_sp_on_search_01: on(&SOCIAL, OnSearch, NoAuth);
    sr_sec_auth_sp_on_subscribe_01: on(&SOCIAL, OnSubscribe, NoAuth);
    sr_sec_auth_sp_on_unsubscribe_01: on(&SOCIAL, OnUnsubscribe, NoAuth);
    sr_sec_auth_sp_txn_on_status_01: on(&SOCIAL, OnStatus, NoAuth);
    sr_sec_auth_sp_notify_01: on(&SOCIAL, Notify, NoAuth);
    sr_sec_sig_rg_01: on(&SOCIAL, SEARCH, BadSignature);
    sr_sec_sig_sp_01: on(&SOCIAL, Notify, BadSignature);
    sr_extra_rg_sync_search_regrecords_01: own(reg_records_schema);
    sr_core_rg_async_search_expression_01: on(&SOCIAL, SEARCH_EXPRESSION, Ack);
    sr_core_rg_async_search_predicate_01: on(&SOCIAL, SEARCH_PREDICATE, Ack);
    sr_core_rg_sync_search_expression_01: on(&SOCIAL, SYNC_SEARCH_EXPRESSION, Answer);
    sr_core_rg_sync_search_predicate_01: on(&SOCIAL, SYNC_SEARCH_PREDICATE, Answer);
    // -- spmis-client profile: the suite checks its own request builders there and never
    //    calls a registry; here, the registry side of each (the request is served). -----
    sp_core_cl_search_01: on(&SOCIAL, SEARCH, Ack);
    sp_core_cl_search_ack_01: on(&SOCIAL, SEARCH, Ack);
    // An ERR carries error.code and error.message (naming the field) for the client.
    sp_core_cl_search_err_01: on_edited(&SOCIAL, SEARCH,
        |b| item(b)["search_criteria"]["query_type"] = json!("sql"), Bad("query_type"));
    sp_core_cl_subscribe_01: on(&SOCIAL, Subscribe, Ack);
    sp_core_cl_unsubscribe_01: on(&SOCIAL, Unsubscribe, Ack);
    sp_core_cl_sync_search_01: on(&SOCIAL, SYNC_SEARCH, AnswerWithRecords);
    // The token from /oauth2/client/token, sent as "Authorization: Bearer ...", is accepted;
    // the same request without it is not.
    sp_sec_cl_auth_01: own(|c| {
        on(&SOCIAL, SEARCH, Ack).run(c)?;
        on(&SOCIAL, SEARCH, NoAuth).run(c)
    });
    // Plain application/json (the suite's client check) as well as the charset form.
    sp_core_cl_contenttype_01: own(|c| {
        let r = post_search(c, &[("Content-Type", "application/json"), ("Authorization", &c.bearer())])?;
        expect_ack(&r, &["ACK"]).map(|_| ())
    });
    sp_core_cl_header_version_01: own(|c| {
        let (r, _) = sync_search(c)?;
        match r.body["header"]["version"].as_str() {
            Some("1.0.0") => Ok(()),
            v => Err(format!("response header.version {v:?}, want \"1.0.0\"")),
        }
    });
    // sender_id is how the registry knows the caller: without it the request is refused.
    sp_core_cl_header_senderid_01: on_edited(&SOCIAL, SEARCH, |b| {
        if let Some(h) = b["header"].as_object_mut() {
            h.remove("sender_id");
        }
    }, Bad("header.sender_id"));
    // The answer goes back to the caller: its receiver_id is our sender_id.
    sp_core_cl_header_receiverid_01: own(|c| {
        let (r, _) = sync_search(c)?;
        if r.body["header"]["receiver_id"] != json!(c.server.sender_id) {
            return Err(format!(
                "response header.receiver_id {}, want {:?}",
                r.body["header"]["receiver_id"], c.server.sender_id
            ));
        }
        Ok(())
    });
    sp_core_cl_header_senderuri_01: on(&SOCIAL, SEARCH_PREDICATE, Callback);
    sp_core_cl_msg_txnid_01: own(|c| {
        let b = SEARCH.request(c, &SOCIAL, Style::Domain);
        same_txn(&c.post(&SOCIAL, SYNC_SEARCH.path(), &b, true)?, &b)?;
        on_edited(&SOCIAL, SEARCH, |b| {
            if let Some(m) = b["message"].as_object_mut() {
                m.remove("transaction_id");
            }
        }, Bad("message.transaction_id")).run(c)
    });
    sp_core_cl_query_idtype_01: on(&SOCIAL, SEARCH, Ack);
    sp_core_cl_query_expression_01: on(&SOCIAL, SEARCH_EXPRESSION, Ack);
    sp_core_cl_query_predicate_01: on(&SOCIAL, SEARCH_PREDICATE, Ack);
    // -- common/features/security_headers.feature (outside the requirement lists) --------
    spdci_sec_auth_01: on(&SOCIAL, SEARCH, NoAuth);
    spdci_sec_auth_02: own(|c| {
        let r = post_search(c, &[
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer invalid-token"),
        ])?;
        expect_reject(&r, 401, "err.request.unauthorized", "bearer")
    });
    spdci_sec_auth_03: on(&SOCIAL, SEARCH, Ack);
    // The suite wants 400 or 415 for a body sent without Content-Type; we promise 415.
    spdci_sec_content_01: own(|c| {
        let r = post_search(c, &[("Accept", "application/json"), ("Authorization", &c.bearer())])?;
        expect_reject(&r, 415, "err.request.bad", "Content-Type")
    });
    spdci_sec_content_02: own(|c| {
        let r = post_search(c, &[
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("Authorization", &c.bearer()),
        ])?;
        if r.status == 415 {
            return Err(format!("application/json refused: {}", r.brief()));
        }
        expect_ack(&r, &["ACK"]).map(|_| ())
    });
}

/// The domain steps' async search, POSTed to the social registry with exactly `headers`.
fn post_search(c: &Ctx, headers: &[(&str, &str)]) -> Result<harness::Resp, String> {
    let b = SEARCH.request(c, &SOCIAL, Style::Domain);
    c.post_with(&SOCIAL, SEARCH.path(), headers, &b)
}

/// The domain steps' sync search of the social registry, answered with a valid header.
fn sync_search(c: &Ctx) -> Result<(harness::Resp, Value), String> {
    let b = SYNC_SEARCH.request(c, &SOCIAL, Style::Domain);
    let r = c.post(&SOCIAL, SYNC_SEARCH.path(), &b, true)?;
    expect_sync(&r, "on-search")?.done()?;
    Ok((r, b))
}

/// The suite's extra (non-normative) record schema: identifier and parent identifiers are
/// objects of strings; death, marriage and divorce dates are date-times.
fn reg_records_schema(c: &Ctx) -> Result<(), String> {
    let b = SYNC_SEARCH.request(c, &SOCIAL, Style::Domain);
    let r = c.post(&SOCIAL, SYNC_SEARCH.path(), &b, true)?;
    let recs = r.body["message"]["search_response"][0]["data"]["reg_records"]
        .as_array()
        .ok_or_else(|| format!("no reg_records array; {}", r.brief()))?;
    let mut s = Schema::default();
    for (i, rec) in recs.iter().enumerate() {
        let p = format!("reg_records[{i}]");
        let Some(o) = s.obj(rec, &p) else { continue };
        for k in [
            "identifier",
            "parent1_identifier",
            "parent2_identifier",
            "address",
        ] {
            let kp = format!("{p}.{k}");
            let Some(id) = o.get(k).and_then(|v| s.obj(v, &kp)) else {
                continue;
            };
            if k != "address" {
                for f in ["identifier_type", "identifier_value"] {
                    s.str(id, f, &kp, false, None, None);
                }
            }
        }
        for k in ["death_date", "marriage_date", "divorce_date"] {
            s.date_time(o, k, &p, false);
        }
        for k in ["death_place", "marital_status"] {
            s.str(o, k, &p, false, None, None);
        }
    }
    s.done()
}

// ---------------------------------------------------------------------------------------
// Running them
// ---------------------------------------------------------------------------------------

/// The server, a token and the callback receiver, started by the first test that runs.
fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Result<Ctx, String>> = OnceLock::new();
    let c = CTX.get_or_init(|| {
        let server = Server::start()?;
        let token = token(&server)?;
        Ok(Ctx {
            server,
            token,
            rx: Receiver::start(),
        })
    });
    match c {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// The requirement id a test is named for (`sr_core_sp_notify_01` -> `SR-CORE-SP-NOTIFY-01`).
fn id_of(test: &str) -> String {
    test.to_ascii_uppercase().replace('_', "-")
}

fn run(test: &str, check: Check) {
    let id = id_of(test);
    let gap = KNOWN_GAPS.iter().find(|g| g.0 == id).map(|g| g.1);
    let c = ctx();
    match (check.run(c), gap) {
        (Ok(()), None) => {}
        (Ok(()), Some(_)) => panic!("{id} passes but is listed in KNOWN_GAPS: remove it"),
        (Err(e), Some(why)) => println!("GAP   {id}  needs: {why}\n        got: {e}"),
        (Err(e), None) => panic!("{id}: {e}\nserver log (tail):\n{}", c.server.log_tail()),
    }
}

#[test]
fn every_requirement_has_one_test() {
    let mut ids: Vec<&str> = REQUIREMENTS
        .iter()
        .map(|r| r.0)
        .chain(EXTRA.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        REQUIREMENTS.len() + EXTRA.len(),
        "duplicate requirement ids"
    );
    let mut tested: Vec<String> = TESTS.iter().map(|t| id_of(t)).collect();
    tested.sort_unstable();
    assert_eq!(ids, tested, "requirement table and tests differ");
    for (id, _) in KNOWN_GAPS {
        assert!(
            ids.contains(id),
            "KNOWN_GAPS names an unknown requirement {id}"
        );
    }
}

/// Our table against the suite's lists (copies committed in tests/spec/, see its README).
#[test]
fn table_matches_the_suite_lists() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/spec/compliance-requirements");
    let files = [
        "common.requirements.json",
        "domains_crvs.requirements.json",
        "domains_fr.requirements.json",
        "domains_social.requirements.json",
    ];
    let mut theirs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(dir.join(f)).expect("requirement list");
        let v: Value = serde_json::from_str(&text).expect("requirement JSON");
        for r in v["requirements"].as_array().expect("requirements array") {
            theirs.push((
                r["id"].as_str().unwrap_or_default().to_string(),
                r["method"].as_str().unwrap_or_default().to_string(),
                r["path"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    let mut ours: Vec<(String, String, String)> = REQUIREMENTS
        .iter()
        .map(|(i, m, p)| (i.to_string(), m.to_string(), p.to_string()))
        .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
}
