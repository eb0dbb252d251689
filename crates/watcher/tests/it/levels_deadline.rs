//! The request's deadline bounds its levels (issue 11, #3): no level starts after it, and a
//! level's backend gets at most the time the request has left, whatever its `timeout_secs`.
//! The real daemon, real `command` backends (sh), a real request file; nothing is mocked.

use std::time::{Duration, Instant};

use gfs2_fence_protocol::Action;

use crate::common;

/// Regression (issue 11, #3): "Levels start after the deadline". Level 1 takes 4 s and fails,
/// level 2 leaves a marker; the request allows 2 s. Before the fix level 2 ran at 4 s (a
/// success nobody waited for); now level 1 is cut at the deadline, level 2 never starts, and
/// the answer says why with the deadline and the time it was seen.
#[test]
fn levels_start_after_the_deadline() {
    let spool = common::spool();
    let marker = spool.path("level2-ran");
    let cfg = spool.config(&format!(
        r#"
        [backends.slow]
        type = "command"
        argv = ["/bin/sh", "-c", "sleep 4; exit 1"]
        [backends.marker]
        type = "command"
        argv = ["/usr/bin/touch", "{}"]
        [[topology]]
        nodes = ["cn-*"]
        levels = ["slow", "marker"]
        "#,
        marker.display()
    ));
    let _d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let started = Instant::now();
    let (name, _) = spool.request("cn-1", Action::Off, Duration::from_secs(2));
    let r = spool.wait_response(name.as_str());
    let took = started.elapsed();
    assert!(!r.success, "{}", r.message);
    // Give a level 2 that had started the time to leave its marker.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !marker.exists(),
        "level 2 started after the deadline: {}",
        r.message
    );
    assert!(
        r.message
            .contains("level 2 (marker): not started: the request's deadline 20")
            && r.message.contains("passed (now 20"),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("level 1 (slow): sh off of cn-1 failed")
            && r.message.contains("(cut at the request's deadline 20"),
        "{}",
        r.message
    );
    // Level 1 was cut at the deadline, not left to run its 4 s (slack for a loaded machine).
    assert!(
        took < Duration::from_millis(3900),
        "answered after {took:?}: {}",
        r.message
    );
}
