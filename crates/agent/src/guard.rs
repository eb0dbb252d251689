//! The guardian: a small process that records Pacemaker's SIGKILL.
//!
//! Pacemaker 2.1 ends a fence agent that overruns its timeout with SIGKILL to the agent's whole
//! process group (`child_kill_helper` in lib/common/mainloop.c), which no handler can catch. So
//! just before publishing, the agent starts itself again as a guardian in a process group of its
//! own, holding the read end of a pipe. When the agent finishes on its own terms it writes one
//! byte and the guardian exits silently; when the pipe reaches end-of-file without that byte, the
//! agent was killed: the guardian withdraws the request (cancel protocol) and logs `cancelled`.
//! The guardian never writes to stdout or stderr, so Pacemaker never waits for it.
//!
//! The guardian also holds a duplicate of the agent's inotify fd (as its stdout: std offers no
//! other safe way to pass an fd to a child). The agent closes its own copy before releasing the
//! guardian, so the last close, in which the kernel tears the inotify instance down (8-24 ms of
//! `synchronize_srcu` measured here), happens in the guardian, off Pacemaker's clock.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};

use gfs2_fence_protocol::{NodeName, Request, RequestId, SpoolDir, SpoolName, MAX_SPOOL_FILE};

use crate::events::{Event, EventLog, Status};
use crate::exit::Exit;
use crate::settings::Settings;

/// The first argument that makes the binary a guardian. Not an option: never in the table.
pub const GUARD_ARG: &str = "--internal-guardian";
const DONE: u8 = b'D';

/// The agent's end of the guardian's pipe.
#[derive(Debug)]
pub struct Guard {
    pipe: ChildStdin,
}

impl Guard {
    pub fn spawn(
        s: &Settings,
        name: &SpoolName,
        request: &Request,
        inotify: Option<BorrowedFd<'_>>,
    ) -> std::io::Result<Guard> {
        let keep = match inotify {
            Some(fd) => Stdio::from(fd.try_clone_to_owned()?),
            None => Stdio::null(),
        };
        let mut child = Command::new(std::env::current_exe()?)
            .arg(GUARD_ARG)
            .arg(&s.request_dir)
            .arg(&s.log_dir)
            .arg(name.as_str())
            .arg(request.action.as_str())
            .arg(request.request_id.as_str())
            .arg(request.target_node.as_str())
            .stdin(Stdio::piped())
            .stdout(keep)
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pipe = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("guardian has no stdin"))?;
        // Not waited for: it outlives us by design, and init reaps it.
        drop(child);
        Ok(Guard { pipe })
    }

    /// Tells the guardian that the agent ended on its own terms.
    pub fn release(mut self) {
        let _ = self.pipe.write_all(&[DONE]);
    }
}

/// The guardian's main: waits for the agent's byte or its death.
pub fn run(args: &[OsString]) -> Exit {
    let [request_dir, log_dir, name, action, id, target] = args else {
        return Exit::Failure;
    };
    let mut buf = [0u8; 1];
    // Blocks until the agent writes its byte or dies (end-of-file).
    if matches!(std::io::stdin().read(&mut buf), Ok(1) if buf[0] == DONE) {
        return Exit::Success;
    }
    let Ok(name) = SpoolName::from_bytes(name.as_encoded_bytes()) else {
        return Exit::Failure;
    };
    // Known from our own arguments, so the record names the node even when a responder already
    // took the request and it cannot be read back.
    let id = RequestId::parse(&id.to_string_lossy()).ok();
    let target = NodeName::parse(&target.to_string_lossy()).ok();
    let mut log = EventLog::new(PathBuf::from(log_dir));
    let (request, details) = match SpoolDir::open(request_dir) {
        Ok(dir) => withdraw(&dir, &name),
        Err(e) => (None, format!("could not withdraw request {name}: {e}")),
    };
    log.record(&Event {
        status: Status::Cancelled,
        action: &action.to_string_lossy(),
        target: request.as_ref().map(|r| &r.target_node).or(target.as_ref()),
        request_id: request.as_ref().map(|r| &r.request_id).or(id.as_ref()),
        discovery: request.as_ref().and_then(|r| r.gfs2_discovery.as_ref()),
        recorder: &gfs2_fence_protocol::hostname(),
        details: &format!("the agent was killed before it finished (Pacemaker's fencing timeout sends SIGKILL); {details}"),
        duration: request
            .as_ref()
            .and_then(|r| r.timestamp)
            .map(|t| t.age())
            .unwrap_or_default(),
        by: None,
        archived: None,
    });
    Exit::Failure
}

fn withdraw(dir: &SpoolDir, name: &SpoolName) -> (Option<Request>, String) {
    let request = dir
        .read(name.as_str(), MAX_SPOOL_FILE)
        .ok()
        .and_then(|b| Request::from_json(&b).ok());
    match &request {
        Some(r) if !r.cancelled => {
            let text = crate::cancel::withdraw_text(dir, name, r);
            (request, text)
        }
        Some(_) => (
            request,
            format!("request {name} is already marked cancelled"),
        ),
        None => (
            None,
            format!("request {name} was already taken by a responder and may still be carried out"),
        ),
    }
}
