//! Issue 11: a response directory that cannot be written (#4, #5) and a claim whose removal is
//! refused (#12), each named after the defect it pins. The response directory is a small tmpfs
//! the test mounts and fills (root only: skips loudly without it, fails in CI); the backend is
//! a `command` that appends a line to a marker file, so every backend run is counted.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{Spool, PATIENCE};
use gfs2_fence_protocol::{Action, Outcome};
use system_tests::faults::Mount;
use system_tests::peers::{require, root};
use system_tests::wait_for;

/// A `command` backend appending `run` to `runs.log`, then running `then` (shell), with
/// `[daemon]` settings `daemon`. Returns the config path and the marker file.
fn marker_config(spool: &Spool, then: &str, daemon: &str) -> (String, PathBuf) {
    let runs = spool.root().join("runs.log");
    let script = format!(
        "#!/bin/sh\necho \"$1 $2\" >> '{}'\n{then}\nexit 0\n",
        runs.display()
    );
    let argv = spool.write("backend.sh", &script, 0o755);
    let cfg = format!(
        "[daemon]\n{daemon}\n[backends.cmd]\ntype = \"command\"\nargv = [\"{}\", \"{{action}}\", \
         \"{{node}}\"]\ntimeout_secs = 30\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"cmd\"]\n",
        argv.display()
    );
    let path = spool.write("fence-watcher.toml", &cfg, 0o640);
    (path.display().to_string(), runs)
}

fn runs(marker: &Path) -> usize {
    std::fs::read_to_string(marker).map_or(0, |t| t.lines().count())
}

/// Removes what `Mount::fill` wrote.
fn free(m: &Mount) {
    for e in std::fs::read_dir(&m.dir).expect("list").flatten() {
        if e.file_name().to_string_lossy().starts_with("filler") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn heartbeat_mtime(spool: &Spool) -> SystemTime {
    std::fs::metadata(spool.heartbeat())
        .and_then(|m| m.modified())
        .expect("heartbeat")
}

/// #4: with RESPONSE_DIR full, the heartbeat used to be touched (a touch needs no space), so
/// `monitor` stayed green, and every request was fenced and then could not be answered. Now
/// the probe fails: the heartbeat goes stale, the gauge says 0, no backend run starts and the
/// request stays unclaimed; once space is freed, it is fenced once and answered.
#[test]
fn full_response_dir_monitor_green_fences_repeated() {
    if !require("full_response_dir_monitor_green_fences_repeated", &[root()]) {
        return;
    }
    let spool = common::spool();
    let mount = Mount::tmpfs(&spool.responses, "64k");
    let (cfg, marker) = marker_config(&spool, "", "heartbeat_interval_secs = 1");
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut d = common::start(&spool, &["--config", &cfg, "--metrics-listen", &listen]);
    let scrape = || common::scrape(port);
    mount.fill("filler");
    // The agent's monitor fails once the heartbeat is older than 3 intervals (3 s here).
    let stale = wait_for(PATIENCE, || {
        let age = heartbeat_mtime(&spool).elapsed().unwrap_or_default();
        (age > Duration::from_secs(4)).then_some(age)
    });
    assert!(
        stale.is_some(),
        "the heartbeat is still touched:\n{}",
        d.log_text()
    );
    d.wait_log("cannot publish in the response directory");
    assert_eq!(
        common::metric(&scrape(), "fence_watcher_can_publish"),
        Some(0.0)
    );
    let (name, req) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    // Nothing to wait for: the point is that nothing happens. Three probe ticks.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        runs(&marker),
        0,
        "a fence started that could not be answered"
    );
    assert!(
        spool.requests.join(name.as_str()).exists(),
        "the request stays unclaimed"
    );
    free(&mount);
    let r = spool.wait_response(name.as_str());
    assert_eq!(r.request_id, req.request_id);
    assert!(r.success && r.executed == Some(true), "{r:?}");
    assert_eq!(runs(&marker), 1, "fenced once");
    assert_eq!(
        common::metric(&scrape(), "fence_watcher_can_publish"),
        Some(1.0)
    );
    let fresh = heartbeat_mtime(&spool).elapsed().unwrap_or_default();
    assert!(fresh < Duration::from_secs(3), "heartbeat {fresh:?} old");
    d.wait_log("publishing in the response directory works again");
}

/// #5: the backend fills RESPONSE_DIR and succeeds; SIGTERM. The daemon used to log "every
/// request in flight was answered" and exit 0, and the restart answered the claim "expired …
/// outcome unknown" (or ran it again). Now: exit 1 naming what is kept, and the restart
/// publishes the real success without running the backend again.
#[test]
fn a_known_success_lost_on_restart_and_a_false_shutdown_log() {
    if !require(
        "a_known_success_lost_on_restart_and_a_false_shutdown_log",
        &[root()],
    ) {
        return;
    }
    let spool = common::spool();
    let mount = Mount::tmpfs(&spool.responses, "64k");
    let fill = format!(
        "cat /dev/zero > '{}/filler' 2>/dev/null",
        mount.dir.display()
    );
    let (cfg, marker) = marker_config(&spool, &fill, "grace_period_secs = 2");
    let mut d = common::start(&spool, &["--config", &cfg]);
    let (name, req) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    d.wait_log("cannot complete the response");
    d.signal(rustix::process::Signal::TERM);
    let st = d.wait_exit();
    let log = d.log_text();
    assert_eq!(st.code(), Some(1), "{log}");
    assert!(
        !log.contains("every request in flight was answered"),
        "{log}"
    );
    assert!(
        log.contains("1 responses could not be published; their outcomes are kept in")
            && log.contains(".outcomes and will be published at the next start"),
        "{log}"
    );
    assert_eq!(runs(&marker), 1);
    drop(d);
    free(&mount);
    let d = common::start(&spool, &["--config", &cfg]);
    let r = spool.wait_response(name.as_str());
    assert_eq!(r.request_id, req.request_id);
    assert!(
        r.success && r.executed == Some(true) && r.outcome == Some(Outcome::Success),
        "the real result: {r:?}\n{}",
        d.log_text()
    );
    assert_eq!(runs(&marker), 1, "the backend ran exactly once");
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
    assert!(Spool::list(&spool.requests.join(".outcomes")).is_empty());
}

/// Clears the immutable flag on drop, so a failing test leaves a removable tree.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

/// #12: the claim's removal refused after the response was published; the retry found the
/// response and logged "another responder answered first" about its own. A read-only remount
/// of REQUEST_DIR is refused (EBUSY) while the daemon holds its lock file open for writing, so
/// the backend makes `.claimed` immutable instead: the same refusal of the claim's removal.
#[test]
fn the_retry_after_a_blocked_claim_removal_blames_another_responder() {
    let test = "the_retry_after_a_blocked_claim_removal_blames_another_responder";
    let chattr = std::path::Path::new("/usr/bin/chattr").exists();
    if !require(test, &[root(), (chattr, "chattr is not installed".into())]) {
        return;
    }
    let spool = common::spool();
    let claimed = spool.requests.join(".claimed");
    let lock = format!("chattr +i '{}'", claimed.display());
    let (cfg, marker) = marker_config(&spool, &lock, "");
    let mut d = common::start(&spool, &["--config", &cfg]);
    let _undo = Immutable(claimed.clone());
    let (name, _) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    d.wait_log("cannot complete the response");
    assert!(spool.responses.join(name.as_str()).exists());
    drop(_undo);
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
    let log = d.log_text();
    assert!(!log.contains("another responder answered first"), "{log}");
    assert!(
        log.contains("is ours, published by an earlier attempt"),
        "{log}"
    );
    assert_eq!(runs(&marker), 1);
}
