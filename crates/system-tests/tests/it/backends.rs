//! The daemon's backends driven by real requests from the real agent: a real ClusterLabs fence
//! agent (`fence_dummy`), a command, a two-level topology, coalescing of identical requests,
//! and the backend timeout.

use gfs2_fence_protocol::Outcome;
use system_tests::{agent, peers, Agent, Daemon, Spool};

/// A backend script that records each run (`<action> <node>` in runs.log), sleeps `secs` in a
/// child whose pid it writes to sleep.pid, and exits `code`. The daemon runs it without a shell.
fn script(spool: &Spool, secs: u32, code: u32) -> String {
    let dir = spool.root().display();
    let text = format!(
        "#!/bin/sh\necho \"$1 $2\" >> '{dir}/runs.log'\nsleep {secs} &\necho $! > '{dir}/sleep.pid'\n\
         wait $!\nexit {code}\n"
    );
    spool
        .write("backend.sh", &text, 0o755)
        .display()
        .to_string()
}

fn config(spool: &Spool, text: &str) -> String {
    spool
        .write("fence-watcher.toml", text, 0o640)
        .display()
        .to_string()
}

/// Promise: a `fence-agent` backend runs a real ClusterLabs agent with the configured
/// parameters and reports what it did: fence_dummy's status file (its "power state") goes from
/// `on` to `off` with an off, and back with an on.
#[test]
fn fence_agent_backend_drives_fence_dummy() {
    let dummy = peers::installed("/usr/sbin/fence_dummy");
    if !peers::require("fence_agent_backend_drives_fence_dummy", &[dummy]) {
        return;
    }
    let spool = Spool::new();
    let status = spool.write("cn1.status", "on", 0o644);
    let cfg = config(
        &spool,
        &format!(
            "[backends.dummy]\ntype = \"fence-agent\"\nagent = \"fence_dummy\"\ntimeout_secs = 60\n\
             target_arg = \"none\"\n\
             params = {{ type = \"file\", status_file = \"{}/{{node}}.status\" }}\n\
             [[topology]]\nnodes = [\"*\"]\nlevels = [\"dummy\"]\n",
            spool.root().display()
        ),
    );
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "off", "cn1", 60)
        .run()
        .assert_code(0, "off through fence_dummy");
    let written = std::fs::read_to_string(&status).unwrap_or_default();
    assert_eq!(
        written.trim(),
        "off",
        "fence_dummy's status file {}",
        status.display()
    );
    let (_, r) = spool.response_for("cn1");
    assert!(r.success && r.executed == Some(true), "{r:?}");
    assert_eq!(r.levels.len(), 1, "{r:?}");
    assert_eq!(r.levels[0].backend, "dummy");
    Agent::new(&spool, "on", "cn1", 60)
        .run()
        .assert_code(0, "on through fence_dummy");
    let written = std::fs::read_to_string(&status).unwrap_or_default();
    assert_eq!(
        written.trim(),
        "on",
        "fence_dummy's status file {}",
        status.display()
    );
}

/// Promise: a failing `fence-agent` backend (fence_dummy type=fail) fails the fence: exit 1.
#[test]
fn failing_fence_agent_fails_the_fence() {
    let dummy = peers::installed("/usr/sbin/fence_dummy");
    if !peers::require("failing_fence_agent_fails_the_fence", &[dummy]) {
        return;
    }
    let spool = Spool::new();
    let cfg = config(
        &spool,
        "[backends.dummy]\ntype = \"fence-agent\"\nagent = \"fence_dummy\"\ntimeout_secs = 60\n\
         target_arg = \"none\"\nparams = { type = \"fail\" }\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"dummy\"]\n",
    );
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "off", "cn1", 60)
        .run()
        .assert_code(1, "fence_dummy type=fail");
    let (_, r) = spool.response_for("cn1");
    assert_eq!(r.outcome, Some(Outcome::Failed), "{r:?}");
}

/// Promise: a `command` backend runs its argv (no shell) with `{action}` and `{node}`
/// substituted, and its exit status 0 is a success.
#[test]
fn command_backend_runs_the_argv() {
    let spool = Spool::new();
    let argv = script(&spool, 0, 0);
    let cfg = config(
        &spool,
        &format!(
            "[backends.cmd]\ntype = \"command\"\nargv = [\"{argv}\", \"{{action}}\", \"{{node}}\"]\n\
             [[topology]]\nnodes = [\"*\"]\nlevels = [\"cmd\"]\n"
        ),
    );
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "reboot", "cn7", 60)
        .run()
        .assert_code(0, "command backend");
    assert_eq!(spool.lines("runs.log"), ["reboot cn7"]);
}

/// Promise: levels are tried in order and the first success wins; the response names every
/// level that ran.
#[test]
fn topology_falls_through_to_the_next_level() {
    let spool = Spool::new();
    let cfg = config(
        &spool,
        "[backends.bmc]\ntype = \"simulate\"\noutcome = \"fail\"\n\
         [backends.pdu]\ntype = \"simulate\"\n\
         [[topology]]\nnodes = [\"cn*\"]\nlevels = [\"bmc\", \"pdu\"]\n",
    );
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "reboot", "cn1", 60)
        .run()
        .assert_code(0, "level 2 works");
    let (_, r) = spool.response_for("cn1");
    let names: Vec<(&str, bool)> = r
        .levels
        .iter()
        .map(|l| (l.backend.as_str(), l.success))
        .collect();
    assert_eq!(names, [("bmc", false), ("pdu", true)], "{r:?}");
}

/// Promise: identical requests (same node, same action) that arrive together share one backend
/// run that has not started yet, and every agent gets its own successful response. A run
/// already under way when a request arrives is no proof for it (issue 10's oracle), so the
/// requests that arrive during the first run share the next one: at most two runs for five.
#[test]
fn identical_requests_coalesce_into_one_run() {
    let spool = Spool::new();
    let argv = script(&spool, 5, 0);
    let cfg = config(
        &spool,
        &format!(
            "[backends.slow]\ntype = \"command\"\nargv = [\"{argv}\", \"{{action}}\", \"{{node}}\"]\n\
             timeout_secs = 120\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"slow\"]\n"
        ),
    );
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    let procs: Vec<_> = (0..5)
        .map(|_| Agent::new(&spool, "reboot", "cn1", 120).spawn())
        .collect();
    for (i, run) in agent::wait_all(procs).iter().enumerate() {
        run.assert_code(0, &format!("agent {i}"));
    }
    assert_eq!(spool.responses().len(), 5, "one response per request");
    let runs = spool.lines("runs.log");
    assert!(
        (1..=2).contains(&runs.len()) && runs.iter().all(|r| r == "reboot cn1"),
        "at most two backend runs for all five: {runs:?}"
    );
}

/// Promise: a backend that outlives its `timeout_secs` is killed and the fence fails (the agent
/// exits 1 from the failure response, not from its own timeout).
#[test]
fn backend_timeout_fails_the_fence() {
    let spool = Spool::new();
    let argv = script(&spool, 300, 0);
    let cfg = config(
        &spool,
        &format!(
            "[backends.hang]\ntype = \"command\"\nargv = [\"{argv}\", \"{{action}}\", \"{{node}}\"]\n\
             timeout_secs = 2\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"hang\"]\n"
        ),
    );
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "reboot", "cn1", 120)
        .run()
        .assert_code(1, "hanging backend");
    let (_, r) = spool.response_for("cn1");
    assert_eq!(r.outcome, Some(Outcome::Failed), "{r:?}");
    assert!(
        spool.events_for("cn1", "timeout").is_empty(),
        "the agent did not time out itself"
    );
    let pid: u32 = spool.lines("sleep.pid")[0]
        .parse()
        .expect("the script's child pid");
    let gone = system_tests::procs::wait_gone(&[pid], std::time::Duration::from_secs(30));
    for p in &gone {
        system_tests::procs::signal(*p, rustix::process::Signal::KILL);
    }
    assert!(
        gone.is_empty(),
        "the backend's child process survived its timeout"
    );
}
