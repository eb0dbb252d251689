//! Signals, heartbeat, metrics and systemd notification of the running daemon.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant, SystemTime};

use common::{command, metric, scrape, Daemon, Spool, PATIENCE};
use gfs2_fence_protocol::{Action, Heartbeat, HEARTBEAT_FILE};
use rustix::process::Signal;

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn sighup_with_a_bad_configuration_keeps_the_old_one() {
    let spool = Spool::new();
    let good =
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"a\"]\n";
    let cfg = spool.config(good);
    let mut d = Daemon::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    std::fs::write(
        &cfg,
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"gone\"]\n",
    )
    .expect("write");
    d.signal(Signal::HUP);
    d.wait_log("reload refused");
    assert!(d.log().contains("topology[0].levels"), "{}", d.log());
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    assert!(
        spool.response(name.as_str()).success,
        "still answering with the old configuration"
    );
    // A good one is taken.
    std::fs::write(&cfg, good.replace("[\"*\"]", "[\"cn-*\"]")).expect("write");
    d.signal(Signal::HUP);
    d.wait_log("configuration reloaded");
    let (name, _) = spool.request("other", Action::Off, MINUTE);
    assert!(spool
        .response(name.as_str())
        .message
        .contains("no [[topology]] entry"));
}

#[test]
fn sigterm_lets_the_fence_in_flight_finish_then_exits_0() {
    let spool = Spool::new();
    let mut d = Daemon::start(&spool, &["--simulate-delay", "2"]);
    let (name, _) = spool.request("cn-1", Action::Reboot, MINUTE);
    let claimed = spool.req.join(".claimed").join(name.as_str());
    let start = Instant::now();
    while !claimed.exists() {
        assert!(start.elapsed() < PATIENCE, "never claimed");
        std::thread::sleep(Duration::from_millis(10));
    }
    d.signal(Signal::TERM);
    let st = d.wait_exit();
    assert!(st.success(), "exit status {st}:\n{}", d.log());
    assert!(spool.response(name.as_str()).success);
    assert!(!claimed.exists());
    // A request published after the stop is left for the next instance.
    let (late, _) = spool.request("cn-2", Action::Off, MINUTE);
    std::thread::sleep(Duration::from_millis(200));
    assert!(spool.req.join(late.as_str()).exists());
}

#[test]
fn heartbeat_is_written_and_kept_fresh() {
    let spool = Spool::new();
    let _d = Daemon::start(&spool, &["--simulate", "--heartbeat-interval", "1"]);
    let p = spool.resp.join(HEARTBEAT_FILE);
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
    let spool = Spool::new();
    let port = common::free_port();
    let _d = Daemon::start(
        &spool,
        &[
            "--simulate",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    spool.response(name.as_str());
    let bad = gfs2_fence_protocol::SpoolName::parse("junk.json").expect("valid");
    spool.publish_as(&bad, b"junk");
    spool.response(bad.as_str());
    let m = scrape(port);
    assert_eq!(
        metric(
            &m,
            "fence_watcher_requests_total{outcome=\"success\",backend=\"simulate\"}"
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
    let spool = Spool::new();
    let sock_path = spool.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut cmd = command(&spool);
    cmd.arg("--simulate")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000");
    let mut d = Daemon::start_with(&spool, &mut cmd);
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
