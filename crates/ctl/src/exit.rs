//! The exit codes of `gfs2-fencing`, as one type, mapped in `main.rs`.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success; for `status`: fencing works now |
//! | 1 | a check failed (`check`, `test`, `unfence`) or the operation could not be done: for `status`, the state cannot be read |
//! | 2 | usage error (clap) |
//! | 3 | `status`: fencing does not work now (no responder: no heartbeat, a stale one or the lock free; simulated routes; a node no level can fence) |
//! | 4 | `status`: fencing works, with warnings (a level down, a request past its deadline, an invalid spool file, a lock file that cannot be read) |

use std::process::ExitCode;

/// How a subcommand that ran ended (an [`crate::Error`] is exit 1 too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// A check failed.
    Failure,
    /// `status`: fencing does not work now.
    NotWorking,
    /// `status`: fencing works, with warnings.
    Warnings,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::NotWorking => 3,
            Exit::Warnings => 4,
        }
    }
}

impl From<bool> for Exit {
    fn from(ok: bool) -> Exit {
        if ok {
            Exit::Success
        } else {
            Exit::Failure
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}
