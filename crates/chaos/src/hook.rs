//! `gfs2-chaos hook`: the daemon's `[after_fence]` command when the hostile-hook fault is
//! selected. Quiet (exit 0 at once) until the fault writes a [`Mode`]; then it prints a flood
//! on stdout, leaves a background child in its process group (as `cmd &` in a script does),
//! and may hang past the daemon's timeout for it.
//!
//! Each run appends one [`HookRun`] line to the hook log, saying whether the secret the
//! campaign put into the daemon's environment reached it. The background child is
//! `gfs2-chaos hook-child`: our own executable, so the oracle finds survivors by their command
//! line, and the world's cleanup kills them by PID like every other process of the campaign.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::history::now_ns;

/// The daemon's `timeout_secs` for the hook.
pub const TIMEOUT_SECS: u64 = 2;
/// How long a background child lives if nobody kills it: past any quiescent period.
pub const CHILD_SECS: u64 = 300;
/// The argument that marks a hook's background child in `/proc/PID/cmdline`.
pub const CHILD_ARG: &str = "hook-child";
/// The variable the campaign sets in the daemon's environment (as a unit's `Environment=`).
pub const SECRET_VAR: &str = "GFS2_CHAOS_SECRET";
pub const SECRET: &str = "chaos-secret-do-not-leak";

/// What the next hooks do; the default (an empty file) is quiet.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Mode {
    /// Bytes printed on stdout.
    #[serde(default)]
    pub bytes: u64,
    /// Leave a background child in the hook's process group.
    #[serde(default)]
    pub background: bool,
    /// Sleep this long before exiting (past [`TIMEOUT_SECS`] it is a hang).
    #[serde(default)]
    pub hang_ms: u64,
}

/// One hook run, as it logs itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HookRun {
    pub pid: u32,
    pub node: String,
    pub t_ns: u64,
    /// The daemon's secret was in the hook's environment.
    pub env_leak: bool,
    pub bytes: u64,
    pub background: bool,
    pub hang_ms: u64,
}

/// Runs one hook; the exit code is always 0 (a hook that fails teaches nothing here).
pub fn run(mode_file: &Path, log: &Path, node: &str) {
    let mode: Mode = std::fs::read(mode_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let line = HookRun {
        pid: std::process::id(),
        node: node.to_owned(),
        t_ns: now_ns(),
        env_leak: std::env::var_os(SECRET_VAR).is_some(),
        bytes: mode.bytes,
        background: mode.background,
        hang_ms: mode.hang_ms,
    };
    if let Ok(mut text) = serde_json::to_string(&line) {
        text.push('\n');
        let f = std::fs::OpenOptions::new().append(true).open(log);
        let _ = f.and_then(|mut f| f.write_all(text.as_bytes()));
    }
    if mode.background {
        // Inherits stdout: the daemon's pipe stays open as long as the child lives.
        if let Ok(me) = std::env::current_exe() {
            let _ = Command::new(me)
                .args([CHILD_ARG, "--secs", &CHILD_SECS.to_string()])
                .stdin(Stdio::null())
                .spawn();
        }
    }
    flood(mode.bytes);
    std::thread::sleep(Duration::from_millis(mode.hang_ms));
}

/// Writes `bytes` to stdout, stopping when the reader goes away.
fn flood(bytes: u64) {
    let chunk = [b'x'; 65536];
    let mut out = std::io::stdout().lock();
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        if out.write_all(&chunk[..n]).is_err() {
            return;
        }
        left -= n as u64;
    }
}

/// Whether `pid` is a hook's background child (by its command line).
pub fn is_child(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == CHILD_ARG.as_bytes()))
}

/// Reads the hook log back; a torn line is skipped.
pub fn runs_from_log(text: &str) -> Vec<HookRun> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
