//! Errors of the `redfish` backend: every fence error names the BMC (`host:port`) and the step
//! that failed, so an operator reading one response line knows where to look.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The step of a fence that failed, as written in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Waiting for one of the `max_concurrent_per_bmc` slots of this BMC.
    WaitSlot,
    /// Finding the system and its `ComputerSystem.Reset` target.
    Discover,
    /// The reset POST, with its `ResetType`.
    Reset(&'static str),
    /// Polling `PowerState` until it reads the wanted state.
    Confirm(&'static str),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::WaitSlot => f.write_str("wait for a bmc slot"),
            Step::Discover => f.write_str("discover system"),
            Step::Reset(kind) => write!(f, "reset {kind}"),
            Step::Confirm(state) => write!(f, "confirm PowerState {state}"),
        }
    }
}

/// Why a step failed. Never contains the password (texts from the BMC are redacted).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Cause {
    #[error(
        "http 401 unauthorized: the bmc rejected user {user:?} (check username and password_file)"
    )]
    Unauthorized { user: String },
    #[error("http 403 forbidden: user {user:?} may not do this ({detail})")]
    Forbidden { user: String, detail: String },
    #[error("http 404 not found: {path} ({detail})")]
    NotFound { path: String, detail: String },
    #[error("http {status} server error on {path}: {detail}")]
    Server {
        status: u16,
        path: String,
        detail: String,
    },
    #[error("unexpected http {status} on {path}: {detail}")]
    Status {
        status: u16,
        path: String,
        detail: String,
    },
    #[error("tls failure: {0}")]
    Tls(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("request failed: {0}")]
    Transport(String),
    #[error("timed out: the backend timeout of {}s expired", .0.as_secs())]
    Timeout(Duration),
    #[error("PowerState still read {last} when the backend timeout of {}s expired{}", .after.as_secs(), last_error_suffix(.last_error))]
    Unconfirmed {
        last: String,
        after: Duration,
        last_error: Option<String>,
    },
    #[error("ForceRestart was accepted, but PowerState still read {last} and never Off or PoweringOff when the backend timeout of {}s expired: no proof that the node restarted (reboot_method = \"onoff\" powers it off and on, each confirmed)", .after.as_secs())]
    RestartUnproven { last: String, after: Duration },
    #[error("http {status} redirect on {path} (to {location}): a reset is never followed elsewhere or repeated as a GET, so it was not done")]
    Redirected {
        status: u16,
        path: String,
        location: String,
    },
    #[error("bad answer from {path}: {reason}")]
    BadAnswer { path: String, reason: String },
    #[error("no member of {collection} has Name or HostName {node:?}")]
    NoSuchSystem { collection: String, node: String },
    #[error("{count} members of {collection} have Name or HostName {node:?}: set system_uri or system_id for this node")]
    AmbiguousSystem {
        collection: String,
        node: String,
        count: usize,
    },
}

fn last_error_suffix(last_error: &Option<String>) -> String {
    match last_error {
        Some(e) => format!(" (last poll error: {e})"),
        None => String::new(),
    }
}

impl Cause {
    /// Whether polling may go on after this failure: the BMC may recover while a power change
    /// settles (refused connections, 5xx, a slow answer), but it will not start accepting a
    /// password it rejected or find a system it does not have.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Cause::Server { .. } | Cause::Connect(_) | Cause::Transport(_)
        )
    }
}

/// A failed fence: which BMC, which step, why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("redfish bmc {bmc}, step \"{step}\": {cause}")]
pub struct FenceError {
    pub bmc: String,
    pub step: Step,
    pub cause: Cause,
}

/// A configuration that cannot become a `redfish` backend.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    PasswordFile(#[from] crate::backend::support::secret::SecretError),
    #[error("ca_file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("tls setup: {0}")]
    Tls(String),
    #[error("http client setup: {0}")]
    Client(String),
}
