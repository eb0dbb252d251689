//! Does fencing work now? The model's state judged into reasons, each failing (fencing does not
//! work: exit 3) or a warning (it works: exit 4), by the rules the agent's `monitor` and
//! `gfs2-fencing check` apply to the same heartbeat (`fence_gfs2_recorder::heartbeat`):
//!
//! - failing: no heartbeat or a stale one; no responder holding the lock (a daemon that just
//!   stopped leaves a fresh heartbeat, not its lock); simulated routes (they fence nothing); a
//!   node no level can fence (the `backend_health=fail` rule);
//! - warnings: a level down while another works; a request queued past its deadline or claimed
//!   past it (stuck?); an invalid request or record file; a lock file that cannot be read; an
//!   unreadable event log.

use super::{Lock, Model, State};
use crate::inspect::shown;
use crate::Exit;

/// One reason.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Fencing does not work now.
    pub fail: bool,
    pub message: String,
}

/// Every reason, the responder's first.
pub fn problems(m: &Model) -> Vec<Problem> {
    let mut out = responder(m);
    out.extend(spool(m));
    out
}

/// 0 (no reason), 3 (one fails), 4 (warnings only).
pub fn exit(problems: &[Problem]) -> Exit {
    if problems.iter().any(|p| p.fail) {
        Exit::NotWorking
    } else if problems.is_empty() {
        Exit::Success
    } else {
        Exit::Warnings
    }
}

fn fail(message: String) -> Problem {
    Problem {
        fail: true,
        message,
    }
}

fn warn(message: String) -> Problem {
    Problem {
        fail: false,
        message,
    }
}

const RUNNING: &str = "is fence-watcher.service running?";

fn responder(m: &Model) -> Vec<Problem> {
    let mut out = Vec::new();
    match &m.responder.beat {
        Err(e) => out.push(fail(format!("no responder heartbeat: {e}; {RUNNING}"))),
        Ok(b) if b.age > b.max_age => out.push(fail(format!(
            "the responder's heartbeat is stale: {} s old, the limit ({}) is {} s; {RUNNING}",
            b.age.as_secs(),
            b.why_max_age,
            b.max_age.as_secs()
        ))),
        Ok(_) => {}
    }
    if let Some(pid) = m.responder.dead_writer() {
        out.push(fail(format!(
            "the heartbeat was written by pid {pid} on this host, which is not running; {RUNNING}"
        )));
    }
    if let Some(hb) = m.responder.heartbeat() {
        if hb.simulated_routes > 0 {
            out.push(fail(fence_gfs2_recorder::heartbeat::simulating(hb)));
        }
    }
    let health = m.responder.health();
    out.extend(health.failure.map(fail));
    out.extend(health.warnings.into_iter().map(warn));
    match &m.responder.lock {
        Lock::Held { .. } => {}
        Lock::Free => out.push(fail(format!(
            "no responder holds the lock in {}; {RUNNING}",
            m.request_dir.display()
        ))),
        Lock::Unknown(e) => out.push(warn(format!("responder lock: {e}"))),
    }
    out
}

fn spool(m: &Model) -> Vec<Problem> {
    let mut out = Vec::new();
    for f in &m.requests {
        let name = shown(&f.name);
        match f.state {
            State::Expired => out.push(warn(format!("request {name} is queued past its deadline"))),
            State::Claimed if f.past_deadline => out.push(warn(format!(
                "request {name} is claimed past its deadline: is its fence stuck?"
            ))),
            State::Invalid | State::Unusable => {
                out.push(warn(format!("request file {name} is {}", f.state.as_str())))
            }
            _ => {}
        }
    }
    out.extend(m.records.invalid.iter().map(|bad| {
        let (name, why) = (shown(&bad.name), shown(&bad.error));
        warn(format!("record file {name} is invalid: {why}"))
    }));
    out.extend(
        m.log
            .error
            .iter()
            .map(|e| warn(format!("event log: {}", shown(e)))),
    );
    out
}
