//! The oracle: what must hold after every campaign, whatever was injected.
//!
//! 1. No agent exited 0 without a completed, successful backend run for its node and action
//!    that started after the agent started and ended before it exited (`fake-success`; when the
//!    only such run was already under way when the agent started, `stale-success`: a run shared
//!    with an earlier request).
//! 2. Every published request was answered (a response file; a withdrawn request is answered
//!    `cancelled`) or is still withdrawn (`unanswered`); a successful agent that never named its
//!    request is reported (`unannounced-request`) rather than left unchecked.
//! 3. Nothing is left in REQUEST_DIR/.claimed (`claimed-left`).
//! 4. Every extra backend run (a second run for one request) is explained by the end (crash or
//!    restart) of the responder that ran the first, between the two starts
//!    (`unexplained-extra-run`); explained ones are counted.
//! 5. The daemon's fds and RSS are back to the baseline within [`Tolerance`] (`fd-leak`,
//!    `rss-leak`).
//!
//! Three more that the same history shows: backend runs for one node never overlap unless a
//! the first one's responder ended meanwhile (`node-overlap`, 6), no agent outlived its own
//! `fence_timeout` by more than the slack Pacemaker allows (`agent-overran`, 7), and no request
//! of the campaign's agents, all well-formed, was answered `invalid` (`invalid-answer`, 8: a
//! transient error turned into a permanent refusal).
//!
//! The rule of 1 is strict on purpose: identical requests may share only a run that has not
//! started yet; a request that arrives while a run is under way waits for the next one. The
//! oracle takes the agent's start as the moment its request was published (the agent publishes
//! a few milliseconds later, so this errs toward accepting). `node-overlap` holds that requests
//! for one node are serialised. The oracles of the later fault classes (9-13) are in
//! [`faults`].

use serde::Serialize;

use crate::history::{AgentRecord, History, RunRecord};

/// One broken promise, with what the report needs to show the timeline around it.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub kind: &'static str,
    /// The oracle number above (6 and 7 for the two extra checks).
    pub oracle: u8,
    pub request: Option<String>,
    pub message: String,
    /// The interval whose faults and responder events explain it.
    pub from_ns: u64,
    pub to_ns: u64,
}

/// How far the daemon's resources may end above their baseline. fds: a metrics scrape or a
/// file being published may be open at the instant we look. RSS: the allocator keeps some freed
/// memory; measured without faults, 300 exchanges stay well inside this.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub fds: usize,
    pub rss_kib: u64,
    pub rss_percent: u64,
    /// The most RSS the daemon may reach at any time (issue 10: below 64 MB for a backlog of
    /// 10,000 requests).
    pub rss_peak_kib: u64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            fds: 2,
            rss_kib: 4096,
            rss_percent: 50,
            rss_peak_kib: 64 * 1024,
        }
    }
}

/// The verdict: violations, and the counts the report prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub violations: Vec<Violation>,
    /// Extra runs that a responder crash or restart explains.
    pub extra_runs_explained: usize,
    /// Agents killed before their request reached the spool (nothing to answer).
    pub unpublished: usize,
}

/// Slack past `fence_timeout` before an agent counts as overrunning (scheduling on a loaded
/// machine, the final read, the withdraw).
pub const OVERRUN_SLACK_S: u64 = 20;

/// Checks every oracle on `h`.
pub fn check(h: &History, tol: Tolerance) -> Verdict {
    let mut v = Verdict::default();
    for a in &h.agents {
        check_success(h, a, &mut v);
        check_answered(h, a, &mut v);
        check_overran(a, &mut v);
    }
    check_invalid(h, &mut v);
    check_claimed(h, &mut v);
    check_extra_runs(h, &mut v);
    check_overlaps(h, &mut v);
    check_resources(h, tol, &mut v);
    faults::check(h, tol, &mut v);
    v
}

fn agent_violation(a: &AgentRecord, kind: &'static str, oracle: u8, message: String) -> Violation {
    Violation {
        kind,
        oracle,
        request: a.request.clone(),
        message: format!(
            "agent #{} (pid {}) {} {}, fence_timeout {} s{}: {message}",
            a.idx,
            a.pid,
            a.action,
            a.node,
            a.fence_timeout_s,
            a.skew_s
                .map(|s| format!(", clock skew {s:+} s"))
                .unwrap_or_default()
        ),
        from_ns: a.start_ns,
        to_ns: a.end_ns,
    }
}

fn check_success(h: &History, a: &AgentRecord, v: &mut Verdict) {
    // The lying BMC's nodes have no command runs: their proof is its truth log (oracle 14).
    if a.exit != Some(0) || crate::bmc::is_bmc_node(&a.node) {
        return;
    }
    let covers = |r: &&RunRecord| {
        r.node == a.node
            && r.action == a.action
            && r.succeeded()
            && r.end_ns.is_some_and(|e| e <= a.end_ns)
    };
    if h.runs
        .iter()
        .filter(covers)
        .any(|r| r.start_ns >= a.start_ns)
    {
        return;
    }
    // A run under way when the agent started, which its request could have joined.
    let earlier = h
        .runs
        .iter()
        .filter(covers)
        .find(|r| r.start_ns < a.start_ns && r.end_ns.is_some_and(|e| e > a.start_ns));
    let (kind, mut msg) = match earlier {
        Some(r) => (
            "stale-success",
            format!(
                "exited 0, but the only completed run for it started {} ms before the agent \
                 (run of request {}); a success needs a run for its node and action that \
                 started after its request was published: identical requests share only a \
                 run that has not started yet, one arriving during a run waits for the next",
                (a.start_ns - r.start_ns) / 1_000_000,
                r.request_id
            ),
        ),
        None => (
            "fake-success",
            "exited 0 with no completed backend run for its node and action that started \
             after its request was published"
                .to_owned(),
        ),
    };
    if kind == "fake-success" {
        // A run that had ended just before the agent started: a share of a finished run.
        let last = h
            .runs
            .iter()
            .filter(covers)
            .filter_map(|r| r.end_ns.filter(|e| *e <= a.start_ns).map(|e| (e, r)))
            .max_by_key(|(e, _)| *e);
        if let Some((e, r)) = last.filter(|(e, _)| a.start_ns - e < 2_000_000_000) {
            msg.push_str(&format!(
                "; the last run for it (request {}) had ended {} ms before the agent started",
                r.request_id,
                (a.start_ns - e) / 1_000_000
            ));
        }
    }
    if let Some(lie) = h.lies.iter().find(|l| a.request.as_ref() == Some(&l.name)) {
        msg.push_str(&format!(
            "; the lying responder answered its request first ({})",
            lie.lie
        ));
    }
    v.violations.push(agent_violation(a, kind, 1, msg));
}

fn check_answered(h: &History, a: &AgentRecord, v: &mut Verdict) {
    let Some(name) = &a.request else {
        if a.exit == Some(0) {
            // A success without the name means the agent's debug line changed: without the
            // name this oracle would check nothing, so it says so instead of passing.
            let msg = "exited 0 without naming its request on stderr (`request X.json \
                       published in DIR`): the campaign cannot check it"
                .to_owned();
            v.violations
                .push(agent_violation(a, "unannounced-request", 2, msg));
        }
        return;
    };
    if h.responses.iter().any(|r| &r.name == name) {
        return;
    }
    let withdrawn = format!(".{name}.cancel");
    let left = h.requests_left.contains(name) || h.claimed_left.contains(name);
    if h.cancel_files.contains(&withdrawn) && !left {
        return;
    }
    let ran = a
        .request_id()
        .is_some_and(|id| h.runs.iter().any(|r| r.request_id == id));
    if (a.killed || a.publish_failed) && !left && !ran {
        // Killed between announcing the name and publishing it, or the publish failed (a
        // full or read-only REQUEST_DIR): no request ever existed.
        v.unpublished += 1;
        return;
    }
    let where_ = if h.claimed_left.contains(name) {
        "still claimed"
    } else if h.requests_left.contains(name) {
        "still in REQUEST_DIR"
    } else {
        "gone from the spool"
    };
    let msg = format!("request {name} has no response ({where_}; backend ran: {ran})");
    v.violations.push(agent_violation(a, "unanswered", 2, msg));
}

fn check_overran(a: &AgentRecord, v: &mut Verdict) {
    if a.overran {
        let secs = (a.end_ns.saturating_sub(a.start_ns)) / 1_000_000_000;
        let msg = format!(
            "still running after {secs} s (stopped {} ms): killed as Pacemaker would",
            a.stopped_ms
        );
        v.violations
            .push(agent_violation(a, "agent-overran", 7, msg));
    }
}

fn check_invalid(h: &History, v: &mut Verdict) {
    for r in h
        .responses
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("invalid"))
    {
        let Some(a) = h
            .agents
            .iter()
            .find(|a| a.request.as_ref() == Some(&r.name))
        else {
            continue;
        };
        let msg = format!("its well-formed request {} was answered invalid", r.name);
        v.violations
            .push(agent_violation(a, "invalid-answer", 8, msg));
    }
}

fn check_claimed(h: &History, v: &mut Verdict) {
    for name in &h.claimed_left {
        let agent = h.agents.iter().find(|a| a.request.as_ref() == Some(name));
        v.violations.push(Violation {
            kind: "claimed-left",
            oracle: 3,
            request: Some(name.clone()),
            message: format!("{name} is still in REQUEST_DIR/.claimed after the quiescent period"),
            from_ns: agent.map_or(0, |a| a.start_ns),
            to_ns: agent.map_or(0, |a| a.end_ns),
        });
    }
}

/// Whether the responder that started `first` (its backend's parent) ended between `first`'s
/// start and `to`: then `first`'s outcome was unknown to whoever ran next.
fn runner_ended(h: &History, first: &RunRecord, to: u64) -> bool {
    h.instances
        .iter()
        .filter(|i| i.pid == first.ppid)
        .any(|i| i.ended_within(first.start_ns, to))
}

fn check_extra_runs(h: &History, v: &mut Verdict) {
    let mut runs: Vec<&RunRecord> = h.runs.iter().collect();
    runs.sort_by_key(|r| r.start_ns);
    for (i, r) in runs.iter().enumerate() {
        let Some(prev) = runs[..i]
            .iter()
            .rev()
            .find(|p| p.request_id == r.request_id)
        else {
            continue;
        };
        if runner_ended(h, prev, r.start_ns) {
            v.extra_runs_explained += 1;
            continue;
        }
        v.violations.push(Violation {
            kind: "unexplained-extra-run",
            oracle: 4,
            request: Some(format!("{}.json", r.request_id)),
            message: format!(
                "request {} ran twice ({} {}: runs by pids {} and {} under responders {} and {}) \
                 with no responder crash or restart in between",
                r.request_id, r.action, r.node, prev.pid, r.pid, prev.ppid, r.ppid
            ),
            from_ns: prev.start_ns,
            to_ns: r.end_ns.unwrap_or(r.start_ns),
        });
    }
}

/// Two runs for one node at once: they race on the same BMC, and the last one wins. Excused
/// when a responder ended while the first ran (its orphaned run and the recovery's re-run).
fn check_overlaps(h: &History, v: &mut Verdict) {
    let mut runs: Vec<&RunRecord> = h.runs.iter().collect();
    runs.sort_by_key(|r| r.start_ns);
    for (i, r) in runs.iter().enumerate() {
        let overlapping = runs[..i].iter().find(|p| {
            p.node == r.node
                && p.end_ns.is_none_or(|e| e > r.start_ns)
                && p.request_id != r.request_id
        });
        let Some(p) = overlapping else {
            continue;
        };
        if runner_ended(h, p, r.start_ns) {
            continue;
        }
        v.violations.push(Violation {
            kind: "node-overlap",
            oracle: 6,
            request: Some(format!("{}.json", r.request_id)),
            message: format!(
                "{} of {} (request {}, responder {}) started while {} of it (request {}, \
                 responder {}) still ran: requests for one node must be serialised",
                r.action, r.node, r.request_id, r.ppid, p.action, p.request_id, p.ppid
            ),
            from_ns: p.start_ns,
            to_ns: r.end_ns.unwrap_or(r.start_ns),
        });
    }
}

fn check_resources(h: &History, tol: Tolerance, v: &mut Verdict) {
    let (Some(base), Some(end)) = (h.baseline, h.final_resources) else {
        return;
    };
    let mut push = |kind, message| {
        v.violations.push(Violation {
            kind,
            oracle: 5,
            request: None,
            message,
            from_ns: 0,
            to_ns: u64::MAX,
        })
    };
    if end.fds > base.fds + tol.fds {
        push(
            "fd-leak",
            format!(
                "the daemon holds {} fds after the quiescent period, {} at the start (tolerance +{})",
                end.fds, base.fds, tol.fds
            ),
        );
    }
    let rss_limit = (base.rss_kib + tol.rss_kib).max(base.rss_kib * (100 + tol.rss_percent) / 100);
    if end.rss_kib > rss_limit {
        push(
            "rss-leak",
            format!(
                "the daemon's RSS is {} KiB after the quiescent period, {} KiB at the start \
                 (tolerance: {} KiB)",
                end.rss_kib, base.rss_kib, rss_limit
            ),
        );
    }
}

mod faults;
pub use faults::LATE_SLACK_NS;

#[cfg(test)]
mod tests;
