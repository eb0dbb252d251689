//! The oracle on synthetic histories: each broken promise is caught, and its honest sibling
//! (the same history without the defect) passes.

use super::*;
use crate::history::{Ending, Instance, Resources, ResponseRecord};

const S: u64 = 1_000_000_000;

fn agent(idx: usize, node: &str, action: &str, start: u64, end: u64, exit: i32) -> AgentRecord {
    AgentRecord {
        idx,
        pid: 100 + idx as u32,
        node: node.to_owned(),
        action: action.to_owned(),
        fence_timeout_s: 10,
        skew_s: None,
        start_ns: start,
        end_ns: end,
        exit: Some(exit),
        killed: false,
        overran: false,
        stopped_ms: 0,
        request: Some(format!("req-{idx}.json")),
        publish_failed: false,
        stderr: String::new(),
    }
}

fn run(id: &str, node: &str, action: &str, start: u64, end: u64, ppid: u32) -> RunRecord {
    RunRecord {
        pid: u32::try_from(start / S).unwrap_or(0) + 1000,
        ppid,
        node: node.to_owned(),
        action: action.to_owned(),
        request_id: id.to_owned(),
        start_ns: start,
        end_ns: Some(end),
        code: Some(0),
    }
}

fn answered(idx: usize) -> ResponseRecord {
    ResponseRecord {
        name: format!("req-{idx}.json"),
        success: true,
        outcome: Some("success".to_owned()),
        executed: Some(true),
    }
}

fn daemon(pid: u32, start: u64, end: Option<u64>, ending: Ending) -> Instance {
    Instance {
        pid,
        role: "main".to_owned(),
        start_ns: start,
        end_ns: end,
        ending,
        ready: true,
        skew_s: None,
    }
}

/// One agent fenced by one run it caused: every oracle holds.
fn honest() -> History {
    History {
        agents: vec![agent(0, "n1", "off", 10 * S, 12 * S, 0)],
        runs: vec![run("req-0", "n1", "off", 10 * S + 1, 11 * S, 7)],
        instances: vec![daemon(7, 0, None, Ending::Running)],
        responses: vec![answered(0)],
        ..History::default()
    }
}

fn kinds(h: &History) -> Vec<&'static str> {
    check(h, Tolerance::default())
        .violations
        .iter()
        .map(|v| v.kind)
        .collect()
}

#[test]
fn an_honest_history_passes() {
    assert_eq!(kinds(&honest()), Vec::<&str>::new());
}

#[test]
fn a_fake_success_is_caught() {
    let mut h = honest();
    h.runs.clear();
    assert_eq!(kinds(&h), ["fake-success"]);
    // A run of another action, or one that failed, or one still running, is no fence either.
    h.runs = vec![run("req-0", "n1", "on", 10 * S + 1, 11 * S, 7)];
    assert_eq!(kinds(&h), ["fake-success"]);
    let mut failed = run("req-0", "n1", "off", 10 * S + 1, 11 * S, 7);
    failed.code = Some(1);
    h.runs = vec![failed];
    assert_eq!(kinds(&h), ["fake-success"]);
    h.runs = vec![run("req-0", "n1", "off", 10 * S + 1, 13 * S, 7)];
    assert_eq!(kinds(&h), ["fake-success"]);
}

#[test]
fn a_success_from_a_run_that_started_before_the_agent_is_stale() {
    let mut h = honest();
    h.runs = vec![run("other", "n1", "off", 9 * S, 11 * S, 7)];
    assert_eq!(kinds(&h), ["stale-success"]);
    // A run that was over before the agent started did nothing for it.
    h.runs = vec![run("other", "n1", "off", 8 * S, 9 * S, 7)];
    assert_eq!(kinds(&h), ["fake-success"]);
}

#[test]
fn a_failed_agent_needs_no_run() {
    let mut h = honest();
    h.agents[0].exit = Some(1);
    h.runs.clear();
    assert_eq!(kinds(&h), Vec::<&str>::new());
}

#[test]
fn a_lost_request_is_caught() {
    let mut h = honest();
    h.responses.clear();
    assert_eq!(kinds(&h), ["unanswered"]);
    // Still claimed: unanswered and left claimed.
    h.claimed_left = vec!["req-0.json".to_owned()];
    assert_eq!(kinds(&h), ["unanswered", "claimed-left"]);
}

#[test]
fn a_withdrawn_or_never_published_request_needs_no_response() {
    let mut h = honest();
    h.agents[0].exit = Some(1);
    h.responses.clear();
    h.runs.clear();
    h.cancel_files = vec![".req-0.json.cancel".to_owned()];
    assert_eq!(kinds(&h), Vec::<&str>::new());
    h.cancel_files.clear();
    h.agents[0].killed = true;
    let v = check(&h, Tolerance::default());
    assert!(v.violations.is_empty());
    assert_eq!(v.unpublished, 1);
    // Its publish failed (a full REQUEST_DIR): no request either.
    h.agents[0].killed = false;
    h.agents[0].publish_failed = true;
    assert_eq!(kinds(&h), Vec::<&str>::new());
    // Killed, but the request is still there: it was published, and nobody answered it.
    h.requests_left = vec!["req-0.json".to_owned()];
    assert_eq!(kinds(&h), ["unanswered"]);
}

#[test]
fn an_unexplained_double_run_is_caught_and_a_crash_explains_one() {
    let mut h = honest();
    h.runs
        .push(run("req-0", "n1", "off", 11 * S + 5, 11 * S + 9, 8));
    assert_eq!(kinds(&h), ["unexplained-extra-run"]);
    // The first responder crashed between the two starts: the re-run is the recovery's.
    h.instances = vec![
        daemon(7, 0, Some(11 * S + 2), Ending::Signalled),
        daemon(8, 11 * S + 3, None, Ending::Running),
    ];
    let v = check(&h, Tolerance::default());
    assert!(v.violations.is_empty(), "{:?}", v.violations);
    assert_eq!(v.extra_runs_explained, 1);
    // Another responder's end explains nothing: the first runner still knew the outcome.
    h.instances[0].pid = 9;
    assert_eq!(kinds(&h), ["unexplained-extra-run"]);
}

#[test]
fn overlapping_runs_for_one_node_are_caught() {
    let mut h = honest();
    h.runs
        .push(run("req-1", "n1", "reboot", 10 * S + 5, 10 * S + 9, 7));
    assert_eq!(kinds(&h), ["node-overlap"]);
    // Another node at the same time is fine.
    h.runs[1].node = "n2".to_owned();
    assert_eq!(kinds(&h), Vec::<&str>::new());
}

#[test]
fn an_agent_that_overran_its_timeout_is_caught() {
    let mut h = honest();
    h.agents[0].overran = true;
    h.agents[0].exit = None;
    assert_eq!(kinds(&h), ["agent-overran"]);
}

#[test]
fn leaked_fds_and_memory_are_caught_within_the_tolerance() {
    let mut h = honest();
    h.baseline = Some(Resources {
        fds: 17,
        rss_kib: 10_000,
    });
    h.final_resources = Some(Resources {
        fds: 19,
        rss_kib: 15_000,
    });
    assert_eq!(kinds(&h), Vec::<&str>::new());
    h.final_resources = Some(Resources {
        fds: 20,
        rss_kib: 15_001,
    });
    assert_eq!(kinds(&h), ["fd-leak", "rss-leak"]);
}

#[test]
fn a_well_formed_request_answered_invalid_is_caught() {
    let mut h = honest();
    h.agents[0].exit = Some(1);
    h.responses[0].success = false;
    h.responses[0].outcome = Some("invalid".to_owned());
    assert_eq!(kinds(&h), ["invalid-answer"]);
    h.responses[0].outcome = Some("failed".to_owned());
    assert_eq!(kinds(&h), Vec::<&str>::new());
}

#[test]
fn a_success_whose_request_is_unknown_is_reported_not_skipped() {
    let mut h = honest();
    h.agents[0].request = None;
    assert_eq!(kinds(&h), ["unannounced-request"]);
    h.agents[0].exit = Some(1);
    assert_eq!(kinds(&h), Vec::<&str>::new());
}

#[test]
fn a_success_on_a_lie_names_the_lie() {
    let mut h = honest();
    h.runs.clear();
    h.lies = vec![crate::liar::Lie {
        name: "req-0.json".to_owned(),
        lie: "executed-false".to_owned(),
        t_ns: 10 * S + 2,
    }];
    let v = check(&h, Tolerance::default());
    assert_eq!(v.violations.len(), 1);
    assert_eq!(v.violations[0].kind, "fake-success");
    assert!(v.violations[0].message.contains("lying responder"));
    assert!(v.violations[0].message.contains("executed-false"));
}

#[test]
fn a_peak_of_memory_above_the_bound_is_caught() {
    let mut h = honest();
    let r = |rss_kib| Some(Resources { fds: 17, rss_kib });
    h.peak = r(64 * 1024);
    assert_eq!(kinds(&h), Vec::<&str>::new());
    h.peak = r(64 * 1024 + 1);
    assert_eq!(kinds(&h), ["rss-peak"]);
}

#[test]
fn hook_survivors_and_a_leaked_environment_are_caught() {
    let mut h = honest();
    let run = |env_leak| crate::hook::HookRun {
        pid: 5,
        node: "n1".to_owned(),
        t_ns: 11 * S,
        env_leak,
        bytes: 0,
        background: true,
        hang_ms: 0,
    };
    h.hook_runs = vec![run(false)];
    assert_eq!(kinds(&h), Vec::<&str>::new());
    h.hook_runs.push(run(true));
    h.hook_survivors = vec![4242];
    assert_eq!(kinds(&h), ["hook-survivor", "hook-env-leak"]);
}

#[test]
fn an_unanswered_backlog_request_is_caught() {
    let mut h = honest();
    h.backlog = vec!["req-0.json".to_owned()];
    assert_eq!(kinds(&h), Vec::<&str>::new());
    h.backlog.push("backlog-1-0001-ab.json".to_owned());
    assert_eq!(kinds(&h), ["backlog-unanswered"]);
}

#[test]
fn a_moved_response_dir_must_be_noticed_and_never_carry_a_success() {
    let mut h = honest();
    h.moves = vec![crate::history::MoveRecord {
        start_ns: 10 * S,
        end_ns: 15 * S,
        daemon_pid: Some(7),
        only_in_old: vec!["req-0.json".to_owned()],
    }];
    assert_eq!(kinds(&h), ["moved-dir-success", "moved-dir-unnoticed"]);
    // The daemon exited before the directory was put back: noticed.
    h.instances = vec![daemon(7, 0, Some(13 * S), Ending::Exited(1))];
    h.moves[0].only_in_old.clear();
    assert_eq!(kinds(&h), Vec::<&str>::new());
    // Stopped by another fault meanwhile: it could not notice.
    h.instances = vec![daemon(7, 0, None, Ending::Running)];
    h.faults = vec![crate::history::FaultRecord {
        class: "stop-daemon".to_owned(),
        detail: String::new(),
        start_ns: 11 * S,
        end_ns: 12 * S,
    }];
    assert_eq!(kinds(&h), Vec::<&str>::new());
}

#[test]
fn a_run_started_after_the_deadline_is_late() {
    let mut h = honest();
    // Deadline: start 10 s + fence_timeout 10 s (+ the slack).
    h.agents[0].exit = Some(1);
    h.runs = vec![run("req-0", "n1", "off", 20 * S + LATE_SLACK_NS, 21 * S, 7)];
    assert_eq!(kinds(&h), Vec::<&str>::new());
    h.runs[0].start_ns += 1;
    assert_eq!(kinds(&h), ["late-start"]);
    // Time the agent was stopped moves its deadline with it.
    h.agents[0].stopped_ms = 1;
    assert_eq!(kinds(&h), Vec::<&str>::new());
}

fn truth(system: &str, power: &str, t: u64) -> crate::bmc::Truth {
    crate::bmc::Truth {
        system: system.to_owned(),
        power: power.to_owned(),
        t_ns: t,
        cause: "test".to_owned(),
    }
}

#[test]
fn a_success_the_lying_bmc_did_not_perform_is_caught_and_a_real_one_passes() {
    let mut h = History {
        agents: vec![
            agent(0, "bmc-01", "off", 10 * S, 12 * S, 0),
            agent(1, "bmc-02", "reboot", 20 * S, 25 * S, 0),
        ],
        responses: vec![answered(0), answered(1)],
        bmc_truth: vec![
            truth("bmc-01", "On", 0),
            truth("bmc-02", "On", 0),
            truth("bmc-01", "Off", 11 * S),
            truth("bmc-02", "Off", 21 * S),
            truth("bmc-02", "On", 22 * S),
        ],
        ..Default::default()
    };
    assert!(
        kinds(&h).is_empty(),
        "{:?}",
        check(&h, Tolerance::default())
    );
    // The reset was accepted and nothing happened: On throughout.
    h.bmc_truth.retain(|t| t.t_ns == 0);
    assert_eq!(kinds(&h), vec!["bmc-fake-success", "bmc-fake-success"]);
    // Off before the reboot's agent started, never On again: no reboot either.
    h.bmc_truth.push(truth("bmc-02", "Off", 15 * S));
    h.bmc_truth.push(truth("bmc-01", "Off", 5 * S));
    assert_eq!(kinds(&h), vec!["bmc-fake-success"]);
}

#[test]
fn the_bmc_secret_anywhere_is_caught() {
    let mut h = honest();
    h.secret_leaks = vec!["out/agent-3.err: base64 of user:password".to_owned()];
    assert_eq!(kinds(&h), vec!["secret-leak"]);
}

#[test]
fn the_bmc_secret_is_found_in_a_file_in_any_of_its_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("responses");
    std::fs::create_dir_all(&nested).expect("dir");
    for (i, (_, form)) in crate::bmc::secret_forms().iter().enumerate() {
        let text = format!("{{\"message\": \"500: Authorization: Basic {form}\"}}");
        std::fs::write(nested.join(format!("r{i}.json")), text).expect("write");
    }
    std::fs::write(dir.path().join("clean.log"), "Authorization: [redacted]").expect("write");
    let leaks = crate::bmc::leaks(&[dir.path()]);
    assert!(leaks.len() >= 3, "{leaks:?}");
    assert!(leaks.iter().all(|l| !l.contains("clean.log")), "{leaks:?}");
}

/// A run the daemon stopped at its deadline (SIGTERM: it records its end, code 143) proves no
/// success, overlaps no later run of its node, and is no extra run of its request.
#[test]
fn a_run_the_daemon_stopped_proves_nothing_and_overlaps_nothing() {
    let mut stopped = run("req-0", "n1", "off", 10 * S + 1, 11 * S, 7);
    stopped.code = Some(crate::backend::TERMINATED);
    let mut h = History {
        agents: vec![
            agent(0, "n1", "off", 10 * S, 12 * S, 1),
            agent(1, "n1", "on", 10 * S + 2, 13 * S, 0),
        ],
        runs: vec![stopped, run("req-1", "n1", "on", 11 * S + 1, 12 * S, 7)],
        instances: vec![daemon(7, 0, None, Ending::Running)],
        responses: vec![answered(0), answered(1)],
        ..History::default()
    };
    assert!(
        kinds(&h).is_empty(),
        "{:?}",
        check(&h, Tolerance::default())
    );
    // The same history with the stopped run's agent claiming success: nothing proves it.
    h.agents[0].exit = Some(0);
    assert_eq!(kinds(&h), vec!["fake-success"]);
    // Without its end line (the old backend), the next run of the node seems to overlap it.
    h.agents[0].exit = Some(1);
    h.runs[0].end_ns = None;
    assert_eq!(kinds(&h), vec!["node-overlap"]);
}
