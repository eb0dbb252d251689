//! Agents run as Pacemaker runs them: a process group of their own, options on stdin, a clean
//! environment, and SIGKILL to the whole group when they outlive their timeout.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::error::{ChaosError, Result};
use crate::history::{now_ns, AgentRecord};
use crate::oracle::OVERRUN_SLACK_S;
use crate::procs;
use crate::world::World;

/// Where libfaketime may be installed (`apt-get install -y faketime`).
pub const LIBFAKETIME: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
];

/// The installed libfaketime, if any.
pub fn libfaketime() -> Option<&'static str> {
    LIBFAKETIME
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// What one exchange asks for.
#[derive(Debug, Clone)]
pub struct Ask {
    pub idx: usize,
    pub node: String,
    pub action: String,
    pub fence_timeout_s: u64,
    pub skew_s: Option<i64>,
}

/// An agent in flight.
pub struct Running {
    pub rec: AgentRecord,
    child: Child,
    started: Instant,
    stopped_since: Option<Instant>,
}

impl Running {
    /// Starts the agent for `ask`.
    pub fn spawn(w: &World, ask: &Ask) -> Result<Running> {
        let (out, _) = w.out_file(&format!("agent.{}.out", ask.idx))?;
        let (err, err_path) = w.out_file(&format!("agent.{}.err", ask.idx))?;
        let mut cmd = Command::new(&w.bins.agent);
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err);
        if let (Some(skew), Some(lib)) = (ask.skew_s, libfaketime()) {
            // Only the wall clock: the agent's own timeout runs on the monotonic clock.
            cmd.env("LD_PRELOAD", lib)
                .env("FAKETIME", format!("{skew:+}s"))
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        w.ids.apply(&mut cmd);
        let start_ns = now_ns();
        let mut child = cmd
            .spawn()
            .map_err(ChaosError::io("start fence_gfs2_recorder"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // An agent that exits before reading its options is reported by its exit code.
            let _ = stdin.write_all(options(w, ask).as_bytes());
        }
        Ok(Running {
            rec: AgentRecord {
                idx: ask.idx,
                pid: child.id(),
                node: ask.node.clone(),
                action: ask.action.clone(),
                fence_timeout_s: ask.fence_timeout_s,
                skew_s: ask.skew_s,
                start_ns,
                end_ns: 0,
                exit: None,
                killed: false,
                overran: false,
                stopped_ms: 0,
                request: None,
                publish_failed: false,
                stderr: err_path.display().to_string(),
            },
            child,
            started: Instant::now(),
            stopped_since: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.rec.pid
    }

    /// `kill -9` of its process group, as Pacemaker ends an agent (its guardian, in a group of
    /// its own, survives to withdraw the request).
    pub fn kill(&mut self) {
        self.rec.killed = true;
        procs::signal_group(self.rec.pid, Signal::KILL);
    }

    /// SIGSTOP; returns false if it is already stopped.
    pub fn stop(&mut self) -> bool {
        if self.stopped_since.is_some() {
            return false;
        }
        procs::signal(self.rec.pid, Signal::STOP);
        self.stopped_since = Some(Instant::now());
        true
    }

    /// SIGCONT after [`Running::stop`].
    pub fn cont(&mut self) {
        procs::signal(self.rec.pid, Signal::CONT);
        if let Some(since) = self.stopped_since.take() {
            let ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.rec.stopped_ms = self.rec.stopped_ms.saturating_add(ms);
        }
    }

    /// Reaps it if it ended: the finished record. Kills it when it outlived its timeout.
    pub fn poll(&mut self) -> Option<AgentRecord> {
        if let Some(status) = procs::exited(&mut self.child) {
            return Some(self.finish(status));
        }
        let bound = Duration::from_secs(self.rec.fence_timeout_s + OVERRUN_SLACK_S)
            + Duration::from_millis(self.rec.stopped_ms);
        if self.stopped_since.is_none() && self.started.elapsed() > bound && !self.rec.overran {
            self.rec.overran = true;
            self.kill();
        }
        None
    }

    fn finish(&mut self, status: std::process::ExitStatus) -> AgentRecord {
        let mut rec = self.rec.clone();
        rec.end_ns = now_ns();
        rec.exit = status.code();
        let err = std::fs::read_to_string(&rec.stderr).unwrap_or_default();
        rec.request = request_name(&err);
        rec.publish_failed = err.contains(PUBLISH_FAILED);
        rec
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if procs::exited(&mut self.child).is_none() {
            procs::signal_group(self.rec.pid, Signal::CONT);
            procs::signal_group(self.rec.pid, Signal::KILL);
            let _ = self.child.wait();
        }
    }
}

/// The stdin options Pacemaker would pass, plus `verbose` so the agent names its request.
fn options(w: &World, ask: &Ask) -> String {
    let p = &w.paths;
    let opts = [
        ("action", ask.action.clone()),
        ("plug", ask.node.clone()),
        ("nodename", ask.node.clone()),
        ("request_dir", p.requests.display().to_string()),
        ("response_dir", p.responses.display().to_string()),
        ("log_dir", p.logs.display().to_string()),
        ("fence_timeout", ask.fence_timeout_s.to_string()),
        ("gfs2_discovery", "false".to_owned()),
        ("require_heartbeat", "false".to_owned()),
        ("verbose", "1".to_owned()),
    ];
    opts.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// What the agent says when its request could not be written into REQUEST_DIR.
pub const PUBLISH_FAILED: &str = "cannot publish the request";

/// The request file the agent announced (`request X.json published in DIR`) on stderr.
pub fn request_name(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|l| {
        let rest = &l[l.find("request ")? + "request ".len()..];
        let name = rest.split_whitespace().next()?;
        (name.ends_with(".json") && rest.contains(" published in ")).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_name_is_read_from_the_agent_debug_line() {
        let err = "fence_gfs2_recorder: debug: gfs2 discovery: []\n\
                   fence_gfs2_recorder: debug: event requested: request 1234-abcd.json published in /s/requests\n";
        assert_eq!(request_name(err).as_deref(), Some("1234-abcd.json"));
        assert_eq!(request_name("debug: nothing published\n"), None);
    }
}
