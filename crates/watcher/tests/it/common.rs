//! Shared helpers of the daemon tests: a spool in a temporary directory, the real
//! `fence_watcher` binary started on it, and requests published the way any conforming writer
//! publishes them (through the protocol crate). Nothing is mocked.
//!
//! Watcher-specific, so not `system_tests::{Spool, Daemon}`: these spool directories do not exist
//! until the daemon creates them (the start-up tests check that it creates them 0750, and that a
//! refused start creates nothing), the daemon is `CARGO_BIN_EXE_fence_watcher` of this package,
//! and it counts as started once it logs `started`, after its metrics listener is bound (the
//! heartbeat that `system_tests::Daemon` waits for is written before). The polling comes from
//! `system_tests::wait_for`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{
    Action, Gfs2Discovery, NodeName, Publish, Request, Response, SpoolDir, SpoolName,
};

/// Generous: the machine is small and shared; timing goals live in the benchmark.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Spool {
    pub tmp: tempfile::TempDir,
    pub req: PathBuf,
    pub resp: PathBuf,
}

impl Spool {
    pub fn new() -> Spool {
        let tmp = tempfile::tempdir().expect("temp dir");
        let req = tmp.path().join("requests");
        let resp = tmp.path().join("responses");
        Spool { tmp, req, resp }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a configuration file and returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        let p = self.path("fence-watcher.toml");
        std::fs::write(&p, text).expect("write config");
        p
    }

    /// Publishes a request for `node` due in `timeout`; returns its file name.
    pub fn request(&self, node: &str, action: Action, timeout: Duration) -> (SpoolName, Request) {
        let req = Request::new(
            action,
            NodeName::parse(node).expect("valid node"),
            Gfs2Discovery::disabled("test"),
            "test-recorder".into(),
            timeout,
        );
        let name = self.publish(&req);
        (name, req)
    }

    pub fn publish(&self, req: &Request) -> SpoolName {
        let name = SpoolName::parse(&format!("{}.json", req.request_id)).expect("name");
        self.publish_as(&name, &req.to_json());
        name
    }

    pub fn publish_as(&self, name: &SpoolName, bytes: &[u8]) {
        let dir = SpoolDir::create(&self.req, 0o750).expect("request dir");
        dir.publish(name, bytes, Publish::Replace).expect("publish");
    }

    /// Waits for the response to `name` and parses it.
    pub fn response(&self, name: &str) -> Response {
        let p = self.resp.join(name);
        let bytes = system_tests::wait_for(PATIENCE, || std::fs::read(&p).ok());
        let bytes = bytes.unwrap_or_else(|| panic!("no response {name} within {PATIENCE:?}"));
        Response::from_json(&bytes).expect("response parses")
    }

    /// Names in a directory, dot-files included, sorted.
    /// Whether `.claimed` empties within 10 s. The daemon removes a claim just after publishing
    /// its response, so a test looking at the very moment the response appears may still see it.
    pub fn drained(&self) -> bool {
        let claimed = self.req.join(".claimed");
        let empty = || Spool::list(&claimed).is_empty().then_some(());
        system_tests::wait_for(Duration::from_secs(10), empty).is_some()
    }

    pub fn list(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// A running `fence_watcher`, killed (SIGKILL) when dropped.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

pub fn command(spool: &Spool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fence_watcher"));
    c.arg("--request-dir")
        .arg(&spool.req)
        .arg("--response-dir")
        .arg(&spool.resp)
        .env_remove("REQUEST_DIR")
        .env_remove("RESPONSE_DIR")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null());
    c
}

impl Daemon {
    /// Starts the daemon with `args` and waits until its heartbeat exists (it is ready).
    pub fn start(spool: &Spool, args: &[&str]) -> Daemon {
        Daemon::start_with(spool, command(spool).args(args))
    }

    pub fn start_with(spool: &Spool, cmd: &mut Command) -> Daemon {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = spool.path(&format!("daemon-{n}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn fence_watcher");
        let mut d = Daemon { child, log };
        d.wait_log("started");
        d
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; fails if the daemon exits first.
    pub fn wait_log(&mut self, needle: &str) {
        let start = Instant::now();
        while !self.log().contains(needle) {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "fence_watcher exited ({st}) before logging {needle:?}:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no {needle:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.pid()).expect("pid");
        rustix::process::kill_process(pid, sig).expect("kill");
    }

    /// Waits for the daemon to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(
                start.elapsed() < PATIENCE * 2,
                "fence_watcher did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A free loopback port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `GET /metrics` from the daemon.
pub fn scrape(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect metrics");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

/// The value of one metric line (exact name with labels).
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}
