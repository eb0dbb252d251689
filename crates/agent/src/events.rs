//! The three event logs of the seed, in `LOG_DIR`: `fence-events.log` (operational text),
//! `fence-events-readable.log` (one grep-friendly line per event) and
//! `fence-events-detailed.jsonl` (one JSON object per event).
//!
//! Each line is written with one `write(2)` on an `O_APPEND` fd, so lines of concurrent agents
//! never interleave. Every logged field is escaped (`text.rs`). A log that cannot be written is
//! reported on stderr once and never changes the fence outcome. A short write (a full
//! `LOG_DIR`) is cut off again with `ftruncate`, so no log ever holds a torn line. The directory is created (0750)
//! only when a fencing action records its first event.
//!
//! Logging must never block or fail a fence. So `LOG_DIR` must pass the protocol's directory
//! rule (`Trusted::SpoolDir`: root or this user, not writable by others), or nothing is written
//! there: whoever can write it could plant a FIFO or a symlink under a log's name. Each log is
//! opened `O_NOFOLLOW | O_NONBLOCK` (opening a FIFO for writing would otherwise wait for a
//! reader for ever) and must be a regular file (`fstat`); a FIFO, socket, device or directory
//! is refused with a warning naming it, and the fence goes on.
//!
//! Durability (DESIGN.md, "Durability: which syncs and why", rows A3-7): every event but
//! `requested` is the outcome the agent reports, so its lines are `fdatasync`ed before the agent
//! exits: a power loss right after Pacemaker hears "success" must not lose the record. Directory
//! entries change only when something is created, so `LOG_DIR` is fsynced only when this run
//! created a log file or the directory, and its parent only when it created the directory; with
//! the logs in place a fence costs the three `fdatasync`s and nothing more.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gfs2_fence_protocol::trust::TrustError;
use gfs2_fence_protocol::{Gfs2Discovery, NodeName, RequestId, Timestamp, Trusted};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::metadata::AGENT;
use crate::text::{escape, token};
use crate::unfence::Kept;

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
    /// A node's fence records were archived (`gfs2-fencing unfence`, or an `on` that succeeded):
    /// the storage gives it its access back (`unfence.rs`).
    Unfenced,
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
            Status::Unfenced => "unfenced",
        }
    }

    fn level(self) -> &'static str {
        match self {
            Status::Requested | Status::Completed | Status::Unfenced => "info",
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
    /// Who acted, for an unfencing (`unfence.rs`): the `by` field of the detailed log.
    pub by: Option<&'a str>,
    /// The records an unfencing archived: the `archived` field of the detailed log.
    pub archived: Option<&'a [Kept]>,
}

/// The event logs of one agent run.
#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    /// The program named in the operational log and in warnings (the agent, or the tool).
    program: &'static str,
    fd: Option<OwnedFd>,
    reported: bool,
    /// This run created a log file or `LOG_DIR`, and `LOG_DIR` was not fsynced since.
    dir_dirty: bool,
    /// This run created `LOG_DIR`, and its parent was not fsynced since.
    parent_dirty: bool,
}

impl EventLog {
    /// Nothing is touched until the first event.
    pub fn new(dir: PathBuf) -> Self {
        EventLog {
            dir,
            program: AGENT,
            fd: None,
            reported: false,
            dir_dirty: false,
            parent_dirty: false,
        }
    }

    /// The same logs, written by another program (`gfs2-fencing unfence`): its name heads the
    /// operational lines and the warnings.
    pub fn for_program(dir: PathBuf, program: &'static str) -> Self {
        EventLog {
            program,
            ..EventLog::new(dir)
        }
    }

    pub fn record(&mut self, ev: &Event<'_>) {
        let ts = Timestamp::now().to_string();
        let target = ev.target.map_or("-", NodeName::as_str);
        let op = format!(
            "{ts} {}[{}]: {}: {} {} {}: {}\n",
            self.program,
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
                match e {
                    LogError::Untrusted(why) => crate::out::errln!(
                        "{}: warning: not writing the event logs: {why}; going on without them",
                        self.program
                    ),
                    e => crate::out::errln!(
                        "{}: warning: cannot write event log {}: {e}",
                        self.program,
                        self.dir.join(file).display()
                    ),
                }
            }
            self.reported = true;
        }
    }

    fn try_append(&mut self, file: &str, line: &str, durable: bool) -> Result<(), LogError> {
        if self.fd.is_none() {
            let (fd, created) = open_dir(&self.dir)?;
            self.fd = Some(fd);
            // A new directory's entry in its parent must be durable too (A7); an existing one
            // changes nothing there, and syncing it on every fence cost two fsyncs (A6-7).
            self.dir_dirty |= created;
            self.parent_dirty |= created;
        }
        let Some(dir) = self.fd.as_ref() else {
            return Ok(());
        };
        let fd = match open_log(dir, file, OFlags::empty()) {
            Err(LogError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                self.dir_dirty = true;
                open_log(dir, file, OFlags::CREATE)?
            }
            other => other?,
        };
        // One write(2) of the whole line: O_APPEND makes it atomic against other appenders.
        let n = rustix::io::write(&fd, line.as_bytes()).map_err(io)?;
        if n != line.len() {
            return Err(untear(&fd, n, line.len()));
        }
        if durable {
            rustix::fs::fdatasync(&fd).map_err(io)?;
            // Only what this run created needs its name made durable (A6-7, DESIGN).
            if self.dir_dirty {
                rustix::fs::fsync(dir).map_err(io)?;
                self.dir_dirty = false;
            }
            if self.parent_dirty {
                sync_parent(&self.dir);
                self.parent_dirty = false;
            }
        }
        Ok(())
    }
}

/// After a short write (a full `LOG_DIR`), cuts the torn piece of the line off again, so that
/// the next line does not glue onto half of this one and the JSONL stays one object per line.
/// With `O_APPEND` the offset after the write is the end of our piece, so the line began `n`
/// bytes before it (an appender that wrote after us in that instant, on a full disk, loses its
/// line too: a torn line in the audit trail is the worse outcome).
fn untear(fd: &OwnedFd, n: usize, len: usize) -> LogError {
    let end = rustix::fs::seek(fd, rustix::fs::SeekFrom::Current(0));
    let cut = end.map_err(io).and_then(|end| {
        let start = end.saturating_sub(n as u64);
        rustix::fs::ftruncate(fd, start).map_err(io).map(|()| start)
    });
    LogError::Io(std::io::Error::other(match cut {
        Ok(start) => format!(
            "short write ({n} of {len} bytes, the file system is probably full); the partial line was removed (truncated back to {start} bytes)"
        ),
        Err(e) => format!(
            "short write ({n} of {len} bytes) and the partial line could not be removed: {e}"
        ),
    }))
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

/// Why an event log cannot be written.
#[derive(Debug, thiserror::Error)]
enum LogError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// `LOG_DIR` fails the directory rule: nothing is written there.
    #[error(transparent)]
    Untrusted(gfs2_fence_protocol::Untrusted),
    #[error("it is {0}, not a regular file; remove it")]
    NotRegular(&'static str),
}

fn io(e: rustix::io::Errno) -> LogError {
    LogError::Io(e.into())
}

/// Creates `dir` (0750) if needed and opens it, if the directory rule trusts it; says whether
/// this call created it.
fn open_dir(dir: &Path) -> Result<(OwnedFd, bool), LogError> {
    let created = create_dir(dir)?;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::open(dir, flags, Mode::empty()).map_err(io)?;
    Trusted::SpoolDir.check_fd(&fd, dir).map_err(|e| match e {
        TrustError::Stat { source, .. } => LogError::Io(source),
        TrustError::Untrusted(u) => LogError::Untrusted(u),
    })?;
    Ok((fd, created))
}

/// Creates `dir` (0750, with missing parents), `Ok(false)` when it already existed: only a
/// directory this run created needs its parent fsynced.
fn create_dir(dir: &Path) -> std::io::Result<bool> {
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o750);
    match builder.create(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            builder.recursive(true).create(dir).map(|()| true)
        }
        Err(e) => Err(e),
    }
}

/// Opens log `file` in `dir` for appending (`extra`: `O_CREAT` for a new one). Never blocks and
/// never follows a link; anything but a regular file is refused.
fn open_log(dir: &OwnedFd, file: &str, extra: OFlags) -> Result<OwnedFd, LogError> {
    let flags = OFlags::WRONLY
        | OFlags::APPEND
        | OFlags::CLOEXEC
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | extra;
    let fd = match rustix::fs::openat(dir, file, flags, Mode::from_raw_mode(0o640)) {
        Ok(fd) => fd,
        // A FIFO without a reader (ENXIO with O_NONBLOCK), a socket (ENXIO), a directory
        // (EISDIR), a symlink (ELOOP): say what is there rather than the errno.
        Err(e @ (Errno::NXIO | Errno::ISDIR | Errno::LOOP)) => {
            return Err(
                match rustix::fs::statat(dir, file, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => not_regular(FileType::from_raw_mode(st.st_mode)).unwrap_or(io(e)),
                    Err(_) => io(e),
                },
            )
        }
        Err(e) => return Err(io(e)),
    };
    let st = rustix::fs::fstat(&fd).map_err(io)?;
    match not_regular(FileType::from_raw_mode(st.st_mode)) {
        Some(refused) => Err(refused),
        None => Ok(fd),
    }
}

/// The refusal of anything but a regular file, naming what it is.
fn not_regular(kind: FileType) -> Option<LogError> {
    let what = match kind {
        FileType::RegularFile => return None,
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Unknown => "of an unknown type",
    };
    Some(LogError::NotRegular(what))
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
    let mut obj = obj;
    if let Some(by) = ev.by {
        obj["by"] = by.into();
    }
    if let Some(archived) = ev.archived {
        obj["archived"] = serde_json::to_value(archived).unwrap_or_default();
    }
    // serde_json escapes every control character, so the object stays on one line.
    let mut line = obj.to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each special file under a log's name is refused at once, named for what it is; none
    /// blocks (the FIFO has no reader: a blocking open would never return).
    #[test]
    fn logs_that_are_not_regular_files_are_refused_without_blocking() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (dir, created) = open_dir(tmp.path()).expect("a private directory is trusted");
        assert!(!created, "the directory existed");
        let mkfifo = std::process::Command::new("mkfifo")
            .arg(tmp.path().join("fifo"))
            .status();
        assert!(mkfifo.is_ok_and(|s| s.success()), "mkfifo");
        let _socket = std::os::unix::net::UnixListener::bind(tmp.path().join("socket"));
        std::fs::create_dir(tmp.path().join("dir")).expect("dir");
        std::os::unix::fs::symlink("/dev/null", tmp.path().join("device-link")).expect("link");
        for (name, what) in [
            ("fifo", "a FIFO"),
            ("socket", "a socket"),
            ("dir", "a directory"),
            ("device-link", "a symbolic link"),
        ] {
            match open_log(&dir, name, OFlags::CREATE) {
                Err(LogError::NotRegular(kind)) => assert_eq!(kind, what, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let null = rustix::fs::open("/dev", OFlags::DIRECTORY, Mode::empty()).expect("/dev");
        assert!(matches!(
            open_log(&null, "null", OFlags::empty()),
            Err(LogError::NotRegular("a character device"))
        ));
        assert!(open_log(&dir, "fence-events.log", OFlags::CREATE).is_ok());
    }

    /// Only a directory this run created asks for its parent's fsync (DESIGN, A7).
    #[test]
    fn only_a_created_log_dir_is_reported_created() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let nested = tmp.path().join("a/b/logs");
        assert!(
            create_dir(&nested).expect("create with parents"),
            "new, with parents"
        );
        assert!(!create_dir(&nested).expect("exists"), "already there");
        assert!(create_dir(&tmp.path().join("a/c")).expect("create"), "new");
        std::fs::write(tmp.path().join("file"), b"").expect("file");
        assert!(
            create_dir(&tmp.path().join("file/x")).is_err(),
            "under a file"
        );
    }

    #[test]
    fn a_log_dir_others_can_write_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let perms = std::fs::Permissions::from_mode(0o777);
        std::fs::set_permissions(tmp.path(), perms).expect("chmod");
        let refused = open_dir(tmp.path());
        assert!(
            matches!(&refused, Err(LogError::Untrusted(u)) if u.to_string().contains("chmod o-w")),
            "{refused:?}"
        );
    }

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
            by: None,
            archived: None,
        };
        let r = readable("T", &ev, "-");
        assert_eq!(r.matches('\n').count(), 1);
        assert!(r.contains("GFS2=fs%201%0ASTATUS%3Dx STATUS=failed"), "{r}");
        let d = detailed("T", &ev);
        assert_eq!(d.matches('\n').count(), 1);
        assert!(serde_json::from_str::<serde_json::Value>(&d).is_ok());
    }
}
