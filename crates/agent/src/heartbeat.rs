//! What the agent's `monitor` and `gfs2-fencing check` make of the responder's heartbeat
//! (issue 12), so both judge it by the same rules:
//!
//! - its age limit: `heartbeat_max_age` when set, otherwise [`BEATS_MISSED`] times the interval
//!   the heartbeat states (a daemon beating every 45 s is not dead at 31 s), or
//!   [`DEFAULT_MAX_AGE`] for a heartbeat that states none;
//! - its simulated routes: any makes `monitor` fail unless `allow_simulate=true`, since a
//!   simulation never passes for fencing;
//! - its backend health, from the daemon's probes (`health.rs`);
//! - its writer: a heartbeat of this host whose pid is not running is a dead daemon's
//!   ([`dead_local_writer`]).

pub mod health;

use std::time::Duration;

use gfs2_fence_protocol::Heartbeat;

use crate::text::escape;

pub use health::{judge, BackendHealth, Verdict};

/// Beats a responder may miss before its heartbeat is stale, unless `heartbeat_max_age` is set.
pub const BEATS_MISSED: u32 = 3;
/// The limit for a heartbeat that states no interval (not fence_watcher's, or an interval 0).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30);
/// Largest heartbeat read: the health of a few thousand levels.
pub const HEARTBEAT_MAX_BYTES: u64 = 1 << 20;

/// The heartbeat's pid when the heartbeat names this host and that pid is not alive: a daemon
/// killed a moment ago leaves a fresh heartbeat behind. `monitor`, `check` and `status` all apply it.
pub fn dead_local_writer(hb: &Heartbeat) -> Option<u32> {
    if hb.host != gfs2_fence_protocol::hostname() {
        return None;
    }
    let pid = rustix::process::Pid::from_raw(i32::try_from(hb.pid).ok()?);
    match pid.map(rustix::process::test_kill_process) {
        // EPERM: it exists under another user, so it is alive.
        Some(Ok(())) | Some(Err(rustix::io::Errno::PERM)) => None,
        _ => Some(hb.pid),
    }
}

/// The oldest acceptable heartbeat and what set it, for the message.
pub fn max_age(set: Option<Duration>, hb: Option<&Heartbeat>) -> (Duration, String) {
    if let Some(d) = set {
        return (d, "heartbeat_max_age".to_owned());
    }
    match hb.map(|h| h.interval_secs).filter(|&i| i > 0) {
        Some(i) => (
            Duration::from_secs(i.saturating_mul(u64::from(BEATS_MISSED))),
            format!(
                "{BEATS_MISSED} × the heartbeat's interval_secs {i}, as heartbeat_max_age is unset"
            ),
        ),
        None => (DEFAULT_MAX_AGE, "the default heartbeat_max_age".to_owned()),
    }
}

/// The one line that says why a simulating responder fails `monitor` and how to allow it.
pub fn simulating(hb: &Heartbeat) -> String {
    let n = hb.simulated_routes;
    format!(
        "the responder (fence_watcher pid {} on {}) fences {n} route{} through the simulate backend, which fences nothing: a fence there would only pretend; set allow_simulate=true on the device only for demos and tests",
        hb.pid,
        escape(&hb.host, 80),
        if n == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat(interval_secs: u64, simulated_routes: u32) -> Heartbeat {
        Heartbeat {
            pid: 7,
            host: "rabbit-1".into(),
            started: gfs2_fence_protocol::Timestamp::now(),
            interval_secs,
            simulated_routes,
            health: None,
        }
    }

    #[test]
    fn the_limit_is_three_beats_unless_the_device_sets_one() {
        let hb = heartbeat(45, 0);
        let (limit, why) = max_age(None, Some(&hb));
        assert_eq!(limit, Duration::from_secs(135));
        assert!(why.contains("interval_secs 45"), "{why}");
        let set = Some(Duration::from_secs(30));
        assert_eq!(max_age(set, Some(&hb)).0, Duration::from_secs(30));
        assert_eq!(max_age(None, None).0, DEFAULT_MAX_AGE, "a third-party file");
        assert_eq!(max_age(None, Some(&heartbeat(0, 0))).0, DEFAULT_MAX_AGE);
        let huge = heartbeat(u64::MAX, 0);
        assert_eq!(max_age(None, Some(&huge)).0, Duration::from_secs(u64::MAX));
    }

    #[test]
    fn the_simulation_line_counts_routes_and_says_how_to_allow_them() {
        let one = simulating(&heartbeat(10, 1));
        assert!(
            one.contains("pid 7 on rabbit-1")
                && one.contains("1 route through the simulate backend")
                && one.contains("allow_simulate=true"),
            "{one}"
        );
        assert!(simulating(&heartbeat(10, 3)).contains("3 routes"));
    }
}
