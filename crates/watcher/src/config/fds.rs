//! The file-descriptor budget: what the daemon needs open at once, checked against
//! `RLIMIT_NOFILE` when the configuration is loaded, and the soft limit raised to the hard one
//! at start (the soft default, 1024, is far below what a busy daemon needs; the hard one is
//! what the unit's `LimitNOFILE=` grants).
//!
//! The budget, worst case at once:
//!
//! ```text
//! FIXED (64) + METRICS (MAX_METRICS_CONNECTIONS + 1 = 9) + SPOOL_RESERVE (32)
//!     + max_concurrent x PER_RUN (9), x 2 when [after_fence] is configured
//! ```
//!
//! - FIXED: stdio, tokio's epoll and wake-up fds, the signal pipe, the inotify fd, the four
//!   spool directory fds, the metrics listener, the systemd notify socket, and slack for
//!   libraries (name resolution, the TLS trust store).
//! - METRICS: the capped metrics connections, plus the one accepted over the cap and closed.
//! - SPOOL_RESERVE: the spool steps (claim, read, publish) run on 8 blocking threads and hold
//!   at most two fds each (the file read or the temporary file written; directories are held
//!   already), plus the retention prune's directory listing; doubled for safety. The metrics
//!   listener stops accepting while the fds in use reach `limit - SPOOL_RESERVE`, so no client
//!   of the metrics port can take these.
//! - PER_RUN: a child being spawned holds both ends of its stdin, stdout and stderr pipes and
//!   of std's exec-status pipe (8), plus tokio's pidfd; a Redfish run holds fewer (a socket and
//!   the resolver's). The after-fence hook is a second child per fence, run beside the next.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

use super::ConfigError;

pub const FIXED: u64 = 64;
/// Metrics connections served at once; the oldest is dropped for a new one.
pub const MAX_METRICS_CONNECTIONS: usize = 8;
pub const METRICS: u64 = MAX_METRICS_CONNECTIONS as u64 + 1;
pub const SPOOL_RESERVE: u64 = 32;
pub const PER_RUN: u64 = 9;

/// Descriptors needed for `max_concurrent` fences at once.
pub fn needed(max_concurrent: usize, after_fence: bool) -> u64 {
    let per_fence = PER_RUN * if after_fence { 2 } else { 1 };
    FIXED + METRICS + SPOOL_RESERVE + max_concurrent as u64 * per_fence
}

/// The largest `max_concurrent` that `limit` descriptors carry.
pub fn largest(limit: u64, after_fence: bool) -> u64 {
    let per_fence = PER_RUN * if after_fence { 2 } else { 1 };
    limit.saturating_sub(FIXED + METRICS + SPOOL_RESERVE) / per_fence
}

/// The limit the daemon will run with: the hard `RLIMIT_NOFILE` (unlimited read as `u64::MAX`).
pub fn hard_limit() -> u64 {
    getrlimit(Resource::Nofile).maximum.unwrap_or(u64::MAX)
}

/// Refuses a `max_concurrent` that `limit` descriptors cannot carry, with the formula.
pub fn check(max_concurrent: usize, after_fence: bool, limit: u64) -> Result<(), ConfigError> {
    let need = needed(max_concurrent, after_fence);
    if need <= limit {
        return Ok(());
    }
    let per = if after_fence {
        format!("2 x {PER_RUN} per fence (backend and after_fence children)")
    } else {
        format!("{PER_RUN} per fence (a backend child's pipes and pidfd)")
    };
    Err(ConfigError::Invalid(format!(
        "daemon.max_concurrent = {max_concurrent} needs {need} file descriptors ({FIXED} fixed + \
         {METRICS} metrics connections + {SPOOL_RESERVE} spool reserve + {max_concurrent} x \
         {per}), more than the hard RLIMIT_NOFILE of {limit}; lower max_concurrent to at most \
         {} or raise LimitNOFILE= in the unit",
        largest(limit, after_fence)
    )))
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns (before, after) soft limits.
pub fn raise_soft_limit() -> std::io::Result<(u64, u64)> {
    let lim = getrlimit(Resource::Nofile);
    let before = lim.current.unwrap_or(u64::MAX);
    if lim.current == lim.maximum {
        return Ok((before, before));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        },
    )?;
    Ok((before, lim.maximum.unwrap_or(u64::MAX)))
}

/// The soft `RLIMIT_NOFILE` now.
pub fn soft_limit() -> u64 {
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_what_it_cannot_carry_and_names_the_formula() {
        assert_eq!(needed(16, false), 64 + 9 + 32 + 16 * 9);
        assert_eq!(largest(1024, false), (1024 - 105) / 9);
        assert!(check(largest(1024, false) as usize, false, 1024).is_ok());
        let e = check(largest(1024, false) as usize + 1, false, 1024).expect_err("refused");
        let e = e.to_string();
        assert!(e.contains("daemon.max_concurrent = 103 needs 1032"), "{e}");
        assert!(e.contains("at most 102"), "{e}");
        let e = check(600, true, 1024).expect_err("refused").to_string();
        assert!(
            e.contains("2 x 9 per fence") && e.contains("at most 51"),
            "{e}"
        );
        assert!(check(600, true, 65_536).is_ok());
    }
}
