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
//! Its age limit, its simulated routes and its backend health are judged by the rules of
//! `heartbeat.rs`, which `gfs2-fencing check` shares.

use std::time::{Duration, SystemTime};

use crate::exchange::open_trusted;
use gfs2_fence_protocol::{Heartbeat, SpoolDir, HEARTBEAT_FILE};

use crate::diag::Diag;
use crate::exit::Exit;
use crate::heartbeat::{self, health, HEARTBEAT_MAX_BYTES};
use crate::options::{FENCE_TIMEOUT_WARN_SECS, PACEMAKER_DEFAULT_TIMEOUT_SECS};
use crate::settings::Settings;

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
    if let Some(dead) = hb.as_ref().and_then(crate::heartbeat::dead_local_writer) {
        return Err(format!(
            "responder heartbeat {} was written by pid {dead} on this host, which is not running: {HINT}",
            path.display()
        ));
    }
    let (limit, why) = heartbeat::max_age(s.heartbeat_max_age, hb.as_ref());
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
        return Err(heartbeat::simulating(&hb));
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
