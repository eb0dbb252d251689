//! The watch on the spool (issue 10, #5 and #10): the daemon answers without inotify, and it
//! notices a spool directory moved away while it runs.

use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;

use gfs2_fence_protocol::Action;

use crate::common::{daemon, free_port, metric, scrape, spool, start, Hog, DRAIN, PATIENCE};

/// Regression: a RESPONSE_DIR renamed and recreated while the daemon ran went unnoticed; the
/// daemon kept writing into the old directory where nobody reads.
#[test]
fn a_response_directory_moved_and_recreated_while_the_daemon_runs_is_not_noticed() {
    let spool = spool();
    let mut d = start(&spool, &["--simulate", "--heartbeat-interval", "1"]);
    std::fs::rename(&spool.responses, spool.path("responses.old")).expect("mv");
    std::fs::create_dir(&spool.responses).expect("mkdir");
    let st = d.wait_exit();
    assert!(!st.success(), "{st}");
    let log = d.log_text();
    assert!(
        log.contains("the response directory") && log.contains("was removed or renamed"),
        "{log}"
    );
}

/// A uid no other test uses, so exhausting its inotify instances disturbs nobody.
const UID: u32 = 61_234;

/// Holds every inotify instance `UID` may have (fs.inotify.max_user_instances is per user)
/// until killed.
struct Exhauster {
    _hog: Hog,
}

impl Exhauster {
    fn start() -> Exhauster {
        let script = "import ctypes,sys\nl=ctypes.CDLL(None)\nn=0\n\
                      while l.inotify_init1(0)>=0: n+=1\nprint(n,flush=True)\nsys.stdin.read()\n";
        let (hog, line) = Hog::start(script, &[], UID);
        let held: u32 = line.parse().expect("count");
        assert!(held > 0, "the exhauster got no instance at all");
        Exhauster { _hog: hog }
    }
}

/// Regression: with no inotify instance left for its user, fence_watcher did not start
/// (`cannot watch ... with inotify: Too many open files`), so nobody answered.
#[test]
fn no_inotify_instance_left_no_responder() {
    let spool = spool();
    // The daemon runs as UID: its spool is UID's; requests published by root into the setgid
    // request directory get UID's group, so the 0640 files are readable to it.
    chown(spool.root(), Some(UID), Some(UID)).expect("chown");
    std::fs::create_dir(&spool.requests).expect("mkdir");
    chown(&spool.requests, Some(UID), Some(UID)).expect("chown");
    std::fs::set_permissions(&spool.requests, std::fs::Permissions::from_mode(0o2750))
        .expect("mode");
    let exhauster = Exhauster::start();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = daemon(&spool).command();
    cmd.args(["--simulate", "--metrics-listen", &listen])
        .uid(UID)
        .gid(UID);
    let mut d = daemon(&spool).start_command(cmd);
    assert!(
        d.log_text().contains("scanning it every 250 ms"),
        "{}",
        d.log_text()
    );
    let gauge = "fence_watcher_inotify_fallback";
    assert_eq!(metric(&scrape(port), gauge), Some(1.0));
    let (name, _) = spool.request("cn-poll", Action::Off, PATIENCE);
    assert!(spool.wait_response(name.as_str()).success);

    drop(exhauster);
    d.wait_log("inotify is available again");
    assert_eq!(metric(&scrape(port), gauge), Some(0.0));
    let (name, _) = spool.request("cn-inotify", Action::Off, PATIENCE);
    assert!(spool.wait_response(name.as_str()).success);
    assert!(spool.claimed_drained(DRAIN));
}
