//! The one error type of libdci, with stable kinds and the DCI `err.*` code where one fits.

use std::fmt;

/// One broken rule found by validation: the field path (`message.search_request[0].reference_id`)
/// and the rule it breaks (`required`, `at most 99 characters`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub rule: String,
}

impl Violation {
    pub fn new(path: impl Into<String>, rule: impl Into<String>) -> Self {
        Violation {
            path: path.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// Where a network failure happened, for transport errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connection,
    Tls,
    Other,
}

/// Everything that can go wrong in libdci.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not valid JSON (or not the JSON shape expected).
    #[error("invalid JSON: {0}")]
    Json(String),

    /// The message breaks the spec's constraints; every violation is listed.
    #[error("validation failed: {}", join(.0))]
    Validation(Vec<Violation>),

    /// No signature, or a placeholder that is not a signature.
    #[error("signature missing: {0}")]
    SignatureMissing(String),

    /// The signature field cannot be parsed (missing or duplicate parameter, bad base64, ...).
    #[error("malformed signature: {0}")]
    SignatureMalformed(String),

    /// The signature does not verify over the received header and message.
    #[error("invalid signature: {0}")]
    SignatureInvalid(String),

    /// `expires` is in the past.
    #[error("signature expired at {expires} (now {now})")]
    SignatureExpired { expires: i64, now: i64 },

    /// `created` is later than now plus the allowed clock skew.
    #[error("signature created at {created}, beyond the allowed clock skew (now {now})")]
    SignatureNotYetValid { created: i64, now: i64 },

    /// A key cannot be loaded, does not fit the algorithm, or is unknown.
    #[error("key error: {0}")]
    Key(String),

    /// An algorithm we refuse or do not know (`none`, `HS256`, ...).
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),

    /// A query cannot be built or evaluated.
    #[error("query error: {0}")]
    Query(String),

    /// A configuration value is missing or malformed.
    #[error("configuration error in {field}: {reason}")]
    Config { field: String, reason: String },

    /// OAuth2 / bearer token failure.
    #[error("authentication failed at {endpoint}: {message}")]
    Auth { endpoint: String, message: String },

    /// A network failure: timeout, connection refused, TLS.
    #[error("{kind:?} error calling {endpoint}: {message}")]
    Transport {
        kind: TransportKind,
        endpoint: String,
        message: String,
    },

    /// The peer answered with an unexpected HTTP status.
    #[error("HTTP {status} from {endpoint}{}: {body}", txn(.transaction_id))]
    Http {
        status: u16,
        endpoint: String,
        body: String,
        transaction_id: Option<String>,
    },

    /// The peer answered with a DCI error or rejection code (`err.*`, `rjct.*`).
    #[error("{code} from {endpoint}{}: {message}", txn(.transaction_id))]
    Protocol {
        code: String,
        message: String,
        endpoint: String,
        transaction_id: Option<String>,
    },

    /// File or stream I/O.
    #[error("I/O error: {0}")]
    Io(String),

    /// A bug caught at a boundary (a panic turned into an error).
    #[error("internal error: {0}")]
    Internal(String),
}

fn join(v: &[Violation]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn txn(t: &Option<String>) -> String {
    t.as_ref()
        .map(|t| format!(" (transaction {t})"))
        .unwrap_or_default()
}

/// Stable error kinds (also the numeric codes of the C ABI and the Go package).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorKind {
    Json = 1,
    Validation = 2,
    SignatureMissing = 3,
    SignatureMalformed = 4,
    SignatureInvalid = 5,
    SignatureExpired = 6,
    SignatureNotYetValid = 7,
    Key = 8,
    UnsupportedAlgorithm = 9,
    Query = 10,
    Config = 11,
    Auth = 12,
    Timeout = 13,
    Connection = 14,
    Tls = 15,
    Transport = 16,
    Http = 17,
    Protocol = 18,
    Io = 19,
    Internal = 20,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Json(_) => ErrorKind::Json,
            Error::Validation(_) => ErrorKind::Validation,
            Error::SignatureMissing(_) => ErrorKind::SignatureMissing,
            Error::SignatureMalformed(_) => ErrorKind::SignatureMalformed,
            Error::SignatureInvalid(_) => ErrorKind::SignatureInvalid,
            Error::SignatureExpired { .. } => ErrorKind::SignatureExpired,
            Error::SignatureNotYetValid { .. } => ErrorKind::SignatureNotYetValid,
            Error::Key(_) => ErrorKind::Key,
            Error::UnsupportedAlgorithm(_) => ErrorKind::UnsupportedAlgorithm,
            Error::Query(_) => ErrorKind::Query,
            Error::Config { .. } => ErrorKind::Config,
            Error::Auth { .. } => ErrorKind::Auth,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            } => ErrorKind::Timeout,
            Error::Transport {
                kind: TransportKind::Connection,
                ..
            } => ErrorKind::Connection,
            Error::Transport {
                kind: TransportKind::Tls,
                ..
            } => ErrorKind::Tls,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Http { .. } => ErrorKind::Http,
            Error::Protocol { .. } => ErrorKind::Protocol,
            Error::Io(_) => ErrorKind::Io,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The DCI error code (spec `ErrorCodeEnum` / `rjct.*`) that describes this error, if any.
    pub fn dci_code(&self) -> Option<&str> {
        Some(match self {
            Error::Json(_) | Error::Validation(_) | Error::Query(_) => "err.request.bad",
            Error::SignatureMissing(_) => "err.signature.missing",
            Error::SignatureMalformed(_)
            | Error::SignatureInvalid(_)
            | Error::SignatureExpired { .. }
            | Error::SignatureNotYetValid { .. }
            | Error::UnsupportedAlgorithm(_) => "err.signature.invalid",
            Error::Auth { .. } => "err.request.unauthorized",
            Error::Protocol { code, .. } => code.as_str(),
            _ => return None,
        })
    }

    /// The transaction this error belongs to, where there is one.
    pub fn transaction_id(&self) -> Option<&str> {
        match self {
            Error::Http { transaction_id, .. } | Error::Protocol { transaction_id, .. } => {
                transaction_id.as_deref()
            }
            _ => None,
        }
    }

    /// The field path for a validation or configuration error (the first violation's path).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Validation(v) => v.first().map(|x| x.path.as_str()),
            Error::Config { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
