//! Faults, part 1: `kill -9` of the daemon and of the agent at each step of the exchange.
//!
//! No timing races: the daemon is held before its claim with SIGSTOP; "during the backend" is a
//! `command` backend blocked reading a FIFO that the test opens only when it wants the backend
//! to finish; "after the claim, before the backend" and "after the response, before removal"
//! are set up directly on disk (a claimed request without / with its response), which is
//! exactly the state such a crash leaves, and the daemon is started on it.

use std::time::Duration;

use rustix::process::Signal;
use system_tests::faults::{command_backend, request_json, Counter};
use system_tests::procs::signal;
use system_tests::{wait_for, Agent, Daemon, Spool};

static COUNT: Counter = Counter::new("faults/crash");

/// A backend that logs `start` / `end` lines and, between them, blocks until the test writes
/// to the FIFO `release` (every blocked run is released at once).
fn fifo_backend(spool: &Spool) -> String {
    let fifo = spool.root().join("release");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let runs = spool.root().join("runs.log");
    let script = format!(
        "#!/bin/sh\necho \"start $1 $2\" >> '{r}'\ncat '{f}' > /dev/null\necho \"end $1 $2\" >> '{r}'\n",
        r = runs.display(),
        f = fifo.display()
    );
    command_backend(spool, &script, 120)
}

/// Lets every backend blocked on the FIFO finish.
fn release(spool: &Spool) {
    // Opening for writing waits for the readers; closing at once gives them end of file.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .open(spool.root().join("release"));
}

fn starts(spool: &Spool) -> usize {
    spool
        .lines("runs.log")
        .iter()
        .filter(|l| l.starts_with("start"))
        .count()
}

fn wait_starts(spool: &Spool, n: usize, d: &Daemon) {
    let ok = wait_for(Duration::from_secs(60), || {
        (starts(spool) >= n).then_some(())
    });
    assert!(
        ok.is_some(),
        "backend run {n} never started:\n{}",
        d.log_text()
    );
}

fn published(spool: &Spool) -> String {
    wait_for(Duration::from_secs(30), || {
        std::fs::read_dir(&spool.requests)
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|n| !n.starts_with('.') && n.ends_with(".json"))
    })
    .expect("the agent publishes its request")
}

/// Promise 2 and 3: the daemon killed before its claim (held by SIGSTOP, then `kill -9`) leaves
/// the request in place; the next daemon answers it, running the backend once, and the agent
/// exits 0.
#[test]
fn daemon_killed_before_the_claim() {
    let spool = Spool::new();
    let cfg = fifo_backend(&spool);
    let mut daemon = Daemon::start(&spool, &["--config", &cfg]);
    signal(daemon.pid(), Signal::STOP);
    let agent = Agent::new(&spool, "reboot", "cn1", 120).spawn();
    let name = published(&spool);
    daemon.kill9();
    assert!(
        spool.requests.join(&name).exists(),
        "the request is still there"
    );
    let d2 = Daemon::start(&spool, &["--config", &cfg]);
    wait_starts(&spool, 1, &d2);
    release(&spool);
    agent
        .wait()
        .assert_code(0, "agent across a crash before the claim");
    assert_eq!(starts(&spool), 1, "{:?}", spool.lines("runs.log"));
    assert_eq!(spool.responses().len(), 1);
    assert!(spool.drained(Duration::from_secs(30)).is_empty());
    COUNT.add("daemon_killed_before_the_claim", 1);
}

/// Promise 2, 3 and 1: the daemon killed while the backend runs leaves a claim with an unknown
/// outcome; the next daemon runs it again (the documented cause for a second run), answers it
/// once, and the waiting agent exits 0.
#[test]
fn daemon_killed_during_the_backend() {
    let spool = Spool::new();
    let cfg = fifo_backend(&spool);
    let mut daemon = Daemon::start(&spool, &["--config", &cfg]);
    let agent = Agent::new(&spool, "off", "cn2", 120).spawn();
    wait_starts(&spool, 1, &daemon);
    daemon.kill9();
    let claimed = std::fs::read_dir(spool.requests.join(".claimed"))
        .expect("claimed dir")
        .count();
    assert_eq!(claimed, 1, "the claim survives the crash");
    let d2 = Daemon::start(&spool, &["--config", &cfg]);
    wait_starts(&spool, 2, &d2);
    assert!(
        d2.log_text().contains("outcome is unknown"),
        "{}",
        d2.log_text()
    );
    release(&spool);
    agent
        .wait()
        .assert_code(0, "agent across a crash during the backend");
    let all = spool.responses();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].1.success);
    assert!(spool.drained(Duration::from_secs(30)).is_empty());
    COUNT.add("daemon_killed_during_the_backend", 1);
}

/// Writes `.claimed/<name>` (and the directory) as a daemon's claim would have left it.
fn plant_claim(spool: &Spool, name: &str, body: &str) {
    use std::os::unix::fs::DirBuilderExt;
    let claimed = spool.requests.join(".claimed");
    let _ = std::fs::DirBuilder::new().mode(0o750).create(&claimed);
    std::fs::write(claimed.join(name), body).expect("plant a claim");
}

/// Promise 2: a crash after the claim and before the backend (a claim without a response) is
/// run once by the next daemon and answered.
#[test]
fn crash_after_the_claim_before_the_backend() {
    let spool = Spool::new();
    let cfg = fifo_backend(&spool);
    plant_claim(
        &spool,
        "req-claimed.json",
        &request_json("req-claimed", "cn3", "off", 600, 0),
    );
    let d = Daemon::start(&spool, &["--config", &cfg]);
    wait_starts(&spool, 1, &d);
    release(&spool);
    let r = wait_for(Duration::from_secs(60), || spool.responses().pop()).expect("answered");
    assert!(r.1.success && r.1.executed == Some(true), "{r:?}");
    assert_eq!(starts(&spool), 1);
    assert!(spool.drained(Duration::from_secs(30)).is_empty());
    COUNT.add("crash_after_the_claim_before_the_backend", 1);
}

/// Promise 3 and 4: a crash after the response was published and before the claim was removed
/// (response + claim on disk): the next daemon removes the claim, runs nothing, and leaves the
/// response byte for byte. Same for a request that reappears in `REQUEST_DIR` already answered.
#[test]
fn crash_after_the_response_before_removal() {
    let spool = Spool::new();
    let cfg = fifo_backend(&spool);
    let answer = "{\"request_id\":\"req-done\",\"success\":true,\"target_node\":\"cn4\",\"action_performed\":\"off\"}\n";
    for name in ["req-done.json", "req-again.json"] {
        std::fs::write(spool.responses.join(name), answer).expect("plant a response");
    }
    plant_claim(
        &spool,
        "req-done.json",
        &request_json("req-done", "cn4", "off", 600, 0),
    );
    std::fs::write(
        spool.requests.join("req-again.json"),
        request_json("req-again", "cn4", "off", 600, 0),
    )
    .expect("plant a request");
    let d = Daemon::start(&spool, &["--config", &cfg]);
    let left = spool.drained(Duration::from_secs(30));
    assert!(left.is_empty(), "left: {left:?}\n{}", d.log_text());
    assert_eq!(starts(&spool), 0, "an answered request ran again");
    for name in ["req-done.json", "req-again.json"] {
        let now = std::fs::read_to_string(spool.responses.join(name)).expect("response kept");
        assert_eq!(now, answer, "{name} changed");
    }
    COUNT.add("crash_after_the_response_before_removal", 2);
}

/// Promise 2 and 3: the agent killed (`kill -9`) before any daemon claimed its request (the
/// daemon held by SIGSTOP): its guardian withdraws the request and republishes it cancelled;
/// the daemon, resumed, answers it `cancelled` without running anything.
#[test]
fn agent_killed_before_the_claim() {
    let spool = Spool::new();
    let cfg = fifo_backend(&spool);
    let daemon = Daemon::start(&spool, &["--config", &cfg]);
    signal(daemon.pid(), Signal::STOP);
    let agent = Agent::new(&spool, "reboot", "cn5", 120).spawn();
    published(&spool);
    signal(agent.pid(), Signal::KILL);
    assert_eq!(agent.wait().code, None);
    let cancelled = wait_for(Duration::from_secs(30), || {
        spool.events_for("cn5", "cancelled").pop()
    });
    signal(daemon.pid(), Signal::CONT);
    assert!(
        cancelled.is_some(),
        "the guardian records the kill: {:?}",
        spool.events()
    );
    let r = wait_for(Duration::from_secs(60), || spool.responses().pop()).expect("answered");
    assert_eq!(
        r.1.outcome,
        Some(gfs2_fence_protocol::Outcome::Cancelled),
        "{r:?}"
    );
    assert_eq!(r.1.executed, Some(false));
    assert_eq!(starts(&spool), 0);
    COUNT.add("agent_killed_before_the_claim", 1);
}

/// Promise 2: the agent killed while the backend runs: the fence completes, is answered once,
/// and the guardian's `cancelled` event says the request was already under way.
#[test]
fn agent_killed_during_the_backend() {
    let spool = Spool::new();
    let cfg = fifo_backend(&spool);
    let daemon = Daemon::start(&spool, &["--config", &cfg]);
    let agent = Agent::new(&spool, "reboot", "cn6", 120).spawn();
    wait_starts(&spool, 1, &daemon);
    signal(agent.pid(), Signal::KILL);
    assert_eq!(agent.wait().code, None);
    let ev = wait_for(Duration::from_secs(30), || {
        spool.events_for("cn6", "cancelled").pop()
    });
    let ev = ev.expect("the guardian records the kill");
    release(&spool);
    let r = wait_for(Duration::from_secs(60), || spool.responses().pop()).expect("answered");
    assert!(r.1.success && r.1.executed == Some(true), "{r:?}");
    assert_eq!(starts(&spool), 1);
    assert!(
        ev.to_string().contains("already taken by a responder"),
        "{ev}"
    );
    COUNT.add("agent_killed_during_the_backend", 1);
}
