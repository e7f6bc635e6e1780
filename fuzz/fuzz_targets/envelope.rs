//! An envelope from bytes, the way `dci serve` admits one (docs/server.md, "Security model"):
//! the core's duplicate-refusing parser, then serde_json, then the spec checks of every
//! endpoint, then the typed message. Also the core's own entry points: the action-chosen and
//! per-kind validators and the typed `Envelope::from_slice` + `validate`.
//! Invariant beyond "no panic": an envelope the checks pass parses into the typed message.
#![no_main]

use dci::model::{
    validate_envelope_as, validate_envelope_value, Envelope, MessageKind, MsgCallbackHeader,
    MsgHeader, SearchRequest, SearchResponse, SubscribeRequest, TxnStatusRequest,
    UnSubscribeRequest,
};
use dci_server::op::{Op, Request};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if dci::canonical::parse(data).is_err() {
        return;
    }
    let Ok(env) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = validate_envelope_value(&env);
    for kind in MessageKind::ALL {
        let _ = validate_envelope_as(*kind, &env);
    }
    for op in Op::ALL {
        if !dci_server::validate::envelope(op, &env).is_empty() {
            continue;
        }
        if op.header_kind() == dci::model::HeaderKind::Request {
            let header = env.get("header").cloned().unwrap_or_default();
            if let Err(e) = serde_json::from_value::<MsgHeader>(header) {
                panic!("{op:?}: the spec checks pass but the header does not parse: {e}");
            }
        }
        let message = env.get("message").cloned().unwrap_or_default();
        if let Err(e) = Request::parse(op, message) {
            panic!("{op:?}: the spec checks pass but the typed message does not parse: {e}");
        }
    }
    let _ = Envelope::<SearchRequest>::from_slice(data).map(|e| e.validate());
    let _ = Envelope::<SearchResponse, MsgCallbackHeader>::from_slice(data).map(|e| e.validate());
    let _ = Envelope::<SubscribeRequest>::from_slice(data).map(|e| e.validate());
    let _ = Envelope::<UnSubscribeRequest>::from_slice(data).map(|e| e.validate());
    let _ = Envelope::<TxnStatusRequest>::from_slice(data).map(|e| e.validate());
    let _ = Envelope::<Value, MsgHeader>::from_slice(data).map(|e| e.is_encrypted());
});
