//! Issue 11, #7 "Clock skew loses fences or runs them late": the daemon under libfaketime
//! (its own process only, never the system clock), the requests written with the real clock.

use crate::common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::Spool;
use gfs2_fence_protocol::{Action, Outcome, Request};
use system_tests::faults::request_json;
use system_tests::peers::require;

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The simulate daemon with its clock shifted by `offset` (libfaketime's syntax, `+1h`).
fn skewed_daemon(spool: &Spool, offset: &str) -> common::Daemon {
    common::daemon(spool)
        .args(["--simulate"])
        .env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME", offset)
        .start()
}

fn have_faketime(test: &str) -> bool {
    let found = Path::new(LIBFAKETIME).exists();
    require(
        test,
        &[(
            found,
            "libfaketime is not installed (apt-get install faketime)".into(),
        )],
    )
}

/// Daemon 1 h ahead, agent normal: every fence is past its deadline by the daemon's clock. It
/// is still not started (no backend after a deadline), but the answer used to be "not started:
/// its deadline passed" with neither time: now it names the deadline and this host's time.
#[test]
fn clock_skew_daemon_an_hour_ahead_names_both_times() {
    if !have_faketime("clock_skew_daemon_an_hour_ahead_names_both_times") {
        return;
    }
    let spool = common::spool();
    let _d = skewed_daemon(&spool, "+1h");
    let (name, req) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    let r = spool.wait_response(name.as_str());
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Expired), Some(false))
    );
    let deadline = req.deadline.expect("deadline").to_string();
    assert!(r.message.contains(&deadline), "{}", r.message);
    assert!(
        r.message.contains("passed by this host's clock (now 20"),
        "{}",
        r.message
    );
}

/// Daemon 1 h behind at a restart, a claim written 10 min ago whose deadline passed 9 min ago
/// (a 60 s window): by the deadline it carries the daemon would run it again (51 min "left");
/// by its file's own time, dated 50 min in the daemon's future, it is not to be trusted.
#[test]
fn clock_skew_daemon_an_hour_behind_does_not_rerun_an_old_claim() {
    if !have_faketime("clock_skew_daemon_an_hour_behind_does_not_rerun_an_old_claim") {
        return;
    }
    let spool = common::spool();
    let claimed = spool.requests.join(".claimed");
    std::fs::create_dir_all(&claimed).expect("mkdir");
    let body = request_json("skew-old-claim", "cn-1", "reboot", -540, -600);
    let req = Request::from_json(body.as_bytes()).expect("request");
    let path = claimed.join("skew-old-claim.json");
    std::fs::write(&path, &body).expect("claim");
    let ten_minutes_ago = SystemTime::now() - Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(ten_minutes_ago))
        .expect("mtime");
    let d = skewed_daemon(&spool, "-1h");
    let r = spool.wait_response("skew-old-claim.json");
    assert_eq!(r.request_id, req.request_id);
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Expired), Some(false)),
        "{r:?}\n{}",
        d.log_text()
    );
    assert!(r.message.contains("outcome is unknown"), "{}", r.message);
    assert!(!d.log_text().contains("re-running"), "{}", d.log_text());
}
