//! `check`: is this host ready to fence? Each check prints one line, OK or FAIL with the fix;
//! the backend health may add WARN lines (a level down while another works), which do not fail
//! it. The heartbeat is judged by the agent's rules (`fence_gfs2_recorder::heartbeat`): its age
//! against 3 × the interval it states unless `--heartbeat-max-age` is given, its simulated
//! routes (any is a FAIL: they fence nothing), and its backend health (a node no level can
//! fence is a FAIL). Exit status: 0 when nothing FAILed, 1 otherwise. With `--json`: one
//! document, `{"schema": "gfs2-fencing.check", "version": 1, "ok": bool, "checks": [{"status":
//! "ok|warn|fail", "check": "...", "detail": "..."}]}`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use fence_gfs2_recorder::heartbeat::{self, BackendHealth};
use fence_gfs2_recorder::metadata::INSTALL_PATH;
use gfs2_fence_protocol::lock::{probe, LockState};
use gfs2_fence_protocol::{Heartbeat, SpoolDir, LOCK_FILE};

use crate::inspect::shown as escaped;
use crate::{Error, Spool};

/// Runs every check; `Ok(false)` when one failed (each failure is printed with its fix).
pub fn run(spool: &Spool, max_age: Option<u64>) -> Result<bool, Error> {
    let mut report = Report::default();
    for (what, path) in [
        ("request directory", spool.requests()),
        ("response directory", spool.responses()),
    ] {
        report.check(what, check_dir(&path));
    }
    let beat = read_heartbeat(&spool.responses());
    let max_age = max_age.map(Duration::from_secs);
    let fresh = beat.and_then(|(hb, modified)| check_age(&hb, modified, max_age).map(|d| (hb, d)));
    match fresh {
        Ok((hb, detail)) => {
            report.check("responder heartbeat", Ok(detail));
            report.check("simulated routes", check_simulated(&hb));
            report_health(&mut report, &hb);
        }
        Err(e) => report.check("responder heartbeat", Err(e)),
    }
    report.check("responder lock", check_lock(&spool.requests()));
    report.check("fence agent", check_agent(Path::new(INSTALL_PATH)));
    if spool.json {
        report.emit();
    } else {
        report.print();
    }
    Ok(report.ok())
}

/// What the checks found, in order: `OK`, `WARN` (does not fail the check) or `FAIL` lines.
#[derive(Default)]
struct Report {
    lines: Vec<(&'static str, String, String)>,
}

impl Report {
    fn check(&mut self, what: &str, result: Result<String, String>) {
        let (status, detail) = match result {
            Ok(d) => ("ok", d),
            Err(d) => ("fail", d),
        };
        self.lines.push((status, what.to_owned(), detail));
    }

    fn warn(&mut self, what: &str, detail: String) {
        self.lines.push(("warn", what.to_owned(), detail));
    }

    fn ok(&self) -> bool {
        self.lines.iter().all(|(status, ..)| *status != "fail")
    }

    fn print(&self) {
        for (status, what, detail) in &self.lines {
            let tag = match *status {
                "ok" => "OK  ",
                "warn" => "WARN",
                _ => "FAIL",
            };
            crate::out::outln!("{tag} {what}: {detail}");
        }
    }

    /// `{"schema": "gfs2-fencing.check", "version": 1, "ok": bool, "checks": [...]}`.
    fn emit(&self) {
        let checks: Vec<serde_json::Value> = self
            .lines
            .iter()
            .map(|(status, what, detail)| {
                serde_json::json!({ "status": status, "check": what, "detail": detail })
            })
            .collect();
        crate::views::emit(
            "check",
            serde_json::json!({ "ok": self.ok(), "checks": checks }),
        );
    }
}

pub(crate) fn check_dir(path: &Path) -> Result<String, String> {
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

/// The heartbeat and its mtime (the model's reader), the hint added to a heartbeat that cannot
/// be read.
pub(crate) fn read_heartbeat(responses: &Path) -> Result<(Heartbeat, SystemTime), String> {
    let dir = SpoolDir::open(responses).map_err(|e| e.to_string())?;
    crate::model::responder::read_heartbeat(&dir)
        .map_err(|e| format!("{e}; is fence-watcher.service running?"))
}

/// Fresh by the agent's own rule (`heartbeat::max_age`): `--heartbeat-max-age`, or 3 × the
/// interval the heartbeat states.
pub(crate) fn check_age(
    hb: &Heartbeat,
    modified: SystemTime,
    max_age: Option<Duration>,
) -> Result<String, String> {
    if let Some(dead) = heartbeat::dead_local_writer(hb) {
        return Err(format!(
            "written by pid {dead} on this host, which is not running; is fence-watcher.service running?"
        ));
    }
    let (limit, why) = heartbeat::max_age(max_age, Some(hb));
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    if age > limit {
        return Err(format!(
            "last beat {} s ago (pid {} on {}; {why} is {} s); is fence-watcher.service running?",
            age.as_secs(),
            hb.pid,
            escaped(&hb.host),
            limit.as_secs()
        ));
    }
    Ok(format!(
        "fence_watcher pid {} on {} beat {} s ago",
        hb.pid,
        escaped(&hb.host),
        age.as_secs()
    ))
}

/// A simulated route fences nothing: the host is not ready to fence while there is one.
pub(crate) fn check_simulated(hb: &Heartbeat) -> Result<String, String> {
    match hb.simulated_routes {
        0 => Ok("none: every route fences through a real backend".to_owned()),
        n => Err(format!(
            "{n} route{} fence through the simulate backend, which fences nothing; the agent \
             refuses its successes and fails monitor unless the device sets allow_simulate=true \
             (the daemon's log names the routes)",
            if n == 1 { "" } else { "s" }
        )),
    }
}

/// The backend health by the agent's rule for `backend_health=fail`: FAIL when a node can be
/// fenced by no level, a WARN line per node with a level down, OK otherwise.
fn report_health(report: &mut Report, hb: &Heartbeat) {
    let what = "backend health";
    let (warnings, result) = judge_health(hb);
    for w in warnings {
        report.warn(what, w);
    }
    report.check(what, result);
}

/// The backend health's WARN lines and its verdict (for `check` and `doctor`).
pub(crate) fn judge_health(hb: &Heartbeat) -> (Vec<String>, Result<String, String>) {
    let Some(health) = &hb.health else {
        let unprobed = "not probed (no [health] probes in fence_watcher, or an older daemon)";
        return (Vec::new(), Ok(unprobed.into()));
    };
    let verdict = heartbeat::judge(Some(health), BackendHealth::Fail);
    let warnings = verdict
        .warnings
        .iter()
        .map(|w| w.strip_prefix("backend health: ").unwrap_or(w).to_owned())
        .collect();
    let levels: usize = health.nodes.iter().map(|n| n.levels.len()).sum();
    let down: usize = health.nodes.iter().map(|n| n.down().count()).sum();
    let result = match verdict.failure {
        Some(f) => Err(f.strip_prefix("backend health: ").unwrap_or(&f).to_owned()),
        None => Ok(format!(
            "{}, {} probed, {down} down; every node can be fenced by a level",
            count(health.nodes.len(), "node"),
            count(levels, "level")
        )),
    };
    (warnings, result)
}

/// `1 node`, `2 nodes`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Who holds the one-responder-per-spool lock (asked of the kernel, never taken).
pub(crate) fn check_lock(requests: &Path) -> Result<String, String> {
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

pub(crate) fn check_agent(path: &Path) -> Result<String, String> {
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
