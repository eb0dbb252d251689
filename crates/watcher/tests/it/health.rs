//! The daemon's `[health]` probes seen from outside: `--check-config` reads the nodelist, the
//! heartbeat carries the probe results and the count of simulated routes, the metrics follow,
//! and a reload (SIGHUP) takes a new `[health]` and new routes. Real daemon, real `command`
//! backends (`/bin/sh`); the BMC peers are in `crates/system-tests/tests/it/probes.rs`.

use gfs2_fence_protocol::{Heartbeat, ProbeStatus};
use rustix::process::Signal;
use system_tests::wait_for;

use crate::common::{self, PATIENCE};

const ROUTES: &str = "[backends.sim]\ntype = \"simulate\"\n\
    [backends.site]\ntype = \"command\"\nargv = [\"/bin/true\"]\n\
    status_argv = [\"/bin/sh\", \"-c\", \"echo BMC of {node} answered\"]\n\
    [backends.dead]\ntype = \"command\"\nargv = [\"/bin/true\"]\n\
    status_argv = [\"/bin/sh\", \"-c\", \"echo no route to BMC >&2; exit 1\"]\n\
    [[topology]]\nnodes = [\"sim-*\"]\nlevels = [\"sim\"]\n\
    [[topology]]\nnodes = [\"*\"]\nlevels = [\"dead\", \"site\", \"sim\"]\n";

fn heartbeat(spool: &common::Spool) -> Option<Heartbeat> {
    Heartbeat::from_json(&std::fs::read(spool.heartbeat()).ok()?)
}

#[test]
fn check_config_refuses_a_malformed_nodelist_but_not_a_missing_one() {
    let spool = common::spool();
    let conf = spool.write("corosync.conf", "nodelist {\n node {\n  name: cn1\n", 0o644);
    let text = |path: &std::path::Path| {
        format!("{ROUTES}[health]\ncorosync_conf = \"{}\"\n", path.display())
    };
    let run = |cfg: std::path::PathBuf| {
        common::daemon(&spool)
            .command()
            .args(["--config", cfg.to_str().expect("utf-8"), "--check-config"])
            .output()
            .expect("run")
    };
    let out = run(spool.config(&text(&conf)));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a malformed nodelist passed");
    assert!(
        err.contains("health.corosync_conf") && err.contains("closing brace"),
        "{err}"
    );
    let out = run(spool.config(&text(&spool.path("missing.conf"))));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_heartbeat_carries_health_and_simulated_routes_and_a_reload_changes_both() {
    let spool = common::spool();
    let conf = spool.write(
        "corosync.conf",
        "nodelist {\n node {\n  name: cn1\n  nodeid: 1\n }\n node {\n  name: sim-2\n  nodeid: 2\n }\n}\n",
        0o644,
    );
    let port = common::free_port();
    let cfg = spool.config(&format!(
        "{ROUTES}[health]\ninterval_secs = 1\ncorosync_conf = \"{}\"\nnodes = [\"extra\"]\n",
        conf.display()
    ));
    let cfg = cfg.to_str().expect("utf-8").to_owned();
    let listen = format!("127.0.0.1:{port}");
    let mut daemon = common::start(
        &spool,
        &[
            "--config",
            &cfg,
            "--heartbeat-interval",
            "1",
            "--metrics-listen",
            &listen,
        ],
    );
    let hb = wait_for(PATIENCE, || {
        heartbeat(&spool).filter(|h| h.health.is_some())
    });
    let hb = hb.unwrap_or_else(|| panic!("no health in the heartbeat:\n{}", daemon.log_text()));
    assert_eq!(hb.simulated_routes, 2, "{hb:?}");
    let health = hb.health.expect("health");
    let nodes: Vec<&str> = health.nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(nodes, ["cn1", "sim-2", "extra"]);
    let cn1: Vec<ProbeStatus> = health.nodes[0].levels.iter().map(|l| l.status).collect();
    assert_eq!(
        cn1,
        [ProbeStatus::Down, ProbeStatus::Up, ProbeStatus::Simulated]
    );
    assert_eq!(
        health.nodes[0].levels[0].message,
        "sh status of cn1 failed (exit 1): no route to BMC"
    );
    assert_eq!(
        health.nodes[0].levels[1].message,
        "sh status of cn1 succeeded: BMC of cn1 answered"
    );
    assert_eq!(health.nodes[1].levels[0].status, ProbeStatus::Simulated);
    daemon.wait_log("level 1 (dead) of cn1 is DOWN");
    let text = common::scrape(port);
    assert_eq!(
        common::metric(
            &text,
            "fence_watcher_backend_up{backend=\"dead\",node=\"cn1\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        common::metric(
            &text,
            "fence_watcher_backend_up{backend=\"site\",node=\"extra\"}"
        ),
        Some(1.0)
    );
    assert!(
        text.contains("fence_watcher_last_probe_timestamp_seconds{backend=\"sim\",node=\"sim-2\"}"),
        "{text}"
    );

    // One simulated level fewer, and probing turned off: both reach the heartbeat.
    std::fs::write(
        &cfg,
        format!(
            "{}[health]\ninterval_secs = 0\n",
            ROUTES.replace(", \"sim\"]", "]")
        ),
    )
    .expect("rewrite config");
    daemon.signal(Signal::HUP);
    let hb = wait_for(PATIENCE, || {
        heartbeat(&spool).filter(|h| h.health.is_none())
    });
    let hb = hb.unwrap_or_else(|| {
        panic!(
            "the reload did not reach the heartbeat:\n{}",
            daemon.log_text()
        )
    });
    assert_eq!(hb.simulated_routes, 1, "{hb:?}");
    assert_eq!(hb.pid, daemon.pid());
}
