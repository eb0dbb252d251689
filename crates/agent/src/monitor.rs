//! `monitor` and `validate-all`: checks that never write a request or wait.
//!
//! Pacemaker runs `monitor` on every fence device every minute, so it is cheap: two directory
//! opens, two `faccessat`, one `stat` and one small read of the responder's heartbeat.
//!
//! A heartbeat's mtime is only believed when it is not in the future: one dated more than
//! [`FUTURE_TOLERANCE`] (5 s, room for the coarse timestamps of a file system and a small NTP
//! slew) ahead of this host's clock is stale, because a clock stepped back after the daemon died
//! (or a `touch -d`) would otherwise keep it fresh for the size of the step. When the heartbeat
//! says it was written on this host, its pid must also be alive (`kill(pid, 0)`): a dead daemon
//! is not a responder, whatever the mtime says.
//!
//! Its age is judged against `heartbeat_max_age` when the device sets it, otherwise against
//! [`BEATS_MISSED`] times the interval the heartbeat states (a daemon beating every 45 s is not
//! dead at 31 s), or [`DEFAULT_MAX_AGE`] for a heartbeat that states none. A fresh heartbeat
//! then says two more things (issue 12): how many routes fence through the `simulate` backend
//! (any fails `monitor` unless `allow_simulate=true`: a simulation never passes for fencing),
//! and the backend health of the daemon's probes (`health.rs`).

mod health;

use std::time::{Duration, SystemTime};

use crate::exchange::open_trusted;
use gfs2_fence_protocol::{Heartbeat, SpoolDir, HEARTBEAT_FILE};

pub use health::BackendHealth;

use crate::diag::Diag;
use crate::exit::Exit;
use crate::options::{FENCE_TIMEOUT_WARN_SECS, PACEMAKER_DEFAULT_TIMEOUT_SECS};
use crate::settings::Settings;
use crate::text::escape;

/// Both directories usable and, unless `require_heartbeat=false`, a fresh heartbeat of a
/// responder that simulates nothing (or `allow_simulate`) and can fence every node it serves.
pub fn monitor(s: &Settings, diag: &Diag) -> Exit {
    match check(s, diag) {
        Ok(()) => Exit::Success,
        Err(e) => {
            diag.error(&format!("monitor: {e}"));
            Exit::Failure
        }
    }
}

const HINT: &str = "is a responder (fence_watcher) running? set require_heartbeat=false for responders that write no heartbeat";

fn check(s: &Settings, diag: &Diag) -> Result<(), String> {
    let requests = open_trusted(&s.request_dir).map_err(|e| e.to_string())?;
    requests.check_writable().map_err(|e| e.to_string())?;
    let responses = open_trusted(&s.response_dir).map_err(|e| e.to_string())?;
    responses.check_writable().map_err(|e| e.to_string())?;
    if !s.require_heartbeat {
        return Ok(());
    }
    let path = responses.join(HEARTBEAT_FILE);
    let mtime = responses
        .modified(HEARTBEAT_FILE)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no responder heartbeat {}: {HINT}", path.display()))?;
    if let Ok(ahead) = mtime.duration_since(SystemTime::now()) {
        if ahead > FUTURE_TOLERANCE {
            return Err(format!(
                "responder heartbeat {} is dated {} s in the future (more than the {} s tolerated): a clock stepped back or a touched file, not a beat: {HINT}",
                path.display(),
                ahead.as_secs(),
                FUTURE_TOLERANCE.as_secs()
            ));
        }
    }
    let hb = read(&responses, diag)?;
    if let Some(dead) = hb.as_ref().and_then(dead_local_writer) {
        return Err(format!(
            "responder heartbeat {} was written by pid {dead} on this host, which is not running: {HINT}",
            path.display()
        ));
    }
    let (limit, why) = max_age(s.heartbeat_max_age, hb.as_ref());
    let age = mtime.elapsed().unwrap_or_default();
    if age > limit {
        return Err(format!(
            "responder heartbeat {} is {} s old ({why} is {} s): {HINT}",
            path.display(),
            age.as_secs(),
            limit.as_secs_f64()
        ));
    }
    let Some(hb) = hb else { return Ok(()) };
    if hb.simulated_routes > 0 && !s.allow_simulate {
        return Err(simulating(&hb));
    }
    let verdict = health::judge(hb.health.as_ref(), s.backend_health);
    // A failure is the one line Pacemaker logs; the warnings are for a monitor that passes.
    if let Some(failure) = verdict.failure {
        return Err(failure);
    }
    for w in &verdict.warnings {
        diag.warn(w);
    }
    Ok(())
}

/// How far in the future a heartbeat's mtime may be and still count.
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(5);
/// Beats a responder may miss before its heartbeat is stale, unless `heartbeat_max_age` is set.
pub const BEATS_MISSED: u32 = 3;
/// The limit for a heartbeat that states no interval (not fence_watcher's, or an interval 0).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30);
/// Largest heartbeat read: the health of a few thousand levels.
pub const HEARTBEAT_MAX_BYTES: u64 = 1 << 20;

/// The oldest acceptable heartbeat and what set it, for the message.
fn max_age(set: Option<Duration>, hb: Option<&Heartbeat>) -> (Duration, String) {
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

/// The heartbeat, or `None` when it is not fence_watcher's JSON (a third-party responder's
/// file: only its mtime counts, as before issue 12). A heartbeat that cannot be read safely
/// (gone, a link, too large) is a failure: its simulated routes and health cannot be judged.
fn read(responses: &SpoolDir, diag: &Diag) -> Result<Option<Heartbeat>, String> {
    let bytes = responses
        .read(HEARTBEAT_FILE, HEARTBEAT_MAX_BYTES)
        .map_err(|e| format!("cannot read the responder heartbeat: {e}: {HINT}"))?;
    let hb = Heartbeat::from_json(&bytes);
    if hb.is_none() {
        diag.debug("the responder heartbeat is not fence_watcher's JSON: only its age is checked");
    }
    Ok(hb)
}

/// The one line that says why a simulating responder fails `monitor` and how to allow it.
fn simulating(hb: &Heartbeat) -> String {
    let n = hb.simulated_routes;
    format!(
        "the responder (fence_watcher pid {} on {}) fences {n} route{} through the simulate backend, which fences nothing: a fence there would only pretend; set allow_simulate=true on the device only for demos and tests",
        hb.pid,
        escape(&hb.host, 80),
        if n == 1 { "" } else { "s" }
    )
}

/// The heartbeat's pid when the heartbeat names this host and that pid is not alive.
fn dead_local_writer(hb: &Heartbeat) -> Option<u32> {
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

/// `validate-all`: every value was already checked when the settings were built; here come the
/// warnings about values that are valid but unwise.
pub fn validate(s: &Settings, diag: &Diag) -> Exit {
    let t = s.fence_timeout.as_secs_f64();
    if t >= FENCE_TIMEOUT_WARN_SECS {
        diag.warn(&format!(
            "fence_timeout is {t} s: that leaves no room under Pacemaker's default fencing timeout of {PACEMAKER_DEFAULT_TIMEOUT_SECS} s, which would kill the agent before it can report its own timeout; use 50, or raise stonith-timeout / pcmk_reboot_timeout"
        ));
    }
    for (name, dir) in [
        ("request_dir", &s.request_dir),
        ("response_dir", &s.response_dir),
    ] {
        if !dir.is_dir() {
            diag.warn(&format!(
                "{name}: {} is not an existing directory on this node",
                dir.display()
            ));
        }
    }
    Exit::Success
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
