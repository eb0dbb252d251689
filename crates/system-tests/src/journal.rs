//! A real systemd-journald, for the tests of the daemon's native journal logging. The host's
//! journald is used when one listens on its socket; otherwise `/lib/systemd/systemd-journald`
//! is started (it needs no systemd as PID 1) and stopped by PID when the guard drops, which
//! also removes the directories it created (its sockets, its volatile journal in /run).
//! Entries are read back with the real `journalctl -o json`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{peers, procs, wait_for};

/// The socket of journald's native protocol (where `tracing-journald` writes).
pub const SOCKET: &str = "/run/systemd/journal/socket";
const JOURNALD: &str = "/lib/systemd/systemd-journald";

/// What journald creates and a test that started it removes again.
const CREATED: [&str; 2] = ["/run/systemd/journal", "/run/log/journal"];

/// A journald to log to; the one this guard started, if any, stops on drop.
pub struct Journal {
    started: Option<Child>,
    /// Those of [`CREATED`] that did not exist before.
    created: Vec<&'static str>,
}

/// Whether a journald listens on [`SOCKET`] (a socket file left by a stopped one refuses).
fn listening() -> bool {
    std::os::unix::net::UnixDatagram::unbound().is_ok_and(|s| s.connect(SOCKET).is_ok())
}

/// Whether journald can be used here, for [`peers::require`].
pub fn available() -> Vec<(bool, String)> {
    vec![
        (
            listening() || Path::new(JOURNALD).exists(),
            format!("no journald runs ({SOCKET} is missing) and {JOURNALD} is not installed"),
        ),
        peers::installed("/usr/bin/journalctl"),
    ]
}

impl Journal {
    /// The host's journald, or one started for the test.
    pub fn start() -> Journal {
        if listening() {
            return Journal {
                started: None,
                created: Vec::new(),
            };
        }
        let created = CREATED
            .into_iter()
            .filter(|d| !Path::new(d).exists())
            .collect();
        let child = Command::new(JOURNALD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start systemd-journald");
        // The guard first, so a journald that never listens is stopped too.
        let journal = Journal {
            started: Some(child),
            created,
        };
        let up = wait_for(Duration::from_secs(30), || listening().then_some(()));
        assert!(
            up.is_some(),
            "systemd-journald listened on no {SOCKET} in 30 s"
        );
        journal
    }

    /// The entries matching every `FIELD=value` of `matches` (and `-p PRIORITY` if given), as
    /// `journalctl -o json` prints them.
    pub fn entries(&self, priority: Option<&str>, matches: &[String]) -> Vec<Value> {
        let mut cmd = Command::new("/usr/bin/journalctl");
        cmd.args(["--no-pager", "-o", "json"]);
        if let Some(p) = priority {
            cmd.args(["-p", p]);
        }
        let out = cmd.args(matches).output().expect("run journalctl");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until at least `n` entries match; returns them.
    pub fn wait_entries(&self, priority: Option<&str>, matches: &[String], n: usize) -> Vec<Value> {
        let found = wait_for(Duration::from_secs(30), || {
            let e = self.entries(priority, matches);
            (e.len() >= n).then_some(e)
        });
        found.unwrap_or_else(|| {
            panic!(
                "fewer than {n} journal entries match {matches:?} in 30 s: {:?}",
                self.entries(priority, matches)
            )
        })
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some(child) = self.started.as_mut() {
            procs::stop_child(child, Duration::from_secs(5));
            for dir in &self.created {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}
