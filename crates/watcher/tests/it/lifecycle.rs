//! Signals, heartbeat, metrics and systemd notification of the running daemon.

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant, SystemTime};

use common::{metric, scrape, PATIENCE};
use gfs2_fence_protocol::{Action, Heartbeat, HEARTBEAT_FILE};
use rustix::process::Signal;

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn sighup_with_a_bad_configuration_keeps_the_old_one() {
    let spool = common::spool();
    let good =
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"a\"]\n";
    let cfg = spool.config(good);
    let mut d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    std::fs::write(
        &cfg,
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"gone\"]\n",
    )
    .expect("write");
    d.signal(Signal::HUP);
    d.wait_log("reload refused");
    assert!(
        d.log_text().contains("topology[0].levels"),
        "{}",
        d.log_text()
    );
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    assert!(
        spool.wait_response(name.as_str()).success,
        "still answering with the old configuration"
    );
    // A good one is taken.
    std::fs::write(&cfg, good.replace("[\"*\"]", "[\"cn-*\"]")).expect("write");
    d.signal(Signal::HUP);
    d.wait_log("configuration reloaded");
    let (name, _) = spool.request("other", Action::Off, MINUTE);
    assert!(spool
        .wait_response(name.as_str())
        .message
        .contains("no [[topology]] entry"));
}

#[test]
fn sigterm_lets_the_fence_in_flight_finish_then_exits_0() {
    let spool = common::spool();
    let mut d = common::start(&spool, &["--simulate-delay", "2"]);
    let (name, _) = spool.request("cn-1", Action::Reboot, MINUTE);
    let claimed = spool.requests.join(".claimed").join(name.as_str());
    let start = Instant::now();
    while !claimed.exists() {
        assert!(start.elapsed() < PATIENCE, "never claimed");
        std::thread::sleep(Duration::from_millis(10));
    }
    d.signal(Signal::TERM);
    let st = d.wait_exit();
    assert!(st.success(), "exit status {st}:\n{}", d.log_text());
    assert!(spool.wait_response(name.as_str()).success);
    assert!(!claimed.exists());
    // A request published after the stop is left for the next instance.
    let (late, _) = spool.request("cn-2", Action::Off, MINUTE);
    std::thread::sleep(Duration::from_millis(200));
    assert!(spool.requests.join(late.as_str()).exists());
}

#[test]
fn heartbeat_is_written_and_kept_fresh() {
    let spool = common::spool();
    let _d = common::start(&spool, &["--simulate", "--heartbeat-interval", "1"]);
    let p = spool.responses.join(HEARTBEAT_FILE);
    let hb = Heartbeat::from_json(&std::fs::read(&p).expect("heartbeat exists")).expect("parses");
    assert_eq!(hb.interval_secs, 1);
    let first = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .expect("mtime");
    let start = Instant::now();
    loop {
        let now = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .expect("mtime");
        if now > first {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "heartbeat mtime did not move"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(SystemTime::now().duration_since(first).unwrap_or_default() < MINUTE);
}

#[test]
fn metrics_endpoint_serves_the_counters() {
    let spool = common::spool();
    let port = common::free_port();
    let _d = common::start(
        &spool,
        &[
            "--simulate",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    spool.wait_response(name.as_str());
    let bad = gfs2_fence_protocol::SpoolName::parse("junk.json").expect("valid");
    spool.publish_as(&bad, b"junk");
    spool.wait_response(bad.as_str());
    // The response is published a moment before its task ends and leaves the in-flight gauge:
    // wait for that (a condition), then read every counter from the same scrape.
    let start = Instant::now();
    let m = loop {
        let m = scrape(port);
        if metric(&m, "fence_watcher_in_flight") == Some(0.0) || start.elapsed() > PATIENCE {
            break m;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        metric(
            &m,
            "fence_watcher_requests_total{outcome=\"success\",action=\"off\",backend=\"simulate\"}"
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "fence_watcher_invalid_requests_total"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(metric(&m, "fence_watcher_in_flight"), Some(0.0), "{m}");
    assert_eq!(
        metric(&m, "fence_watcher_fence_duration_seconds_count"),
        Some(1.0),
        "{m}"
    );
    assert!(m.contains("# TYPE fence_watcher_fence_duration_seconds histogram"));
}

#[test]
fn tells_systemd_ready_and_pings_the_watchdog() {
    let spool = common::spool();
    let sock_path = spool.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut d = common::daemon(&spool)
        .arg("--simulate")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .start();
    let mut seen = String::new();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while !(seen.contains("READY=1") && seen.contains("WATCHDOG=1")) {
        assert!(start.elapsed() < PATIENCE, "got only {seen:?}");
        if let Ok(n) = sock.recv(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    assert!(seen.contains("STATUS=running"), "{seen}");
    d.signal(Signal::TERM);
    assert!(d.wait_exit().success());
    while let Ok(n) = sock.recv(&mut buf) {
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("STOPPING=1"), "{seen}");
}

#[test]
fn after_a_successful_fence_the_hook_gets_the_corosync_node_id() {
    let spool = common::spool();
    let corosync = spool.path("corosync.conf");
    std::fs::write(
        &corosync,
        "totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: 10.0.0.5\n  name: cn-5\n  nodeid: 5\n }\n}\n",
    )
    .expect("write corosync.conf");
    let out = spool.path("acked");
    let cfg = spool.config(&format!(
        r#"
        [backends.sim]
        type = "simulate"
        [[topology]]
        nodes = ["*"]
        levels = ["sim"]
        [after_fence]
        command = ["/bin/sh", "-c", "echo \"$1 $2 $3\" >> {}", "hook", "{{node}}", "{{nodeid}}", "{{action}}"]
        corosync_conf = "{}"
        "#,
        out.display(),
        corosync.display()
    ));
    let mut d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let (name, _) = spool.request("cn-5", Action::Off, MINUTE);
    assert!(spool.wait_response(name.as_str()).success);
    d.wait_log("after-fence command succeeded");
    assert_eq!(
        std::fs::read_to_string(&out).expect("hook ran").trim(),
        "cn-5 5 off"
    );
    // A node missing from the nodelist: the hook is not run, the response is unaffected.
    let (name, _) = spool.request("cn-6", Action::Off, MINUTE);
    assert!(spool.wait_response(name.as_str()).success);
    d.wait_log("after-fence command not run");
}

#[test]
fn the_seed_environment_variables_choose_the_directories_and_json_logs_work() {
    let spool = common::spool();
    let d = common::daemon(&spool)
        .dirs_in_env()
        .args(["--simulate", "--log-format", "json"])
        .start();
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    assert!(spool.wait_response(name.as_str()).success);
    let log = d.log_text();
    let decision = log
        .lines()
        .find(|l| l.contains("fence decision"))
        .expect("an audit line");
    let v: serde_json::Value = serde_json::from_str(decision).expect("a JSON log line");
    assert_eq!(v["node"], "cn-1");
    assert_eq!(v["outcome"], "success");
    assert_eq!(v["request_id"], name.as_str().trim_end_matches(".json"));
}

#[test]
fn a_request_lost_in_an_inotify_overflow_is_found_by_the_rescan() {
    let limit: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    let overflowable = (
        limit <= 200_000,
        format!("fs.inotify.max_queued_events is {limit}, too many to overflow"),
    );
    if !system_tests::peers::require("inotify overflow test", &[overflowable]) {
        return;
    }
    let spool = common::spool();
    let mut d = common::start(&spool, &["--simulate"]);
    // Stopped, the daemon reads no events: fill its queue past the limit with names it ignores.
    d.signal(Signal::STOP);
    for i in 0..limit + 10 {
        std::fs::write(spool.requests.join(format!("filler-{i}.txt")), b"").expect("write");
    }
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    d.signal(Signal::CONT);
    d.wait_log("overflowed");
    assert!(spool.wait_response(name.as_str()).success);
}
