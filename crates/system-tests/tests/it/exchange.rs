//! The agent and the daemon together through real directories, no Pacemaker: the request /
//! response exchange, its failure siblings (failed fence, no responder, late request), `status`,
//! `list` and `monitor`.

use std::time::Duration;

use gfs2_fence_protocol::Outcome;
use system_tests::{wait_for, Agent, Daemon, Spool};

/// Promise: on/off/reboot exit 0 only after the daemon answered *this* request with success;
/// the exchange leaves no request behind and the three logs record it (stdin and argv forms).
#[test]
fn fences_succeed_through_the_daemon() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate"]);
    for (action, node) in [("reboot", "cn1"), ("off", "cn2"), ("on", "cn3")] {
        Agent::new(&spool, action, node, 30)
            .run()
            .assert_code(0, action);
        check_answered(&spool, node, action);
    }
    let req = format!("--request-dir={}", spool.requests.display());
    let resp = format!("--response-dir={}", spool.responses.display());
    let log = format!("--log-dir={}", spool.logs.display());
    let args = [
        "-o",
        "reboot",
        "-n",
        "cn4",
        &req,
        &resp,
        &log,
        "--fence-timeout=30",
        "--allow-simulate",
    ];
    Agent::argv(&spool, &args)
        .run()
        .assert_code(0, "argv reboot");
    check_answered(&spool, "cn4", "reboot");
    let left = spool.drained(Duration::from_secs(30));
    assert!(left.is_empty(), "left in the request directory: {left:?}");
}

fn check_answered(spool: &Spool, node: &str, action: &str) {
    let (name, r) = if action == "on" {
        archived_on(spool, node)
    } else {
        spool.response_for(node)
    };
    assert!(r.success, "{node}: {r:?}");
    assert_eq!(r.outcome, Some(Outcome::Success), "{node}");
    assert_eq!(r.executed, Some(true), "{node}");
    assert_eq!(
        name,
        format!("{}.json", r.request_id.as_str()),
        "response keeps the basename"
    );
    let done = spool.events_for(node, "completed");
    assert_eq!(done.len(), 1, "{node}: one completed event: {done:?}");
    assert_eq!(
        done[0]["request_id"],
        r.request_id.as_str(),
        "event names the request"
    );
    assert_eq!(done[0]["action"], action);
    assert_eq!(
        spool.events_for(node, "requested").len(),
        1,
        "{node}: requested event"
    );
    let readable = spool.log("fence-events-readable.log");
    let line = format!("ACTION={action} TARGET={node} ");
    assert!(
        readable
            .lines()
            .any(|l| l.contains(&line) && l.contains("STATUS=completed")),
        "{node}: readable log:\n{readable}"
    );
    assert!(
        spool.log("fence-events.log").contains(node),
        "{node}: operational log"
    );
}

/// Promise: a fence the responder reports as failed makes the agent exit 1 (never 0).
/// Promise (issue 10, #3 and the chaos campaign's fake successes): a success that a simulation
/// produced is no fence. A `fence_watcher --simulate` that answers a real cluster's requests
/// (run beside a stopped daemon, a demo against the default directories) makes every agent fail
/// and say why, unless the device sets `allow_simulate=true` (demos and tests only).
#[test]
fn a_simulated_responder_made_every_agent_exit_0() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate"]);
    let run = Agent::new(&spool, "off", "cn1", 30)
        .without("allow_simulate")
        .run();
    run.assert_code(1, "a simulated success is not a fence");
    assert!(
        run.stderr.contains("simulat") && run.stderr.contains("allow_simulate"),
        "the failure names the simulation and the setting: {}",
        run.stderr
    );
    let (_, r) = spool.response_for("cn1");
    assert!(r.success && r.levels.iter().any(|l| l.simulated), "{r:?}");
    Agent::new(&spool, "off", "cn2", 30)
        .run()
        .assert_code(0, "allow_simulate=true takes it");
}

#[test]
fn a_failed_fence_exits_1() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate-outcome", "fail"]);
    Agent::new(&spool, "reboot", "cn1", 30)
        .run()
        .assert_code(1, "failed fence");
    let (_, r) = spool.response_for("cn1");
    assert!(!r.success);
    assert_eq!(r.outcome, Some(Outcome::Failed));
    assert_eq!(
        spool.events_for("cn1", "failed").len(),
        1,
        "{:?}",
        spool.events()
    );
    assert!(spool.events_for("cn1", "completed").is_empty());
}

/// Promise: with no responder, the agent gives up after fence_timeout, exits 1 and records a
/// `timeout` event.
#[test]
fn no_responder_times_out() {
    let spool = Spool::new();
    Agent::new(&spool, "reboot", "cn1", 2)
        .run()
        .assert_code(1, "no responder");
    assert_eq!(
        spool.events_for("cn1", "timeout").len(),
        1,
        "{:?}",
        spool.events()
    );
    let readable = spool.log("fence-events-readable.log");
    assert!(readable.contains("STATUS=timeout"), "{readable}");
    assert!(spool.responses().is_empty());
}

/// Promise: a request whose deadline passed while it waited for the daemon is answered
/// `expired` (or `cancelled` when the agent withdrew it) and never executed late.
#[test]
fn late_requests_are_answered_without_executing() {
    let spool = Spool::new();
    let args = ["--simulate-delay", "5", "--max-concurrent", "1"];
    let _daemon = Daemon::start(&spool, &args);
    // cn1 takes the only slot for 5 s; cn2's deadline (1 s) passes while it waits.
    let busy = Agent::new(&spool, "reboot", "cn1", 60).spawn();
    let claimed = || {
        spool
            .requests
            .join(".claimed")
            .read_dir()
            .ok()?
            .next()?
            .ok()
    };
    wait_for(Duration::from_secs(30), claimed).expect("the daemon claims cn1's request");
    Agent::new(&spool, "reboot", "cn2", 1)
        .run()
        .assert_code(1, "late request");
    busy.wait().assert_code(0, "the busy fence");
    let answered = wait_for(Duration::from_secs(60), || {
        spool
            .responses()
            .into_iter()
            .find(|(_, r)| r.target_node.as_str() == "cn2")
    });
    let (_, r) = answered.expect("cn2's request is answered even though the agent left");
    assert!(!r.success, "{r:?}");
    assert!(
        matches!(r.outcome, Some(Outcome::Expired | Outcome::Cancelled)),
        "outcome {:?}",
        r.outcome
    );
    assert_eq!(
        r.executed,
        Some(false),
        "a late request must not run: {r:?}"
    );
}

/// An accepted `on` leaves no record of the node in RESPONSE_DIR (nnf-sos would read it as
/// fenced): its answer is in `.unfenced/`, and an `unfenced` event says so.
fn archived_on(spool: &Spool, node: &str) -> (String, gfs2_fence_protocol::Response) {
    let left: Vec<_> = spool
        .responses()
        .into_iter()
        .filter(|(_, r)| r.target_node.as_str() == node)
        .collect();
    assert!(left.is_empty(), "{node}: left in RESPONSE_DIR: {left:?}");
    let mut kept = spool.archived_for(node);
    assert_eq!(kept.len(), 1, "{node}: archived: {kept:?}");
    let unfenced = spool.events_for(node, "unfenced");
    assert_eq!(unfenced.len(), 1, "{node}: {unfenced:?}");
    assert_eq!(unfenced[0]["by"], "fence_gfs2_recorder -o on");
    kept.remove(0)
}

/// Promise: `status` answers from the records: off after an `off` (exit 2), on after an `on`
/// (exit 0: the `on` archived the node's records, nnf-sos's rule no longer finds a success for
/// it); `list` names the nodes with records.
#[test]
fn status_and_list_follow_the_records() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate"]);
    Agent::new(&spool, "off", "cn1", 30)
        .run()
        .assert_code(0, "off");
    Agent::new(&spool, "status", "cn1", 30)
        .run()
        .assert_code(2, "status after off");
    let list = Agent::device(&spool, "list").run();
    list.assert_code(0, "list");
    assert!(
        list.stdout
            .lines()
            .any(|l| l.split(',').next() == Some("cn1")),
        "{}",
        list.stdout
    );
    Agent::new(&spool, "on", "cn1", 30)
        .run()
        .assert_code(0, "on");
    Agent::new(&spool, "status", "cn1", 30)
        .run()
        .assert_code(0, "status after on");
}

/// Promise: `monitor` succeeds while the daemon's heartbeat is fresh and fails once the daemon
/// is gone and the heartbeat is older than heartbeat_max_age.
#[test]
fn monitor_follows_the_heartbeat() {
    let spool = Spool::new();
    let mut daemon = Daemon::start(&spool, &["--simulate", "--heartbeat-interval", "1"]);
    let monitor = || {
        Agent::device(&spool, "monitor")
            .opt("require_heartbeat", "true")
            .opt("heartbeat_max_age", "3")
            .run()
    };
    monitor().assert_code(0, "monitor with the daemon running");
    daemon.kill9();
    // The agent judges the heartbeat by its age (mtime): wait until it is older than
    // heartbeat_max_age instead of sleeping past it.
    let stale = wait_for(Duration::from_secs(30), || {
        let written = std::fs::metadata(spool.heartbeat()).ok()?.modified().ok()?;
        (written.elapsed().ok()? > Duration::from_secs(3)).then_some(())
    });
    assert!(stale.is_some(), "the dead daemon's heartbeat stays fresh");
    let failed = wait_for(Duration::from_secs(30), || {
        (monitor().code == Some(1)).then_some(())
    });
    assert!(
        failed.is_some(),
        "monitor still succeeds 30 s after the daemon died"
    );
}
