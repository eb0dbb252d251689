//! The daemon's backends against real BMC peers, driven by the real agent: Debian's
//! `fence_redfish` (through the `fence-agent` backend, options on stdin) against sushy-emulator
//! over TLS, and a two-level topology whose first BMC is dead and whose second is a real
//! `ipmi_sim`. Every peer is started and stopped (by PID) by the test; a missing peer is a loud
//! skip, and a failure under `CI=true`. Ports: ipmi_sim 6280-6281, sushy 8460-8461.

use gfs2_fence_protocol::Outcome;
use system_tests::bmc::sushy::{self, Opts, Sushy};
use system_tests::bmc::{self, IpmiSim, IPMI_USER};
use system_tests::{peers, Agent, Daemon, Spool};

fn config(spool: &Spool, text: &str) -> String {
    let path = spool.write("fence-watcher.toml", text, 0o640);
    path.display().to_string()
}

/// A `fence-agent` backend running `fence_redfish` against `sushy` for node1 (system U1), with
/// the password read from `password_file`. fence_redfish has no CA-file option, so TLS is used
/// without verification (`ssl_insecure`); the redfish backend's own tests cover verification.
fn fence_redfish_config(spool: &Spool, sushy: &Sushy, password_file: &str) -> String {
    config(
        spool,
        &format!(
            "[backends.rf]\ntype = \"fence-agent\"\nagent = \"fence_redfish\"\ntarget_arg = \"none\"\n\
             timeout_secs = 60\nsecret_files = {{ password = \"{password_file}\" }}\n\
             [backends.rf.params]\nip = \"127.0.0.1\"\nipport = {}\nusername = \"{}\"\n\
             ssl_insecure = true\n\
             [backends.rf.nodes.node1]\nsystems_uri = \"/redfish/v1/Systems/{}\"\n\
             [[topology]]\nnodes = [\"*\"]\nlevels = [\"rf\"]\n",
            sushy.opts.port,
            sushy::USER,
            sushy::U1
        ),
    )
}

/// fence_redfish and sushy-emulator, for [`peers::require`].
fn fence_redfish_present(test: &str) -> bool {
    let mut needs = vec![peers::installed("/usr/sbin/fence_redfish")];
    needs.extend(peers::sushy());
    peers::require(test, &needs)
}

fn sushy(port: u16) -> Sushy {
    Sushy::start(Opts::fast(port)).expect("sushy-emulator, whose venv peers::require found")
}

/// Promise: a reboot through agent, daemon, `fence-agent` backend and the real fence_redfish
/// reaches the Redfish BMC (Reset POSTs in its log) and leaves the system On, as the emulator
/// itself reports.
#[test]
fn fence_redfish_reboots_a_sushy_system() {
    let test = "fence_redfish_reboots_a_sushy_system";
    if !fence_redfish_present(test) {
        return;
    }
    let sushy = sushy(8460);
    let spool = Spool::new();
    let pw = sushy.path("password").display().to_string();
    let cfg = fence_redfish_config(&spool, &sushy, &pw);
    let daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "reboot", "node1", 90)
        .run()
        .assert_code(0, "reboot through fence_redfish");
    let (_, r) = spool.response_for("node1");
    assert!(r.success && r.executed == Some(true), "{r:?}");
    assert!(
        sushy.reset_posts() >= 1,
        "no Reset POST reached the emulator:\n{}\n{}",
        sushy.log(),
        daemon.log_text()
    );
    assert_eq!(sushy.power_state(sushy::U1), "On", "{}", sushy.log());
    assert_eq!(
        sushy.power_state(sushy::U2),
        "On",
        "node2 must be untouched"
    );

    Agent::new(&spool, "off", "node1", 90)
        .run()
        .assert_code(0, "off through fence_redfish");
    assert_eq!(sushy.power_state(sushy::U1), "Off", "{}", sushy.log());
}

/// Promise: with a wrong password fence_redfish fails, and so does the agent (exit 1, a failed
/// response), and the system's power is untouched.
#[test]
fn fence_redfish_wrong_password_fails_the_fence() {
    let test = "fence_redfish_wrong_password_fails_the_fence";
    if !fence_redfish_present(test) {
        return;
    }
    let sushy = sushy(8461);
    let spool = Spool::new();
    let wrong = spool.write("wrong.pw", "not-the-password\n", 0o600);
    let cfg = fence_redfish_config(&spool, &sushy, &wrong.display().to_string());
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "off", "node1", 90)
        .run()
        .assert_code(1, "off with a wrong password");
    let (_, r) = spool.response_for("node1");
    assert!(!r.success, "{r:?}");
    assert_eq!(r.outcome, Some(Outcome::Failed), "{r:?}");
    assert_eq!(sushy.reset_posts(), 0, "{}", sushy.log());
    assert_eq!(sushy.power_state(sushy::U1), "On");
}

/// Promise: level 1 (an ipmitool backend whose BMC does not answer) fails with its error, level 2
/// (ipmitool against a real ipmi_sim) fences, the fence succeeds, and the response names both
/// levels in order. The chassis really went off then on.
#[test]
fn dead_bmc_falls_through_to_a_live_one() {
    let test = "dead_bmc_falls_through_to_a_live_one";
    if !peers::require(test, &bmc::ipmi_installed()) {
        return;
    }
    let sim = IpmiSim::start(test, 6280).expect("ipmi_sim, which peers::require found");
    let spool = Spool::new();
    let pw = sim.password_file.display();
    let table = |name: &str, port: u16, timeout: u32| {
        format!(
            "[backends.{name}]\ntype = \"ipmitool\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             username = \"{IPMI_USER}\"\npassword_file = \"{pw}\"\npower_wait_secs = 0.5\n\
             status_poll_interval_ms = 100\ntimeout_secs = {timeout}\n"
        )
    };
    // Nothing listens on UDP 6281: ipmitool retries until the backend's 3 s timeout.
    let text = format!(
        "{}{}[[topology]]\nnodes = [\"*\"]\nlevels = [\"dead\", \"live\"]\n",
        table("dead", 6281, 3),
        table("live", sim.port, 60)
    );
    let cfg = config(&spool, &text);
    let _daemon = Daemon::start(&spool, &["--config", &cfg]);
    Agent::new(&spool, "reboot", "cn1", 120)
        .run()
        .assert_code(0, "reboot through level 2");
    let (_, r) = spool.response_for("cn1");
    assert!(r.success, "{r:?}");
    let levels: Vec<(u32, &str, bool)> = r
        .levels
        .iter()
        .map(|l| (l.level, l.backend.as_str(), l.success))
        .collect();
    assert_eq!(levels, [(1, "dead", false), (2, "live", true)], "{r:?}");
    assert!(
        !r.levels[0].message.is_empty(),
        "level 1 without its error: {r:?}"
    );
    assert!(r.levels[0].message.contains("6281"), "{r:?}");
    assert_eq!(sim.power_sets(), ["0", "1"], "chassis power sets");
    assert_eq!(sim.power(), "1");
}
