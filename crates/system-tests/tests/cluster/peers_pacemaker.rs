//! Real Pacemaker, our agent, the daemon and a real BMC, end to end: `stonith_admin --reboot`
//! of a node whose power is an `ipmi_sim` chassis (daemon `ipmitool` backend, one port per
//! node) really cycles that chassis, and a node whose BMC is down is a failed fence in
//! Pacemaker, never a success. The same through the `redfish` backend against sushy-emulator.
//! Needs root, Pacemaker, ipmi_sim/ipmitool and the sushy venv; skips loudly elsewhere, fails in
//! CI. Ports: ipmi_sim 6282-6283, sushy 8462.

use system_tests::bmc::sushy::{self, Opts, Sushy};
use system_tests::bmc::{self, IpmiSim, IPMI_USER};
use system_tests::pacemaker::{self, Cluster};
use system_tests::{peers, Daemon, Spool};

/// ipmitool backend for cn1 (sim 6282) and cn2 (sim 6283), redfish backend for node2 (sushy
/// system named node2, found by name) when sushy runs.
fn config(spool: &Spool, cn1: &IpmiSim, cn2: &IpmiSim, rf: Option<&Sushy>) -> String {
    let mut text = format!(
        "[backends.bmc]\ntype = \"ipmitool\"\nhost = \"127.0.0.1\"\nusername = \"{IPMI_USER}\"\n\
         password_file = \"{}\"\npower_wait_secs = 0.5\nstatus_poll_interval_ms = 100\n\
         timeout_secs = 5\n\
         [backends.bmc.per_node.cn1]\nport = {}\n[backends.bmc.per_node.cn2]\nport = {}\n\
         [[topology]]\nnodes = [\"cn1\", \"cn2\"]\nlevels = [\"bmc\"]\n",
        cn1.password_file.display(),
        cn1.port,
        cn2.port,
    );
    if let Some(rf) = rf {
        text.push_str(&format!(
            "[backends.rf]\ntype = \"redfish\"\n{}[[topology]]\nnodes = [\"node2\"]\nlevels = [\"rf\"]\n",
            rf.backend_toml(&[], "")
        ));
    }
    let path = spool.write("fence-watcher.toml", &text, 0o640);
    path.display().to_string()
}

/// Promises: `stonith_admin --reboot cn1` succeeds, the chassis saw power 0 then 1, and the
/// fencing history says success; with cn2's BMC stopped, `stonith_admin --reboot cn2` fails and
/// the history says failed (never success); `stonith_admin --reboot node2` through the redfish
/// backend succeeds and sushy reports the system On after Reset POSTs.
#[test]
fn pacemaker_fences_real_bmcs_through_the_daemon() {
    let test = "pacemaker_fences_real_bmcs_through_the_daemon";
    let mut needs = vec![peers::root()];
    needs.extend(pacemaker::installed());
    needs.extend(bmc::ipmi_installed());
    if !peers::require(test, &needs) {
        return;
    }
    let found = "ipmi_sim, which peers::require found";
    let cn1 = IpmiSim::start(test, 6282).expect(found);
    let mut cn2 = IpmiSim::start(test, 6283).expect(found);
    // Without the sushy venv (a loud SKIPPED line, a failure in CI) the ipmi part still runs.
    let redfish_part = format!("{test} (its redfish part)");
    let rf = peers::require(&redfish_part, &peers::sushy()).then(|| {
        Sushy::start(Opts::fast(system_tests::free_port()))
            .expect("sushy-emulator, whose venv peers::require found")
    });
    let spool = Spool::new();
    let cfg = config(&spool, &cn1, &cn2, rf.as_ref());
    let daemon = Daemon::start(&spool, &["--config", &cfg, "--heartbeat-interval", "1"]);
    let cluster = Cluster::start();
    cluster.set_property("stonith-enabled", "true");
    let attrs = [
        ("require_heartbeat", "false"),
        ("pcmk_host_list", "cn1 cn2 node2"),
    ];
    cluster.add_spool_device("gfs2-bmc", &spool, &attrs, 60);

    let (out, took) = cluster.fence("reboot", "cn1", 120);
    assert!(
        out.status.success(),
        "stonith_admin --reboot cn1: {out:?}\n{}\n{}",
        daemon.log_text(),
        cluster.logs()
    );
    println!(
        "peers_pacemaker: reboot of cn1 (ipmi_sim) took {} ms",
        took.as_millis()
    );
    assert_eq!(cn1.power_sets(), ["0", "1"], "cn1's chassis power sets");
    assert_eq!(cn1.power(), "1");
    let (text, xml) = cluster.history("cn1");
    assert!(
        xml.contains("status=\"success\""),
        "history of cn1:\n{text}\n{xml}"
    );

    cn2.stop();
    let (out, _) = cluster.fence("reboot", "cn2", 120);
    assert!(
        !out.status.success(),
        "Pacemaker reported success for a fence whose BMC is down: {out:?}"
    );
    let (text, xml) = cluster.history("cn2");
    assert!(
        !xml.contains("status=\"success\""),
        "history of cn2:\n{xml}"
    );
    assert!(
        xml.contains("status=\"failed\""),
        "history of cn2:\n{text}\n{xml}"
    );
    assert!(
        cn2.power_sets().is_empty(),
        "cn2 saw {:?}",
        cn2.power_sets()
    );

    let Some(rf) = rf else {
        return;
    };
    let (out, took) = cluster.fence("reboot", "node2", 120);
    assert!(
        out.status.success(),
        "stonith_admin --reboot node2: {out:?}\n{}",
        daemon.log_text()
    );
    println!(
        "peers_pacemaker: reboot of node2 (sushy) took {} ms",
        took.as_millis()
    );
    assert!(rf.reset_posts() >= 1, "{}", rf.log());
    assert_eq!(rf.power_state(sushy::U2), "On");
    assert_eq!(rf.power_state(sushy::U1), "On", "node1 must be untouched");
    let (text, xml) = cluster.history("node2");
    assert!(
        xml.contains("status=\"success\""),
        "history of node2:\n{text}\n{xml}"
    );
}
