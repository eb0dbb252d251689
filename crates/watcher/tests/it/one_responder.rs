//! One responder per spool (issue 10, #3 "Two responders on one spool"): a second
//! `fence_watcher`, real or `--simulate`, started while the first runs a slow fence, refuses to
//! start and names the holder; the fence runs exactly once; after the first is killed with
//! `kill -9`, a new one takes the lock (the kernel released it).

use crate::common;

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use common::{Daemon, Spool, PATIENCE};
use gfs2_fence_protocol::Action;

/// Runs a daemon that is expected to refuse to start; its exit status and log.
fn refused(spool: &Spool, args: &[&str]) -> (ExitStatus, String) {
    let log = spool.path(&format!("refused-{}.log", args.len()));
    let file = std::fs::File::create(&log).expect("log");
    let mut child = common::daemon(spool)
        .command()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(file)
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "a second fence_watcher kept running on the same spool:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn two_responders_on_one_spool_the_second_refuses_and_the_fence_runs_once() {
    let spool = Spool::new();
    let marker = spool.path("runs");
    let cfg = spool.config(&format!(
        r#"
        [backends.slow]
        type = "command"
        argv = ["/bin/sh", "-c", "echo {{node}} >> {}; sleep 3"]
        timeout_secs = 30
        [[topology]]
        nodes = ["*"]
        levels = ["slow"]
        "#,
        marker.display()
    ));
    let cfg = cfg.to_str().expect("utf-8");
    let mut first = Daemon::start(&spool, &["--config", cfg]);
    let (name, _) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    let started = system_tests::wait_for(PATIENCE, || marker.exists().then_some(()));
    assert!(started.is_some(), "the fence never started");

    for args in [&["--config", cfg][..], &["--simulate"][..]] {
        let (status, log) = refused(&spool, args);
        assert_eq!(status.code(), Some(1), "{args:?}: {log}");
        assert!(
            log.contains(&format!("pid {}", first.pid())) && log.contains("refusing to start"),
            "{args:?} does not name the holder: {log}"
        );
    }
    let r = spool.wait_response(name.as_str());
    assert!(r.success, "{}", r.message);
    let runs = std::fs::read_to_string(&marker).expect("marker");
    assert_eq!(
        runs.lines().count(),
        1,
        "the fence ran more than once: {runs}"
    );
    assert!(spool.claimed_drained(common::DRAIN));

    // The kernel releases a flock on any exit: after a crash a new responder starts.
    first.kill9();
    let mut second = Daemon::start(&spool, &["--simulate"]);
    let (name, _) = spool.request("cn-2", Action::Off, Duration::from_secs(120));
    assert!(spool.wait_response(name.as_str()).success);
    second.wait_log("started");
}
