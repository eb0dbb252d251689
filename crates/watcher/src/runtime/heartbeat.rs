//! The heartbeat the agent's `monitor` reads (DESIGN.md, "Heartbeat"): written once at start,
//! then only its mtime is touched, one `utimensat` per tick, after a probe file was published.
//!
//! A touch needs no free space, so on its own it would keep `monitor` green while every
//! response fails with ENOSPC (issue 11, #4). The probe is written the way a response is (a new
//! dot-named temporary file, written, renamed over the previous probe): when that fails, a
//! response would fail too, and the caller does not touch the heartbeat. It is not fsynced:
//! tmpfs, ext4 and xfs report ENOSPC at `write` (they reserve space then), and a tick must not
//! add a sync to the fences under way (DESIGN.md, Durability: the response's content is the
//! daemon's only sync). An I/O error that shows only at a response's fsync fails that publish,
//! which closes the gate as a failed probe does.

use std::io::Write;

use gfs2_fence_protocol::{Heartbeat, SpoolDir, SpoolError, Timestamp, HEARTBEAT_FILE, PROBE_FILE};
use rustix::fs::{Mode, OFlags};

/// Writes the heartbeat file (atomically, replacing the previous run's).
pub fn write(dir: &SpoolDir, interval_secs: u64) -> Result<(), SpoolError> {
    let hb = Heartbeat {
        pid: std::process::id(),
        host: gfs2_fence_protocol::hostname(),
        started: Timestamp::now(),
        interval_secs,
        simulated_routes: 0,
        health: None,
    };
    let tmp = format!("{HEARTBEAT_FILE}.tmp");
    let err = |e: std::io::Error| SpoolError::Write {
        path: dir.join(&tmp),
        source: e,
    };
    let flags =
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir.fd(), tmp.as_str(), flags, Mode::from_raw_mode(0o644))
        .map_err(|e| err(e.into()))?;
    let written = std::fs::File::from(fd)
        .write_all(&hb.to_json())
        .map_err(err);
    let renamed = written.and_then(|()| {
        rustix::fs::renameat(dir.fd(), tmp.as_str(), dir.fd(), HEARTBEAT_FILE).map_err(|e| {
            SpoolError::Rename {
                from: dir.join(&tmp),
                to: dir.join(HEARTBEAT_FILE),
                source: e.into(),
            }
        })
    });
    if renamed.is_err() {
        // A full or read-only file system must not leave a half-written temporary file behind.
        let _ = rustix::fs::unlinkat(dir.fd(), tmp.as_str(), rustix::fs::AtFlags::empty());
    }
    renamed
}

/// Publishes the probe file: a new file of about a response's size, renamed over the
/// previous one.
pub fn probe(dir: &SpoolDir) -> Result<(), SpoolError> {
    let tmp = format!("{PROBE_FILE}.tmp");
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(0o640);
    let open = || rustix::fs::openat(dir.fd(), tmp.as_str(), flags, mode);
    // A temporary file left by a crash belongs to us: the name is ours alone.
    let fd = open().or_else(|e| {
        if e != rustix::io::Errno::EXIST {
            return Err(e);
        }
        let _ = rustix::fs::unlinkat(dir.fd(), tmp.as_str(), rustix::fs::AtFlags::empty());
        open()
    });
    let err = |e: std::io::Error| SpoolError::Write {
        path: dir.join(&tmp),
        source: e,
    };
    let mut file = std::fs::File::from(fd.map_err(|e| err(e.into()))?);
    let body = [b'.'; PROBE_BYTES];
    let written = file.write_all(&body).map_err(err);
    drop(file);
    let renamed = written.and_then(|()| {
        rustix::fs::renameat(dir.fd(), tmp.as_str(), dir.fd(), PROBE_FILE).map_err(|e| {
            SpoolError::Rename {
                from: dir.join(&tmp),
                to: dir.join(PROBE_FILE),
                source: e.into(),
            }
        })
    });
    if renamed.is_err() {
        let _ = rustix::fs::unlinkat(dir.fd(), tmp.as_str(), rustix::fs::AtFlags::empty());
    }
    renamed
}

/// About the size of a response with one level.
const PROBE_BYTES: usize = 1024;

/// Marks the daemon alive. A heartbeat removed by hand is written again.
pub fn touch(dir: &SpoolDir, interval_secs: u64) -> Result<(), SpoolError> {
    match dir.touch(HEARTBEAT_FILE) {
        Ok(()) => Ok(()),
        Err(_) => write(dir, interval_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_readable_heartbeat_and_recreates_it() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = SpoolDir::open(tmp.path()).expect("open");
        write(&dir, 7).expect("write");
        let hb =
            Heartbeat::from_json(&std::fs::read(tmp.path().join(HEARTBEAT_FILE)).expect("read"))
                .expect("parses");
        assert_eq!((hb.pid, hb.interval_secs), (std::process::id(), 7));
        std::fs::remove_file(tmp.path().join(HEARTBEAT_FILE)).expect("rm");
        touch(&dir, 7).expect("touch");
        assert!(tmp.path().join(HEARTBEAT_FILE).exists());
    }

    #[test]
    fn the_probe_replaces_itself_and_fails_where_nothing_can_be_written() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = SpoolDir::open(tmp.path()).expect("open");
        probe(&dir).expect("probe");
        std::fs::write(tmp.path().join(format!("{PROBE_FILE}.tmp")), b"stale").expect("stale");
        probe(&dir).expect("probe again");
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [PROBE_FILE], "one probe, no temporary file left");
        // A directory in the probe's place: the rename fails as a full disk's write would.
        std::fs::remove_file(tmp.path().join(PROBE_FILE)).expect("rm");
        std::fs::create_dir_all(tmp.path().join(PROBE_FILE).join("x")).expect("blocker");
        assert!(probe(&dir).is_err());
        assert!(!tmp.path().join(format!("{PROBE_FILE}.tmp")).exists());
    }
}
