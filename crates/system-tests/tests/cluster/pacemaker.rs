//! The real Pacemaker fencer running the real agent against the real daemon, in a single-node
//! cluster on loopback. Needs root and Pacemaker; skips loudly elsewhere, fails in CI.
//!
//! Forming a cluster takes ~30 s, so one test starts it once and runs the scenarios in order.

use std::time::{Duration, Instant};

use system_tests::pacemaker::{self, Cluster};
use system_tests::{peers, Daemon, Spool};

/// The daemon's configuration: cn2 always fails, every other node is fenced (simulated).
const CONFIG: &str = "[backends.broken]\ntype = \"simulate\"\noutcome = \"fail\"\n\
    [backends.ok]\ntype = \"simulate\"\n\
    [[topology]]\nnodes = [\"cn2\"]\nlevels = [\"broken\"]\n\
    [[topology]]\nnodes = [\"*\"]\nlevels = [\"ok\"]\n";

/// Promises: Pacemaker registers the agent from its metadata; `stonith_admin --reboot` succeeds
/// exactly when the daemon fences (success recorded in the fencing history, the agent's log
/// and a response file); `--fence` is an `off` that `status` then reports, `--unfence` an `on`
/// that archives the node's records; a failed fence is
/// reported as a failure, never as success; and the device's recurring monitor fails once the
/// daemon's heartbeat is stale.
#[test]
fn pacemaker_fences_through_agent_and_daemon() {
    let mut needs = vec![peers::root()];
    needs.extend(pacemaker::installed());
    if !peers::require("pacemaker_fences_through_agent_and_daemon", &needs) {
        return;
    }
    let begin = Instant::now();
    let spool = Spool::new();
    let cfg = spool
        .write("fence-watcher.toml", CONFIG, 0o640)
        .display()
        .to_string();
    let mut daemon = Daemon::start(&spool, &["--config", &cfg, "--heartbeat-interval", "1"]);
    let cluster = Cluster::start();
    println!(
        "pacemaker: cluster formed in {:.1} s",
        begin.elapsed().as_secs_f64()
    );
    cluster.set_property("stonith-enabled", "true");

    metadata_is_registered();
    let dirs = [
        ("request_dir", spool.requests.display().to_string()),
        ("response_dir", spool.responses.display().to_string()),
        ("log_dir", spool.logs.display().to_string()),
    ];
    let mut attrs: Vec<(&str, &str)> = dirs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The daemon's backends are simulated: the device must say it accepts that.
    attrs.extend([
        ("fence_timeout", "20"),
        ("gfs2_discovery", "false"),
        ("allow_simulate", "true"),
    ]);
    let mut main = attrs.clone();
    main.extend([
        ("require_heartbeat", "false"),
        ("pcmk_host_list", "cn1 cn2 cn3"),
    ]);
    cluster.add_device("gfs2-fence", &main, 60);

    reboot_succeeds(&cluster, &spool);
    off_succeeds(&cluster, &spool);
    unfence_archives_the_records(&cluster, &spool);
    failed_fence_is_a_failure(&cluster);
    measure_reboots(&cluster);
    monitor_fails_without_daemon(&cluster, &mut daemon, &attrs);
    killed_agent_is_a_failure(&cluster, &spool, &attrs);
    drop(cluster);
    println!(
        "pacemaker: whole test {:.1} s",
        begin.elapsed().as_secs_f64()
    );
}

/// (c) The fencer gets valid metadata naming our parameters.
fn metadata_is_registered() {
    let out = pacemaker::run(
        "stonith_admin",
        &["--metadata", "--agent", "fence_gfs2_recorder"],
    );
    assert!(out.status.success(), "stonith_admin --metadata: {out:?}");
    let xml = String::from_utf8_lossy(&out.stdout);
    for param in [
        "request_dir",
        "response_dir",
        "fence_timeout",
        "require_heartbeat",
        "allow_simulate",
    ] {
        assert!(
            xml.contains(&format!("name=\"{param}\"")),
            "metadata lacks {param}:\n{xml}"
        );
    }
    let lint = std::process::Command::new("xmllint")
        .args(["--noout", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().map(|mut s| s.write_all(&out.stdout));
            c.wait()
        });
    assert!(
        lint.is_ok_and(|s| s.success()),
        "metadata is not well-formed XML:\n{xml}"
    );
}

/// (a) A reboot through Pacemaker, our agent and the daemon succeeds and is recorded.
fn reboot_succeeds(cluster: &Cluster, spool: &Spool) {
    let (out, took) = cluster.fence("reboot", "cn1", 60);
    assert!(
        out.status.success(),
        "stonith_admin --reboot cn1: {out:?}\n{}",
        cluster.logs()
    );
    println!(
        "pacemaker: first reboot of cn1 took {} ms",
        took.as_millis()
    );
    let (text, xml) = cluster.history("cn1");
    assert!(
        xml.contains("status=\"success\""),
        "history of cn1:\n{text}\n{xml}"
    );
    let readable = spool.log("fence-events-readable.log");
    assert!(
        readable
            .lines()
            .any(|l| l.contains("TARGET=cn1 ") && l.contains("STATUS=completed")),
        "agent log:\n{readable}"
    );
    let (_, r) = spool.response_for("cn1");
    assert!(r.success, "{r:?}");
}

/// `stonith_admin --fence` runs the agent's `off`, and `status` then says off.
fn off_succeeds(cluster: &Cluster, spool: &Spool) {
    let (out, _) = cluster.fence("fence", "cn3", 60);
    assert!(out.status.success(), "stonith_admin --fence cn3: {out:?}");
    let (_, r) = spool.response_for("cn3");
    assert!(r.success, "{r:?}");
    assert_eq!(r.action_performed.map(|a| a.as_str()), Some("off"), "{r:?}");
    let status = system_tests::Agent::new(spool, "status", "cn3", 10).run();
    status.assert_code(2, "status of cn3 after --fence");
}

/// `stonith_admin --unfence` (what Pacemaker runs for a joining node with `meta
/// provides=unfencing`) runs the agent's `on`, which archives the node's records: nnf-sos's rule
/// and `status` then say on (issue 15).
fn unfence_archives_the_records(cluster: &Cluster, spool: &Spool) {
    let (out, _) = cluster.fence("unfence", "cn3", 60);
    assert!(
        out.status.success(),
        "stonith_admin --unfence cn3: {out:?}\n{}",
        cluster.logs()
    );
    let left: Vec<_> = spool
        .responses()
        .into_iter()
        .filter(|(_, r)| r.target_node.as_str() == "cn3")
        .collect();
    assert!(
        left.is_empty(),
        "cn3's records left in RESPONSE_DIR: {left:?}"
    );
    assert_eq!(
        spool.archived_for("cn3").len(),
        2,
        "the off and the on answers"
    );
    let unfenced = spool.events_for("cn3", "unfenced");
    assert_eq!(unfenced.len(), 1, "{unfenced:?}");
    let status = system_tests::Agent::new(spool, "status", "cn3", 10).run();
    status.assert_code(0, "status of cn3 after --unfence");
}

/// (b) When the daemon reports failure, Pacemaker reports failure too.
fn failed_fence_is_a_failure(cluster: &Cluster) {
    let (out, _) = cluster.fence("reboot", "cn2", 60);
    assert!(
        !out.status.success(),
        "Pacemaker reported success for a failed fence: {out:?}"
    );
    let (text, xml) = cluster.history("cn2");
    assert!(
        !xml.contains("status=\"success\""),
        "history of cn2 shows success:\n{xml}"
    );
    assert!(
        xml.contains("status=\"failed\""),
        "history of cn2:\n{text}\n{xml}"
    );
}

/// Time per `stonith_admin --reboot` through agent and daemon (reported, not asserted).
fn measure_reboots(cluster: &Cluster) {
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let (out, took) = cluster.fence("reboot", "cn1", 60);
            assert!(out.status.success(), "repeated reboot of cn1: {out:?}");
            took
        })
        .collect();
    times.sort();
    println!(
        "pacemaker: stonith_admin --reboot x{}: median {} ms, min {} ms, max {} ms",
        times.len(),
        times[times.len() / 2].as_millis(),
        times[0].as_millis(),
        times[times.len() - 1].as_millis()
    );
}

/// When Pacemaker's own timeout for the device (pcmk_reboot_timeout) kills the agent before a
/// responder answers (here: none runs any more), Pacemaker reports a failure, and the agent's
/// detailed log records the cancellation with the request and the node it was for.
fn killed_agent_is_a_failure(cluster: &Cluster, spool: &Spool, attrs: &[(&str, &str)]) {
    let mut slow: Vec<(&str, &str)> = attrs
        .iter()
        .filter(|(k, _)| *k != "fence_timeout")
        .copied()
        .collect();
    slow.extend([("fence_timeout", "50"), ("require_heartbeat", "false")]);
    slow.extend([("pcmk_host_list", "cn4"), ("pcmk_reboot_timeout", "5s")]);
    cluster.add_device("gfs2-slow", &slow, 60);
    let (out, took) = cluster.fence("reboot", "cn4", 20);
    assert!(
        !out.status.success(),
        "Pacemaker reported success for a killed agent: {out:?}"
    );
    println!(
        "pacemaker: reboot of cn4 killed by Pacemaker, reported after {} ms",
        took.as_millis()
    );
    let (_, xml) = cluster.history("cn4");
    assert!(
        !xml.contains("status=\"success\""),
        "history of cn4 shows success:\n{xml}"
    );
    let ids: Vec<_> = spool
        .events_for("cn4", "requested")
        .iter()
        .map(|e| e["request_id"].clone())
        .collect();
    assert!(!ids.is_empty(), "Pacemaker never ran the agent for cn4");
    // The record of the kill is written by the agent's guardian process.
    let cancelled = |id: &serde_json::Value| {
        let events = spool.events();
        let found = events
            .into_iter()
            .find(|e| e["event"] == "cancelled" && e["request_id"] == *id);
        found.map(|e| e["target_node"].clone())
    };
    for id in &ids {
        let node = system_tests::wait_for(Duration::from_secs(30), || cancelled(id));
        let seen: Vec<_> = spool
            .events()
            .into_iter()
            .filter(|e| e["event"] == "cancelled")
            .collect();
        assert!(
            node.is_some(),
            "no cancelled event naming request {id}; cancelled events: {seen:?}"
        );
        assert_eq!(
            node,
            Some("cn4".into()),
            "the cancelled event for {id} names the node"
        );
    }
}

/// (d) A device requiring the heartbeat starts while the daemon runs, and fails in `crm_mon`
/// once the daemon is gone. The CIB keeps one last failure per resource: the recurring
/// monitor's failure is soon replaced by that of the restart (whose start runs the same
/// check), so either one shows the heartbeat check failing under Pacemaker.
fn monitor_fails_without_daemon(cluster: &Cluster, daemon: &mut Daemon, attrs: &[(&str, &str)]) {
    let mut hb = attrs.to_vec();
    hb.extend([("require_heartbeat", "true"), ("heartbeat_max_age", "3")]);
    hb.push(("pcmk_host_list", "cn9"));
    cluster.add_device("gfs2-hb", &hb, 2);
    let started = cluster.wait_role("gfs2-hb", "Started", Duration::from_secs(60));
    assert!(started, "gfs2-hb never started:\n{}", cluster.crm_mon_xml());
    assert!(
        !cluster.crm_mon_xml().contains("<failure op_key=\"gfs2-hb_"),
        "failed too early"
    );
    daemon.kill9();
    let failed = system_tests::wait_for(Duration::from_secs(90), || {
        let xml = cluster.crm_mon_xml();
        let monitor = xml.contains("<failure op_key=\"gfs2-hb_monitor_2000\"");
        let restart = xml.contains("<failure op_key=\"gfs2-hb_start_0\"");
        (monitor || restart).then_some(())
    });
    assert!(
        failed.is_some(),
        "no monitor failure shown:\n{}",
        cluster.crm_mon_xml()
    );
}
