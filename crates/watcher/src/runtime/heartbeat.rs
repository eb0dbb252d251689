//! The heartbeat the agent's `monitor` reads (DESIGN.md, "Heartbeat"): written at start and
//! again whenever what it says changed (the backend health of the last probe round, the number
//! of simulated routes: the [`Board`]), else only its mtime is touched, one `utimensat` per
//! tick; either only after a probe file was published. Each write is a whole new file renamed
//! over the old one, so a reader never sees half of it.
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
use std::sync::Arc;

use gfs2_fence_protocol::{Heartbeat, SpoolDir, SpoolError, Timestamp, HEARTBEAT_FILE, PROBE_FILE};
use rustix::fs::{Mode, OFlags};

use crate::health::Board;

/// What the heartbeat says: the daemon's start and interval, and the board's changing part.
#[derive(Debug, Clone)]
pub struct Pulse {
    pub started: Timestamp,
    pub interval_secs: u64,
    pub board: Arc<Board>,
}

impl Pulse {
    pub fn new(interval_secs: u64, board: Arc<Board>) -> Pulse {
        Pulse {
            started: Timestamp::now(),
            interval_secs,
            board,
        }
    }
}

/// Writes the heartbeat file (atomically, replacing the previous run's) with the board's
/// current values.
pub fn write(dir: &SpoolDir, pulse: &Pulse) -> Result<(), SpoolError> {
    let (simulated_routes, health, _) = pulse.board.take();
    let hb = Heartbeat {
        pid: std::process::id(),
        host: gfs2_fence_protocol::hostname(),
        started: pulse.started,
        interval_secs: pulse.interval_secs,
        simulated_routes,
        health,
    };
    write_file(dir, &hb).inspect_err(|_| pulse.board.unwritten())
}

fn write_file(dir: &SpoolDir, hb: &Heartbeat) -> Result<(), SpoolError> {
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

/// Marks the daemon alive: rewrites the file when the board changed, else touches it. A
/// heartbeat removed by hand is written again.
pub fn touch(dir: &SpoolDir, pulse: &Pulse) -> Result<(), SpoolError> {
    if pulse.board.is_dirty() {
        return write(dir, pulse);
    }
    match dir.touch(HEARTBEAT_FILE) {
        Ok(()) => Ok(()),
        Err(_) => write(dir, pulse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &std::path::Path) -> Heartbeat {
        Heartbeat::from_json(&std::fs::read(path.join(HEARTBEAT_FILE)).expect("read"))
            .expect("parses")
    }

    #[test]
    fn a_change_of_the_board_rewrites_the_file_and_no_change_only_touches_it() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = SpoolDir::open(tmp.path()).expect("open");
        let pulse = Pulse::new(7, Arc::new(Board::default()));
        write(&dir, &pulse).expect("write");
        assert_eq!(read(tmp.path()).simulated_routes, 0);
        let ino = |p: &std::path::Path| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(p.join(HEARTBEAT_FILE))
                .expect("stat")
                .ino()
        };
        let before = ino(tmp.path());
        touch(&dir, &pulse).expect("touch");
        assert_eq!(ino(tmp.path()), before, "nothing changed: touched in place");
        pulse.board.set_simulated_routes(2);
        let health = gfs2_fence_protocol::Health { nodes: vec![] };
        pulse.board.publish(Some(health.clone()));
        touch(&dir, &pulse).expect("touch");
        assert_ne!(
            ino(tmp.path()),
            before,
            "a change is a new file renamed over the old"
        );
        let hb = read(tmp.path());
        assert_eq!((hb.simulated_routes, hb.health), (2, Some(health)));
        assert_eq!(hb.started, pulse.started, "the start stays the daemon's");
    }

    #[test]
    fn writes_a_readable_heartbeat_and_recreates_it() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = SpoolDir::open(tmp.path()).expect("open");
        let pulse = Pulse::new(7, Arc::new(Board::default()));
        write(&dir, &pulse).expect("write");
        let hb =
            Heartbeat::from_json(&std::fs::read(tmp.path().join(HEARTBEAT_FILE)).expect("read"))
                .expect("parses");
        assert_eq!((hb.pid, hb.interval_secs), (std::process::id(), 7));
        std::fs::remove_file(tmp.path().join(HEARTBEAT_FILE)).expect("rm");
        touch(&dir, &pulse).expect("touch");
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
