//! The oracles of the fault classes of issues 10 and 11 that the base history does not cover.
//!
//! 9. `rss-peak`: the daemon's RSS, sampled every 100 ms, never above [`Tolerance::rss_peak_kib`]
//!    (a hook's flood or a backlog must not be held in memory).
//! 10. `hook-survivor`: no descendant of the after-fence hook alive after the quiescent period;
//!     `hook-env-leak`: the daemon's environment (a secret in it) never reached the hook.
//! 11. `backlog-unanswered`: every request of a backlog burst answered.
//! 12. `moved-dir-success`: no agent exited 0 on a response that was written only into the
//!     moved-away RESPONSE_DIR; `moved-dir-unnoticed`: the daemon running when RESPONSE_DIR was
//!     moved ended (to be restarted on the new one) before it was put back.
//! 13. `late-start`: no backend run started after its request's deadline as the agent set it
//!     (its start, plus the time it was stopped, plus `fence_timeout`, plus [`LATE_SLACK_NS`]).
//! 14. `bmc-fake-success`: no agent of a lying BMC's node exited 0 unless the BMC's truth log
//!     shows the end state between the agent's start and exit: `off` Off, `on` On, `reboot`
//!     Off and then On (the BMC's true state, whatever it answered; a state the node was
//!     already in counts, as the daemon reports "PowerState was already Off").
//! 15. `secret-leak`: no form of the BMC's secret (password, URL-encoded, base64 of
//!     `user:password`) in any file under the spool (responses, event logs) or in the daemon's
//!     and the agents' output.

use super::{agent_violation, Tolerance, Verdict, Violation};
use crate::history::History;

/// The time between an agent's start and the moment it stamps its request's deadline (a
/// process start and two directory opens on a loaded machine): a run this much after the
/// agent's start plus `fence_timeout` is late whatever the agent's own delays were.
pub const LATE_SLACK_NS: u64 = 1_000_000_000;

/// How long after the revert of a move the daemon that ran at the move may still end.
const NOTICE_SLACK_NS: u64 = 1_000_000_000;

fn global(kind: &'static str, oracle: u8, message: String) -> Violation {
    Violation {
        kind,
        oracle,
        request: None,
        message,
        from_ns: 0,
        to_ns: u64::MAX,
    }
}

pub(super) fn check(h: &History, tol: Tolerance, v: &mut Verdict) {
    if let Some(peak) = h.peak.filter(|p| p.rss_kib > tol.rss_peak_kib) {
        let msg = format!(
            "the daemon's RSS reached {} KiB during the campaign (bound {} KiB)",
            peak.rss_kib, tol.rss_peak_kib
        );
        v.violations.push(global("rss-peak", 9, msg));
    }
    if !h.hook_survivors.is_empty() {
        let msg = format!(
            "{} descendant(s) of the after-fence hook still alive after the quiescent period \
             (pids {:?}): the hook's process group was not ended with it",
            h.hook_survivors.len(),
            h.hook_survivors
        );
        v.violations.push(global("hook-survivor", 10, msg));
    }
    let leaks = h.hook_runs.iter().filter(|r| r.env_leak).count();
    if leaks > 0 {
        let msg = format!(
            "{leaks} of {} hook runs saw the daemon's environment (its secret variable)",
            h.hook_runs.len()
        );
        v.violations.push(global("hook-env-leak", 10, msg));
    }
    for name in &h.backlog {
        if !h.responses.iter().any(|r| &r.name == name) {
            let mut x = global(
                "backlog-unanswered",
                11,
                format!("backlog request {name} has no response"),
            );
            x.request = Some(name.clone());
            v.violations.push(x);
        }
    }
    check_moves(h, v);
    check_late(h, v);
    check_bmc(h, v);
    for leak in &h.secret_leaks {
        let msg = format!("the lying BMC's secret is in {leak}");
        v.violations.push(global("secret-leak", 15, msg));
    }
}

/// Oracle 14: each success on a lying BMC's node against the BMC's true power states.
fn check_bmc(h: &History, v: &mut Verdict) {
    for a in h.agents.iter().filter(|a| a.exit == Some(0)) {
        if !crate::bmc::is_bmc_node(&a.node) {
            continue;
        }
        let states = true_states(h, &a.node, a.start_ns, a.end_ns);
        let proven = match a.action.as_str() {
            "off" => states.contains(&"Off"),
            "on" => states.contains(&"On"),
            _ => states
                .iter()
                .position(|s| *s == "Off")
                .is_some_and(|i| states[i..].contains(&"On")),
        };
        if !proven {
            let msg = format!(
                "exited 0, but the BMC's true power state was only {states:?} between the                  agent's start and exit: the fence was not done"
            );
            v.violations
                .push(agent_violation(a, "bmc-fake-success", 14, msg));
        }
    }
}

/// The true power states of `system` from `from_ns` to `to_ns`, in order: the one in force
/// at the start, then every change.
fn true_states<'a>(h: &'a History, system: &str, from_ns: u64, to_ns: u64) -> Vec<&'a str> {
    let mine = h.bmc_truth.iter().filter(|t| t.system == system);
    let before = mine.clone().rfind(|t| t.t_ns <= from_ns);
    before
        .into_iter()
        .chain(mine.filter(|t| t.t_ns > from_ns && t.t_ns <= to_ns))
        .map(|t| t.power.as_str())
        .collect()
}

fn check_moves(h: &History, v: &mut Verdict) {
    for m in &h.moves {
        for a in h.agents.iter().filter(|a| a.exit == Some(0)) {
            if a.request
                .as_ref()
                .is_some_and(|n| m.only_in_old.contains(n))
            {
                let msg = "exited 0, but its response was written only into the RESPONSE_DIR \
                           that had been moved away"
                    .to_owned();
                v.violations
                    .push(agent_violation(a, "moved-dir-success", 12, msg));
            }
        }
        let Some(pid) = m.daemon_pid else { continue };
        let ended = h
            .instances
            .iter()
            .filter(|i| i.pid == pid)
            .any(|i| i.ended_within(m.start_ns, m.end_ns + NOTICE_SLACK_NS));
        // A daemon stopped by another fault meanwhile could not notice anything.
        let stopped = h
            .faults
            .iter()
            .any(|f| f.class == "stop-daemon" && f.start_ns <= m.end_ns && f.end_ns >= m.start_ns);
        if !ended && !stopped {
            let mut x = global(
                "moved-dir-unnoticed",
                12,
                format!(
                    "fence_watcher {pid} kept running for {} ms with RESPONSE_DIR moved away \
                     ({} response(s) written only into the old one)",
                    (m.end_ns - m.start_ns) / 1_000_000,
                    m.only_in_old.len()
                ),
            );
            (x.from_ns, x.to_ns) = (m.start_ns, m.end_ns);
            v.violations.push(x);
        }
    }
}

fn check_late(h: &History, v: &mut Verdict) {
    for a in &h.agents {
        let Some(id) = a.request_id() else { continue };
        let deadline = a.start_ns
            + a.fence_timeout_s * 1_000_000_000
            + a.stopped_ms * 1_000_000
            + LATE_SLACK_NS;
        for r in h
            .runs
            .iter()
            .filter(|r| r.request_id == id && r.start_ns > deadline)
        {
            let msg = format!(
                "its backend run (pid {}, responder {}) started {} ms after the request's \
                 deadline",
                r.pid,
                r.ppid,
                (r.start_ns - deadline + LATE_SLACK_NS) / 1_000_000
            );
            let mut x = agent_violation(a, "late-start", 13, msg);
            x.to_ns = r.start_ns;
            v.violations.push(x);
        }
    }
}
