//! The fence request/response file protocol shared by every binary of gfs2-fencing.
//!
//! The fence agent (`fence_gfs2_recorder`) publishes a [`Request`] in `REQUEST_DIR`; a responder
//! (our `fence_watcher`, nnf-sos, or any other) publishes a [`Response`] under the same basename
//! in `RESPONSE_DIR`. This crate owns everything both sides must agree on: the types and their
//! validation ([`NodeName`], [`SpoolName`], [`Action`]), and the file-system discipline
//! ([`SpoolDir`]): atomic publication (content fsynced) and safe, bounded reads of files that other
//! processes write. It also holds what every binary must do the same way: the owner and mode
//! rule for trusted directories and secrets ([`trust`]), the directory variables ([`mod@env`]), the
//! inotify watch of a spool directory ([`SpoolDir::watch`]), the host name ([`hostname`]) and
//! the `corosync.conf` nodelist ([`corosync`]). It has no async runtime and no unsafe code. See
//! `docs/DESIGN.md`.

#![forbid(unsafe_code)]

mod action;
pub mod corosync;
mod discovery;
pub mod env;
mod heartbeat;
mod host;
pub mod lock;
mod naming;
mod node;
mod request;
mod response;
pub mod spool;
pub mod text;
mod timestamp;
pub mod trust;

pub use action::{Action, ParseActionError};
pub use discovery::{FoundFilesystem, Gfs2Discovery, SourceFailure};
pub use heartbeat::{
    Health, Heartbeat, LevelHealth, NodeHealth, ProbeStatus, HEARTBEAT_FILE, PROBE_FILE,
};
pub use host::hostname;
pub use lock::{LockHolder, LockState, ResponderLock, LOCK_FILE};
pub use naming::{FileNaming, InvalidSpoolName, SpoolName};
pub use node::{InvalidNodeName, NodeName};
pub use request::{InvalidRequest, Request, RequestId};
pub use response::{InvalidResponse, LevelResult, Outcome, Response};
pub use spool::{
    Archived, Interrupted, Publish, ReadError, SpoolDir, SpoolError, MAX_SPOOL_FILE, UNFENCED_DIR,
};
pub use timestamp::Timestamp;
pub use trust::{Trusted, Untrusted};

/// The schema version this crate writes. Readers accept any version and ignore unknown fields.
pub const SCHEMA_VERSION: u32 = 1;

/// Default request directory of the seed.
pub const DEFAULT_REQUEST_DIR: &str = "/var/run/gfs2-fencing/requests";
/// Default response directory of the seed.
pub const DEFAULT_RESPONSE_DIR: &str = "/var/run/gfs2-fencing/responses";
/// Default directory of the agent's event logs.
pub const DEFAULT_LOG_DIR: &str = "/var/log/gfs2-fencing";
