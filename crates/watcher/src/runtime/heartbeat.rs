//! The heartbeat the agent's `monitor` reads (DESIGN.md, "Heartbeat"): written once at start,
//! then only its mtime is touched, one `utimensat` per tick and never an fsync.

use std::io::Write;

use gfs2_fence_protocol::{Heartbeat, SpoolDir, SpoolError, Timestamp, HEARTBEAT_FILE};
use rustix::fs::{Mode, OFlags};

/// Writes the heartbeat file (atomically, replacing the previous run's).
pub fn write(dir: &SpoolDir, interval_secs: u64) -> Result<(), SpoolError> {
    let hb = Heartbeat {
        pid: std::process::id(),
        host: gfs2_fence_protocol::hostname(),
        started: Timestamp::now(),
        interval_secs,
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
}
