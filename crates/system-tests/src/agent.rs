//! The real `fence_gfs2_recorder`, run the way Pacemaker runs it (options on stdin) or the way
//! a person does (argv), with the test's spool and nothing inherited from the environment.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{bins, procs, Spool};

/// Environment variables the agent reads besides the directory variables of the protocol's
/// table (`gfs2_fence_protocol::env`); all are removed so the test's own options are the only ones.
const AGENT_ENV: [&str; 6] = [
    "FENCE_TIMEOUT",
    "GFS2_DISCOVERY_ENABLED",
    "ALLOW_SIMULATE",
    "REQUIRE_HEARTBEAT",
    "HEARTBEAT_MAX_AGE",
    "BACKEND_HEALTH",
];

/// Every variable [`AGENT_ENV`] and the directory table name.
fn agent_env() -> impl Iterator<Item = &'static str> {
    use gfs2_fence_protocol::env::{LOG_DIR, REQUEST_DIR, RESPONSE_DIR};
    let dirs = [REQUEST_DIR, RESPONSE_DIR, LOG_DIR];
    dirs.into_iter()
        .flat_map(|d| d.names.iter().copied())
        .chain(AGENT_ENV)
}

/// One agent invocation being prepared: stdin `key=value` options.
pub struct Agent {
    opts: Vec<(String, String)>,
    argv: Option<Vec<String>>,
    out_dir: PathBuf,
}

/// How an agent run ended.
#[derive(Debug)]
pub struct AgentRun {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A started agent; killed on drop.
pub struct AgentProc {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Agent {
    /// `action` on `node` with the spool's directories, `fence_timeout`, no GFS2 discovery, no
    /// heartbeat requirement, and simulated successes accepted (most system tests run the
    /// daemon with `--simulate`); tests of those set them explicitly. A test of what a real
    /// device sees (simulation refused, as the agent's default) removes it:
    /// `.without("allow_simulate")`.
    pub fn new(spool: &Spool, action: &str, node: &str, fence_timeout: u64) -> Agent {
        let mut a = Agent {
            opts: Vec::new(),
            argv: None,
            out_dir: spool.root().to_path_buf(),
        };
        a = a
            .opt("action", action)
            .opt("nodename", node)
            .opt("port", node);
        a = a.opt("request_dir", &spool.requests.to_string_lossy());
        a = a.opt("response_dir", &spool.responses.to_string_lossy());
        a = a.opt("log_dir", &spool.logs.to_string_lossy());
        a.opt("fence_timeout", &fence_timeout.to_string())
            .opt("gfs2_discovery", "false")
            .opt("require_heartbeat", "false")
            .opt("allow_simulate", "true")
    }

    /// A device-level action (`monitor`, `list`, `validate-all`): no node options.
    pub fn device(spool: &Spool, action: &str) -> Agent {
        Agent::new(spool, action, "unused", 10)
            .without("nodename")
            .without("port")
    }

    /// Removes one stdin option.
    pub fn without(mut self, key: &str) -> Agent {
        self.opts.retain(|(k, _)| k != key);
        self
    }

    /// Runs with these command-line arguments instead of stdin options.
    pub fn argv(spool: &Spool, args: &[&str]) -> Agent {
        Agent {
            opts: Vec::new(),
            argv: Some(args.iter().map(|s| (*s).to_owned()).collect()),
            out_dir: spool.root().to_path_buf(),
        }
    }

    /// Adds (or replaces) one stdin option.
    pub fn opt(mut self, key: &str, value: &str) -> Agent {
        self.opts.retain(|(k, _)| k != key);
        self.opts.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts the agent without waiting for it.
    pub fn spawn(&self) -> AgentProc {
        let id = unique();
        let out = self.out_dir.join(format!("agent.{id}.out"));
        let err = self.out_dir.join(format!("agent.{id}.err"));
        let mut cmd = Command::new(bins::agent());
        for var in agent_env() {
            cmd.env_remove(var);
        }
        if let Some(args) = &self.argv {
            cmd.args(args);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(File::create(&out).expect("create agent stdout file"))
            .stderr(File::create(&err).expect("create agent stderr file"))
            .spawn()
            .expect("start fence_gfs2_recorder");
        let text: String = self
            .opts
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        if let Some(mut stdin) = child.stdin.take() {
            // An agent that exits before reading stdin is reported by its exit code.
            let _ = stdin.write_all(text.as_bytes());
        }
        AgentProc { child, out, err }
    }

    /// Runs the agent to completion (bound: 10 minutes, far above any test's need).
    pub fn run(&self) -> AgentRun {
        self.spawn().wait()
    }
}

impl AgentRun {
    /// Asserts the exit code, showing the agent's output when it differs.
    pub fn assert_code(&self, code: i32, what: &str) {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: fence_gfs2_recorder exited {:?}\nstdout: {}\nstderr: {}",
            self.code,
            self.stdout,
            self.stderr
        );
    }
}

impl AgentProc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited (without reaping the result away: `wait` still reports it).
    pub fn finished(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits for the exit (bound: 10 minutes, then it is killed and the test fails).
    pub fn wait(mut self) -> AgentRun {
        let done = procs::wait_child(&mut self.child, Duration::from_secs(600));
        assert!(done, "fence_gfs2_recorder did not exit within 10 minutes");
        let status = self.child.wait().expect("reap the agent");
        AgentRun {
            code: status.code(),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
        }
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process-unique number for output file names.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Waits until every agent in `procs` exited; returns their results in order.
pub fn wait_all(procs: Vec<AgentProc>) -> Vec<AgentRun> {
    procs.into_iter().map(AgentProc::wait).collect()
}
