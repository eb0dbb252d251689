//! The after-fence hook against the real daemon (issue 10, #4 "The after-fence hook can take
//! the daemon down"), one test per way it could: unbounded output held in the daemon's memory,
//! a background child left running after the hook's end or its timeout, the daemon's
//! environment (and its secrets) inherited, and a hook that exited 0 reported as timed out.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::{metric, scrape, Daemon, Spool};
use gfs2_fence_protocol::Action;

const MINUTE: Duration = Duration::from_secs(60);

/// A daemon with a simulate backend and `script` (run by `/bin/sh -c`) as the after-fence
/// hook, with `timeout_secs`; its metrics port.
fn daemon(spool: &Spool, script: &str, timeout_secs: u64, env: &[(&str, &str)]) -> (Daemon, u16) {
    let cfg = spool.config(&format!(
        r#"
        [after_fence]
        command = ["/bin/sh", "-c", {script:?}]
        timeout_secs = {timeout_secs}
        [backends.sim]
        type = "simulate"
        [[topology]]
        nodes = ["*"]
        levels = ["sim"]
        "#
    ));
    let port = common::free_port();
    let mut cmd = common::daemon(spool).command();
    cmd.args(["--config", cfg.to_str().expect("utf-8")])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .envs(env.iter().copied());
    (common::daemon(spool).start_command(cmd), port)
}

/// Fences one node and waits until the daemon logged the hook's end (`needle`).
fn fence_and_wait_for_the_hook(spool: &Spool, d: &mut Daemon, needle: &str) {
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    assert!(spool.wait_response(name.as_str()).success);
    d.wait_log(needle);
}

fn hook_failures(port: u16) -> Option<f64> {
    metric(&scrape(port), "fence_watcher_after_fence_failures_total")
}

/// VmHWM (peak resident set) of `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Whether the process whose pid is in `file` is gone (or a zombie nobody reaped yet).
fn gone(file: &Path) -> bool {
    let pid = std::fs::read_to_string(file).expect("pid file");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.trim_start().chars().next());
    matches!(state, None | Some('Z'))
}

#[test]
fn the_after_fence_hook_can_take_the_daemon_down_no_more_by_printing_gigabytes() {
    let spool = Spool::new();
    let script = "head -c 1500000000 /dev/zero; head -c 1500000000 /dev/zero >&2";
    let (mut d, port) = daemon(&spool, script, 120, &[]);
    fence_and_wait_for_the_hook(&spool, &mut d, "after-fence command succeeded");
    let kib = peak_rss_kib(d.pid());
    assert!(
        kib < 64 * 1024,
        "3 GB of hook output took the daemon to {kib} KiB"
    );
    assert_eq!(hook_failures(port), Some(0.0));
}

#[test]
fn the_after_fence_hook_can_take_the_daemon_down_no_more_by_a_child_outliving_the_hook() {
    let spool = Spool::new();
    let pid = spool.path("child");
    // The child does not hold the hook's output pipes: only the process group links it.
    let script = format!(
        "sleep 300 >/dev/null 2>&1 & echo $! > {}; exit 0",
        pid.display()
    );
    let (mut d, port) = daemon(&spool, &script, 30, &[]);
    fence_and_wait_for_the_hook(&spool, &mut d, "after-fence command succeeded");
    let dead = system_tests::wait_for(Duration::from_secs(10), || gone(&pid).then_some(()));
    assert!(
        dead.is_some(),
        "the hook's background child survived its end"
    );
    assert_eq!(hook_failures(port), Some(0.0));
}

#[test]
fn the_after_fence_hook_can_take_the_daemon_down_no_more_by_a_child_outliving_its_timeout() {
    let spool = Spool::new();
    let pid = spool.path("child");
    let script = format!(
        "sleep 300 >/dev/null 2>&1 & echo $! > {}; sleep 300",
        pid.display()
    );
    let (mut d, port) = daemon(&spool, &script, 1, &[]);
    fence_and_wait_for_the_hook(&spool, &mut d, "timed out after 1s and was killed");
    let dead = system_tests::wait_for(Duration::from_secs(10), || gone(&pid).then_some(()));
    assert!(
        dead.is_some(),
        "the hook's background child survived its timeout"
    );
    assert_eq!(hook_failures(port), Some(1.0));
}

#[test]
fn the_after_fence_hook_can_take_the_daemon_down_no_more_by_reading_the_daemons_secrets() {
    let spool = Spool::new();
    let out = spool.path("env");
    let script = format!("env > {}", out.display());
    let secret = ("FENCE_WATCHER_TEST_SECRET", "s3cr3t-do-not-leak");
    let (mut d, _) = daemon(&spool, &script, 30, &[secret]);
    fence_and_wait_for_the_hook(&spool, &mut d, "after-fence command succeeded");
    let env = std::fs::read_to_string(&out).expect("the hook ran");
    assert!(
        !env.contains(secret.0) && !env.contains(secret.1),
        "the daemon's environment reached the hook:\n{env}"
    );
}

#[test]
fn the_after_fence_hook_can_take_the_daemon_down_no_more_exit_0_reported_as_timed_out() {
    let spool = Spool::new();
    // Exits at once; its background child keeps the output pipes open past the timeout.
    let (mut d, port) = daemon(&spool, "sleep 30 & exit 0", 2, &[]);
    fence_and_wait_for_the_hook(&spool, &mut d, "after-fence command succeeded");
    // Past the hook's timeout: nothing may report it timed out later.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!d.log_text().contains("timed out"), "{}", d.log_text());
    assert_eq!(hook_failures(port), Some(0.0));
}
