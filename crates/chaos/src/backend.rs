//! `gfs2-chaos backend`: the `command` backend of the campaign's daemon. It records its start
//! and its end in the run log, each as one `write(2)` of a JSON line on an `O_APPEND` fd,
//! fdatasync'd before it goes on, and takes a random short time in between.
//!
//! The run log is the ground truth of the oracle: a response claims a fence; the run log says
//! whether one ran, when, for which request and under which responder (the parent PID).
//!
//! A run the daemon stops (its deadline passed: SIGTERM to its process group, SIGKILL after a
//! grace) records its end too, with [`TERMINATED`] as its code, before it exits. Without that
//! line the oracle would take a run the daemon ended on time for one still going, and report
//! the next run of the node as overlapping it (seen in CI: `node-overlap` for an `on` killed at
//! its deadline and the `off` the daemon started, correctly, once it was reaped).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::history::{now_ns, RunLine};
use crate::rng::Rng;

/// Nodes of the backlog fault: their runs take 0-5 ms, so a burst of a thousand measures the
/// daemon's queue, not the backend.
pub const BACKLOG_PREFIX: &str = "backlog-";

/// The exit code (and the recorded code) of a run ended by SIGTERM: 128 + 15, as a shell says.
pub const TERMINATED: i32 = 143;

/// How often a run looks whether it was asked to stop.
const TICK: Duration = Duration::from_millis(2);

/// What one backend run does, from its command line (`gfs2-chaos backend`).
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    #[arg(long)]
    pub run_log: std::path::PathBuf,
    #[arg(long)]
    pub min_ms: u64,
    #[arg(long)]
    pub max_ms: u64,
    /// Runs that report failure, per thousand.
    #[arg(long)]
    pub fail_permille: u64,
    pub node: String,
    pub action: String,
    pub request_id: String,
}

/// Runs the backend; returns its exit code (0: the action was "confirmed").
pub fn run(args: &BackendArgs) -> std::io::Result<i32> {
    // Registered before the start line, so a SIGTERM that follows it is never the default
    // (silent) death.
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
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
    let until = Instant::now() + Duration::from_millis(rng.range(lo, hi));
    let mut code = i32::from(rng.chance(args.fail_permille));
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if stop.load(Ordering::SeqCst) {
            code = TERMINATED;
            break;
        }
        std::thread::sleep(left.min(TICK));
    }
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
