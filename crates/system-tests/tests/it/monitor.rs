//! The agent's `monitor` against the real daemon's heartbeat (issue 12): its age judged by the
//! interval the daemon states, simulated routes, and the backend health the heartbeat carries.

use std::path::Path;
use std::process::Command;

use gfs2_fence_protocol::{Health, Heartbeat, LevelHealth, NodeHealth, ProbeStatus, Timestamp};
use system_tests::{faults, Agent, AgentRun, Daemon, Spool};

/// A real (non-simulated) configuration: one `command` backend that succeeds.
fn real_config(spool: &Spool) -> String {
    faults::command_backend(spool, "#!/bin/sh\nexit 0\n", 10)
}

/// `monitor` as Pacemaker's recurring op runs it: heartbeat required, simulation refused.
pub(crate) fn monitor(spool: &Spool) -> Agent {
    Agent::device(spool, "monitor")
        .opt("require_heartbeat", "true")
        .without("allow_simulate")
}

/// Ages `path` to `secs` seconds ago with `touch -d`, as a heartbeat that many seconds old.
fn age(path: &Path, secs: u64) {
    let ok = Command::new("touch")
        .arg("-d")
        .arg(format!("{secs} seconds ago"))
        .arg(path)
        .status()
        .expect("run touch");
    assert!(ok.success(), "touch -d failed on {}", path.display());
}

/// Runs `agent` on a heartbeat aged `secs`; again if the daemon rewrote its heartbeat during
/// the run (a daemon that probes its backends rewrites it when their health changes), so the
/// run saw the age set here.
fn run_aged(spool: &Spool, secs: u64, agent: &Agent) -> AgentRun {
    let hb = spool.heartbeat();
    let mtime = || std::fs::metadata(&hb).and_then(|m| m.modified()).ok();
    for _ in 0..10 {
        age(&hb, secs);
        let before = mtime();
        let run = agent.run();
        if mtime() == before {
            return run;
        }
    }
    panic!("the daemon rewrote its heartbeat during each of 10 runs");
}

fn stale(run: &AgentRun) -> bool {
    run.code == Some(1) && run.stderr.contains("s old")
}

/// Issue 12 defect: the agent judged the heartbeat against `heartbeat_max_age` (30 s) and
/// ignored the `interval_secs` the daemon wrote, so `--heartbeat-interval 45` made a healthy
/// daemon fail `monitor` between two beats. Unset, the limit is 3 × the stated interval; set,
/// the parameter overrides it.
#[test]
fn monitor_accepts_a_heartbeat_within_three_of_the_daemons_intervals() {
    let spool = Spool::new();
    let cfg = real_config(&spool);
    let _daemon = Daemon::start(&spool, &["--config", &cfg, "--heartbeat-interval", "45"]);
    // The daemon's first touch comes 45 s after its start: the mtime set here stays.
    run_aged(&spool, 40, &monitor(&spool))
        .assert_code(0, "a beat 40 s old from a daemon beating every 45 s");
    let run = run_aged(&spool, 40, &monitor(&spool).opt("heartbeat_max_age", "30"));
    assert!(
        stale(&run),
        "an explicit heartbeat_max_age overrides: {run:?}"
    );
    let run = run_aged(&spool, 140, &monitor(&spool));
    assert!(stale(&run), "140 s is more than 3 × 45 s: {run:?}");
    assert!(
        run.stderr.contains("135"),
        "names the limit: {}",
        run.stderr
    );
}

/// A heartbeat as fence_watcher writes it, by this (live) process on this host, fresh. The
/// agent's input format, written by the test: the daemon's side (probing, counting simulated
/// routes, writing them) is tested by the daemon's own tests; these test the agent's reading.
fn write_heartbeat(spool: &Spool, simulated_routes: u32, health: Option<Health>) {
    let hb = Heartbeat {
        pid: std::process::id(),
        host: gfs2_fence_protocol::hostname(),
        started: Timestamp::now(),
        interval_secs: 10,
        simulated_routes,
        health,
    };
    std::fs::write(spool.heartbeat(), hb.to_json()).expect("write the heartbeat");
}

fn level(n: u32, backend: &str, status: ProbeStatus, message: &str) -> LevelHealth {
    LevelHealth {
        level: n,
        backend: backend.into(),
        kind: "ipmitool".into(),
        status,
        checked: Timestamp::now(),
        latency_ms: 12,
        message: message.into(),
    }
}

fn node(name: &str, levels: Vec<LevelHealth>) -> NodeHealth {
    NodeHealth {
        node: name.into(),
        levels,
    }
}

/// cn1 healthy, cn2 with its BMC down and its PDU up, and (when `dead`) cn3 with both down.
fn health(dead: bool) -> Health {
    use ProbeStatus::{Down, Up};
    let mut nodes = vec![
        node("cn1", vec![level(1, "bmc", Up, "Chassis Power is on")]),
        node(
            "cn2",
            vec![
                level(1, "bmc", Down, "password refused"),
                level(2, "pdu", Up, "outlet on"),
            ],
        ),
    ];
    if dead {
        nodes.push(node(
            "cn3",
            vec![
                level(1, "bmc", Down, "no answer from 10.0.0.3"),
                level(2, "pdu", Down, "connection refused"),
            ],
        ));
    }
    Health { nodes }
}

/// Issue 12: `monitor` fails while the responder fences any route through the `simulate`
/// backend, with one line that says so and how to allow it; `allow_simulate=true` allows it.
#[test]
fn monitor_fails_on_simulated_routes_unless_allow_simulate() {
    let spool = Spool::new();
    write_heartbeat(&spool, 2, None);
    simulation_is_refused_unless_allowed(&spool, "2 routes");
    write_heartbeat(&spool, 0, None);
    monitor(&spool)
        .run()
        .assert_code(0, "no simulated route, no health: as before issue 12");
}

/// `monitor` over the heartbeat in `spool`, which states `routes` (`2 routes`, `1 route`)
/// through the simulate backend: exit 1 with one line that says so and how to allow it; with
/// `allow_simulate=true`, exit 0.
pub(crate) fn simulation_is_refused_unless_allowed(spool: &Spool, routes: &str) {
    let run = monitor(spool).run();
    run.assert_code(1, "simulated routes");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{routes} through the simulate backend, which fences nothing"
        )) && run.stderr.contains("allow_simulate=true"),
        "{}",
        run.stderr
    );
    monitor(spool)
        .opt("allow_simulate", "true")
        .run()
        .assert_code(0, "allow_simulate=true");
}

/// Issue 12: a node that no level can fence fails `monitor` with one line naming the node,
/// each level, its backend and its error; a level down while another works is a warning; and
/// `backend_health` turns the failure into a warning (`warn`) or looks at nothing (`ignore`).
#[test]
fn monitor_judges_the_backend_health_in_the_heartbeat() {
    let spool = Spool::new();
    write_heartbeat(&spool, 0, Some(health(false)));
    let run = monitor(&spool).run();
    run.assert_code(0, "a level down, another works");
    assert!(
        run.stderr
            .contains("warning: backend health: node cn2 has a level down")
            && run
                .stderr
                .contains("level 1 (bmc, ipmitool): password refused"),
        "{}",
        run.stderr
    );

    write_heartbeat(&spool, 0, Some(health(true)));
    let run = monitor(&spool).run();
    run.assert_code(1, "cn3 can be fenced by no level");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    for part in [
        "node cn3 can be fenced by no level",
        "level 1 (bmc, ipmitool): no answer from 10.0.0.3",
        "level 2 (pdu, ipmitool): connection refused",
    ] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }

    let run = monitor(&spool).opt("backend_health", "warn").run();
    run.assert_code(0, "backend_health=warn");
    assert!(
        run.stderr
            .contains("warning: backend health: node cn3 can be fenced by no level"),
        "{}",
        run.stderr
    );
    let run = monitor(&spool).opt("backend_health", "ignore").run();
    run.assert_code(0, "backend_health=ignore");
    assert_eq!(run.stderr, "", "ignore looks at nothing");
    let run = monitor(&spool).opt("backend_health", "loud").run();
    run.assert_code(1, "not a value");
    assert!(run.stderr.contains("backend_health"), "{}", run.stderr);
}
