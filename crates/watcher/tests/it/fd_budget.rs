//! The file-descriptor budget (issue 10, #1 and #2): a shortage of descriptors, passing or
//! provoked by a local user, never fails, fakes or loses a fence.

use gfs2_fence_protocol::{Action, Outcome};
use rustix::process::{prlimit, Pid, Resource, Rlimit};

use crate::common::{Daemon, Spool, PATIENCE};

/// Sets the soft `RLIMIT_NOFILE` of `pid`, keeping its hard limit.
fn set_soft_nofile(pid: i32, soft: u64) {
    let pid = Pid::from_raw(pid).expect("pid");
    let hard = rustix::process::getrlimit(Resource::Nofile).maximum;
    let new = Rlimit {
        current: Some(soft),
        maximum: hard,
    };
    prlimit(Some(pid), Resource::Nofile, new).expect("prlimit");
}

/// Regression: a claimed request that could not be opened for lack of descriptors (EMFILE) was
/// answered `invalid` with `target_node: "unknown"` and never fenced.
#[test]
fn a_transient_read_error_turns_a_fence_into_a_permanent_invalid() {
    let spool = Spool::new();
    let mut d = Daemon::start(&spool, &["--simulate"]);
    // A soft limit of 0: every new descriptor fails with EMFILE, the ones held keep working
    // (the inotify watch sees the request, the claim is a rename through a held dirfd).
    set_soft_nofile(d.pid(), 0);
    let (name, req) = spool.request("cn-emfile", Action::Off, PATIENCE);
    d.wait_log("Too many open files");
    let hard = rustix::process::getrlimit(Resource::Nofile).maximum;
    set_soft_nofile(d.pid(), hard.unwrap_or(1024));
    let resp = spool.response(name.as_str());
    assert_eq!(
        resp.outcome,
        Some(Outcome::Success),
        "{resp:?}\n{}",
        d.log()
    );
    assert_eq!(resp.target_node, req.target_node);
    assert_eq!(resp.executed, Some(true));
    assert!(spool.drained());
    assert!(
        d.log().contains("cannot read the claimed request"),
        "{}",
        d.log()
    );
}
