//! The one error type of libdci, with stable kinds and the DCI `err.*` code where one fits.

use std::fmt;

/// One broken rule found by validation: the field path (`message.search_request[0].reference_id`)
/// and the rule it breaks (`required`, `at most 99 characters`, ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

    /// OAuth2 / bearer token failure (`transaction_id`: the call it failed, when it was one).
    #[error("authentication failed at {endpoint}: {message}{}", txn(.transaction_id))]
    Auth {
        endpoint: String,
        message: String,
        transaction_id: Option<String>,
    },

    /// A network failure: timeout, connection refused, TLS.
    #[error("{kind:?} error calling {endpoint}: {message}{}", txn(.transaction_id))]
    Transport {
        kind: TransportKind,
        endpoint: String,
        message: String,
        transaction_id: Option<String>,
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

    /// An encrypted message (`EncryptedMessage`, a JWE) cannot be made or opened: unknown alg
    /// or enc, unknown kid, wrong key, tampered ciphertext, tag or header.
    #[error("encryption: {0}")]
    Encryption(String),
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
    Encryption = 21,
}

impl ErrorKind {
    /// Every kind, in code order (the C `dci_result` codes 1 to 21 and Go's `Kind`s).
    pub const ALL: [ErrorKind; 21] = [
        ErrorKind::Json,
        ErrorKind::Validation,
        ErrorKind::SignatureMissing,
        ErrorKind::SignatureMalformed,
        ErrorKind::SignatureInvalid,
        ErrorKind::SignatureExpired,
        ErrorKind::SignatureNotYetValid,
        ErrorKind::Key,
        ErrorKind::UnsupportedAlgorithm,
        ErrorKind::Query,
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::Timeout,
        ErrorKind::Connection,
        ErrorKind::Tls,
        ErrorKind::Transport,
        ErrorKind::Http,
        ErrorKind::Protocol,
        ErrorKind::Io,
        ErrorKind::Internal,
        ErrorKind::Encryption,
    ];

    /// The stable lower-case name (`signature_invalid`): `dci_result_name` in C, `kind` of a
    /// Python exception, `Kind.String()` in Go.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Json => "json",
            ErrorKind::Validation => "validation",
            ErrorKind::SignatureMissing => "signature_missing",
            ErrorKind::SignatureMalformed => "signature_malformed",
            ErrorKind::SignatureInvalid => "signature_invalid",
            ErrorKind::SignatureExpired => "signature_expired",
            ErrorKind::SignatureNotYetValid => "signature_not_yet_valid",
            ErrorKind::Key => "key",
            ErrorKind::UnsupportedAlgorithm => "unsupported_algorithm",
            ErrorKind::Query => "query",
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::Tls => "tls",
            ErrorKind::Transport => "transport",
            ErrorKind::Http => "http",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
            ErrorKind::Encryption => "encryption",
        }
    }

    /// The stable numeric code (1 to 21).
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The kind with this code, if any.
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// The kind with this name, if any.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// An error's structured parts, as every binding hands them out (C's `dci_error` accessors
/// and result JSON, Python's exception attributes, Go's `*Error`): no binding reads them out
/// of the message text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    /// The DCI `err.*` / `rjct.*` code, where one describes the error.
    pub code: Option<String>,
    /// The full text (`Display`).
    pub message: String,
    /// The field path of a validation, query or configuration error.
    pub field: Option<String>,
    pub transaction_id: Option<String>,
    /// The URL (or `callback <action>`) a network, auth, HTTP or protocol error came from.
    pub endpoint: Option<String>,
    /// The HTTP status of an `http` error.
    pub status: Option<u16>,
    /// Every broken rule of a validation error (one for a configuration or query error that
    /// names its field); empty otherwise.
    pub violations: Vec<Violation>,
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
            Error::Encryption(_) => ErrorKind::Encryption,
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
            Error::Encryption(_) => "err.encryption.invalid",
            Error::Protocol { code, .. } => code.as_str(),
            _ => return None,
        })
    }

    /// The transaction this error belongs to, where there is one.
    pub fn transaction_id(&self) -> Option<&str> {
        match self {
            Error::Http { transaction_id, .. }
            | Error::Protocol { transaction_id, .. }
            | Error::Auth { transaction_id, .. }
            | Error::Transport { transaction_id, .. } => transaction_id.as_deref(),
            _ => None,
        }
    }

    /// The field path of a validation, configuration or query error (the first violation's).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Validation(v) => v.first().map(|x| x.path.as_str()),
            Error::Config { field, .. } => Some(field),
            Error::Query(m) => query_path(m).map(|(path, _)| path),
            _ => None,
        }
    }

    /// Where a network, auth, HTTP or protocol error came from.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Error::Auth { endpoint, .. }
            | Error::Transport { endpoint, .. }
            | Error::Http { endpoint, .. }
            | Error::Protocol { endpoint, .. } => Some(endpoint),
            _ => None,
        }
    }

    /// The HTTP status of an [`Error::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Every broken rule: the violations of a validation error, the field and reason of a
    /// configuration error, the path and rule of a query error that names one.
    pub fn violations(&self) -> Vec<Violation> {
        match self {
            Error::Validation(v) => v.clone(),
            Error::Config { field, reason } => vec![Violation::new(field, reason)],
            Error::Query(m) => query_path(m)
                .map(|(p, r)| vec![Violation::new(p, r)])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The structured parts, for the bindings.
    pub fn info(&self) -> ErrorInfo {
        ErrorInfo {
            kind: self.kind(),
            code: self.dci_code().map(str::to_string),
            message: self.to_string(),
            field: self.field().map(str::to_string),
            transaction_id: self.transaction_id().map(str::to_string),
            endpoint: self.endpoint().map(str::to_string),
            status: self.status(),
            violations: self.violations(),
        }
    }
}

/// The query module writes its errors as `path: rule` (`query[1].expression1.operator:
/// unknown operator ...`); the part before the first `": "` is the path when it has no space.
fn query_path(msg: &str) -> Option<(&str, &str)> {
    let (head, rule) = msg.split_once(": ")?;
    (!head.is_empty() && !head.contains(' ')).then_some((head, rule))
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
