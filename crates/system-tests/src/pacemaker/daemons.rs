//! The cluster's processes: starting corosync and pacemakerd with a clean environment,
//! stopping pacemakerd and everything below it by PID, and refusing to run beside a cluster
//! that someone else started.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::process::Signal;

use super::{run, DAEMON_PATH, NODE};
use crate::{procs, wait_for};

/// SIGTERM to pacemakerd (an orderly shutdown of its daemons), then waits for it and for every
/// process below it; whatever is left after the bounds is killed.
pub(super) fn stop_pacemakerd(pacemakerd: &mut Child) {
    let pid = pacemakerd.id();
    let mut family = descendants(pid);
    procs::signal(pid, Signal::TERM);
    if !procs::wait_child(pacemakerd, Duration::from_secs(120)) {
        eprintln!("pacemakerd did not stop in 120 s: killing it and its children");
        let _ = pacemakerd.kill();
    }
    let _ = pacemakerd.wait();
    family.extend(descendants(pid));
    let left = procs::wait_gone(&family, Duration::from_secs(60));
    for p in &left {
        eprintln!("killing leftover cluster process {p}");
        procs::signal(*p, Signal::KILL);
    }
    let left = procs::wait_gone(&left, Duration::from_secs(10));
    if !left.is_empty() {
        eprintln!("ERROR: cluster processes survived SIGKILL: {left:?}");
    }
}

/// Every live process below `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let all = procs::all();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            all.iter()
                .filter(|(_, _, pp)| *pp == parent)
                .map(|(p, _, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Refuses to touch a host where a cluster we did not start is running. Processes are known by
/// their executable (a test binary may well be called `pacemaker-<hash>`).
pub(super) fn refuse_foreign_cluster() {
    let is_cluster = |pid: u32| {
        std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
            exe.starts_with("/usr/lib/pacemaker")
                || exe == Path::new("/usr/sbin/pacemakerd")
                || exe == Path::new("/usr/sbin/corosync")
        })
    };
    let running: Vec<String> = procs::all()
        .into_iter()
        .filter(|(p, _, _)| is_cluster(*p))
        .map(|(p, c, _)| format!("{c} (pid {p})"))
        .collect();
    assert!(
        running.is_empty(),
        "a cluster this test did not start is running ({}): stop it first",
        running.join(", ")
    );
}

pub(super) fn corosync_conf(dir: &Path) -> String {
    format!(
        "# written by the gfs2-fencing system tests; the original is restored when they end\n\
         totem {{\n  version: 2\n  cluster_name: gfs2systests\n  transport: knet\n  \
         crypto_cipher: none\n  crypto_hash: none\n}}\n\
         nodelist {{\n  node {{\n    ring0_addr: 127.0.0.1\n    name: {NODE}\n    nodeid: 1\n  }}\n}}\n\
         quorum {{\n  provider: corosync_votequorum\n}}\n\
         logging {{\n  to_logfile: yes\n  logfile: {}/corosync.log\n  to_syslog: no\n  \
         to_stderr: no\n  timestamp: on\n}}\n",
        dir.display()
    )
}

/// Starts `corosync -f` or `pacemakerd -f` with a clean environment.
pub(super) fn spawn_daemon(name: &str, dir: &Path) -> Child {
    let out = std::fs::File::create(dir.join(format!("{name}.out"))).expect("create a log file");
    let err = out.try_clone().expect("duplicate a log file");
    Command::new(format!("/usr/sbin/{name}"))
        .arg("-f")
        .env_clear()
        .env("PATH", DAEMON_PATH)
        .env("LANG", "C.UTF-8")
        .env("PCMK_logfacility", "none")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
}

pub(super) fn wait_corosync(dir: &Path) {
    let up = wait_for(Duration::from_secs(30), || {
        run("corosync-cmapctl", &["totem.cluster_name"])
            .status
            .success()
            .then_some(())
    });
    assert!(
        up.is_some(),
        "corosync did not answer in 30 s (see {}/corosync.log)",
        dir.display()
    );
}
