//! Hostile input, part 4: the spool directories themselves. Replaced by symlinks,
//! world-writable, owned by another user (`nobody`), missing, full (a small tmpfs) or read-only.
//! Each case: the clear error, the exit code, and nothing lost or left behind.
//!
//! Mounts and chown need root: those cases skip loudly without it, and fail in CI (`CI=true`).

use std::os::unix::fs::{symlink, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use system_tests::faults::{temp_files, Counter, Mount};
use system_tests::peers::{require, root};
use system_tests::{bins, wait_for, Agent, Daemon, Spool};

static COUNT: Counter = Counter::new("hostile-input/spool");

/// Runs `fence_watcher` on these directories expecting it to refuse to start; returns stderr.
fn daemon_refuses(requests: &std::path::Path, responses: &std::path::Path) -> String {
    let out = Command::new(bins::watcher())
        .arg("--request-dir")
        .arg(requests)
        .arg("--response-dir")
        .arg(responses)
        .arg("--simulate")
        .stdin(Stdio::null())
        .output()
        .expect("run fence_watcher");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "fence_watcher must refuse: {err}"
    );
    err
}

/// Whether `dir` is a mount point (field 5 of /proc/self/mountinfo; test paths need no
/// unescaping).
fn mounted(dir: &std::path::Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let dir = dir.to_string_lossy();
    text.lines()
        .any(|l| l.split(' ').nth(4) == Some(dir.as_ref()))
}

/// Promise 5 (no escape): a spool directory replaced by a symlink is refused by both binaries,
/// which write nothing at the symlink's target.
#[test]
fn symlinked_spool_directories_are_refused() {
    let spool = Spool::new();
    let elsewhere = spool.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    std::fs::remove_dir(&spool.requests).expect("rmdir requests");
    symlink(&elsewhere, &spool.requests).expect("plant a symlink");
    let run = Agent::new(&spool, "reboot", "cn1", 30).run();
    run.assert_code(1, "agent with a symlinked request_dir");
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    let err = daemon_refuses(&spool.requests, &spool.responses);
    assert!(err.contains("symbolic link"), "{err}");
    let written: Vec<_> = std::fs::read_dir(&elsewhere).expect("list").collect();
    assert!(
        written.is_empty(),
        "something was written through the symlink"
    );
    COUNT.add("symlinked_spool_directories_are_refused", 2);
}

/// Promise 5: the daemon refuses a world-writable spool directory (anyone could forge
/// requests or records there), naming the fix.
#[test]
fn world_writable_spool_is_refused_by_the_daemon() {
    let spool = Spool::new();
    for dir in [&spool.requests, &spool.responses] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = daemon_refuses(&spool.requests, &spool.responses);
        assert!(
            err.contains("world-writable") && err.contains("chmod o-w"),
            "{err}"
        );
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    }
    COUNT.add("world_writable_spool_is_refused_by_the_daemon", 2);
}

/// Promise 5: the daemon refuses a spool directory owned by another user (`nobody`).
#[test]
fn foreign_owned_spool_is_refused_by_the_daemon() {
    if !require("foreign_owned_spool_is_refused_by_the_daemon", &[root()]) {
        return;
    }
    let (uid, gid) = system_tests::faults::nobody().expect("user nobody in /etc/passwd");
    let spool = Spool::new();
    for dir in [&spool.requests, &spool.responses] {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid)).expect("chown to nobody");
        let err = daemon_refuses(&spool.requests, &spool.responses);
        assert!(err.contains(&format!("owned by uid {uid}")), "{err}");
        std::os::unix::fs::chown(dir, Some(0), Some(0)).expect("chown back");
    }
    COUNT.add("foreign_owned_spool_is_refused_by_the_daemon", 2);
}

/// Promise 1: a missing request directory makes the agent fail at once naming it; the daemon
/// creates missing directories 0750 and works.
#[test]
fn missing_spool_directories() {
    let spool = Spool::new();
    std::fs::remove_dir(&spool.requests).expect("rmdir");
    let run = Agent::new(&spool, "reboot", "cn1", 30).run();
    run.assert_code(1, "agent without a request directory");
    assert!(
        run.stderr.contains(&spool.requests.display().to_string()),
        "{}",
        run.stderr
    );
    std::fs::remove_dir(&spool.responses).expect("rmdir");
    let _daemon = Daemon::start(&spool, &["--simulate"]);
    let mode = std::fs::metadata(&spool.requests)
        .expect("created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750);
    Agent::new(&spool, "reboot", "cn1", 60)
        .run()
        .assert_code(0, "after creation");
    COUNT.add("missing_spool_directories", 2);
}

/// Promise 1, 2 and 6: a full request directory (tmpfs of 64 KiB, filled) makes the agent fail
/// at once with "cannot publish" and "No space", exit 1, leaving no temporary file; a read-only
/// one fails with "Read-only". Nothing was published, so nothing can be lost, and no
/// `requested` event says otherwise.
#[test]
fn full_or_read_only_request_directory() {
    if !require("full_or_read_only_request_directory", &[root()]) {
        return;
    }
    let spool = Spool::new();
    let mount = Mount::tmpfs(&spool.requests, "64k");
    mount.fill("filler");
    let run = Agent::new(&spool, "reboot", "cn1", 30).run();
    run.assert_code(1, "agent on a full request directory");
    assert!(
        run.stderr.contains("cannot publish") && run.stderr.contains("No space"),
        "{}",
        run.stderr
    );
    assert!(
        temp_files(&spool.requests).is_empty(),
        "temporary file left"
    );
    mount.remount(true);
    let run = Agent::new(&spool, "reboot", "cn1", 30).run();
    run.assert_code(1, "agent on a read-only request directory");
    assert!(run.stderr.contains("Read-only"), "{}", run.stderr);
    mount.remount(false);
    // Neither run published anything, so neither logged `requested` (issue 11 #12: the full
    // directory's run used to log "published" before its publish failed, and this said 1).
    assert_eq!(
        spool.events_for("cn1", "requested").len(),
        0,
        "{:?}",
        spool.events()
    );
    assert!(
        mounted(&spool.requests),
        "the tmpfs is not where the test put it"
    );
    drop(mount);
    // Unmounting falls back to a lazy `umount -l`: wait until the tmpfs is gone.
    let gone = wait_for(Duration::from_secs(10), || {
        (!mounted(&spool.requests)).then_some(())
    });
    assert!(
        gone.is_some(),
        "the tmpfs on the request directory stays mounted"
    );
    COUNT.add("full_or_read_only_request_directory", 2);
}

/// Promise 6: the daemon on a full response directory cannot write its heartbeat at start and
/// exits 1 naming the directory and the cause; a read-only one likewise.
#[test]
fn daemon_on_a_full_or_read_only_response_directory() {
    if !require(
        "daemon_on_a_full_or_read_only_response_directory",
        &[root()],
    ) {
        return;
    }
    let spool = Spool::new();
    let mount = Mount::tmpfs(&spool.responses, "64k");
    mount.fill("filler");
    let err = daemon_refuses(&spool.requests, &spool.responses);
    assert!(err.contains("No space"), "{err}");
    mount.remount(true);
    let err = daemon_refuses(&spool.requests, &spool.responses);
    assert!(err.contains("Read-only"), "{err}");
    assert!(temp_files(&spool.responses).is_empty());
    COUNT.add("daemon_on_a_full_or_read_only_response_directory", 2);
}
