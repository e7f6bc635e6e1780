//! [`Registry`]: the kit put together for a host that keeps no state of its own beyond its
//! data (a Python, C or Go service, an Odoo module): the server key and profile, the sender
//! registry, the replay guard, the limits, and every answer signed and (when the sender
//! registered an encryption key) encrypted.
//!
//! A host receives a request on a path, calls [`Registry::admit`], and either answers the
//! [`Refused`] body with its status, or computes the operation's message and answers
//! [`Registry::answer`] (sync), or [`Registry::ack`] now and [`Registry::callback`] later
//! (async). `dci serve` runs the same admission and builders over its database.

use serde_json::{Map, Value};

use super::admit::{self, no_check, seal, Admission, Admitted, Partial, Policy};
use super::answer::{self, answered, callback_base, callback_url, new_id, page, rejected};
use super::egress::Egress;
use super::op::{Op, Request, Response};
use super::reject::{ErrorBody, Rejection};
use super::sender::{share, MemoryReplay, MemorySenders, ReplayGuard, Sender, SenderDirectory};
use crate::encryption::DecryptionKey;
use crate::model::{
    ErrorCode, Pagination, ReasonCode, RequestStatus, SearchRequestItem, SearchResponse,
    SearchResponseItem,
};
use crate::signature::Signer;

/// A refused request: the HTTP status and the exact body to send, and why.
#[derive(Debug, Clone)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
    pub rejection: Box<Rejection>,
}

/// An async answer to deliver: POST `body` to `url` (already checked against the outbound
/// policy and the sender's registered callback URI).
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub url: String,
    pub body: Value,
}

/// What a host found for one search item.
#[derive(Debug, Clone)]
pub enum ItemResult {
    /// Every matching record, in the order to answer them (the kit pages them).
    Records(Vec<Value>),
    /// The item is refused with a search reason code (`rjct.search_criteria.invalid`, ...).
    Rejected(ReasonCode, String),
}

/// Largest `page_size` a host answers unless it says otherwise.
pub const DEFAULT_MAX_PAGE_SIZE: usize = 1000;

/// A registry host's admission and answers.
pub struct Registry {
    signer: Signer,
    pub policy: Policy,
    senders: Box<dyn SenderDirectory>,
    replay: Box<dyn ReplayGuard>,
    decryption_keys: Vec<DecryptionKey>,
    pub egress: Egress,
    /// The registry type of bare `/registry/...` paths.
    pub default_registry: String,
    pub max_page_size: usize,
}

impl Registry {
    /// A registry answering as `signer.sender_id`, with an empty in-memory sender list and
    /// replay guard, the default [`Policy`], callbacks refused to private addresses.
    pub fn new(signer: Signer) -> Registry {
        Registry {
            signer,
            policy: Policy::default(),
            senders: Box::new(MemorySenders::default()),
            replay: Box::new(MemoryReplay::default()),
            decryption_keys: Vec::new(),
            egress: Egress::default(),
            default_registry: "crvs".into(),
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
        }
    }

    pub fn with_senders(mut self, senders: Box<dyn SenderDirectory>) -> Self {
        self.senders = senders;
        self
    }
    pub fn with_replay(mut self, replay: Box<dyn ReplayGuard>) -> Self {
        self.replay = replay;
        self
    }
    pub fn with_decryption_keys(mut self, keys: Vec<DecryptionKey>) -> Self {
        self.decryption_keys = keys;
        self
    }

    /// The id this registry answers as (`header.sender_id` of its answers).
    pub fn server_id(&self) -> &str {
        &self.signer.sender_id
    }
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Admits a request received on `path` (`/registry/sync/search`, `/dr/registry/...`).
    /// An unknown path is refused with 404 `err.request.not_found`.
    pub fn admit(&self, path: &str, body: &[u8]) -> Result<(Op, &'static str, Admitted), Refused> {
        let Some((op, registry)) = Op::route(path, &self.default_registry) else {
            let r = Rejection::new(ErrorCode::RequestNotFound, format!("no endpoint {path}"));
            let body = serde_json::to_value(ErrorBody::plain(r.code.error_code(), &r.message))
                .unwrap_or_default();
            return Err(Refused {
                status: r.status,
                body,
                rejection: Box::new(r),
            });
        };
        self.admit_op(op, registry, body).map(|a| (op, registry, a))
    }

    /// Admits a request to `op` for `registry` (see [`admit::admit`]).
    pub fn admit_op(&self, op: Op, registry: &str, body: &[u8]) -> Result<Admitted, Refused> {
        let a = Admission {
            policy: &self.policy,
            senders: self.senders.as_ref(),
            replay: self.replay.as_ref(),
            decryption_keys: &self.decryption_keys,
            check_sender: &no_check,
        };
        let mut partial = Partial::default();
        admit::admit(&a, body, op, registry, new_id(), &mut partial)
            .map_err(|r| self.refuse(op, r, partial.sender_id.as_deref(), ""))
    }

    /// The signed body of a rejection of a request to `op` (for refusals the host decides
    /// itself, such as a failed bearer token check).
    pub fn refuse(
        &self,
        op: Op,
        rejection: Rejection,
        receiver_id: Option<&str>,
        correlation_id: &str,
    ) -> Refused {
        let body = rejection.body(
            &self.signer,
            self.server_id(),
            op,
            receiver_id,
            correlation_id,
        );
        Refused {
            status: rejection.status,
            body,
            rejection: Box::new(rejection),
        }
    }

    /// The spec's Ack of an admitted async request (HTTP 200).
    pub fn ack(&self, a: &Admitted) -> Value {
        answer::ack(&a.correlation_id)
    }

    /// The signed answer of `op` to the admitted request: `message` with a callback header
    /// counting its items, encrypted to the sender's key when it registered one.
    pub fn answer(&self, op: Op, a: &Admitted, message: Response) -> Result<Value, Refused> {
        let total = message.item_count();
        let ok = succeeded(&message);
        let env = answer::reply_envelope(
            self.server_id(),
            op,
            &a.sender.sender_id,
            message,
            total,
            ok,
        );
        let refuse = |r| self.refuse(op, r, Some(&a.sender.sender_id), &a.correlation_id);
        let internal = |e: &dyn std::fmt::Display| refuse(Rejection::internal(e.to_string()));
        let mut v = serde_json::to_value(env).map_err(|e| internal(&e))?;
        seal(&mut v, a.reply_key.as_ref()).map_err(refuse)?;
        self.signer
            .sign_value(&mut v, None)
            .map_err(|e| internal(&e))?;
        Ok(v)
    }

    /// The async answer of `op`: [`Registry::answer`] and where it goes (the request's
    /// `sender_uri`, else the sender's registered callback URI, checked by the outbound
    /// policy). None when the request gave no address and the sender registered none.
    pub fn callback(
        &self,
        op: Op,
        a: &Admitted,
        message: Response,
    ) -> Result<Option<Callback>, Refused> {
        let refuse = |r| self.refuse(op, r, Some(&a.sender.sender_id), &a.correlation_id);
        let base = callback_base(
            &self.egress,
            a.sender_uri.as_deref(),
            a.sender.callback_uri.as_deref(),
        )
        .map_err(refuse)?;
        let (Some(base), Some(path)) = (base, op.callback_path()) else {
            return Ok(None);
        };
        Ok(Some(Callback {
            url: callback_url(&base, path),
            body: self.answer(op, a, message)?,
        }))
    }

    /// The SearchResponse of an admitted search: one item per request item, from what the
    /// host found for it (`results[i]` answers `search_request[i]`; a missing result is a
    /// rejected item). Records are paged by each item's pagination (refused over
    /// [`Registry::max_page_size`]) and cut to the sender's data sharing fields; an item of
    /// a sender whose agreement requires consent must carry it.
    pub fn search_response(
        &self,
        a: &Admitted,
        registry: &str,
        results: Vec<ItemResult>,
    ) -> Result<SearchResponse, Rejection> {
        let Request::Search(req) = &a.request else {
            return Err(Rejection::bad("not a search request"));
        };
        let mut results = results.into_iter();
        let items = req
            .search_request
            .iter()
            .map(|it| {
                let r = results.next().unwrap_or_else(|| {
                    ItemResult::Rejected(
                        ReasonCode::SearchCriteriaInvalid,
                        "the registry gave no result for this item".into(),
                    )
                });
                search_item(&a.sender, registry, it, r, self.max_page_size)
            })
            .collect();
        Ok(SearchResponse {
            transaction_id: req.transaction_id.clone(),
            correlation_id: a.correlation_id.clone(),
            search_response: items,
            extra: Map::new(),
        })
    }
}

/// How many items of a response succeeded.
fn succeeded(message: &Response) -> usize {
    let ok = |s: &RequestStatus| *s == RequestStatus::Success;
    match message {
        Response::Search(r) => r.search_response.iter().filter(|i| ok(&i.status)).count(),
        Response::Verify(r) => r
            .verify_response
            .iter()
            .filter(|i| i.data.is_some())
            .count(),
        other => other.item_count(),
    }
}

/// One search response item from a host's result (see [`Registry::search_response`]).
pub fn search_item(
    sender: &Sender,
    registry: &str,
    it: &SearchRequestItem,
    result: ItemResult,
    max_page_size: usize,
) -> SearchResponseItem {
    if let Some(refused) = consent_refusal(sender, it) {
        return refused;
    }
    let records = match result {
        ItemResult::Records(r) => r,
        ItemResult::Rejected(code, m) => return rejected(&it.reference_id, code, &m),
    };
    let (page_size, page_number) = page(it);
    if page_size > max_page_size {
        return rejected(
            &it.reference_id,
            ReasonCode::PaginationInvalid,
            &format!("search_criteria.pagination.page_size {page_size} is over this registry's limit of {max_page_size} (max_page_size)"),
        );
    }
    let total = records.len();
    let skip = (page_number - 1).saturating_mul(page_size);
    let records: Vec<Value> = records
        .into_iter()
        .skip(skip)
        .take(page_size)
        .map(|r| share(sender, r))
        .collect();
    paged_item(it, registry, records, (page_size, page_number), total)
}

/// The refusal of an item without `consent` from a sender whose agreement requires it.
pub fn consent_refusal(sender: &Sender, it: &SearchRequestItem) -> Option<SearchResponseItem> {
    let given = it
        .search_criteria
        .consent
        .as_ref()
        .is_some_and(Value::is_object);
    (sender.consent_required && !given).then(|| {
        rejected(
            &it.reference_id,
            ReasonCode::SearchCriteriaInvalid,
            "search_criteria.consent: required by this sender's data sharing agreement",
        )
    })
}

/// A succeeded search item carrying one page of `records` out of `total`, typed as the
/// request asked (its `reg_type` and `reg_record_type`, else the registry's).
pub fn paged_item(
    it: &SearchRequestItem,
    registry: &str,
    records: Vec<Value>,
    (page_size, page_number): (usize, usize),
    total: usize,
) -> SearchResponseItem {
    let c = &it.search_criteria;
    let rrt = c.reg_record_type.clone().unwrap_or_else(|| {
        super::op::record_types(registry)
            .first()
            .copied()
            .unwrap_or("Record")
            .to_string()
    });
    let reg = c
        .reg_type
        .clone()
        .unwrap_or_else(|| super::op::reg_type(registry).into());
    SearchResponseItem {
        pagination: Some(Pagination {
            page_size: (page_size as i64).into(),
            page_number: (page_number as i64).into(),
            total_count: Some((total as i64).into()),
            extra: Map::new(),
        }),
        locale: it.locale.clone(),
        ..answered(&it.reference_id, reg, Some(rrt), records)
    }
}
