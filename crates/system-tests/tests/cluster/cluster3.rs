//! Issue 6: a real three-node Pacemaker cluster fences a crashed node automatically through our
//! agent and our daemon. Needs root, Pacemaker, corosync and iproute2; skips loudly elsewhere,
//! fails in CI. Takes the single-node cluster's lock, so it never runs beside that test.
//!
//! The daemon runs on the host with a `command` backend that records `ACTION NODE` in a file,
//! which proves which node was fenced; the agent runs inside node1's or node2's namespaces and
//! reaches it through spool directories under /tmp, visible from every namespace.

use std::time::{Duration, Instant};

use system_tests::cluster3::{self, Cluster3, Device};
use system_tests::{faults, peers, procs, wait_for, Daemon, Spool};

const TEST: &str = "crashed_node_is_fenced_through_agent_and_daemon";
const DEVICE: &str = "fence-node3";
/// Generous upper bounds, never expectations (a fence takes ~4 s here).
const FENCE_BOUND: Duration = Duration::from_secs(90);

/// Promises: once all three nodes have fully joined, killing every process of node3 makes the
/// survivors fence it without anyone asking: the agent (run by node1's or node2's fencer, never
/// node3's, and recording its own hostname) publishes a reboot request for node3, the daemon
/// reboots exactly node3 through its backend and answers success, and node1's fencing history
/// records the reboot of node3 as a success. Prints the times from the kill to the daemon's
/// response and to the history entry.
#[test]
fn crashed_node_is_fenced_through_agent_and_daemon() {
    let mut needs = vec![peers::root()];
    needs.extend(cluster3::installed());
    if !peers::require(TEST, &needs) {
        return;
    }
    let begin = Instant::now();
    let spool = Spool::new();
    let record = spool.root().join("fenced.log");
    let script = format!("#!/bin/sh\necho \"$1 $2\" >> '{}'\n", record.display());
    let cfg = faults::command_backend(&spool, &script, 20);
    let daemon = Daemon::start(&spool, &["--config", &cfg, "--heartbeat-interval", "2"]);
    let dirs = [
        spool.requests.display().to_string(),
        spool.responses.display().to_string(),
        spool.logs.display().to_string(),
    ];
    let attrs = [
        ("request_dir", dirs[0].as_str()),
        ("response_dir", dirs[1].as_str()),
        ("log_dir", dirs[2].as_str()),
        ("fence_timeout", "30"),
        ("gfs2_discovery", "false"),
        ("require_heartbeat", "true"),
    ];
    let device = Device {
        id: DEVICE,
        target: "node3",
        attrs: &attrs,
        monitor_secs: 10,
    };
    let cluster = Cluster3::start(&device);
    let formed = begin.elapsed();
    assert!(
        spool.responses().is_empty(),
        "a fence happened before the crash: {:?}",
        spool.responses()
    );

    let (killed_at, pids) = cluster.crash(3);
    let to_response = wait_for(FENCE_BOUND, || {
        let answered = spool
            .responses()
            .iter()
            .any(|(_, r)| r.target_node.as_str() == "node3" && r.success);
        answered.then(|| killed_at.elapsed())
    });
    let to_history = wait_for(FENCE_BOUND, || {
        let xml = cluster.history_xml(1, "node3");
        history_success(&xml).then(|| (killed_at.elapsed(), xml))
    });
    let (Some(to_response), Some((to_history, history))) = (to_response, to_history) else {
        panic!(
            "node3 was not fenced within {} s of the kill (pids {pids:?}); responses {:?}\n\
             history on node1:\n{}\ndaemon:\n{}\n{}",
            FENCE_BOUND.as_secs(),
            spool.responses(),
            cluster.history_xml(1, "node3"),
            daemon.log_text(),
            cluster.logs()
        );
    };

    let (name, response) = spool.response_for("node3");
    assert_eq!(
        response.action_performed.map(|a| a.as_str()),
        Some("reboot"),
        "response {name}: {response:?}"
    );
    assert_eq!(
        spool.lines("fenced.log"),
        ["reboot node3"],
        "the backend must have rebooted node3 and nothing else"
    );
    let requested = spool.events_for("node3", "requested");
    let completed = spool.events_for("node3", "completed");
    assert_eq!(requested.len(), 1, "agent events: {:?}", spool.events());
    assert_eq!(completed.len(), 1, "agent events: {:?}", spool.events());
    let recorder = requested[0]["recorder_node"].as_str().unwrap_or_default();
    assert!(
        recorder == "node1" || recorder == "node2",
        "the agent must run on a survivor, with that node's hostname; it recorded {recorder:?}"
    );
    assert!(
        history.contains("action=\"reboot\""),
        "history of node3 on node1:\n{history}"
    );
    let left = procs::wait_gone(&pids, Duration::from_secs(10));
    assert!(
        left.is_empty(),
        "node3's processes {left:?} survived the crash"
    );
    let settled = wait_for(Duration::from_secs(30), || {
        let xml = cluster.crm_mon_xml(1);
        let line = cluster3::node_line(&xml, "node3").map(str::to_owned);
        line.filter(|l| l.contains("online=\"false\"") && l.contains("unclean=\"false\""))
    });
    assert!(
        settled.is_some(),
        "node1 does not see node3 as cleanly down after the fence:\n{}",
        cluster.crm_mon_xml(1)
    );

    println!(
        "cluster3: formed in {:.1} s ({:.1} s of it waiting for the cluster lock); \
         kill -> daemon's success response for node3 {} ms; \
         kill -> success in node1's fencing history {} ms (agent ran on {recorder})",
        formed.as_secs_f64(),
        cluster.lock_wait().as_secs_f64(),
        to_response.as_millis(),
        to_history.as_millis()
    );
    drop(cluster);
    drop(daemon);
    println!(
        "cluster3: whole test {:.1} s",
        begin.elapsed().as_secs_f64()
    );
}

/// Whether `stonith_admin --history --verbose --output-as=xml` lists a successful fence of node3.
fn history_success(xml: &str) -> bool {
    xml.lines().any(|l| {
        l.contains("<fence_event")
            && l.contains("target=\"node3\"")
            && l.contains("status=\"success\"")
    })
}
