//! Runs one external command of a discovery source under a deadline: own process group, no
//! stdin, stdout captured up to a cap, the whole group killed with SIGKILL when time runs out.
//!
//! A worker thread drains the pipes and reaps the child; the caller waits on a channel with
//! `recv_timeout`, so nothing polls and a hung command costs exactly its slice.

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Instant;

use rustix::process::{kill_process_group, Pid, Signal};

/// Largest stdout a source may print; beyond that it is garbage, not a cluster state.
pub const MAX_OUTPUT: usize = 4 << 20;
/// How much of stderr is kept for the error message.
const STDERR_KEPT: usize = 300;

/// Why a command gave no usable output. Messages name the program.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} could not start: {1}")]
    Spawn(String, io::Error),
    #[error("{0} timed out after {1} ms")]
    Timeout(String, u128),
    #[error("{0} printed more than {MAX_OUTPUT} bytes")]
    TooLarge(String),
    #[error("{0} exited with {1}{2}")]
    Failed(String, ExitStatus, String),
    #[error("{0} output could not be read: {1}")]
    Read(String, io::Error),
}

/// The program as named in messages: its file name, e.g. `crm_mon`.
pub fn program_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Runs `program args...` with `env` added, until `deadline`; returns stdout on exit status 0.
pub fn run(
    program: &Path,
    args: &[&str],
    env: &[(&str, PathBuf)],
    deadline: Instant,
) -> Result<Vec<u8>, RunError> {
    let name = program_name(program);
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => RunError::NotFound(name.clone()),
        _ => RunError::Spawn(name.clone(), e),
    })?;
    let pid = child.id();
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (tx, rx) = mpsc::channel();
    let worker_name = name.clone();
    // Set once the child is reaped: its pid (and so its group id) may then be reused.
    let reaped = Arc::new(AtomicBool::new(false));
    let worker_reaped = Arc::clone(&reaped);
    thread::spawn(move || {
        let err_reader = stderr.map(|s| thread::spawn(move || read_tail(s)));
        let out = stdout.map(read_capped).transpose();
        let status = child.wait();
        worker_reaped.store(true, Ordering::SeqCst);
        let err_tail = err_reader.and_then(|h| h.join().ok()).unwrap_or_default();
        let result = match (out, status) {
            (Err(e), _) | (_, Err(e)) => Err(RunError::Read(worker_name, e)),
            (Ok(out), Ok(status)) => finish(worker_name, out.unwrap_or_default(), status, err_tail),
        };
        // The receiver may have given up (timeout): nobody to tell then.
        let _ = tx.send(result);
    });
    let wait = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(wait) {
        Ok(result) => result,
        Err(_) => {
            if !reaped.load(Ordering::SeqCst) {
                kill_group(pid);
            }
            Err(RunError::Timeout(name, wait.as_millis()))
        }
    }
}

/// SIGKILL to the child's whole group, so a shell's children die too.
fn kill_group(pid: u32) {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    // ESRCH (already gone) is fine: the worker reaps whatever is left.
    let _ = kill_process_group(pid, Signal::KILL);
}

fn finish(
    name: String,
    out: Captured,
    status: ExitStatus,
    err_tail: String,
) -> Result<Vec<u8>, RunError> {
    if out.overflow {
        return Err(RunError::TooLarge(name));
    }
    if !status.success() {
        let detail = if err_tail.is_empty() {
            String::new()
        } else {
            format!(": {err_tail}")
        };
        return Err(RunError::Failed(name, status, detail));
    }
    Ok(out.bytes)
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    overflow: bool,
}

/// Reads at most `MAX_OUTPUT` bytes, then drains the rest so the child never blocks on a full pipe.
fn read_capped(mut r: impl Read) -> io::Result<Captured> {
    let mut bytes = Vec::new();
    (&mut r)
        .take(MAX_OUTPUT as u64 + 1)
        .read_to_end(&mut bytes)?;
    let overflow = bytes.len() > MAX_OUTPUT;
    if overflow {
        bytes.truncate(MAX_OUTPUT);
        io::copy(&mut r, &mut io::sink())?;
    }
    Ok(Captured { bytes, overflow })
}

/// The last non-empty line of stderr (where tools put their conclusion), printable and clipped,
/// for one error message.
fn read_tail(mut r: impl Read) -> String {
    let mut all = Vec::new();
    let _ = (&mut r).take(64 << 10).read_to_end(&mut all);
    let _ = io::copy(&mut r, &mut io::sink());
    let text = String::from_utf8_lossy(&all);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim()
        .chars()
        .take(STDERR_KEPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn soon(secs: u64) -> Instant {
        Instant::now() + Duration::from_secs(secs)
    }

    #[test]
    fn output_of_a_successful_command() {
        let out = run(Path::new("/bin/sh"), &["-c", "printf 'a b'"], &[], soon(10)).unwrap();
        assert_eq!(out, b"a b");
    }

    #[test]
    fn environment_is_passed() {
        let env = [("CIB_file", PathBuf::from("/x/cib.xml"))];
        let out = run(
            Path::new("/bin/sh"),
            &["-c", "printf %s \"$CIB_file\""],
            &env,
            soon(10),
        );
        assert_eq!(out.unwrap(), b"/x/cib.xml");
    }

    #[test]
    fn failure_keeps_status_and_stderr() {
        let err = run(
            Path::new("/bin/sh"),
            &["-c", "echo boom >&2; exit 3"],
            &[],
            soon(10),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "sh exited with exit status: 3: boom");
    }

    #[test]
    fn missing_program_is_not_found() {
        let err = run(Path::new("/nonexistent/dlm_tool"), &[], &[], soon(10)).unwrap_err();
        assert_eq!(err.to_string(), "dlm_tool not found");
    }

    #[test]
    fn oversize_output_is_refused() {
        let err = run(
            Path::new("/bin/sh"),
            &["-c", "head -c 5000000 /dev/zero"],
            &[],
            soon(30),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::TooLarge(_)), "{err}");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let deadline = Instant::now() + Duration::from_millis(500);
        let err = run(Path::new("/bin/sh"), &["-c", &script], &[], deadline).unwrap_err();
        assert!(matches!(err, RunError::Timeout(..)), "{err}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild got SIGKILL with its group; give the kernel a moment to reap it.
        let gone = (0..100).any(|_| {
            thread::sleep(Duration::from_millis(20));
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.is_empty() || stat.contains(") Z ")
        });
        assert!(gone, "grandchild {pid} still running after the group kill");
    }
}
