//! The agent's exit status, as a typed value mapped to a number in one place.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: the fence was confirmed by a response with `success: true`; `status` = on; any other action succeeded |
//! | 1 | failure or error of any kind, including bad arguments |
//! | 2 | `status` only: the node's latest record says it is fenced off |
//!
//! Bad arguments exit 1, as fencing.py's `fail_usage` does (`sys.exit(EC_GENERIC_ERROR)`; its
//! `EC_BAD_ARGS = 2` is never used as an exit status). That is also the safe choice: for
//! `status`, Pacemaker reads 2 as "off", so a usage error must never exit 2.
//!
//! When standard output fails, `status` keeps 0 / 2 (its exit status is the answer), and `list`,
//! `list-status` and the informational actions exit 0 on a closed pipe and 1 on any other
//! write error (`out.rs` says why).
//!
//! A panic never exits 0: release builds abort (`panic = "abort"`, killed by SIGABRT) and debug
//! builds exit 101.

/// How the agent ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Failure,
    StatusOff,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::StatusOff => 2,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}
