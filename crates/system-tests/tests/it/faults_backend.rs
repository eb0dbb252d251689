//! Faults, part 2: backends that hang, crash or print garbage, and clock skew.
//!
//! The system clock cannot be changed safely in CI (other tests and the machine depend on it),
//! so a clock jump is tested the way the other side sees one: requests whose timestamps and
//! deadlines are hours off, and a response timestamp in the future.

use std::time::Duration;

use gfs2_fence_protocol::Outcome;
use system_tests::faults::{command_backend, drop_file, request_json, Counter};
use system_tests::{procs, wait_for, Agent, Daemon, Spool};

static COUNT: Counter = Counter::new("faults/backend");

/// Promise 2 and 6: a backend that hangs (and forks a child that hangs too) is ended at its
/// timeout with its whole process group; the response is a failure naming the timeout, and
/// the agent exits 1.
#[test]
fn a_hanging_backend_is_killed_with_its_group() {
    let spool = Spool::new();
    let pids = spool.root().join("pids");
    let script = format!(
        "#!/bin/sh\nsleep 1000 &\necho $! >> '{p}'\necho $$ >> '{p}'\nwait\n",
        p = pids.display()
    );
    let cfg = command_backend(&spool, &script, 2);
    let _d = Daemon::start(&spool, &["--config", &cfg]);
    let run = Agent::new(&spool, "off", "cn1", 120).run();
    run.assert_code(1, "hung backend");
    let (_, r) = spool.response_for("cn1");
    assert_eq!(r.outcome, Some(Outcome::Failed), "{r:?}");
    assert!(
        r.message.contains("timed out") || r.message.contains("timeout"),
        "{}",
        r.message
    );
    let pids: Vec<u32> = spool
        .lines("pids")
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "the script recorded its pids");
    let alive = procs::wait_gone(&pids, Duration::from_secs(30));
    assert!(
        alive.is_empty(),
        "still running after the timeout: {alive:?}"
    );
    COUNT.add("a_hanging_backend_is_killed_with_its_group", 1);
}

/// Promise 1: a backend killed by a signal is a failure (never success), and says so.
#[test]
fn a_crashing_backend_is_a_failure() {
    let spool = Spool::new();
    let cfg = command_backend(&spool, "#!/bin/sh\nkill -SEGV $$\n", 30);
    let _d = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "off", "cn1", 120)
        .run()
        .assert_code(1, "crashed backend");
    let (_, r) = spool.response_for("cn1");
    assert!(!r.success && r.outcome == Some(Outcome::Failed), "{r:?}");
    assert!(r.message.to_lowercase().contains("signal"), "{}", r.message);
    COUNT.add("a_crashing_backend_is_a_failure", 1);
}

/// Promise 6: 10 MB of binary junk on stdout and stderr is drained (the backend does not
/// block) and the response message is bounded and valid JSON; a failing exit stays a failure,
/// and junk with exit 0 is a success whose message is still bounded.
#[test]
fn garbage_output_gives_a_bounded_message() {
    for (code, success) in [(1, false), (0, true)] {
        let spool = Spool::new();
        let script = format!(
            "#!/bin/sh\nhead -c 10000000 /dev/urandom\nhead -c 10000000 /dev/urandom >&2\nexit {code}\n"
        );
        let cfg = command_backend(&spool, &script, 60);
        let _d = Daemon::start(&spool, &["--config", &cfg]);
        let run = Agent::new(&spool, "off", "cn1", 120).run();
        run.assert_code(if success { 0 } else { 1 }, "garbage backend");
        let (name, r) = spool.response_for("cn1");
        assert_eq!(r.success, success, "{r:?}");
        let size = std::fs::metadata(spool.responses.join(name))
            .expect("stat")
            .len();
        assert!(size < 64 * 1024, "response of {size} bytes");
        assert!(!r.message.contains('\0'), "raw NUL in the message");
    }
    COUNT.add("garbage_output_gives_a_bounded_message", 2);
}

/// Promise 3 (no execution without cause): a request whose deadline is hours in the past (what
/// a requester's clock jumping back looks like) is answered `expired` and never run; one whose
/// timestamp and deadline are hours ahead (the requester's clock ahead) is run once.
#[test]
fn skewed_deadlines() {
    let spool = Spool::new();
    let runs = spool.root().join("runs.log");
    let script = format!("#!/bin/sh\necho \"$1 $2\" >> '{}'\n", runs.display());
    let cfg = command_backend(&spool, &script, 30);
    let _d = Daemon::start(&spool, &["--config", &cfg]);
    let past = request_json("req-past", "cn-past", "off", -3 * 3600, -3 * 3600 - 50);
    let future = request_json("req-future", "cn-future", "off", 3 * 3600 + 50, 3 * 3600);
    drop_file(&spool.requests, "req-past.json", past.as_bytes());
    drop_file(&spool.requests, "req-future.json", future.as_bytes());
    let all = wait_for(Duration::from_secs(60), || {
        let r = spool.responses();
        (r.len() == 2).then_some(r)
    })
    .expect("both answered");
    let by = |n: &str| {
        all.iter()
            .find(|(name, _)| name == n)
            .map(|(_, r)| r.clone())
    };
    let p = by("req-past.json").expect("past answered");
    assert_eq!(
        (p.outcome, p.executed),
        (Some(Outcome::Expired), Some(false)),
        "{p:?}"
    );
    let f = by("req-future.json").expect("future answered");
    assert!(f.success && f.executed == Some(true), "{f:?}");
    assert_eq!(spool.lines("runs.log"), vec!["off cn-future".to_owned()]);
    COUNT.add("skewed_deadlines", 2);
}

/// Promise 1 (records): `status` orders a node's records as this host saw them appear (their
/// mtime), never by the `timestamp` another host wrote. A record written by a responder whose
/// clock was hours ahead ("off" dated +3 h) no longer outranks a later real "on": status says
/// ON (exit 0). Until issue 11 #8 this test documented the opposite (exit 2).
#[test]
fn a_future_dated_record_does_not_outrank_a_later_one() {
    let spool = Spool::new();
    let future = system_tests::faults::rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64
            + 3 * 3600,
    );
    let skewed = format!(
        "{{\"request_id\":\"req-skew\",\"success\":true,\"target_node\":\"cn1\",\
         \"action_performed\":\"off\",\"timestamp\":\"{future}\"}}"
    );
    drop_file(&spool.responses, "req-skew.json", skewed.as_bytes());
    let _d = Daemon::start(&spool, &["--simulate"]);
    Agent::new(&spool, "on", "cn1", 60)
        .run()
        .assert_code(0, "on");
    Agent::new(&spool, "status", "cn1", 60)
        .run()
        .assert_code(0, "status with a future-dated off record and a later on");
    COUNT.add("a_future_dated_record_does_not_outrank_a_later_one", 1);
}
