//! The real `fence_watcher`, started on a test's spool and stopped (or killed) by PID.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gfs2_fence_protocol::Heartbeat;
use rustix::process::Signal;

use crate::{bins, procs, wait_for, Spool};

/// A running daemon; killed on drop so a failing test leaves nothing running.
pub struct Daemon {
    child: Child,
    /// Its stderr (the daemon logs there), for failure messages.
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `fence_watcher` on `spool` with `args`, and waits until its own heartbeat
    /// exists (which means it watches the directories).
    pub fn start(spool: &Spool, args: &[&str]) -> Daemon {
        let n = std::fs::read_dir(spool.root())
            .map(|d| d.count())
            .unwrap_or(0);
        let log = spool.root().join(format!("fence_watcher.{n}.log"));
        let stderr = std::fs::File::create(&log).expect("create the daemon's log file");
        let child = Command::new(bins::watcher())
            .arg("--request-dir")
            .arg(&spool.requests)
            .arg("--response-dir")
            .arg(&spool.responses)
            .args(args)
            .env_remove("REQUEST_DIR")
            .env_remove("RESPONSE_DIR")
            .env_remove("NNF_FENCE_REQUEST_DIR")
            .env_remove("NNF_FENCE_RESPONSE_DIR")
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start fence_watcher");
        let mut d = Daemon { child, log };
        d.wait_heartbeat(spool);
        d
    }

    fn wait_heartbeat(&mut self, spool: &Spool) {
        let pid = self.child.id();
        let hb = spool.heartbeat();
        let ready = wait_for(Duration::from_secs(30), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "fence_watcher exited at start ({status}):\n{}",
                    self.log_text()
                );
            }
            let bytes = std::fs::read(&hb).ok()?;
            Heartbeat::from_json(&bytes).filter(|h| h.pid == pid)
        });
        assert!(
            ready.is_some(),
            "fence_watcher wrote no heartbeat of its own in 30 s:\n{}",
            self.log_text()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the daemon logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
