//! The agent's `monitor` over the heartbeat of a real, running `fence_watcher` (issue 12): both
//! halves together, where `monitor.rs` writes the heartbeat itself and `probes.rs` reads it
//! without the agent. A `--simulate` daemon fails a real device's monitor; a daemon whose only
//! BMC (`ipmi_sim`) refuses its password fails it naming node, level and backend, until the
//! password is right again; a second level that works turns the failure into a warning.
//! Ports: ipmi_sim 6289-6290.

use gfs2_fence_protocol::ProbeStatus;
use system_tests::bmc::{IpmiSim, IPMI_PASSWORD};
use system_tests::{wait_for, AgentRun, Daemon, Spool};

use crate::monitor::{monitor, simulation_is_refused_unless_allowed};
use crate::probes::{config, daemon_password, start, wait_level, within};

/// The BMC's password, changed behind the daemon's back.
const CHANGED: &str = "another-PW-4411";

/// `fence_watcher --simulate` answers every request through the simulate backend: a device
/// requiring the heartbeat fails its monitor with the one line that says so, unless it sets
/// `allow_simulate=true`.
#[test]
fn monitor_live_fails_over_a_simulating_daemon_unless_allow_simulate() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate", "--heartbeat-interval", "1"]);
    simulation_is_refused_unless_allowed(&spool, "1 route");
}

/// An `ipmitool` level on `sim`, with the password the daemon reads.
fn bmc_table(spool: &Spool, sim: &IpmiSim) -> String {
    sim.ipmitool_table("bmc", &daemon_password(spool))
}

fn assert_stderr(run: &AgentRun, parts: &[&str]) {
    for part in parts {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
}

/// The only level's BMC refuses the daemon's password: within two probe intervals `monitor`
/// fails with one line naming the node, the level and its backend; `backend_health=warn` only
/// warns; the password put right on the BMC, `monitor` passes again.
#[test]
fn monitor_live_fails_when_the_only_bmc_refuses_the_password() {
    let test = "monitor_live_fails_when_the_only_bmc_refuses_the_password";
    let Some(mut sim) = IpmiSim::start(test, 6289) else {
        return;
    };
    sim.restart_with_password(CHANGED);
    let spool = Spool::new();
    let cfg = config(&spool, &bmc_table(&spool, &sim), "\"bmc\"", "cn1");
    let daemon = start(&spool, &cfg);
    wait_level(&spool, &daemon, "cn1", ProbeStatus::Down, within());

    let run = monitor(&spool).run();
    run.assert_code(1, "the only level of cn1 is down");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert_stderr(
        &run,
        &[
            "node cn1 can be fenced by no level",
            "level 1 (bmc, ipmitool): ",
            "gfs2-fencing test cn1 probes each of its levels now",
        ],
    );
    assert!(!run.stderr.contains(IPMI_PASSWORD), "{}", run.stderr);

    let run = monitor(&spool).opt("backend_health", "warn").run();
    run.assert_code(0, "backend_health=warn");
    assert_stderr(
        &run,
        &["warning: backend health: node cn1 can be fenced by no level"],
    );

    sim.restart_with_password(IPMI_PASSWORD);
    wait_level(&spool, &daemon, "cn1", ProbeStatus::Up, within());
    let run = monitor(&spool).run();
    run.assert_code(0, "the BMC's password put right");
    assert!(!run.stderr.contains("backend health"), "{}", run.stderr);
    assert_eq!(
        spool.pending(),
        Vec::<String>::new(),
        "a request was written"
    );
    assert_eq!(
        sim.power_sets(),
        Vec::<String>::new(),
        "a probe set the power"
    );
}

/// Level 1 (the BMC) refuses the password, level 2 (a `command` backend whose `status_argv`
/// succeeds) works: `monitor` passes with a warning naming the level that is down.
#[test]
fn monitor_live_warns_when_a_second_level_still_works() {
    let test = "monitor_live_warns_when_a_second_level_still_works";
    let Some(mut sim) = IpmiSim::start(test, 6290) else {
        return;
    };
    sim.restart_with_password(CHANGED);
    let spool = Spool::new();
    let tables = format!(
        "{}[backends.pdu]\ntype = \"command\"\nargv = [\"/bin/true\"]\n\
         status_argv = [\"/bin/true\"]\ntimeout_secs = 10\n",
        bmc_table(&spool, &sim)
    );
    let cfg = config(&spool, &tables, "\"bmc\", \"pdu\"", "cn1");
    let daemon = start(&spool, &cfg);
    wait_level(&spool, &daemon, "cn1", ProbeStatus::Down, within());
    let pdu = wait_for(within(), || {
        spool
            .level_health("cn1", 2)
            .filter(|l| l.status == ProbeStatus::Up)
    });
    assert!(pdu.is_some(), "level 2: {:?}", spool.level_health("cn1", 2));

    let run = monitor(&spool).run();
    run.assert_code(0, "level 1 down, level 2 up");
    assert_stderr(
        &run,
        &[
            "warning: backend health: node cn1 has a level down, another still works",
            "level 1 (bmc, ipmitool): ",
        ],
    );
    assert!(!run.stderr.contains("level 2 (pdu"), "{}", run.stderr);
}
