//! Issue 12 under real Pacemaker: a device whose only level's BMC (`ipmi_sim`, `ipmitool`
//! backend) refuses the daemon's password goes FAILED in `crm_mon` from its recurring monitor,
//! the daemon having found out by its own probes of the node its corosync.conf names: weeks
//! before the fence that would have. No fence is requested on the way. The password put right and the resource cleaned up, the
//! device is Started again. Needs root, Pacemaker and ipmi_sim/ipmitool; skips loudly
//! elsewhere, fails in CI. Port: ipmi_sim 6291.

use std::time::{Duration, Instant};

use gfs2_fence_protocol::ProbeStatus;
use system_tests::bmc::{self, IpmiSim, IPMI_PASSWORD};
use system_tests::pacemaker::{self, Cluster, NODE};
use system_tests::{daemon, peers, wait_for, Daemon, Spool};

/// The device's id in the CIB.
const DEVICE: &str = "gfs2-ipmi";
/// Seconds between the device's recurring monitors, and between the daemon's probe rounds.
const MONITOR_SECS: u32 = 5;
const PROBE_SECS: u64 = 2;

/// The cluster's node's only level is the BMC on `sim` (read with the daemon's own copy of the
/// password, so the BMC's can change apart from it); the daemon finds the node to probe in the
/// cluster's corosync.conf, every [`PROBE_SECS`].
fn config(spool: &Spool, sim: &IpmiSim) -> String {
    let pw = spool.write("bmc.pw", &format!("{IPMI_PASSWORD}\n"), 0o600);
    let text = format!(
        "{}[[topology]]\nnodes = [\"{NODE}\"]\nlevels = [\"bmc\"]\n\
         [health]\ninterval_secs = {PROBE_SECS}\ntimeout_secs = 3\ncorosync_conf = \"{}\"\n",
        sim.ipmitool_table("bmc", &pw.display().to_string()),
        pacemaker::COROSYNC_CONF
    );
    spool.config(&text).display().to_string()
}

/// Waits (30 s) until the daemon's heartbeat says `want` for the node's level 1.
fn wait_probe(spool: &Spool, daemon: &Daemon, want: ProbeStatus) {
    let seen = wait_for(Duration::from_secs(30), || {
        spool.level_health(NODE, 1).filter(|l| l.status == want)
    });
    assert!(
        seen.is_some(),
        "{NODE}'s level 1 never {want:?}: {:?}\n{}",
        spool.level_health(NODE, 1),
        daemon.log_text()
    );
}

/// The `<resource id="gfs2-ipmi" .../>` line of `crm_mon`, or an empty string.
fn resource_line(cluster: &Cluster) -> String {
    let xml = cluster.crm_mon_xml();
    let line = xml
        .lines()
        .find(|l| l.contains(&format!("<resource id=\"{DEVICE}\"")));
    line.unwrap_or_default().trim().to_owned()
}

/// Promises: with the BMC right the device starts and stays without failure; once the BMC's
/// password changed, its recurring monitor fails (a failcount on `monitor_5000`; in `crm_mon`
/// the resource is failed, then stopped with its restart's failure listed, since the start of a
/// stonith device runs the same monitor), the agent's line naming the node, the level, the
/// backend and ipmitool's error reaches Pacemaker's log, and nothing asks for a fence (no request file, no agent
/// `requested` event, no request or backend run counted by the daemon, no power set on the
/// BMC); the password put right and `crm_resource --cleanup` run, it is Started again.
#[test]
fn pacemaker_shows_a_device_failed_when_its_bmc_refuses_the_password() {
    let test = "pacemaker_shows_a_device_failed_when_its_bmc_refuses_the_password";
    let mut needs = vec![peers::root()];
    needs.extend(pacemaker::installed());
    needs.extend(bmc::ipmi_installed());
    if !peers::require(test, &needs) {
        return;
    }
    let mut sim = IpmiSim::start(test, 6291).expect("ipmi_sim, which peers::require found");
    let spool = Spool::new();
    let cfg = config(&spool, &sim);
    // First the cluster, whose corosync.conf names the node the daemon probes.
    let cluster = Cluster::start();
    cluster.set_property("stonith-enabled", "true");
    let port = system_tests::free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = ["--config", &cfg, "--heartbeat-interval", "1"];
    let daemon = Daemon::start(
        &spool,
        &[&args[..], &["--metrics-listen", &listen]].concat(),
    );
    wait_probe(&spool, &daemon, ProbeStatus::Up);
    // The defaults of a real device: heartbeat required, backend_health=fail, no simulation.
    let attrs = [("pcmk_host_list", NODE)];
    cluster.add_spool_device(DEVICE, &spool, &attrs, MONITOR_SECS);
    let bound = Duration::from_secs(60);
    let started = cluster.wait_role(DEVICE, "Started", bound);
    assert!(
        started,
        "{DEVICE} never started:\n{}",
        cluster.crm_mon_xml()
    );
    let monitor_op = format!("{}s", MONITOR_SECS);
    assert_eq!(cluster.failcount(DEVICE, "monitor", &monitor_op), "0");

    let changed = Instant::now();
    sim.restart_with_password("another-PW-4411");
    wait_probe(&spool, &daemon, ProbeStatus::Down);
    let failed = wait_for(Duration::from_secs(90), || {
        let count = cluster.failcount(DEVICE, "monitor", &monitor_op);
        (count != "0").then_some(count)
    });
    assert!(
        failed.is_some(),
        "the recurring monitor never failed:\n{}\n{}",
        cluster.crm_mon_xml(),
        cluster.logs()
    );
    let failed_after = changed.elapsed();
    let shown = wait_for(Duration::from_secs(60), || {
        let xml = cluster.crm_mon_xml();
        let failure = format!("<failure op_key=\"{DEVICE}_");
        let line = resource_line(&cluster);
        let down = line.contains("failed=\"true\"") || line.contains("role=\"Stopped\"");
        (xml.contains(&failure) && down).then_some(line)
    });
    assert!(
        shown.is_some(),
        "crm_mon shows no failed device:\n{}",
        cluster.crm_mon_xml()
    );
    println!(
        "health_pacemaker: the recurring monitor failed (failcount {}) {} ms after the BMC's \
         password changed; crm_mon: {}",
        failed.unwrap_or_default(),
        failed_after.as_millis(),
        shown.unwrap_or_default()
    );
    let said = cluster
        .pacemaker_log()
        .lines()
        .find(|l| l.contains("fence_gfs2_recorder[") && l.contains("stderr:"))
        .map(str::to_owned);
    let said = said.unwrap_or_default();
    for part in [
        &format!("node {NODE} can be fenced by no level"),
        &format!("level 1 (bmc, ipmitool): ipmitool status of {NODE}"),
        &format!("gfs2-fencing test {NODE} probes each of its levels now"),
    ] {
        assert!(
            said.contains(part),
            "the agent's line in Pacemaker's log: {said:?}"
        );
    }
    no_fence_was_requested(&spool, &sim, port);

    sim.restart_with_password(IPMI_PASSWORD);
    wait_probe(&spool, &daemon, ProbeStatus::Up);
    let cleaned = Instant::now();
    cluster.cleanup(DEVICE);
    let again = wait_for(bound, || {
        let line = resource_line(&cluster);
        (line.contains("role=\"Started\"") && line.contains("failed=\"false\"")).then_some(())
    });
    assert!(
        again.is_some(),
        "{DEVICE} not Started again after the cleanup:\n{}",
        cluster.crm_mon_xml()
    );
    println!(
        "health_pacemaker: Started again {} ms after the cleanup",
        cleaned.elapsed().as_millis()
    );
    assert_eq!(cluster.failcount(DEVICE, "monitor", &monitor_op), "0");
    no_fence_was_requested(&spool, &sim, port);
}

/// Nothing on the way asked for a fence: the spool holds no request and no response, the
/// agent logged no `requested` event, the daemon counted no request and ran no backend for a
/// fence, and the BMC saw no power set.
fn no_fence_was_requested(spool: &Spool, sim: &IpmiSim, port: u16) {
    assert_eq!(spool.pending(), Vec::<String>::new(), "a request file");
    assert!(spool.responses().is_empty(), "{:?}", spool.responses());
    let requested: Vec<_> = spool
        .events()
        .into_iter()
        .filter(|e| e["event"] == "requested")
        .collect();
    assert!(requested.is_empty(), "the agent requested: {requested:?}");
    let metrics = daemon::scrape_metrics(port);
    for series in [
        "fence_watcher_requests_total{",
        "fence_watcher_backend_runs_total{",
    ] {
        // Every labelled counter is exported at 0 (issue 15), so a fence shows as a sample
        // that is not 0.
        let counted: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with(series) && !l.ends_with(" 0"))
            .collect();
        assert!(counted.is_empty(), "the daemon counted {counted:?}");
    }
    assert!(
        metrics.contains(&format!(
            "fence_watcher_backend_up{{backend=\"bmc\",node=\"{NODE}\"}}"
        )),
        "{metrics}"
    );
    assert_eq!(sim.power_sets(), Vec::<String>::new(), "a power set");
}
