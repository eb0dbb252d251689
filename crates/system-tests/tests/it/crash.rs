//! Crash safety of the daemon: `kill -9` in the middle of a fence, restart, and the waiting
//! agent still gets exactly one answer.

use std::time::Duration;

use system_tests::{wait_for, Agent, Daemon, Spool};

/// Promise: a request claimed by a daemon that dies mid-fence is executed again by the next
/// daemon (its outcome was unknown) and answered exactly once; the agent, still waiting,
/// exits 0, and nothing is left in the request directory or `.claimed`.
#[test]
fn killed_daemon_mid_fence_answers_once_after_restart() {
    let spool = Spool::new();
    let dir = spool.root().display().to_string();
    // Records the start of each run, takes 3 s, then records its end.
    let text = format!(
        "#!/bin/sh\necho \"start $1 $2\" >> '{dir}/runs.log'\nsleep 3\n\
         echo \"end $1 $2\" >> '{dir}/runs.log'\n"
    );
    let argv = spool.write("slow.sh", &text, 0o755);
    let cfg = format!(
        "[backends.slow]\ntype = \"command\"\nargv = [\"{}\", \"{{action}}\", \"{{node}}\"]\n\
         timeout_secs = 60\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"slow\"]\n",
        argv.display()
    );
    let cfg = spool
        .write("fence-watcher.toml", &cfg, 0o640)
        .display()
        .to_string();
    let mut daemon = Daemon::start(&spool, &["--config", &cfg]);
    let agent = Agent::new(&spool, "reboot", "cn1", 30).spawn();
    let started = wait_for(Duration::from_secs(30), || {
        spool
            .lines("runs.log")
            .iter()
            .any(|l| l.starts_with("start"))
            .then_some(())
    });
    assert!(
        started.is_some(),
        "the backend never started:\n{}",
        daemon.log_text()
    );
    daemon.kill9();
    let _restarted = Daemon::start(&spool, &["--config", &cfg]);
    agent.wait().assert_code(0, "agent across a daemon crash");

    let responses = spool.responses();
    assert_eq!(responses.len(), 1, "exactly one response: {responses:?}");
    assert!(responses[0].1.success, "{:?}", responses[0].1);
    assert_eq!(spool.events_for("cn1", "completed").len(), 1);
    let left = spool.drained(Duration::from_secs(30));
    assert!(left.is_empty(), "left behind: {left:?}");
    // The first run's backend outlives the killed daemon and may finish after the answer:
    // wait until every run that started has ended, then count.
    let ended = wait_for(Duration::from_secs(30), || {
        let lines = spool.lines("runs.log");
        let count = |what: &str| lines.iter().filter(|l| l.starts_with(what)).count();
        (count("end") >= count("start")).then_some(())
    });
    assert!(
        ended.is_some(),
        "a backend run never ended: {:?}",
        spool.lines("runs.log")
    );
    let starts = spool
        .lines("runs.log")
        .iter()
        .filter(|l| l.starts_with("start"))
        .count();
    assert!((1..=2).contains(&starts), "backend ran {starts} times");
}

/// Promise: when the agent is killed (Pacemaker's timeout sends SIGKILL) after the daemon took
/// its request, the fence still completes and is answered once, and the agent's detailed log
/// records the kill as `cancelled` with the request id and the node, like every other event.
#[test]
fn agent_killed_while_the_daemon_fences() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate-delay", "3"]);
    let agent = Agent::new(&spool, "reboot", "cn5", 50).spawn();
    let claimed = || {
        spool
            .requests
            .join(".claimed")
            .read_dir()
            .ok()?
            .next()?
            .ok()
    };
    wait_for(Duration::from_secs(30), claimed).expect("the daemon takes the request");
    system_tests::procs::signal(agent.pid(), rustix::process::Signal::KILL);
    let run = agent.wait();
    assert_eq!(run.code, None, "the agent was killed: {run:?}");

    let answered = wait_for(Duration::from_secs(60), || spool.responses().pop());
    let (_, r) = answered.expect("the fence under way is still answered");
    assert!(r.success && r.executed == Some(true), "{r:?}");
    let id = r.request_id.as_str().to_owned();
    let cancelled = wait_for(Duration::from_secs(30), || {
        let events = spool.events();
        events.into_iter().find(|e| e["event"] == "cancelled")
    });
    let event = cancelled.expect("the kill is recorded");
    assert_eq!(
        event["request_id"],
        id.as_str(),
        "cancelled event names the request: {event}"
    );
    assert_eq!(
        event["target_node"], "cn5",
        "cancelled event names the node: {event}"
    );
}
