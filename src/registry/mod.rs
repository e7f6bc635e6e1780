//! The registry kit: what a host that serves DCI needs beside its data. `dci serve` is built
//! on it, and so can any other host (the Python `dci.Registry`, C `dci_registry_*`, Go).
//!
//! - [`op`]: the operations, one per endpoint, and all they imply (paths, actions, modes);
//! - [`admit`]: the admission pipeline, from received bytes to the typed message or the exact
//!   spec rejection ([`reject`]);
//! - [`sender`]: the sender registry and replay protection admission consults;
//! - [`answer`]: the signed answers, ACKs and search response items; [`egress`]: where a
//!   callback may go;
//! - [`validate`], [`strict`], [`schedule`], [`verify`]: the spec checks, the deviations strict
//!   mode reports, subscription schedules and the verify messages.
//!
//! [`Registry`] ties them together for hosts that keep no state of their own.

pub mod admit;
pub mod answer;
pub mod egress;
pub mod host;
pub mod op;
pub mod reject;
pub mod schedule;
pub mod sender;
pub mod strict;
pub mod validate;
pub mod verify;

pub use admit::{admit, Admission, Admitted, Partial, Policy};
pub use host::{Callback, ItemResult, Refused, Registry};
pub use op::{Mode, Op, Request, Response};
pub use reject::{Code, ErrorBody, Rejection};
pub use sender::{
    share, MemoryReplay, MemorySenders, ReplayGuard, Sender, SenderDirectory, SignaturePolicy,
};
