//! `monitor` and `validate-all`: checks that never write a request or wait.
//!
//! Pacemaker runs `monitor` on every fence device every minute, so it is cheap: two directory
//! opens, two `faccessat`, one `stat` of the responder's heartbeat.

use crate::exchange::open_trusted;
use gfs2_fence_protocol::HEARTBEAT_FILE;

use crate::diag::Diag;
use crate::exit::Exit;
use crate::options::{FENCE_TIMEOUT_WARN_SECS, PACEMAKER_DEFAULT_TIMEOUT_SECS};
use crate::settings::Settings;

/// Both directories usable and, unless `require_heartbeat=false`, a fresh heartbeat.
pub fn monitor(s: &Settings, diag: &Diag) -> Exit {
    match check(s) {
        Ok(()) => Exit::Success,
        Err(e) => {
            diag.error(&format!("monitor: {e}"));
            Exit::Failure
        }
    }
}

fn check(s: &Settings) -> Result<(), String> {
    let requests = open_trusted(&s.request_dir).map_err(|e| e.to_string())?;
    requests.check_writable().map_err(|e| e.to_string())?;
    let responses = open_trusted(&s.response_dir).map_err(|e| e.to_string())?;
    responses.check_writable().map_err(|e| e.to_string())?;
    if !s.require_heartbeat {
        return Ok(());
    }
    let path = responses.join(HEARTBEAT_FILE);
    let hint = "is a responder (fence_watcher) running? set require_heartbeat=false for responders that write no heartbeat";
    let mtime = responses
        .modified(HEARTBEAT_FILE)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no responder heartbeat {}: {hint}", path.display()))?;
    let age = mtime.elapsed().unwrap_or_default();
    if age > s.heartbeat_max_age {
        return Err(format!(
            "responder heartbeat {} is {} s old (heartbeat_max_age is {} s): {hint}",
            path.display(),
            age.as_secs(),
            s.heartbeat_max_age.as_secs_f64()
        ));
    }
    Ok(())
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
