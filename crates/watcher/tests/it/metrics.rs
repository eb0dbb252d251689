//! The metrics an alert needs, read from the real daemon's endpoint (issue 15): counters at 0
//! before the first event, a level that used all its time counted as a timeout, a fence saved
//! by level 2 counted as a fallback, the pending gauges while a fence runs, the heartbeat and
//! the build. Real `simulate` backends (one hangs past its timeout); nothing is mocked.

use std::time::{Duration, Instant};

use gfs2_fence_protocol::Action;

use crate::common::{self, metric, scrape, PATIENCE};

const MINUTE: Duration = Duration::from_secs(60);

/// Scrapes until `ok` holds for the scrape (a condition, not a sleep); returns that scrape.
fn scrape_until(port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let m = scrape(port);
        if ok(&m) {
            return m;
        }
        assert!(start.elapsed() < PATIENCE, "never saw {what}:\n{m}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_endpoint_counts_timeouts_fallbacks_and_pending_requests_from_zero() {
    let spool = common::spool();
    let cfg = spool.config(
        r#"
        [backends.hang]
        type = "simulate"
        delay_secs = 30
        timeout_secs = 0.5
        [backends.ok]
        type = "simulate"
        [backends.slow]
        type = "simulate"
        delay_secs = 2
        [[topology]]
        nodes = ["cn-*"]
        levels = ["hang", "ok"]
        [[topology]]
        nodes = ["sl-*"]
        levels = ["slow"]
        "#,
    );
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let _d = common::start(
        &spool,
        &[
            "--config",
            cfg.to_str().expect("utf-8"),
            "--metrics-listen",
            &listen,
            "--max-concurrent",
            "1",
        ],
    );
    let m = scrape(port);
    for zero in [
        "fence_watcher_requests_total{outcome=\"failed\",action=\"off\",backend=\"hang\"}",
        "fence_watcher_requests_total{outcome=\"failed\",action=\"reboot\",backend=\"ok\"}",
        "fence_watcher_requests_total{outcome=\"failed\",action=\"on\",backend=\"none\"}",
        "fence_watcher_backend_runs_total{backend=\"hang\",result=\"timeout\"}",
        "fence_watcher_fallback_successes_total{backend=\"ok\"}",
        "fence_watcher_backend_fence_duration_seconds_count{backend=\"slow\",kind=\"simulate\"}",
        "fence_watcher_pending_requests",
        "fence_watcher_oldest_pending_age_seconds",
    ] {
        assert_eq!(metric(&m, zero), Some(0.0), "{zero}\n{m}");
    }
    let version = env!("CARGO_PKG_VERSION");
    let build = format!("fence_watcher_build_info{{version=\"{version}\"}}");
    assert_eq!(metric(&m, &build), Some(1.0), "{m}");
    let beat = metric(&m, "fence_watcher_heartbeat_timestamp_seconds").unwrap_or(0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    assert!(beat > 0.0 && beat <= now, "heartbeat at {beat}, now {now}");

    // One backend slot: one runs, the other waits for it; both are pending.
    let (slow, _) = spool.request("sl-1", Action::Off, MINUTE);
    let (waits, _) = spool.request("sl-2", Action::Off, MINUTE);
    let m = scrape_until(port, "two pending requests", |m| {
        metric(m, "fence_watcher_pending_requests") == Some(2.0)
    });
    assert_eq!(
        metric(&m, "fence_watcher_pending_past_deadline"),
        Some(0.0),
        "{m}"
    );
    let age = metric(&m, "fence_watcher_oldest_pending_age_seconds");
    assert!(age.is_some_and(|a| (0.0..60.0).contains(&a)), "{m}");
    assert!(spool.wait_response(slow.as_str()).success);
    assert!(spool.wait_response(waits.as_str()).success);

    let (saved, _) = spool.request("cn-1", Action::Reboot, MINUTE);
    let r = spool.wait_response(saved.as_str());
    assert!(r.success, "{}", r.message);
    let m = scrape_until(port, "nothing pending", |m| {
        metric(m, "fence_watcher_pending_requests") == Some(0.0)
    });
    for (series, want) in [
        ("fence_watcher_backend_runs_total{backend=\"hang\",result=\"timeout\"}", 1.0),
        ("fence_watcher_backend_runs_total{backend=\"hang\",result=\"failure\"}", 0.0),
        ("fence_watcher_backend_runs_total{backend=\"ok\",result=\"success\"}", 1.0),
        ("fence_watcher_fallback_successes_total{backend=\"ok\"}", 1.0),
        ("fence_watcher_fallback_successes_total{backend=\"slow\"}", 0.0),
        ("fence_watcher_requests_total{outcome=\"success\",action=\"reboot\",backend=\"ok\"}", 1.0),
        ("fence_watcher_requests_total{outcome=\"success\",action=\"off\",backend=\"slow\"}", 2.0),
        ("fence_watcher_backend_fence_duration_seconds_count{backend=\"hang\",kind=\"simulate\"}", 1.0),
        ("fence_watcher_backend_fence_duration_seconds_bucket{backend=\"slow\",kind=\"simulate\",le=\"1\"}", 0.0),
        ("fence_watcher_backend_fence_duration_seconds_bucket{backend=\"slow\",kind=\"simulate\",le=\"5\"}", 2.0),
        ("fence_watcher_oldest_pending_age_seconds", 0.0),
    ] {
        assert_eq!(metric(&m, series), Some(want), "{series}\n{m}");
    }
}
