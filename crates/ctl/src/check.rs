//! `check`: is this host ready to fence? Each check prints one line, OK or FAIL with the fix.

use std::path::Path;
use std::time::SystemTime;

use fence_gfs2_recorder::metadata::INSTALL_PATH;
use gfs2_fence_protocol::lock::{probe, LockState};
use gfs2_fence_protocol::{Heartbeat, SpoolDir, HEARTBEAT_FILE, LOCK_FILE};

use crate::inspect::shown as escaped;
use crate::{Error, Spool};

/// Runs every check; `Ok(false)` when one failed (each failure is printed with its fix).
pub fn run(spool: &Spool, max_age: u64) -> Result<bool, Error> {
    let mut ok = true;
    for (what, path) in [
        ("request directory", spool.requests()),
        ("response directory", spool.responses()),
    ] {
        ok &= report(what, check_dir(&path));
    }
    ok &= report(
        "responder heartbeat",
        check_heartbeat(&spool.responses(), max_age),
    );
    ok &= report("responder lock", check_lock(&spool.requests()));
    ok &= report("fence agent", check_agent(Path::new(INSTALL_PATH)));
    Ok(ok)
}

fn report(what: &str, result: Result<String, String>) -> bool {
    match &result {
        Ok(detail) => crate::out::outln!("OK   {what}: {detail}"),
        Err(detail) => crate::out::outln!("FAIL {what}: {detail}"),
    }
    result.is_ok()
}

fn check_dir(path: &Path) -> Result<String, String> {
    let dir = SpoolDir::open(path).map_err(|e| e.to_string())?;
    dir.check_writable().map_err(|e| e.to_string())?;
    // The protocol's one rule (root or whoever runs the tool, not o+w), as the agent and the
    // daemon apply it.
    dir.check_trusted().map_err(|e| e.to_string())?;
    Ok(format!(
        "{} is a writable, private directory",
        path.display()
    ))
}

fn check_heartbeat(responses: &Path, max_age: u64) -> Result<String, String> {
    let dir = SpoolDir::open(responses).map_err(|e| e.to_string())?;
    let bytes = dir
        .read(HEARTBEAT_FILE, 4096)
        .map_err(|e| format!("{e}; is fence-watcher.service running?"))?;
    let hb = Heartbeat::from_json(&bytes).ok_or("heartbeat file is not valid JSON")?;
    let modified = dir
        .modified(HEARTBEAT_FILE)
        .map_err(|e| e.to_string())?
        .ok_or("heartbeat vanished")?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default()
        .as_secs();
    if age > max_age {
        return Err(format!(
            "last beat {age} s ago (pid {} on {}); is fence-watcher.service running?",
            hb.pid,
            escaped(&hb.host)
        ));
    }
    Ok(format!(
        "fence_watcher pid {} on {} beat {age} s ago",
        hb.pid,
        escaped(&hb.host)
    ))
}

/// Who holds the one-responder-per-spool lock (asked of the kernel, never taken).
fn check_lock(requests: &Path) -> Result<String, String> {
    let dir = SpoolDir::open(requests).map_err(|e| e.to_string())?;
    let shown = requests.join(LOCK_FILE);
    match probe(&dir).map_err(|e| e.to_string())? {
        LockState::Held {
            holder: Some(h), ..
        } => Ok(format!(
            "held by fence_watcher pid {} on {} since {}",
            h.pid,
            escaped(&h.host),
            h.started
        )),
        LockState::Held {
            holder: None,
            kernel_pid,
        } => Ok(format!(
            "held by pid {} ({} is unreadable)",
            kernel_pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
            shown.display()
        )),
        LockState::Free => Err(format!(
            "no responder holds {}; is fence-watcher.service running?",
            shown.display()
        )),
    }
}

fn check_agent(path: &Path) -> Result<String, String> {
    let out = std::process::Command::new(path)
        .arg("-o")
        .arg("metadata")
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e}; install it there (Pacemaker looks only in /usr/sbin)",
                path.display()
            )
        })?;
    if !out.status.success() || !out.stdout.starts_with(b"<?xml") {
        return Err(format!(
            "{} -o metadata failed ({})",
            path.display(),
            out.status
        ));
    }
    Ok(format!("{} answers metadata", path.display()))
}

#[cfg(test)]
mod tests {
    use gfs2_fence_protocol::{LockHolder, ResponderLock, Timestamp};

    use super::*;

    #[test]
    fn the_lock_line_shows_the_holder_or_that_no_responder_holds_it() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let free = check_lock(tmp.path()).expect_err("nobody holds it");
        assert!(free.contains("no responder holds"), "{free}");
        let dir = SpoolDir::open(tmp.path()).expect("dir");
        let holder = LockHolder {
            pid: std::process::id(),
            host: "rabbit-1".into(),
            started: Timestamp::now(),
        };
        let lock = ResponderLock::acquire(&dir, &holder).expect("lock");
        let held = check_lock(tmp.path()).expect("held");
        assert!(
            held.contains(&format!("pid {} on rabbit-1 since ", std::process::id())),
            "{held}"
        );
        drop(lock);
        assert!(
            check_lock(tmp.path()).is_err(),
            "released, still shown held"
        );
    }
}
