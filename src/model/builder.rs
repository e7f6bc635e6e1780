//! Builders for envelopes, headers and search requests. Ids are UUID v4, timestamps are now
//! (UTC, RFC 3339); every generated value can be overridden for reproducible output.

use serde_json::Value;

use super::{
    now_rfc3339, Action, DciMessage, Envelope, Extra, Int, MsgCallbackHeader, MsgHeader,
    PaginationRequest, QueryType, ReasonCode, RequestStatus, ResponseEntity, SearchCriteria,
    SearchRequest, SearchRequestItem, SortItem, SortOrder, SPEC_VERSION,
};
use crate::error::{Error, Result, Violation};

/// Builder setters: `name: T` writes `pub fn name(self, v: impl Into<T>) -> Self` setting
/// `self.name = Some(v.into())`; `via inner: name: T` forwards to `self.inner.name(v)`.
macro_rules! setters {
    (via $inner:ident: $($(#[$m:meta])* $name:ident: $t:ty),* $(,)?) => {
        $(
            $(#[$m])*
            pub fn $name(mut self, v: impl Into<$t>) -> Self {
                self.$inner = self.$inner.$name(v.into());
                self
            }
        )*
    };
    ($($(#[$m:meta])* $name:ident: $t:ty),* $(,)?) => {
        $(
            $(#[$m])*
            pub fn $name(mut self, v: impl Into<$t>) -> Self {
                self.$name = Some(v.into());
                self
            }
        )*
    };
}
pub(crate) use setters;

/// A new random id (UUID v4), for `message_id`, `transaction_id` and `reference_id`.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Builds a [`MsgHeader`]. `sender_id` is required; `total_count` defaults to the message's
/// item count when built through [`EnvelopeBuilder`].
#[derive(Debug, Clone)]
pub struct HeaderBuilder {
    action: Action,
    message_id: Option<String>,
    message_ts: Option<String>,
    sender_id: Option<String>,
    sender_uri: Option<String>,
    receiver_id: Option<String>,
    total_count: Option<i64>,
    is_msg_encrypted: Option<bool>,
    meta: Option<Value>,
}

impl HeaderBuilder {
    /// A header for `action` (`search`, `subscribe`, ...; any string is accepted).
    pub fn new(action: &str) -> Self {
        HeaderBuilder {
            action: Action::from_wire(action),
            message_id: None,
            message_ts: None,
            sender_id: None,
            sender_uri: None,
            receiver_id: None,
            total_count: None,
            is_msg_encrypted: None,
            meta: None,
        }
    }

    setters! {
        message_id: String, message_ts: String, sender_id: String, sender_uri: String,
        receiver_id: String, total_count: i64, is_msg_encrypted: bool, meta: Value,
    }

    /// The header; fails naming `header.sender_id` when no sender was given.
    pub fn build(self) -> Result<MsgHeader> {
        let sender_id = self.sender_id.ok_or_else(|| {
            Error::Validation(vec![Violation::new("header.sender_id", "required")])
        })?;
        Ok(MsgHeader {
            version: Some(SPEC_VERSION.to_string()),
            message_id: self.message_id.unwrap_or_else(new_id),
            message_ts: self.message_ts.unwrap_or_else(now_rfc3339),
            action: self.action,
            sender_id,
            sender_uri: self.sender_uri,
            receiver_id: self.receiver_id,
            total_count: Int(self.total_count.unwrap_or(0)),
            is_msg_encrypted: self.is_msg_encrypted,
            meta: self.meta,
            extra: Extra::new(),
        })
    }
}

/// Builds a request envelope around a typed message; `total_count` is the message's item
/// count unless set.
#[derive(Debug, Clone)]
pub struct EnvelopeBuilder {
    header: HeaderBuilder,
}

impl EnvelopeBuilder {
    /// An envelope for `action`.
    pub fn new(action: &str) -> Self {
        EnvelopeBuilder {
            header: HeaderBuilder::new(action),
        }
    }

    /// Starts from a prepared header builder.
    pub fn with_header(header: HeaderBuilder) -> Self {
        EnvelopeBuilder { header }
    }

    setters! { via header:
        message_id: String, message_ts: String, sender_id: String, sender_uri: String,
        receiver_id: String, total_count: i64, meta: Value,
    }

    /// The envelope (unsigned: sign it with `dci::signature`).
    pub fn build<M: DciMessage>(self, message: M) -> Result<Envelope<M>> {
        let mut header = self.header;
        if header.total_count.is_none() {
            header.total_count = Some(message.item_count() as i64);
        }
        Ok(Envelope::new(header.build()?, message))
    }
}

/// The callback action that answers a request action (`search` -> `on-search`,
/// `txn-status` -> `txn-on-status`); `None` for actions without one.
pub fn callback_action(action: &str) -> Option<&'static str> {
    Some(match action {
        "search" => "on-search",
        "subscribe" => "on-subscribe",
        "unsubscribe" => "on-unsubscribe",
        "txn-status" => "txn-on-status",
        _ => return None,
    })
}

/// Builds the [`MsgCallbackHeader`] that answers a request header: the callback action, a new
/// `message_id`, `message_ts` now, sender and receiver swapped, the request's `total_count`.
#[derive(Debug, Clone)]
pub struct CallbackHeaderBuilder {
    header: MsgCallbackHeader,
}

impl CallbackHeaderBuilder {
    /// A callback header answering `request` with `status`.
    pub fn from_request(request: &MsgHeader, status: RequestStatus) -> Self {
        let action = callback_action(request.action.as_str())
            .map(Action::from_wire)
            .unwrap_or_else(|| request.action.clone());
        CallbackHeaderBuilder {
            header: MsgCallbackHeader {
                version: Some(SPEC_VERSION.to_string()),
                message_id: new_id(),
                message_ts: now_rfc3339(),
                action,
                status,
                status_reason_code: None,
                status_reason_message: None,
                total_count: Some(request.total_count),
                completed_count: None,
                sender_id: request.receiver_id.clone(),
                receiver_id: Some(request.sender_id.clone()),
                is_msg_encrypted: None,
                meta: None,
                extra: Extra::new(),
            },
        }
    }

    /// A callback header from scratch.
    pub fn new(action: &str, status: RequestStatus) -> Self {
        CallbackHeaderBuilder {
            header: MsgCallbackHeader {
                version: Some(SPEC_VERSION.to_string()),
                message_id: new_id(),
                message_ts: now_rfc3339(),
                action: Action::from_wire(action),
                status,
                status_reason_code: None,
                status_reason_message: None,
                total_count: None,
                completed_count: None,
                sender_id: None,
                receiver_id: None,
                is_msg_encrypted: None,
                meta: None,
                extra: Extra::new(),
            },
        }
    }

    pub fn message_id(mut self, v: impl Into<String>) -> Self {
        self.header.message_id = v.into();
        self
    }
    pub fn message_ts(mut self, v: impl Into<String>) -> Self {
        self.header.message_ts = v.into();
        self
    }
    pub fn sender_id(mut self, v: impl Into<String>) -> Self {
        self.header.sender_id = Some(v.into());
        self
    }
    pub fn receiver_id(mut self, v: impl Into<String>) -> Self {
        self.header.receiver_id = Some(v.into());
        self
    }
    /// A rejection reason (`rjct.*`) and message.
    pub fn reason(mut self, code: ReasonCode, message: impl Into<String>) -> Self {
        self.header.status_reason_code = Some(code);
        self.header.status_reason_message = Some(message.into());
        self
    }
    pub fn total_count(mut self, v: i64) -> Self {
        self.header.total_count = Some(Int(v));
        self
    }
    pub fn completed_count(mut self, v: i64) -> Self {
        self.header.completed_count = Some(Int(v));
        self
    }

    pub fn build(self) -> MsgCallbackHeader {
        self.header
    }
}

/// Builds a [`SearchRequest`] with one or more `search_request` items. Criteria set on the
/// builder (reg_type, reg_record_type, pagination, sort, consent, authorize, locale,
/// response_entity) apply to every item added after them; each item gets its own
/// `reference_id` (UUID v4) and `timestamp` (now).
///
/// The query payload comes from the `query` module's builders as `(query_type, query JSON)`.
#[derive(Debug, Clone, Default)]
pub struct SearchRequestBuilder {
    transaction_id: Option<String>,
    reg_type: Option<String>,
    reg_record_type: Option<String>,
    response_entity: Option<String>,
    sort: Option<Vec<SortItem>>,
    pagination: Option<PaginationRequest>,
    consent: Option<Value>,
    authorize: Option<Value>,
    locale: Option<String>,
    items: Vec<SearchRequestItem>,
}

impl SearchRequestBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        transaction_id: String,
        reg_type: String,
        reg_record_type: String,
        /// `Group` or `Member` (social registry).
        response_entity: String,
        consent: Value,
        authorize: Value,
        /// ISO 639-3, e.g. `eng`.
        locale: String,
    }
    /// `page_size` and `page_number` (both at least 1).
    pub fn pagination(mut self, page_size: i64, page_number: i64) -> Self {
        self.pagination = Some(PaginationRequest {
            page_size: Some(Int(page_size)),
            page_number: Some(Int(page_number)),
            extra: Extra::new(),
        });
        self
    }
    /// Adds a sort key (`asc` or `desc`).
    pub fn sort(mut self, attribute_name: impl Into<String>, order: &str) -> Self {
        self.sort.get_or_insert_with(Vec::new).push(SortItem {
            attribute_name: Some(attribute_name.into()),
            sort_order: Some(SortOrder::from_wire(order)),
            extra: Extra::new(),
        });
        self
    }

    /// Adds a `search_request` item with this query and the criteria set so far.
    pub fn query(mut self, query_type: &str, query: Value) -> Self {
        let item = SearchRequestItem {
            reference_id: new_id(),
            timestamp: now_rfc3339(),
            search_criteria: SearchCriteria {
                version: Some(SPEC_VERSION.to_string()),
                reg_type: self.reg_type.clone(),
                reg_record_type: self.reg_record_type.clone(),
                query_type: QueryType::from_wire(query_type),
                response_entity: self
                    .response_entity
                    .as_deref()
                    .map(ResponseEntity::from_wire),
                query,
                sort: self.sort.clone(),
                pagination: self.pagination.clone(),
                consent: self.consent.clone(),
                authorize: self.authorize.clone(),
                extra: Extra::new(),
            },
            locale: self.locale.clone(),
            extra: Extra::new(),
        };
        self.items.push(item);
        self
    }

    /// Adds an item from a `(query_type, query)` pair, as the `query` module's builders return
    /// it (`IdTypeValue::to_wire()`, `Expression::to_wire()`, ...).
    pub fn query_wire(self, (query_type, query): (&str, Value)) -> Self {
        self.query(query_type, query)
    }

    /// Adds a prepared item as is.
    pub fn item(mut self, item: SearchRequestItem) -> Self {
        self.items.push(item);
        self
    }

    /// The message; fails when no query was added, and with every violation the result would
    /// have (bad locale, page_size 0, unknown query_type, ...).
    pub fn build(self) -> Result<SearchRequest> {
        if self.items.is_empty() {
            return Err(Error::Validation(vec![Violation::new(
                "search_request",
                "at least one search_request item (add one with query())",
            )]));
        }
        let req = SearchRequest {
            transaction_id: self.transaction_id.unwrap_or_else(new_id),
            search_request: self.items,
            extra: Extra::new(),
        };
        req.validate()?;
        Ok(req)
    }
}
