//! Wire enums: request status, ack status, and every `rjct.*` / `err.*` code of the registry specs
//! (latest-bundled crvs, social, ibr, dr, fr). Each enum keeps an `Other(String)` fallback so an
//! unknown value survives a parse and re-serialise; `validate()` reports it instead.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a string enum with wire names, `as_str`, `FromStr` (never fails: unknown values go
/// to `Other`), `Display`, serde, `is_known` and the list of known wire values.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value the spec does not list, kept as received.
            Other(String),
        }

        impl $name {
            /// Every wire value the spec lists, in spec order.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(s) => s.as_str(),
                }
            }

            /// Whether this is a value the spec lists (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }

            /// Parses a wire string; unknown values become `Other`.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $($wire $(| $alias)* => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, std::convert::Infallible> {
                Ok(Self::from_wire(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from_wire(&s))
            }
        }
    };
}

wire_enum! {
    /// Request status (`rcvd`, `pdng`, `succ`, `rjct`): header `status` and item `status`.
    RequestStatus {
        Received => "rcvd",
        Pending => "pdng",
        Success => "succ",
        Rejected => "rjct",
    }
}

wire_enum! {
    /// The acknowledgement status of the synchronous response to an async request.
    AckStatus {
        /// Valid; the callback will follow.
        Ack => "ACK",
        /// Valid; no callback will follow.
        Nack => "NACK",
        /// Invalid; `error` says why.
        Err => "ERR",
    }
}

wire_enum! {
    /// Transport-level error codes (spec `Error.code`), carried in an ack's `error`.
    ErrorCode {
        RequestBad => "err.request.bad",
        RequestUnauthorized => "err.request.unauthorized",
        RequestForbidden => "err.request.forbidden",
        RequestNotFound => "err.request.not_found",
        RequestTimeout => "err.request.timeout",
        VersionNotSupported => "err.version.not_supported",
        RequestTooManyRequests => "err.request.too_many_requests",
        SenderIdInvalid => "err.sender_id.invalid",
        SenderUriInvalid => "err.sender_uri.invalid",
        ReceiverIdInvalid => "err.receiver_id.invalid",
        SignatureMissing => "err.signature.missing",
        SignatureInvalid => "err.signature.invalid",
        EncryptionInvalid => "err.encryption.invalid",
        ServiceUnavailable => "err.service.unavailable",
    }
}

wire_enum! {
    /// Every `rjct.*` status reason code of the registry specs (header, search, subscribe and
    /// unsubscribe lists together). Which codes fit where: [`HEADER_REASON_CODES`],
    /// [`SEARCH_REASON_CODES`], [`SUBSCRIBE_REASON_CODES`], [`UNSUBSCRIBE_REASON_CODES`].
    ReasonCode {
        VersionInvalid => "rjct.version.invalid",
        MessageIdDuplicate => "rjct.message_id.duplicate",
        MessageTsInvalid => "rjct.message_ts.invalid",
        ActionInvalid => "rjct.action.invalid",
        ActionNotSupported => "rjct.action.not_supported",
        TotalCountInvalid => "rjct.total_count.invalid",
        TotalCountLimitExceeded => "rjct.total_count.limit_exceeded",
        ErrorsTooMany => "rjct.errors.too_many",
        ReferenceIdInvalid => "rjct.reference_id.invalid",
        ReferenceIdDuplicate => "rjct.reference_id.duplicate",
        TimestampInvalid => "rjct.timestamp.invalid",
        SearchCriteriaInvalid => "rjct.search_criteria.invalid",
        FilterInvalid => "rjct.filter.invalid",
        SortInvalid => "rjct.sort.invalid",
        PaginationInvalid => "rjct.pagination.invalid",
        SearchTooManyRecordsFound => "rjct.search.too_many_records_found",
        NotifyTypesInvalid => "rjct.notify_types.invalid",
        NotifyDetailsInvalid => "rjct.notify_details.invalid",
        PersonIdInvalid => "rjct.person_id.invalid",
        EventAlreadySubscribed => "rjct.event.already_subscribed",
        SubscriptionCodeInvalid => "rjct.subscription_code.invalid",
        RequesterInvalid => "rjct.requester.invalid",
        EventAlreadyUnsubscribed => "rjct.event.already_unsubscribed",
    }
}

/// `MsgCallbackHeader.status_reason_code` (spec `MsgHeaderStatusReasonCode`).
pub const HEADER_REASON_CODES: &[&str] = &[
    "rjct.version.invalid",
    "rjct.message_id.duplicate",
    "rjct.message_ts.invalid",
    "rjct.action.invalid",
    "rjct.action.not_supported",
    "rjct.total_count.invalid",
    "rjct.total_count.limit_exceeded",
    "rjct.errors.too_many",
];

/// `SearchStatusReasonCode` (search, txn-status, DR responses).
pub const SEARCH_REASON_CODES: &[&str] = &[
    "rjct.reference_id.invalid",
    "rjct.reference_id.duplicate",
    "rjct.timestamp.invalid",
    "rjct.search_criteria.invalid",
    "rjct.filter.invalid",
    "rjct.sort.invalid",
    "rjct.pagination.invalid",
    "rjct.search.too_many_records_found",
];

/// `SubscribeStatusReasonCode`.
pub const SUBSCRIBE_REASON_CODES: &[&str] = &[
    "rjct.reference_id.invalid",
    "rjct.reference_id.duplicate",
    "rjct.timestamp.invalid",
    "rjct.notify_types.invalid",
    "rjct.notify_details.invalid",
    "rjct.person_id.invalid",
    "rjct.event.already_subscribed",
];

/// `UnSubscribeStatusReasonCode`.
pub const UNSUBSCRIBE_REASON_CODES: &[&str] = &[
    "rjct.reference_id.invalid",
    "rjct.reference_id.duplicate",
    "rjct.timestamp.invalid",
    "rjct.subscription_code.invalid",
    "rjct.requester.invalid",
    "rjct.event.already_unsubscribed",
];

wire_enum! {
    /// Query types (`search_criteria.query_type`, `subscribe_criteria.filter_type`). The latest
    /// specs add `graphql` to filter_type and to the IBR/DR criteria, not to search_criteria.
    QueryType {
        IdtypeValue => "idtype-value",
        Expression => "expression",
        Predicate => "predicate",
        Graphql => "graphql",
    }
}

wire_enum! {
    /// `search_criteria.response_entity`.
    ResponseEntity {
        Group => "Group",
        Member => "Member",
    }
}

wire_enum! {
    /// `sort[].sort_order`.
    SortOrder {
        Asc => "asc",
        Desc => "desc",
    }
}

wire_enum! {
    /// Subscription state (`SubscriptionStatus`). The Jan-2025 social/ibr specs spell the first
    /// value `subscibe`; it is read as `Subscribe` and written `subscribe`.
    SubscriptionStatus {
        Subscribe => "subscribe" | "subscibe",
        Unsubscribe => "unsubscribe",
    }
}

wire_enum! {
    /// `txn_type` of a transaction status request or response.
    TxnType {
        Search => "search",
        Subscribe => "subscribe",
        Unsubscribe => "unsubscribe",
        Receipt => "receipt",
    }
}

wire_enum! {
    /// `txnstatus_request.attribute_type`.
    TxnAttributeType {
        TransactionId => "transaction_id",
        ReferenceIdList => "reference_id_list",
        CorrelationId => "correlation_id",
        SubscriptionCodeList => "subscription_code_list",
    }
}

wire_enum! {
    /// `enrolled_status` (IBR) and `disabled_status` (DR).
    YesNo {
        Yes => "yes",
        No => "no",
    }
}

wire_enum! {
    /// Header `action` values of the registry APIs.
    Action {
        Search => "search",
        OnSearch => "on-search",
        Subscribe => "subscribe",
        OnSubscribe => "on-subscribe",
        Notify => "notify",
        Unsubscribe => "unsubscribe",
        OnUnsubscribe => "on-unsubscribe",
        TxnStatus => "txn-status",
        TxnOnStatus => "txn-on-status",
    }
}
