//! Faults, part 3: the response directory fills up (ENOSPC) or turns read-only (EROFS) while
//! the daemon runs, so it cannot publish the response of a fence it has carried out.
//!
//! What must hold: the claim stays (the request is not lost), no temporary file is left in the
//! response directory, the waiting agent never exits 0, and once the file system is usable again
//! the request is answered.
//!
//! Needs root (tmpfs mounts): skips loudly without it, fails in CI.

use std::time::Duration;

use system_tests::faults::{command_backend, temp_files, Counter, Mount};
use system_tests::peers::{require, root};
use system_tests::{wait_for, Agent, Daemon, Spool};

static COUNT: Counter = Counter::new("faults/disk");

/// Runs one fence against a response directory broken by `breakit`, then repairs it with
/// `repair` and checks that the request is answered.
fn unpublishable(test: &str, breakit: impl Fn(&Mount), repair: impl Fn(&Mount)) {
    if !require(test, &[root()]) {
        return;
    }
    let spool = Spool::new();
    let mount = Mount::tmpfs(&spool.responses, "64k");
    let runs = spool.root().join("runs.log");
    let script = format!("#!/bin/sh\necho \"$1 $2\" >> '{}'\n", runs.display());
    let cfg = command_backend(&spool, &script, 30);
    let d = Daemon::start(&spool, &["--config", &cfg]);
    breakit(&mount);
    let run = Agent::new(&spool, "off", "cn1", 4).run();
    run.assert_code(1, "agent whose response cannot be published");
    assert_eq!(spool.lines("runs.log").len(), 1, "the fence ran once");
    let claims = spool.pending();
    assert_eq!(
        claims.len(),
        1,
        "the claim stays: {claims:?}\n{}",
        d.log_text()
    );
    assert!(claims[0].starts_with(".claimed/"), "{claims:?}");
    assert!(
        d.log_text().contains("cannot complete the response"),
        "{}",
        d.log_text()
    );
    assert!(
        temp_files(&spool.responses).is_empty(),
        "temporary file left"
    );
    repair(&mount);
    let answered = wait_for(Duration::from_secs(90), || {
        spool
            .responses()
            .into_iter()
            .find(|(_, r)| r.target_node.as_str() == "cn1")
    });
    let (_, r) = answered.unwrap_or_else(|| panic!("never answered:\n{}", d.log_text()));
    assert!(r.success, "the fence that ran is reported: {r:?}");
    assert_eq!(spool.lines("runs.log").len(), 1, "not run again");
    let left = spool.drained(Duration::from_secs(30));
    assert!(left.is_empty(), "left: {left:?}");
    drop(d);
    COUNT.add(test, 1);
}

/// Promise 2 and 1: ENOSPC while publishing: the agent fails (exit 1), the claim stays, and
/// the daemon publishes the response once space is freed, without running the fence again.
#[test]
fn full_response_directory() {
    unpublishable(
        "full_response_directory",
        |m| {
            m.fill("filler");
        },
        |m| {
            for e in std::fs::read_dir(&m.dir).expect("list").flatten() {
                if e.file_name().to_string_lossy().starts_with("filler") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        },
    );
}

/// Promise 2 and 1: EROFS while publishing: the same, once the file system is writable again.
#[test]
fn read_only_response_directory() {
    unpublishable(
        "read_only_response_directory",
        |m| m.remount(true),
        |m| m.remount(false),
    );
}
