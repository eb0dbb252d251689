//! The one way backends run a child process: clean environment, own process group, stdin fed
//! then closed, output captured within a cap, and the whole group killed on timeout.
//!
//! Fence agents fork helpers (fence_ipmilan runs ipmitool; a script runs `sleep`), so killing the
//! direct child is not enough: every child gets its own process group and a timeout sends SIGTERM
//! to the group, waits a short grace, then SIGKILLs the group and reaps the child. When the child
//! exits on its own, whatever it left in its group is SIGKILLed too: nothing outlives a run. The group is
//! signalled before its leader is reaped, so the group id cannot have been reused. Output is drained to
//! the end (a child blocked on a full pipe would hang) but only the last [`OUTPUT_CAP`] bytes of
//! each stream are kept: the last lines are the ones that say what happened.
//!
//! A run inside [`background`] (the health probes) starts its child at the lowest CPU priority
//! ([`BACKGROUND_NICE`]), so that on a busy host the processes of a fence get the CPU first.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{kill_process_group, Pid, Signal};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};

/// Bytes of each of stdout and stderr kept (the tail).
pub const OUTPUT_CAP: usize = 16 * 1024;
/// The environment every child starts from; nothing of the daemon's own environment leaks in.
pub const BASE_ENV: [(&str, &str); 3] = [
    ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    ("LANG", "C.UTF-8"),
    // fence_ipmilan prints a DeprecationWarning for the `pipes` module on every run.
    ("PYTHONWARNINGS", "ignore"),
];
/// The nice value of a child started inside [`background`].
pub const BACKGROUND_NICE: i32 = 19;

tokio::task_local! {
    /// Set while a [`background`] future runs.
    static BACKGROUND: ();
}

/// Runs `work` with every child that [`run`] starts for it at nice [`BACKGROUND_NICE`]. The
/// child is reniced right after the spawn, before it can have started a helper of its own
/// (an agent is an interpreter that takes milliseconds to start), and its helpers inherit it.
pub async fn background<F: std::future::Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

/// Time between SIGTERM and SIGKILL of a timed-out group.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// Time given to the output pipes to reach end of file once the child is gone.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    /// Added to [`BASE_ENV`] (and overriding it).
    pub env: &'a [(String, String)],
    /// Written to the child's stdin, which is then closed; `None` gives `/dev/null`.
    pub stdin: Option<&'a [u8]>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Finish {
    Exited(ExitStatus),
    TimedOut,
    SpawnFailed(io::Error),
    WaitFailed(io::Error),
}

/// The result of one run.
#[derive(Debug)]
pub struct Run {
    pub finish: Finish,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    /// The exit code, if the child exited normally.
    pub fn code(&self) -> Option<i32> {
        match &self.finish {
            Finish::Exited(status) => status.code(),
            _ => None,
        }
    }

    /// `exit 1`, `killed by signal 9`, `timed out after 5 s`, `cannot run /x: ...`.
    pub fn describe(&self, program: &Path, limit: Duration) -> String {
        use std::os::unix::process::ExitStatusExt;
        match &self.finish {
            Finish::Exited(st) => match (st.code(), st.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                (None, None) => "ended abnormally".to_owned(),
            },
            Finish::TimedOut => format!("timed out after {} s", limit.as_secs_f64()),
            Finish::SpawnFailed(e) => format!("cannot run {}: {e}", program.display()),
            Finish::WaitFailed(e) => format!("lost track of {}: {e}", program.display()),
        }
    }
}

/// Runs `spec` until it exits or `deadline` passes (then its process group is killed).
pub async fn run(spec: Spec<'_>, deadline: Instant) -> Run {
    let mut cmd = Command::new(spec.program);
    cmd.args(spec.args)
        .env_clear()
        .envs(BASE_ENV)
        .envs(
            spec.env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match spawn(&mut cmd).await {
        Ok(child) => child,
        Err(e) => {
            return Run {
                finish: Finish::SpawnFailed(e),
                stdout: vec![],
                stderr: vec![],
            }
        }
    };
    let group = child.id().and_then(|id| Pid::from_raw(id as i32));
    if let (Some(pid), Ok(())) = (group, BACKGROUND.try_with(|()| ())) {
        // Never `None` here: that would renice the daemon itself. Best effort: a child that
        // cannot be reniced still runs, at the daemon's priority.
        let _ = rustix::process::setpriority_process(Some(pid), BACKGROUND_NICE);
    }
    // If this future is dropped (daemon shutdown), kill the whole group, not just the child.
    let mut guard = GroupGuard(group);
    if let (Some(mut pipe), Some(data)) = (child.stdin.take(), spec.stdin) {
        let data = data.to_vec();
        // A child that exits without reading its stdin gives EPIPE: not an error of ours.
        tokio::spawn(async move {
            let _ = pipe.write_all(&data).await;
        });
    }
    let mut out = Capture::start(child.stdout.take());
    let mut err = Capture::start(child.stderr.take());
    let finish = match timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) => {
            // What the child left running in its group (a hook's `cmd &` with its output
            // redirected) must not outlive it. Pids are allocated cyclically, so the group id
            // of a leader reaped a moment ago is not reused before this signal arrives.
            signal_group(group, Signal::KILL);
            Finish::Exited(status)
        }
        Ok(Err(e)) => Finish::WaitFailed(e),
        Err(_) => {
            stop_group(&mut child, group).await;
            Finish::TimedOut
        }
    };
    guard.0 = None;
    // A grandchild that outlived the child may still hold the pipes open. While it lives, it
    // keeps the group id in use, so signalling the group after the reap is still safe.
    let out_done = out.finish(DRAIN_GRACE).await;
    let err_done = err.finish(DRAIN_GRACE).await;
    if !(out_done && err_done) {
        signal_group(group, Signal::KILL);
    }
    Run {
        finish,
        stdout: out.take(),
        stderr: err.take(),
    }
}

/// Spawns `cmd`, retrying a few times on ETXTBSY: the program file is still open for writing
/// somewhere (a package upgrade replacing an agent, or a fork of another thread that has not
/// reached exec yet while holding the writer's descriptor).
async fn spawn(cmd: &mut Command) -> io::Result<tokio::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e)
                if e.raw_os_error() == Some(rustix::io::Errno::TXTBSY.raw_os_error())
                    && tries < 5 =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// SIGTERM to the group, a grace period, SIGKILL to the group, then reap the child.
async fn stop_group(child: &mut tokio::process::Child, group: Option<Pid>) {
    signal_group(group, Signal::TERM);
    if let Some(g) = group {
        let _ = timeout(TERM_GRACE, leader_exited(g)).await;
    }
    signal_group(group, Signal::KILL);
    if timeout(TERM_GRACE, child.wait()).await.is_err() {
        // Unkillable (D state): kill_on_drop and tokio's orphan reaper take over.
        tracing::warn!(?group, "child did not exit after SIGKILL");
    }
}

/// Returns once the group leader has exited; it stays a zombie (not reaped) so the group id
/// cannot be reused before the SIGKILL that follows.
async fn leader_exited(group: Pid) {
    let path = format!("/proc/{}/stat", group.as_raw_nonzero());
    loop {
        // Format: "pid (comm) S ..."; comm may hold spaces and ')', so split at the last ')'.
        let state = std::fs::read_to_string(&path).ok().and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
        });
        if matches!(state, None | Some('Z')) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn signal_group(group: Option<Pid>, sig: Signal) {
    if let Some(g) = group {
        // ESRCH: nothing left to signal.
        let _ = kill_process_group(g, sig);
    }
}

/// Kills the group when a run is abandoned before its child was reaped.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0, Signal::KILL);
    }
}

/// The kept tail of one output stream, filled by a task that drains the pipe to its end.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    task: Option<JoinHandle<()>>,
}

impl Capture {
    fn start<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>) -> Capture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let task = pipe.map(|mut pipe| {
            let buf = Arc::clone(&buf);
            tokio::spawn(async move {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
                    let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
                    b.extend_from_slice(&chunk[..n]);
                    if b.len() > 2 * OUTPUT_CAP {
                        let cut = b.len() - OUTPUT_CAP;
                        b.drain(..cut);
                    }
                }
            })
        });
        Capture { buf, task }
    }

    /// Waits up to `grace` for end of file; false if the pipe is still open (task aborted).
    async fn finish(&mut self, grace: Duration) -> bool {
        let Some(task) = self.task.as_mut() else {
            return true;
        };
        if timeout(grace, &mut *task).await.is_ok() {
            return true;
        }
        task.abort();
        false
    }

    fn take(self) -> Vec<u8> {
        let mut b = std::mem::take(&mut *self.buf.lock().unwrap_or_else(|p| p.into_inner()));
        if b.len() > OUTPUT_CAP {
            b.drain(..b.len() - OUTPUT_CAP);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The child's niceness, read once its stdin arrived: the stdin is written after the
    /// renice, so the read cannot come before it.
    async fn niceness() -> String {
        let args = ["-c".to_owned(), "read x; nice".to_owned()];
        let spec = Spec {
            program: Path::new("/bin/sh"),
            args: &args,
            env: &[],
            stdin: Some(b"go\n"),
        };
        let run = run(spec, Instant::now() + Duration::from_secs(30)).await;
        String::from_utf8_lossy(&run.stdout).trim().to_owned()
    }

    #[tokio::test]
    async fn a_child_started_in_the_background_runs_at_the_lowest_priority_and_others_do_not() {
        let own = rustix::process::getpriority_process(None).expect("own priority");
        assert_eq!(niceness().await, own.to_string());
        assert_eq!(background(niceness()).await, BACKGROUND_NICE.to_string());
        assert_eq!(
            rustix::process::getpriority_process(None).expect("own priority"),
            own,
            "the daemon itself keeps its priority"
        );
        assert_eq!(niceness().await, own.to_string(), "only inside background");
    }
}
