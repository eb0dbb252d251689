//! One responder per spool: the exclusive `flock` on `REQUEST_DIR/.fence_watcher.lock`.
//!
//! Two responders on one spool both recover `.claimed` at start-up (re-running a fence under
//! way in the other) and race for every new request (a `--simulate` one answering real fences
//! with simulated successes). So the daemon takes this lock before recovery and before any scan
//! and holds it for its life; a second one finds it held and refuses to start. `flock` is
//! released by the kernel when the holder's fd closes, `kill -9` included, so a crash never
//! leaves a stale lock behind; the file's content (pid, host, start time) only names the holder.
//!
//! The operator tool asks who holds it without taking it (a probe that took even a shared lock
//! for an instant could make a daemon starting at that moment refuse to start): the kernel's
//! `/proc/locks` says whether the file is locked, the content says by whom.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::{SpoolDir, Timestamp};

/// Name of the lock file in the request directory; the leading dot hides it from every
/// protocol reader.
pub const LOCK_FILE: &str = ".fence_watcher.lock";

/// Most bytes of the lock file read (its content is a short JSON object).
const HOLDER_CAP: usize = 4096;

/// Who holds the lock, as the holder wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub started: Timestamp,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{}", held_message(path, holder, kernel_pid))]
    Held {
        path: PathBuf,
        /// The content of the lock file, if it could be read and parsed.
        holder: Option<LockHolder>,
        /// The pid the kernel reports for the lock (`/proc/locks`), the fallback.
        kernel_pid: Option<u32>,
    },
    #[error("refusing lock file {path}: {reason}")]
    Unsafe { path: PathBuf, reason: String },
    #[error("cannot lock {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn held_message(path: &Path, holder: &Option<LockHolder>, kernel_pid: &Option<u32>) -> String {
    let who = match (holder, kernel_pid) {
        (Some(h), _) => format!("pid {} on {} (since {})", h.pid, h.host, h.started),
        (None, Some(pid)) => format!("pid {pid} (the lock file's content is unreadable)"),
        (None, None) => "a process whose pid cannot be read".to_owned(),
    };
    format!(
        "another responder holds {}: {who}; only one fence_watcher may answer a spool",
        path.display()
    )
}

/// The held lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct ResponderLock {
    _fd: OwnedFd,
}

/// What a probe of the lock found.
#[derive(Debug, Clone, PartialEq)]
pub enum LockState {
    /// No lock file, or nobody holds it.
    Free,
    /// Held; the content of the file if readable, else the kernel's pid of the holder.
    Held {
        holder: Option<LockHolder>,
        kernel_pid: Option<u32>,
    },
}

impl ResponderLock {
    /// Takes the lock in `dir` without waiting and writes `holder` into it.
    pub fn acquire(dir: &SpoolDir, holder: &LockHolder) -> Result<ResponderLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_err = |e: Errno| LockError::Io {
            path: path.clone(),
            source: io::Error::from_raw_os_error(e.raw_os_error()),
        };
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = rustix::fs::openat(dir.fd(), LOCK_FILE, flags, Mode::from_raw_mode(0o640))
            .map_err(|e| match e {
                Errno::LOOP => LockError::Unsafe {
                    path: path.clone(),
                    reason: "it is a symbolic link".into(),
                },
                e => io_err(e),
            })?;
        check_file(&fd).map_err(|reason| LockError::Unsafe {
            path: path.clone(),
            reason,
        })?;
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => {
                return Err(LockError::Held {
                    holder: read_holder(&fd),
                    kernel_pid: kernel_pid(&fd),
                    path,
                })
            }
            Err(e) => return Err(io_err(e)),
        }
        // Informational only (the lock is the flock), so no fsync.
        let bytes = serde_json::to_vec(holder).unwrap_or_default();
        rustix::fs::ftruncate(&fd, 0).map_err(io_err)?;
        rustix::io::pwrite(&fd, &bytes, 0).map_err(io_err)?;
        Ok(ResponderLock { _fd: fd })
    }
}

/// Whether anyone holds the lock in `dir`, and who, without taking it.
pub fn probe(dir: &SpoolDir) -> Result<LockState, LockError> {
    let path = dir.join(LOCK_FILE);
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = match rustix::fs::openat(dir.fd(), LOCK_FILE, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(LockState::Free),
        Err(e) => {
            return Err(LockError::Io {
                path,
                source: io::Error::from_raw_os_error(e.raw_os_error()),
            })
        }
    };
    check_file(&fd).map_err(|reason| LockError::Unsafe {
        path: path.clone(),
        reason,
    })?;
    Ok(match kernel_pid_or_held(&fd) {
        None => LockState::Free,
        Some(kernel_pid) => LockState::Held {
            holder: read_holder(&fd),
            kernel_pid,
        },
    })
}

/// A regular file with one link: anything else in its place was put there by someone else.
fn check_file(fd: &OwnedFd) -> Result<(), String> {
    let st = rustix::fs::fstat(fd).map_err(|e| e.to_string())?;
    let kind = FileType::from_raw_mode(st.st_mode);
    if kind != FileType::RegularFile {
        return Err(format!("it is a {kind:?}, not a regular file"));
    }
    if st.st_nlink != 1 {
        return Err(format!("it has {} hard links", st.st_nlink));
    }
    Ok(())
}

fn read_holder(fd: &OwnedFd) -> Option<LockHolder> {
    let mut buf = vec![0u8; HOLDER_CAP];
    let n = rustix::io::pread(fd, &mut buf, 0).ok()?;
    serde_json::from_slice(&buf[..n]).ok()
}

/// The pid `/proc/locks` gives for an exclusive `flock` on this file.
fn kernel_pid(fd: &OwnedFd) -> Option<u32> {
    kernel_pid_or_held(fd).flatten()
}

/// `None`: no `flock` on the file; `Some(pid)`: held, by `pid` where the kernel says.
fn kernel_pid_or_held(fd: &OwnedFd) -> Option<Option<u32>> {
    let st = rustix::fs::fstat(fd.as_fd()).ok()?;
    let dev = rustix::fs::Dev::from(st.st_dev);
    let key = format!(
        "{:02x}:{:02x}:{}",
        rustix::fs::major(dev),
        rustix::fs::minor(dev),
        st.st_ino
    );
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    parse_proc_locks(&locks, &key)
}

/// Finds the `FLOCK` line of `/proc/locks` for `dev_ino` (`MAJ:MIN:INODE`, as the kernel
/// prints it); `Some(None)` when the line's pid is unusable.
fn parse_proc_locks(text: &str, dev_ino: &str) -> Option<Option<u32>> {
    let held = |matches: &dyn Fn(&str) -> bool| {
        text.lines().find_map(|line| {
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters are "1: -> FLOCK ...".
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [_, "FLOCK", _, _, pid, id, ..] if matches(id) => Some(pid.parse().ok()),
                _ => None,
            }
        })
    };
    // Some file systems (btrfs subvolumes) report another device in `st_dev` than the kernel
    // prints here: then the inode alone decides.
    let inode = dev_ino.rsplit(':').next().unwrap_or(dev_ino);
    held(&|id| id == dev_ino).or_else(|| held(&|id| id.rsplit(':').next() == Some(inode)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> LockHolder {
        LockHolder {
            pid: std::process::id(),
            host: "h1".into(),
            started: Timestamp::now(),
        }
    }

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = SpoolDir::open(tmp.path()).expect("dir");
        assert_eq!(probe(&dir).expect("probe"), LockState::Free);
        let first = ResponderLock::acquire(&dir, &holder()).expect("first");
        let err = ResponderLock::acquire(&dir, &holder()).expect_err("second");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {} on h1", std::process::id())),
            "{msg}"
        );
        match probe(&dir).expect("probe") {
            LockState::Held { holder, kernel_pid } => {
                assert_eq!(holder.map(|h| h.pid), Some(std::process::id()));
                assert_eq!(kernel_pid, Some(std::process::id()));
            }
            other => panic!("not held: {other:?}"),
        }
        drop(first);
        // Another test of this process may fork a child (corosync -t) at this moment: until
        // that child execs, it shares the lock's open file description, so the lock outlives
        // our close by that long. Wait for the condition, bounded.
        let started = std::time::Instant::now();
        while probe(&dir).expect("probe") != LockState::Free {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "the lock was not released"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        ResponderLock::acquire(&dir, &holder()).expect("free again");
    }

    #[test]
    fn an_unreadable_holder_falls_back_to_the_kernels_pid() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = SpoolDir::open(tmp.path()).expect("dir");
        let _first = ResponderLock::acquire(&dir, &holder()).expect("first");
        std::fs::write(tmp.path().join(LOCK_FILE), b"garbage").expect("overwrite");
        let msg = ResponderLock::acquire(&dir, &holder())
            .expect_err("held")
            .to_string();
        assert!(
            msg.contains(&format!("pid {} (the lock file", std::process::id())),
            "{msg}"
        );
    }

    #[test]
    fn a_symlink_or_fifo_in_place_of_the_lock_file_is_refused() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = SpoolDir::open(tmp.path()).expect("dir");
        std::os::unix::fs::symlink("/etc/passwd", tmp.path().join(LOCK_FILE)).expect("symlink");
        let e = ResponderLock::acquire(&dir, &holder()).expect_err("symlink");
        assert!(matches!(e, LockError::Unsafe { .. }), "{e}");
        std::fs::remove_file(tmp.path().join(LOCK_FILE)).expect("rm");
        rustix::fs::mknodat(
            dir.fd(),
            LOCK_FILE,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .expect("fifo");
        let e = ResponderLock::acquire(&dir, &holder()).expect_err("fifo");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn proc_locks_lines_are_matched_by_device_and_inode() {
        let text = "1: POSIX  ADVISORY  WRITE 10 08:01:77 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 4242 00:2a:77 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 4343 00:2a:77 0 EOF\n";
        assert_eq!(parse_proc_locks(text, "00:2a:77"), Some(Some(4242)));
        assert_eq!(parse_proc_locks(text, "08:01:78"), None);
    }
}
