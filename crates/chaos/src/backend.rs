//! `gfs2-chaos backend`: the `command` backend of the campaign's daemon. It records its start
//! and its end in the run log, each as one `write(2)` of a JSON line on an `O_APPEND` fd,
//! fdatasync'd before it goes on, and takes a random short time in between.
//!
//! The run log is the ground truth of the oracle: a response claims a fence; the run log says
//! whether one ran, when, for which request and under which responder (the parent PID).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::history::{now_ns, RunLine};
use crate::rng::Rng;

/// Nodes of the backlog fault: their runs take 0-5 ms, so a burst of a thousand measures the
/// daemon's queue, not the backend.
pub const BACKLOG_PREFIX: &str = "backlog-";

/// What one backend run does, from its command line.
#[derive(Debug, Clone)]
pub struct BackendArgs {
    pub run_log: std::path::PathBuf,
    pub min_ms: u64,
    pub max_ms: u64,
    /// Runs that report failure, per thousand.
    pub fail_permille: u64,
    pub node: String,
    pub action: String,
    pub request_id: String,
}

/// Runs the backend; returns its exit code (0: the action was "confirmed").
pub fn run(args: &BackendArgs) -> std::io::Result<i32> {
    let pid = std::process::id();
    let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get().unsigned_abs());
    let mut line = RunLine {
        ev: "start".to_owned(),
        pid,
        ppid,
        node: args.node.clone(),
        action: args.action.clone(),
        request_id: args.request_id.clone(),
        t_ns: now_ns(),
        code: None,
    };
    append(&args.run_log, &line)?;
    let mut rng = Rng::new(line.t_ns ^ u64::from(pid), 0x6261_636b);
    let (lo, hi) = if args.node.starts_with(BACKLOG_PREFIX) {
        (0, 5)
    } else {
        (args.min_ms, args.max_ms)
    };
    std::thread::sleep(Duration::from_millis(rng.range(lo, hi)));
    let code = i32::from(rng.chance(args.fail_permille));
    line.ev = "end".to_owned();
    line.t_ns = now_ns();
    line.code = Some(code);
    append(&args.run_log, &line)?;
    Ok(code)
}

fn append(path: &Path, line: &RunLine) -> std::io::Result<()> {
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_data()
}
