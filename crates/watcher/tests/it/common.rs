//! Shared helpers of the daemon tests. The spool and the daemon are the system tests' harness
//! (`system_tests::{Spool, Daemon}`), configured here the way these tests need it: spools whose
//! directories do not exist until the daemon creates them (the start-up tests check that it
//! creates them 0750, and that a refused start creates nothing), the `fence_watcher` of this
//! package, its default log level and no systemd variables. A daemon started with
//! `--metrics-listen` is ready once its listener is bound. Nothing is mocked.

use std::time::Duration;

pub use system_tests::{daemon::DaemonBuilder, Daemon, Spool};

/// Generous: the machine is small and shared; timing goals live in the benchmark.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How long `.claimed` may take to empty after the last response.
pub const DRAIN: Duration = Duration::from_secs(10);

/// A spool tree without its directories: the daemon creates them.
pub fn spool() -> Spool {
    Spool::without_dirs()
}

/// This package's daemon on `spool`, configured as these tests run it.
pub fn daemon(spool: &Spool) -> DaemonBuilder<'_> {
    Daemon::builder(spool)
        .program(env!("CARGO_BIN_EXE_fence_watcher"))
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("JOURNAL_STREAM")
}

/// Starts the daemon with `args` and waits until it is ready.
pub fn start(spool: &Spool, args: &[&str]) -> Daemon {
    daemon(spool).args(args).start()
}

pub use system_tests::free_port;

/// The metrics endpoint's whole answer (the harness's one scraper).
pub use system_tests::daemon::scrape_metrics as scrape;

/// The value of one metric line (exact name with labels).
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// A python3 helper run as `uid` that takes hold of some resource (connections, inotify
/// instances), prints one line once it holds it, and keeps it until it is killed, which
/// dropping the hog does. Returns the hog and that line.
pub struct Hog(std::process::Child);

impl Hog {
    pub fn start(script: &str, args: &[&str], uid: u32) -> (Hog, String) {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .uid(uid)
            .gid(uid)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        let out = child.stdout.as_mut().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).expect("read");
        (Hog(child), line.trim().to_owned())
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
