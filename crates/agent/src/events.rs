//! The three event logs of the seed, in `LOG_DIR`: `fence-events.log` (operational text),
//! `fence-events-readable.log` (one grep-friendly line per event) and
//! `fence-events-detailed.jsonl` (one JSON object per event).
//!
//! Each line is written with one `write(2)` on an `O_APPEND` fd, so lines of concurrent agents
//! never interleave. Every logged field is escaped (`text.rs`). A log that cannot be written is
//! reported on stderr once and never changes the fence outcome. The directory is created (0750)
//! only when a fencing action records its first event.
//!
//! Durability: every event but `requested` is the outcome the agent reports, so its lines are
//! `fdatasync`ed (and the directory fsynced when a log file was created) before the agent exits:
//! a power loss right after Pacemaker hears "success" must not lose the record.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use gfs2_fence_protocol::{Gfs2Discovery, NodeName, RequestId, Timestamp};
use rustix::fs::{Mode, OFlags};

use crate::metadata::AGENT;
use crate::text::{escape, token};

pub const OPERATIONAL_LOG: &str = "fence-events.log";
pub const READABLE_LOG: &str = "fence-events-readable.log";
pub const DETAILED_LOG: &str = "fence-events-detailed.jsonl";

/// What happened to a fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Requested,
    Completed,
    Failed,
    Timeout,
    Cancelled,
    Invalid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Cancelled => "cancelled",
            Status::Invalid => "invalid",
        }
    }

    fn level(self) -> &'static str {
        match self {
            Status::Requested | Status::Completed => "info",
            Status::Cancelled | Status::Timeout => "warning",
            Status::Failed | Status::Invalid => "error",
        }
    }
}

/// One fence event.
#[derive(Debug)]
pub struct Event<'a> {
    pub status: Status,
    pub action: &'a str,
    pub target: Option<&'a NodeName>,
    pub request_id: Option<&'a RequestId>,
    pub discovery: Option<&'a Gfs2Discovery>,
    pub recorder: &'a str,
    pub details: &'a str,
    pub duration: Duration,
}

/// The event logs of one agent run.
#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    fd: Option<OwnedFd>,
    reported: bool,
    /// A log file was created and the directory not fsynced since.
    dir_dirty: bool,
}

impl EventLog {
    /// Nothing is touched until the first event.
    pub fn new(dir: PathBuf) -> Self {
        EventLog {
            dir,
            fd: None,
            reported: false,
            dir_dirty: false,
        }
    }

    pub fn record(&mut self, ev: &Event<'_>) {
        let ts = Timestamp::now().to_string();
        let target = ev.target.map_or("-", NodeName::as_str);
        let op = format!(
            "{ts} {AGENT}[{}]: {}: {} {} {}: {}\n",
            std::process::id(),
            ev.status.level(),
            token(ev.action),
            target,
            ev.status.as_str(),
            escape(ev.details, 2000)
        );
        let durable = ev.status != Status::Requested;
        self.append(OPERATIONAL_LOG, &op, durable);
        self.append(READABLE_LOG, &readable(&ts, ev, target), durable);
        self.append(DETAILED_LOG, &detailed(&ts, ev), durable);
    }

    fn append(&mut self, file: &str, line: &str, durable: bool) {
        if let Err(e) = self.try_append(file, line, durable) {
            if !self.reported {
                eprintln!(
                    "{AGENT}: warning: cannot write event log {}: {e}",
                    self.dir.join(file).display()
                );
            }
            self.reported = true;
        }
    }

    fn try_append(&mut self, file: &str, line: &str, durable: bool) -> std::io::Result<()> {
        if self.fd.is_none() {
            self.fd = Some(open_dir(&self.dir)?);
            // The directory itself may be new: its entry in the parent must be durable too.
            self.dir_dirty = true;
        }
        let Some(dir) = self.fd.as_ref() else {
            return Ok(());
        };
        let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let mode = Mode::from_raw_mode(0o640);
        let fd = match rustix::fs::openat(dir, file, flags, mode) {
            Err(rustix::io::Errno::NOENT) => {
                self.dir_dirty = true;
                rustix::fs::openat(dir, file, flags | OFlags::CREATE, mode)?
            }
            other => other?,
        };
        // One write(2) of the whole line: O_APPEND makes it atomic against other appenders.
        let n = rustix::io::write(&fd, line.as_bytes())?;
        if n != line.len() {
            return Err(std::io::Error::other(format!(
                "short write ({n} of {} bytes)",
                line.len()
            )));
        }
        if durable {
            rustix::fs::fdatasync(&fd)?;
            if self.dir_dirty {
                rustix::fs::fsync(dir)?;
                sync_parent(&self.dir);
                self.dir_dirty = false;
            }
        }
        Ok(())
    }
}

/// fsyncs the parent of `dir`, so a log directory the agent created survives a power loss.
fn sync_parent(dir: &std::path::Path) {
    let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return;
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if let Ok(fd) = rustix::fs::open(parent, flags, Mode::empty()) {
        // Best effort: a parent we may not open does not make the record less written.
        let _ = rustix::fs::fsync(&fd);
    }
}

fn open_dir(dir: &std::path::Path) -> std::io::Result<OwnedFd> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)?;
    Ok(rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

use std::os::unix::fs::DirBuilderExt;

fn gfs2_field(ev: &Event<'_>) -> String {
    let names = ev.discovery.map(Gfs2Discovery::names).unwrap_or_default();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().map(|n| token(n)).collect::<Vec<_>>().join(",")
    }
}

fn readable(ts: &str, ev: &Event<'_>, target: &str) -> String {
    format!(
        "{ts} ACTION={} TARGET={target} GFS2={} STATUS={} DETAILS=\"{}\"\n",
        token(ev.action),
        gfs2_field(ev),
        ev.status.as_str(),
        escape(ev.details, 2000)
    )
}

fn detailed(ts: &str, ev: &Event<'_>) -> String {
    let names = ev.discovery.map(Gfs2Discovery::names).unwrap_or_default();
    let obj = serde_json::json!({
        "timestamp": ts,
        "event": ev.status.as_str(),
        "action": ev.action,
        "target_node": ev.target,
        "request_id": ev.request_id,
        "gfs2_filesystems": names,
        "gfs2_discovery": ev.discovery,
        "recorder_node": ev.recorder,
        "details": ev.details,
        "duration_ms": u64::try_from(ev.duration.as_millis()).unwrap_or(u64::MAX),
        "pid": std::process::id(),
    });
    // serde_json escapes every control character, so the object stays on one line.
    let mut line = obj.to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_details_and_names_stay_on_one_line() {
        let disc = Gfs2Discovery {
            enabled: true,
            filesystems: vec![gfs2_fence_protocol::FoundFilesystem {
                name: "fs 1\nSTATUS=x".into(),
                sources: vec![],
            }],
            ..Gfs2Discovery::default()
        };
        let ev = Event {
            status: Status::Failed,
            action: "reboot",
            target: None,
            request_id: None,
            discovery: Some(&disc),
            recorder: "r\n1",
            details: "bad\n2025 ACTION=off STATUS=completed \"x\"",
            duration: Duration::from_millis(5),
        };
        let r = readable("T", &ev, "-");
        assert_eq!(r.matches('\n').count(), 1);
        assert!(r.contains("GFS2=fs%201%0ASTATUS%3Dx STATUS=failed"), "{r}");
        let d = detailed("T", &ev);
        assert_eq!(d.matches('\n').count(), 1);
        assert!(serde_json::from_str::<serde_json::Value>(&d).is_ok());
    }
}
