//! The `dci` subcommands, one module per group.

pub mod bench;
pub mod conformance;
pub mod crypto;
pub mod encrypt;
pub mod envelope;
pub mod server_cmds;

/// A failed command: the message for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// Exit 1: the input was processed and found wanting (invalid signature, bad envelope).
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
        }
    }
    /// Exit 2: the command could not run (unreadable file, unusable key, bad option).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

pub type CmdResult = Result<(), Failure>;

/// Parses `--now`: unix seconds or an RFC 3339 timestamp.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(secs) = text.trim().parse::<i64>() {
        return Ok(secs);
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp())
        .map_err(|_| format!("{text:?} is neither unix seconds nor an RFC 3339 time"))
}
