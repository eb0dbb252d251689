//! The real `fence_watcher`, started on a test's spool and stopped (or killed) by PID.
//!
//! [`Daemon::start`] is what the system tests use: the binary beside the test executable, the
//! spool's directories as flags, the directory variables removed and `RUST_LOG=debug`.
//! [`Daemon::builder`] changes any of that (the watcher's own tests take their package's binary,
//! its default log level and no systemd variables; some pass the directories in the
//! environment), and gives the [`Command`] itself for a run that is expected to end.
//!
//! The daemon is ready once its own heartbeat exists (it watches the directories then) and, when
//! `--metrics-listen` is among its arguments, its metrics listener accepts connections (the
//! heartbeat is written before the listener is bound).

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use gfs2_fence_protocol::{env, Heartbeat};
use rustix::process::Signal;

use crate::{bins, procs, wait_for, Spool};

/// How long a daemon may take to get ready, to log a line, or to exit when told to.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running daemon; killed on drop so a failing test leaves nothing running.
pub struct Daemon {
    child: Child,
    /// Its stderr (the daemon logs there), for failure messages.
    pub log: PathBuf,
}

/// A daemon being prepared: see the module documentation for the defaults.
pub struct DaemonBuilder<'a> {
    spool: &'a Spool,
    program: Option<PathBuf>,
    dir_flags: bool,
    args: Vec<OsString>,
    /// In order; `None` removes the variable. A later entry for a name wins.
    env: Vec<(OsString, Option<OsString>)>,
}

impl Daemon {
    /// Starts `fence_watcher` on `spool` with `args`, and waits until it is ready.
    pub fn start(spool: &Spool, args: &[&str]) -> Daemon {
        Daemon::builder(spool).args(args).start()
    }

    /// A daemon on `spool` with the system tests' defaults, to be changed before it starts.
    pub fn builder(spool: &Spool) -> DaemonBuilder<'_> {
        let names = env::REQUEST_DIR.names.iter().chain(env::RESPONSE_DIR.names);
        let mut env: Vec<(OsString, Option<OsString>)> =
            names.map(|name| (OsString::from(name), None)).collect();
        env.push(("RUST_LOG".into(), Some("debug".into())));
        DaemonBuilder {
            spool,
            program: None,
            dir_flags: true,
            args: Vec::new(),
            env,
        }
    }

    fn wait_ready(&mut self, spool: &Spool, metrics: Option<SocketAddr>) {
        let pid = self.child.id();
        let hb = spool.heartbeat();
        let ready = wait_for(PATIENCE, || {
            self.exited_with_log("at start");
            let bytes = std::fs::read(&hb).ok()?;
            Heartbeat::from_json(&bytes).filter(|h| h.pid == pid)?;
            match metrics {
                Some(addr) => TcpStream::connect(addr).ok().map(drop),
                None => Some(()),
            }
        });
        assert!(
            ready.is_some(),
            "fence_watcher wrote no heartbeat of its own (or served no metrics) in 30 s:\n{}",
            self.log_text()
        );
    }

    /// Panics with the log when the daemon has exited (`when` says at which point).
    fn exited_with_log(&mut self, when: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "fence_watcher exited {when} ({status}):\n{}",
                self.log_text()
            );
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the daemon logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; fails if the daemon exits first.
    pub fn wait_log(&mut self, needle: &str) {
        let found = wait_for(PATIENCE, || {
            if self.log_text().contains(needle) {
                return Some(());
            }
            self.exited_with_log(&format!("before logging {needle:?}"));
            None
        });
        assert!(
            found.is_some(),
            "no {needle:?} in the log:\n{}",
            self.log_text()
        );
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: Signal) {
        procs::signal(self.child.id(), sig);
    }

    /// Waits (up to 60 s) for the daemon to exit by itself, and reaps it.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let status = wait_for(PATIENCE * 2, || self.child.try_wait().ok().flatten());
        status.unwrap_or_else(|| panic!("fence_watcher did not exit:\n{}", self.log_text()))
    }

    /// `kill -9`: a crash, nothing gets cleaned up.
    pub fn kill9(&mut self) {
        procs::signal(self.child.id(), Signal::KILL);
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (up to 60 s, then SIGKILL).
    pub fn stop(&mut self) {
        procs::stop_child(&mut self.child, Duration::from_secs(60));
    }
}

impl DaemonBuilder<'_> {
    /// Runs `program` instead of the `fence_watcher` beside the test executable.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let value = Some(value.as_ref().to_owned());
        self.env.push((name.as_ref().to_owned(), value));
        self
    }

    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Self {
        self.env.push((name.as_ref().to_owned(), None));
        self
    }

    /// Names the spool's directories by `REQUEST_DIR` and `RESPONSE_DIR` instead of flags.
    pub fn dirs_in_env(mut self) -> Self {
        self.dir_flags = false;
        let (requests, responses) = (&self.spool.requests, &self.spool.responses);
        self.env(env::REQUEST_DIR.names[0], requests)
            .env(env::RESPONSE_DIR.names[0], responses)
    }

    /// Passes no directory at all, so that the daemon takes them from its configuration file
    /// (`[spool]`), as the packaged unit runs it.
    pub fn dirs_from_config(mut self) -> Self {
        self.dir_flags = false;
        self
    }

    /// The command as configured, stdin from `/dev/null`, for a run expected to end by itself.
    pub fn command(&self) -> Command {
        let program = self.program.clone().unwrap_or_else(bins::watcher);
        let mut cmd = Command::new(program);
        if self.dir_flags {
            cmd.arg("--request-dir").arg(&self.spool.requests);
            cmd.arg("--response-dir").arg(&self.spool.responses);
        }
        cmd.args(&self.args).stdin(Stdio::null());
        for (name, value) in &self.env {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
        cmd
    }

    /// Starts the daemon, its stderr in a log file of the spool, and waits until it is ready.
    pub fn start(self) -> Daemon {
        let cmd = self.command();
        self.start_command(cmd)
    }

    /// Starts `cmd`, a command the test built from [`DaemonBuilder::command`] and changed (run
    /// under `prlimit`, as another user, ...), and waits until the daemon is ready, as
    /// [`DaemonBuilder::start`] does.
    pub fn start_command(self, mut cmd: Command) -> Daemon {
        let spool = self.spool;
        let n = std::fs::read_dir(spool.root())
            .map(|d| d.count())
            .unwrap_or(0);
        let log = spool.root().join(format!("fence_watcher.{n}.log"));
        let stderr = std::fs::File::create(&log).expect("create the daemon's log file");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start fence_watcher");
        let mut d = Daemon { child, log };
        d.wait_ready(spool, self.metrics());
        d
    }

    /// The address of `--metrics-listen ADDR` (or `--metrics-listen=ADDR`) among the arguments.
    fn metrics(&self) -> Option<SocketAddr> {
        let args: Vec<&str> = self.args.iter().filter_map(|a| a.to_str()).collect();
        let flag = "--metrics-listen";
        let value = args.iter().enumerate().find_map(|(i, a)| match *a {
            a if a == flag => args.get(i + 1).copied(),
            a => a.strip_prefix(flag).and_then(|v| v.strip_prefix('=')),
        })?;
        let addr: SocketAddr = value
            .parse()
            .unwrap_or_else(|e| panic!("--metrics-listen {value:?} is no address: {e}"));
        Some(addr)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the metrics endpoint of a daemon started with `--metrics-listen 127.0.0.1:PORT` serves
/// at `GET /metrics`, headers included.
pub fn scrape_metrics(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics port");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send the metrics request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the metrics");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}
