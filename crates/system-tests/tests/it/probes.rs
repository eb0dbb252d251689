//! The daemon's backend health probes (issue 12) against real BMC peers: `ipmi_sim` through the
//! `ipmitool` backend and through the real `fence_ipmilan` (`fence-agent` backend), and
//! sushy-emulator through the `redfish` backend. Each BMC is right, then wrong (its password
//! changed, or the daemon's), then dead, then right again; the heartbeat must follow within two
//! probe intervals (plus one probe timeout), waited for as a condition. A probe never changes
//! the power (the chassis helper logs every set; the emulator logs every POST), never delays a
//! fence, and `gfs2-fencing test` probes the way the daemon does without writing a request.
//! Ports: ipmi_sim 6285-6288, sushy 8464.

use std::time::{Duration, Instant};

use gfs2_fence_protocol::{LevelHealth, ProbeStatus};
use system_tests::bmc::sushy::{self, Opts, Sushy};
use system_tests::bmc::{self, IpmiSim, IPMI_PASSWORD, IPMI_USER};
use system_tests::{bins, peers, wait_for, Agent, Daemon, Spool};

/// Seconds between probe rounds in these tests.
const INTERVAL: u64 = 2;
/// Seconds one probe may take (a dead BMC costs this much).
const TIMEOUT: u64 = 3;

/// The promise: a change shows within two probe intervals and one probe's timeout; one more
/// second for the heartbeat to be rewritten and for a loaded test machine.
pub(crate) fn within() -> Duration {
    Duration::from_secs(2 * INTERVAL + TIMEOUT + 1)
}

/// A configuration with `backends` (tables), one route for every node through `levels`, and
/// probes of `node` every [`INTERVAL`] (no corosync.conf: the node is named in `[health]`).
pub(crate) fn config(spool: &Spool, backends: &str, levels: &str, node: &str) -> String {
    let text = format!(
        "{backends}\n[[topology]]\nnodes = [\"*\"]\nlevels = [{levels}]\n\
         [health]\ninterval_secs = {INTERVAL}\ntimeout_secs = {TIMEOUT}\nnodes = [\"{node}\"]\n\
         corosync_conf = \"{}\"\n",
        spool.path("no-corosync.conf").display()
    );
    spool.config(&text).display().to_string()
}

pub(crate) fn start(spool: &Spool, cfg: &str) -> Daemon {
    Daemon::start(spool, &["--config", cfg, "--heartbeat-interval", "1"])
}

fn level1(spool: &Spool, node: &str) -> Option<LevelHealth> {
    spool.level_health(node, 1)
}

/// Waits until level 1 of `node` reads `want` in the heartbeat, at most `bound`.
pub(crate) fn wait_level(
    spool: &Spool,
    daemon: &Daemon,
    node: &str,
    want: ProbeStatus,
    bound: Duration,
) -> LevelHealth {
    let found = wait_for(bound, || level1(spool, node).filter(|l| l.status == want));
    found.unwrap_or_else(|| {
        panic!(
            "level 1 of {node} not {want:?} within {bound:?}: {:?}\n{}",
            level1(spool, node),
            daemon.log_text()
        )
    })
}

/// The secret files the daemon reads: a copy, so the BMC's password can change apart from it.
pub(crate) fn daemon_password(spool: &Spool) -> String {
    let path = spool.write("bmc.pw", &format!("{IPMI_PASSWORD}\n"), 0o600);
    path.display().to_string()
}

/// Right, password changed on the BMC, right again, BMC dead, right again: each within the
/// bound, with WARN on each fall and INFO on each recovery, and no power set at any time.
fn right_wrong_dead_right(spool: &Spool, sim: &mut IpmiSim, daemon: &Daemon, node: &str) {
    let up = wait_level(
        spool,
        daemon,
        node,
        ProbeStatus::Up,
        Duration::from_secs(30),
    );
    assert!(up.message.contains("on"), "{up:?}");
    sim.restart_with_password("another-PW-4411");
    let down = wait_level(spool, daemon, node, ProbeStatus::Down, within());
    sim.restart_with_password(IPMI_PASSWORD);
    wait_level(spool, daemon, node, ProbeStatus::Up, within());
    sim.stop();
    wait_level(spool, daemon, node, ProbeStatus::Down, within());
    sim.restart_with_password(IPMI_PASSWORD);
    wait_level(spool, daemon, node, ProbeStatus::Up, within());
    let log = daemon.log_text();
    assert!(!down.message.contains(IPMI_PASSWORD), "{down:?}");
    assert!(!std::fs::read_to_string(spool.heartbeat())
        .unwrap_or_default()
        .contains(IPMI_PASSWORD));
    assert!(!log.contains(IPMI_PASSWORD), "the password reached the log");
    let warns = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("is DOWN"))
        .count();
    let infos = log
        .lines()
        .filter(|l| l.contains("INFO") && l.contains("up again"))
        .count();
    assert_eq!(
        (warns, infos),
        (2, 2),
        "one line per change of state:\n{log}"
    );
    assert_eq!(
        sim.power_sets(),
        Vec::<String>::new(),
        "a probe set the power"
    );
    assert_eq!(sim.power(), "1");
}

/// Promise: the `ipmitool` backend's probe follows the BMC: right password up, changed
/// password down, dead down, put right up; never a power set.
#[test]
fn probe_ipmitool_follows_the_bmc_password_and_life() {
    let test = "probe_ipmitool_follows_the_bmc_password_and_life";
    let Some(mut sim) = IpmiSim::start(test, 6285) else {
        return;
    };
    let spool = Spool::new();
    let pw = daemon_password(&spool);
    let table = sim.ipmitool_table("bmc", &pw);
    let cfg = config(&spool, &table, "\"bmc\"", "cn1");
    let daemon = start(&spool, &cfg);
    right_wrong_dead_right(&spool, &mut sim, &daemon, "cn1");
}

/// Promise: the same through the real `fence_ipmilan`, run by the `fence-agent` backend with
/// `action=status` and the fence's own options.
#[test]
fn probe_fence_ipmilan_follows_the_bmc_password_and_life() {
    let test = "probe_fence_ipmilan_follows_the_bmc_password_and_life";
    if !peers::require(test, &[peers::installed("/usr/sbin/fence_ipmilan")]) {
        return;
    }
    let Some(mut sim) = IpmiSim::start(test, 6286) else {
        return;
    };
    let spool = Spool::new();
    let pw = daemon_password(&spool);
    let table = format!(
        "[backends.ipmilan]\ntype = \"fence-agent\"\nagent = \"fence_ipmilan\"\n\
         target_arg = \"none\"\nsecret_files = {{ password = \"{pw}\" }}\ntimeout_secs = 20\n\
         [backends.ipmilan.params]\nip = \"127.0.0.1\"\nipport = {}\nusername = \"{IPMI_USER}\"\n\
         lanplus = true\ncipher = 3\n",
        sim.port
    );
    let cfg = config(&spool, &table, "\"ipmilan\"", "cn1");
    let daemon = start(&spool, &cfg);
    right_wrong_dead_right(&spool, &mut sim, &daemon, "cn1");
}

/// Promise: the `redfish` backend's probe reads PowerState and follows the daemon's password
/// (wrong, reloaded with SIGHUP) and the emulator's life; it never POSTs.
#[test]
fn probe_redfish_follows_the_password_and_the_emulator() {
    let test = "probe_redfish_follows_the_password_and_the_emulator";
    if !peers::require(test, &peers::sushy()) {
        return;
    }
    let mut emu = Sushy::start(Opts::fast(system_tests::free_port()))
        .expect("sushy-emulator, which peers::require found");
    let spool = Spool::new();
    let pw = spool.write("rf.pw", &format!("{}\n", sushy::PASSWORD), 0o600);
    let pw_toml = format!("\"{}\"", pw.display());
    let table = format!(
        "[backends.rf]\ntype = \"redfish\"\n{}",
        emu.backend_toml(&[("password_file", &pw_toml)], "")
    );
    let cfg = config(&spool, &table, "\"rf\"", "node1");
    let daemon = start(&spool, &cfg);
    let up = wait_level(
        &spool,
        &daemon,
        "node1",
        ProbeStatus::Up,
        Duration::from_secs(30),
    );
    assert!(up.message.contains("PowerState On"), "{up:?}");
    spool.write("rf.pw", "not-the-password\n", 0o600);
    daemon.signal(rustix::process::Signal::HUP);
    let down = wait_level(&spool, &daemon, "node1", ProbeStatus::Down, within());
    assert!(down.message.contains("401"), "{down:?}");
    spool.write("rf.pw", &format!("{}\n", sushy::PASSWORD), 0o600);
    daemon.signal(rustix::process::Signal::HUP);
    wait_level(&spool, &daemon, "node1", ProbeStatus::Up, within());
    emu.kill_now();
    wait_level(&spool, &daemon, "node1", ProbeStatus::Down, within());
    emu.restart();
    wait_level(&spool, &daemon, "node1", ProbeStatus::Up, within());
    assert_eq!(
        emu.reset_posts(),
        0,
        "a probe POSTed a reset:\n{}",
        emu.log()
    );
    assert!(
        !emu.log().contains("POST "),
        "a probe POSTed:\n{}",
        emu.log()
    );
    assert_eq!(emu.power_state(sushy::U1), "On");
    assert!(!daemon.log_text().contains(sushy::PASSWORD));
}

/// Promise: probes never delay a fence. The probe of `cn1` (a `command` backend's
/// `status_argv`) holds its round open until the fence's marker appears (or 20 s pass); a fence
/// through the same backend, requested while it runs, must start before the probe ends: were
/// the fence waiting for the probe, the probe would end first, by its own bound.
#[test]
fn probe_a_fence_during_a_slow_probe_round_starts_at_once() {
    let spool = Spool::new();
    let m = spool.path("markers");
    let m = m.display();
    let probe = format!(
        "echo probe-start >> {m}; i=0; while ! grep -q fence-start {m} && [ $i -lt 200 ]; \
         do sleep 0.1; i=$((i+1)); done; echo probe-end >> {m}"
    );
    let table = format!(
        "[backends.site]\ntype = \"command\"\nargv = [\"/bin/sh\", \"-c\", \"echo fence-start >> {m}\"]\n\
         status_argv = [\"/bin/sh\", \"-c\", \"{probe}\"]\ntimeout_secs = 30\n"
    );
    let text = format!(
        "{table}[[topology]]\nnodes = [\"*\"]\nlevels = [\"site\"]\n\
         [health]\ninterval_secs = 60\ntimeout_secs = 30\nmax_concurrent = 1\nnodes = [\"cn1\"]\n\
         corosync_conf = \"{}\"\n",
        spool.path("no-corosync.conf").display()
    );
    let cfg = spool.config(&text).display().to_string();
    let _daemon = start(&spool, &cfg);
    let lines = || std::fs::read_to_string(spool.path("markers")).unwrap_or_default();
    let started = wait_for(Duration::from_secs(30), || {
        lines().contains("probe-start").then_some(())
    });
    assert!(started.is_some(), "the probe never started: {}", lines());
    Agent::new(&spool, "off", "cn1", 60)
        .run()
        .assert_code(0, "off during a probe");
    let ended = wait_for(Duration::from_secs(40), || {
        lines().contains("probe-end").then_some(())
    });
    assert!(ended.is_some(), "the probe never ended: {}", lines());
    let order: Vec<String> = lines().lines().map(str::to_owned).collect();
    assert_eq!(
        order,
        ["probe-start", "fence-start", "probe-end"],
        "the fence waited for the probe"
    );
}

/// Promise: `gfs2-fencing test` probes through the daemon's configuration and credentials: up
/// and exit 0 against a right BMC, DOWN and exit 1 once its password changed; never a
/// request file, never a power set.
#[test]
fn probe_gfs2_fencing_test_against_ipmi_sim() {
    let test = "probe_gfs2_fencing_test_against_ipmi_sim";
    if !peers::require(test, &bmc::ipmi_installed()) {
        return;
    }
    let mut sim = IpmiSim::start(test, 6287).expect("ipmi_sim, which peers::require found");
    let spool = Spool::new();
    let pw = daemon_password(&spool);
    let table = sim.ipmitool_table("bmc", &pw);
    let cfg = config(&spool, &table, "\"bmc\"", "cn1");
    let run = || {
        let t0 = Instant::now();
        let out = std::process::Command::new(bins::bin("gfs2-fencing"))
            .args(["test", "cn1", "--config", &cfg])
            .output()
            .expect("run gfs2-fencing test");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), text, err, t0.elapsed())
    };
    let (code, text, err, _) = run();
    assert_eq!(code, Some(0), "{text}{err}");
    let row = text.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("1 ") && row.contains("bmc") && row.contains(" up "),
        "{text}"
    );
    assert!(row.contains("Chassis Power is on"), "{text}");
    sim.restart_with_password("another-PW-4411");
    let (code, text, err, _) = run();
    assert_eq!(code, Some(1), "{text}{err}");
    assert!(
        text.contains("DOWN") && !text.contains(IPMI_PASSWORD),
        "{text}"
    );
    assert_eq!(
        spool.pending(),
        Vec::<String>::new(),
        "a request file was written"
    );
    assert_eq!(
        sim.power_sets(),
        Vec::<String>::new(),
        "a probe set the power"
    );
}
